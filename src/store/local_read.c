/* GET and HEAD of the local store: open the data file without links, pair it with its
 * sidecar under the key's lock, and derive ETag and type for a file dropped in by hand. */
#include "local_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

/* Opens the data file of key for reading: a regular file, never through a link. */
static int open_data(struct local_store *st, const char *bucket, const char *key, int *out,
                     struct stat *sb, struct enl_errmsg *e)
{
	*out = -1;
	/* O_NONBLOCK: a FIFO dropped into the folder must not hang us. */
	int fd =
	    enl_local_open_key_file(st, SIDE_DATA, bucket, key, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int err;
	if (fd < 0)
		return enl_local_errno(-fd, "open", e);
	if (fstat(fd, sb) != 0) {
		err = errno;
		close(fd);
		return enl_local_io_fail(e, "stat", err);
	}
	if (!S_ISREG(sb->st_mode)) {
		close(fd);
		return enl_fail(e, ENL_ENOTFOUND, "no such object");
	}
	*out = fd;
	return ENL_OK;
}

/* Reads the object: bytes into out (when not NULL, capped at max_bytes, 0 = no
 * cap) and info. */
static int local_read(struct local_store *st, const char *bucket, const char *key, size_t max_bytes,
                      struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e)
{
	int rc = enl_bucket_name_check(bucket, e);
	if (rc)
		return rc;
	rc = enl_local_key_check(key, e);
	if (rc)
		return rc;
	struct enl_object_info tmp;
	if (!info)
		info = &tmp;
	memset(info, 0, sizeof(*info));

	int fd = -1, err = 0;
	int cached = 0; /* info came from local_infocache.c: no sidecar read */
	json_t *sc = NULL;
	struct stat sb;
	/* An unchanged file already described (local_infocache.c) needs neither its sidecar
	 * nor the key's lock, which only pairs a sidecar with its data file: the lock-free
	 * path of every /render hit (8 connections on one original contended for it). */
	rc = open_data(st, bucket, key, &fd, &sb, e);
	if (rc)
		goto done;
	cached = enl_local_info_cached(st, bucket, key, &sb, info);
	if (!cached) {
		close(fd);
		fd = -1;
	}
	for (int attempt = 0; !cached; attempt++) {
		/* Under the key's lock, so PUTs from this process are never seen between
		 * their two renames; only the open and the small sidecar read are in it. */
		pthread_mutex_t *lk = enl_local_key_lock(st, bucket, key);
		pthread_mutex_lock(lk);
		rc = open_data(st, bucket, key, &fd, &sb, e);
		if (rc == ENL_OK)
			enl_local_sidecar_load(st, bucket, key, &sc);
		pthread_mutex_unlock(lk);
		if (rc)
			goto done;
		if (!sc || enl_local_sidecar_matches(sc, &sb) || attempt + 1 >= LOCAL_READ_RETRIES)
			break;
		/* Another process's PUT is between its two renames: look again soon. */
		json_decref(sc);
		sc = NULL;
		close(fd);
		fd = -1;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	if (out && max_bytes && (uint64_t)sb.st_size > max_bytes) {
		rc = enl_fail(e, ENL_ETOOBIG, "object is larger than %zu bytes", max_bytes);
		goto done;
	}
	/* May the ETag computed below be remembered in a sidecar? Yes when there is
	 * none, or when the one there describes an older file (replaced by hand). Not
	 * when it is newer than the data: that is another process's PUT between its
	 * renames, whose sidecar must stay. */
	int cacheable = !sc && !cached;
	if (sc && !enl_local_sidecar_matches(sc, &sb)) {
		json_int_t sc_sec =
		    json_integer_value(json_object_get(json_object_get(sc, "file"), "mtimeSec"));
		cacheable = sc_sec + 1 < (json_int_t)sb.st_mtim.tv_sec;
		json_decref(sc);
		sc = NULL;
	}

	if (out) {
		enl_buf_init(out, max_bytes);
		unsigned char *chunk = malloc(64 * 1024);
		if (!chunk) {
			rc = enl_fail(e, ENL_ENOMEM, "out of memory");
			goto done;
		}
		for (;;) {
			ssize_t r = read(fd, chunk, 64 * 1024);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = enl_local_io_fail(e, "read", errno);
				break;
			}
			if (r == 0)
				break;
			rc = enl_buf_append(out, chunk, (size_t)r);
			if (rc) {
				enl_fail(e, rc,
				         rc == ENL_ETOOBIG ? "object is larger than the limit"
				                           : "out of memory");
				break;
			}
		}
		free(chunk);
		if (rc)
			goto done;
	}

	info->size = out ? out->len : (uint64_t)sb.st_size;
	info->last_modified = (int64_t)sb.st_mtim.tv_sec;
	if (cached) {
		/* info as remembered: the same file, so the same ETag and metadata. */
	} else if (sc) {
		enl_local_sidecar_info(sc, info);
		enl_local_info_remember(st, bucket, key, &sb, info);
	} else {
		/* Dropped in by hand: derive what S3 would report from the bytes. */
		unsigned char head[16];
		size_t hn = 0;
		if (out) {
			hn = out->len < sizeof(head) ? out->len : sizeof(head);
			if (hn)
				memcpy(head, out->data, hn);
			rc = enl_local_md5(out->data ? out->data : (const unsigned char *)"",
			                   out->len, info->etag);
		} else {
			ssize_t r = pread(fd, head, sizeof(head), 0);
			hn = r > 0 ? (size_t)r : 0;
			rc = enl_local_md5_fd(fd, info->etag, &err);
		}
		if (rc) {
			rc = rc == ENL_EIO ? enl_local_io_fail(e, "read", err)
			                   : enl_fail(e, rc, "MD5 failed");
			goto done;
		}
		snprintf(info->content_type, sizeof(info->content_type), "%s",
		         enl_local_sniff_type(head, hn));
		/* Remember it, so the next HEAD of a large original does not hash it again;
		 * only when the file did not change while we hashed it. */
		struct stat after;
		if (fstat(fd, &after) == 0 && enl_local_same_file(&sb, &after) &&
		    (uint64_t)after.st_size == info->size &&
		    after.st_ctim.tv_sec == sb.st_ctim.tv_sec &&
		    after.st_ctim.tv_nsec == sb.st_ctim.tv_nsec) {
			enl_local_info_remember(st, bucket, key, &sb, info);
			if (cacheable)
				enl_local_sidecar_cache(st, bucket, key, &sb, info);
		}
	}
	rc = ENL_OK;
done:
	if (rc && out)
		enl_buf_free(out);
	json_decref(sc);
	if (fd >= 0)
		close(fd);
	return rc;
}

int enl_local_get(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                  struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e)
{
	enl_buf_init(out, max_bytes);
	return local_read((struct local_store *)s, bucket, key, max_bytes, out, info, e);
}

int enl_local_head(struct enl_store *s, const char *bucket, const char *key,
                   struct enl_object_info *info, struct enl_errmsg *e)
{
	return local_read((struct local_store *)s, bucket, key, 0, NULL, info, e);
}
