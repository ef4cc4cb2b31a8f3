/* GET, HEAD and open of the local store, in three steps: look the key up (its data file
 * opened without links and paired with its sidecar under the key's lock), read the bytes,
 * and verify what describes them (the sidecar when it matches the file, else ETag and type
 * derived from the bytes, as S3 would report them for a file dropped in by hand).
 *
 * open hands over the descriptor lookup opened instead of reading it (the HTTP server
 * then sends the file with sendfile). It keeps GET's guarantee: the info returned
 * describes exactly the file behind that descriptor, matched by identity (inode, size,
 * mtime; and ctime for the info cache) with its sidecar or with what the info cache
 * remembered when it first verified it, or hashed from that very descriptor when the
 * file was dropped in by hand. A PUT never writes into an existing file: it renames a
 * new inode into place, so the open descriptor keeps the bytes its info describes for
 * as long as it is open, whatever is written to the key meanwhile. Only an edit in place
 * by hand could change them under a reader, as it could during a GET's read. */
#include "local_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "enlarger/fs.h"

/* What lookup found. */
struct found {
	int fd; /* the data file, open for reading */
	struct stat sb;
	json_t *sc; /* its sidecar (new reference), or NULL */
	int cached; /* info came from local_infocache.c: no sidecar read */
};

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

/* Opens bucket/key into f (the caller closes f->fd and releases f->sc, also on error);
 * info is filled when f->cached. */
static int lookup(struct local_store *st, const char *bucket, const char *key, struct found *f,
                  struct enl_object_info *info, struct enl_errmsg *e)
{
	int rc = enl_bucket_name_check(bucket, e);
	if (!rc)
		rc = enl_local_key_check(key, e);
	if (!rc)
		rc = open_data(st, bucket, key, &f->fd, &f->sb, e);
	if (rc)
		return rc;
	/* An unchanged file already described (local_infocache.c) needs neither its sidecar
	 * nor the key's lock, which only pairs a sidecar with its data file: the lock-free
	 * path of every /render hit (8 connections on one original contended for it). */
	f->cached = enl_local_info_cached(st, bucket, key, &f->sb, info);
	if (f->cached)
		return ENL_OK;
	close(f->fd);
	f->fd = -1;
	for (int attempt = 0;; attempt++) {
		/* Under the key's lock, so PUTs from this process are never seen between
		 * their two renames; only the open and the small sidecar read are in it. */
		pthread_mutex_t *lk = enl_local_key_lock(st, bucket, key);
		pthread_mutex_lock(lk);
		rc = open_data(st, bucket, key, &f->fd, &f->sb, e);
		if (rc == ENL_OK)
			enl_local_sidecar_load(st, bucket, key, &f->sc);
		pthread_mutex_unlock(lk);
		if (rc)
			return rc;
		if (!f->sc || enl_local_sidecar_matches(f->sc, &f->sb) ||
		    attempt + 1 >= LOCAL_READ_RETRIES)
			return ENL_OK;
		/* Another process's PUT is between its two renames: look again soon. */
		json_decref(f->sc);
		f->sc = NULL;
		close(f->fd);
		f->fd = -1;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

/* The bytes of the file found into out (capped at max_bytes, 0 = no cap). */
static int read_bytes(const struct found *f, size_t max_bytes, struct enl_buf *out,
                      struct enl_errmsg *e)
{
	int err = 0;
	if (max_bytes && (uint64_t)f->sb.st_size > max_bytes)
		return enl_fail(e, ENL_ETOOBIG, "object is larger than %zu bytes", max_bytes);
	enl_buf_init(out, max_bytes);
	int rc = enl_fd_read_all(f->fd, out, &err);
	if (rc == ENL_EIO)
		return enl_local_io_fail(e, "read", err);
	if (rc)
		return enl_fail(
		    e, rc, rc == ENL_ETOOBIG ? "object is larger than the limit" : "out of memory");
	return ENL_OK;
}

/* Settles info for the file found: as remembered, from a sidecar that describes this
 * file, or derived from the bytes (out when read, else read again from the file) and
 * remembered, also in a new sidecar when none stands for a newer file. */
static int verify(struct local_store *st, const char *bucket, const char *key, struct found *f,
                  const struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e)
{
	/* May the ETag computed below be remembered in a sidecar? Yes when there is
	 * none, or when the one there describes an older file (replaced by hand). Not
	 * when it is newer than the data: that is another process's PUT between its
	 * renames, whose sidecar must stay. */
	int cacheable = !f->sc && !f->cached;
	if (f->sc && !enl_local_sidecar_matches(f->sc, &f->sb)) {
		json_int_t sc_sec =
		    json_integer_value(json_object_get(json_object_get(f->sc, "file"), "mtimeSec"));
		cacheable = sc_sec + 1 < (json_int_t)f->sb.st_mtim.tv_sec;
		json_decref(f->sc);
		f->sc = NULL;
	}
	info->size = out ? out->len : (uint64_t)f->sb.st_size;
	info->last_modified = (int64_t)f->sb.st_mtim.tv_sec;
	if (f->cached)
		return ENL_OK; /* info as remembered: the same file, so the same ETag */
	if (f->sc) {
		enl_local_sidecar_info(f->sc, info);
		enl_local_info_remember(st, bucket, key, &f->sb, info);
		return ENL_OK;
	}
	/* Dropped in by hand: derive what S3 would report from the bytes. */
	unsigned char head[16];
	size_t hn = 0;
	int rc, err = 0;
	if (out) {
		hn = out->len < sizeof(head) ? out->len : sizeof(head);
		if (hn)
			memcpy(head, out->data, hn);
		rc = enl_local_md5(out->data ? out->data : (const unsigned char *)"", out->len,
		                   info->etag);
	} else {
		ssize_t r = pread(f->fd, head, sizeof(head), 0);
		hn = r > 0 ? (size_t)r : 0;
		rc = enl_local_md5_fd(f->fd, info->etag, &err);
	}
	if (rc)
		return rc == ENL_EIO ? enl_local_io_fail(e, "read", err)
		                     : enl_fail(e, rc, "MD5 failed");
	snprintf(info->content_type, sizeof(info->content_type), "%s",
	         enl_local_sniff_type(head, hn));
	/* Remember it, so the next HEAD of a large original does not hash it again; only
	 * when the file did not change while we hashed it. */
	struct stat after;
	if (fstat(f->fd, &after) == 0 && enl_local_same_file(&f->sb, &after) &&
	    (uint64_t)after.st_size == info->size && after.st_ctim.tv_sec == f->sb.st_ctim.tv_sec &&
	    after.st_ctim.tv_nsec == f->sb.st_ctim.tv_nsec) {
		enl_local_info_remember(st, bucket, key, &f->sb, info);
		if (cacheable)
			enl_local_sidecar_cache(st, bucket, key, &f->sb, info);
	}
	return ENL_OK;
}

/* Hands the data file found to the caller, as a plain blocking descriptor (opened
 * O_NONBLOCK only so that a FIFO could not hang the open). */
static int hand_over(struct found *f, int *fd_out, struct enl_errmsg *e)
{
	int fl = fcntl(f->fd, F_GETFL);
	if (fl < 0 || fcntl(f->fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
		return enl_local_io_fail(e, "fcntl", errno);
	*fd_out = f->fd;
	f->fd = -1;
	return ENL_OK;
}

/* GET (out set), open (fd_out set) or HEAD (neither) of bucket/key. */
static int local_read(struct local_store *st, const char *bucket, const char *key, size_t max_bytes,
                      struct enl_buf *out, int *fd_out, struct enl_object_info *info,
                      struct enl_errmsg *e)
{
	struct found f = {.fd = -1};
	struct enl_object_info tmp;
	if (!info)
		info = &tmp;
	memset(info, 0, sizeof(*info));
	int rc = lookup(st, bucket, key, &f, info, e);
	/* Before verify: an oversized file dropped in by hand is not hashed for nothing. */
	if (!rc && fd_out && max_bytes && (uint64_t)f.sb.st_size > max_bytes)
		rc = enl_fail(e, ENL_ETOOBIG, "object is larger than %zu bytes", max_bytes);
	if (!rc && out)
		rc = read_bytes(&f, max_bytes, out, e);
	if (!rc)
		rc = verify(st, bucket, key, &f, out, info, e);
	if (!rc && fd_out)
		rc = hand_over(&f, fd_out, e);
	if (rc && out)
		enl_buf_free(out);
	json_decref(f.sc);
	if (f.fd >= 0)
		close(f.fd);
	return rc;
}

int enl_local_get(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                  struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e)
{
	enl_buf_init(out, max_bytes);
	return local_read((struct local_store *)s, bucket, key, max_bytes, out, NULL, info, e);
}

int enl_local_head(struct enl_store *s, const char *bucket, const char *key,
                   struct enl_object_info *info, struct enl_errmsg *e)
{
	return local_read((struct local_store *)s, bucket, key, 0, NULL, NULL, info, e);
}

int enl_local_open(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                   int *fd_out, struct enl_object_info *info, struct enl_errmsg *e)
{
	*fd_out = -1;
	return local_read((struct local_store *)s, bucket, key, max_bytes, NULL, fd_out, info, e);
}
