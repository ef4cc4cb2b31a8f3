/* PUT and DELETE of the local store: atomic writes (a temporary file, fsync, rename;
 * no fsync with opts->no_fsync), the sidecar renamed before the data under the key's
 * lock. */
#include "local_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <jansson.h>

#include "enlarger/text.h"

int enl_local_write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Creates dirfd/.tmp-<random> exclusively; name receives the file name. */
static int create_named(int dirfd, char name[32])
{
	for (int tries = 0; tries < 8; tries++) {
		unsigned char rnd[8];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -EIO;
		memcpy(name, LOCAL_TMP_PREFIX, sizeof(LOCAL_TMP_PREFIX) - 1);
		enl_hex_encode(name + sizeof(LOCAL_TMP_PREFIX) - 1, rnd, sizeof(rnd));
		int fd =
		    openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int enl_local_temp_open(struct local_temp *t, int dirfd)
{
	t->dirfd = dirfd;
	t->name[0] = '\0';
	t->fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (t->fd >= 0)
		return 0;
	/* The file system has no unnamed files: a name, which a crash leaves behind. */
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	t->fd = create_named(dirfd, t->name);
	if (t->fd < 0) {
		int err = t->fd;
		t->name[0] = '\0';
		return err;
	}
	return 0;
}

/* Gives the unnamed file t->fd the name `name` in t->dirfd. 0 or -errno (EEXIST: taken). */
static int link_unnamed(struct local_temp *t, const char *name)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
	if (linkat(AT_FDCWD, proc, t->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	/* No /proc: the direct way (needs CAP_DAC_READ_SEARCH on older kernels). */
	return linkat(t->fd, "", t->dirfd, name, AT_EMPTY_PATH) == 0 ? 0 : -errno;
}

int enl_local_temp_commit(struct local_temp *t, const char *target)
{
	if (!t->name[0]) {
		/* A new key: the file appears whole under its name, never under another. */
		int err = link_unnamed(t, target);
		if (err != -EEXIST)
			return err;
		/* Replacing: rename is the atomic swap, and it needs a name to move. The
		 * name lives only between these two calls (the key's lock is held). */
		for (int tries = 0;; tries++) {
			unsigned char rnd[8];
			if (tries == 8 || getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
				return -EIO;
			memcpy(t->name, LOCAL_TMP_PREFIX, sizeof(LOCAL_TMP_PREFIX) - 1);
			enl_hex_encode(t->name + sizeof(LOCAL_TMP_PREFIX) - 1, rnd, sizeof(rnd));
			if ((err = link_unnamed(t, t->name)) == 0)
				break;
			t->name[0] = '\0';
			if (err != -EEXIST)
				return err;
		}
	}
	if (renameat(t->dirfd, t->name, t->dirfd, target) != 0)
		return -errno;
	t->name[0] = '\0';
	return 0;
}

void enl_local_temp_discard(struct local_temp *t)
{
	if (t->name[0])
		unlinkat(t->dirfd, t->name, 0);
	t->name[0] = '\0';
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

int enl_local_put(struct enl_store *s, const char *bucket, const char *key, const void *data,
                  size_t len, const struct enl_put_opts *opts, struct enl_errmsg *e)
{
	struct local_store *st = (struct local_store *)s;
	int dfd = -1, mfd = -1;
	struct local_temp dt = {.fd = -1}, mt = {.fd = -1};
	char mname[LOCAL_SEGMENT_MAX + 8];
	char *doc = NULL;
	json_t *sc = NULL;
	const char *last;
	char etag[33];
	int sync = !(opts && opts->no_fsync);

	int rc = enl_bucket_name_check(bucket, e);
	if (!rc)
		rc = enl_local_key_check(key, e);
	if (!rc)
		rc = enl_local_opts_check(opts, e);
	if (rc)
		return rc;
	if (len && !data)
		return enl_fail(e, ENL_EINVAL, "no data");
	if (enl_local_md5(len ? data : "", len, etag) != ENL_OK)
		return enl_fail(e, ENL_EINTERNAL, "MD5 failed");

	dfd = enl_local_open_key_dir(st, SIDE_DATA, bucket, key, 1, &last);
	if (dfd < 0) {
		rc = enl_local_create_errno(-dfd, "create folder", e);
		goto done;
	}
	mfd = enl_local_open_key_dir(st, SIDE_META, bucket, key, 1, &last);
	if (mfd < 0) {
		rc = enl_local_create_errno(-mfd, "create folder", e);
		goto done;
	}
	if (enl_local_sidecar_name(last, mname, sizeof(mname)) != 0) {
		rc = enl_fail(e, ENL_EINVAL, "key too long for the local store");
		goto done;
	}
	struct stat sb;
	if (fstatat(dfd, last, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
		rc = enl_fail(e, ENL_EINVAL, "key conflicts with objects under the same prefix");
		goto done;
	}

	int err = enl_local_temp_open(&dt, dfd);
	if (err) {
		rc = enl_local_io_fail(e, "create", -err);
		goto done;
	}
	err = enl_local_write_all(dt.fd, data, len);
	if (err || (sync && fsync(dt.fd) != 0) || fstat(dt.fd, &sb) != 0) {
		rc = enl_local_io_fail(e, "write", err ? -err : errno);
		goto done;
	}
	sc = enl_local_sidecar_new(&sb, etag, opts);
	doc = sc ? json_dumps(sc, JSON_COMPACT) : NULL;
	if (!doc) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = enl_local_temp_open(&mt, mfd))) {
		rc = enl_local_io_fail(e, "create", -err);
		goto done;
	}
	err = enl_local_write_all(mt.fd, doc, strlen(doc));
	if (err || (sync && fsync(mt.fd) != 0)) {
		rc = enl_local_io_fail(e, "write", err ? -err : errno);
		goto done;
	}

	/* Sidecar first, then data (see the top of local.c); both under the key's
	 * lock so concurrent PUTs here pair each sidecar with its own data file. */
	pthread_mutex_t *lk = enl_local_key_lock(st, bucket, key);
	pthread_mutex_lock(lk);
	if ((err = enl_local_temp_commit(&mt, mname)) == 0)
		err = enl_local_temp_commit(&dt, last);
	pthread_mutex_unlock(lk);
	if (err) {
		rc = enl_local_create_errno(-err, "rename", e);
		goto done;
	}
	/* Make the renames durable before we report success. */
	if (sync && (fsync(mfd) != 0 || fsync(dfd) != 0)) {
		rc = enl_local_io_fail(e, "sync", errno);
		goto done;
	}
	rc = ENL_OK;
done:
	enl_local_temp_discard(&dt);
	enl_local_temp_discard(&mt);
	free(doc);
	json_decref(sc);
	if (dfd >= 0)
		close(dfd);
	if (mfd >= 0)
		close(mfd);
	return rc;
}

/* Deleting a missing key succeeds, as on S3. */
int enl_local_del(struct enl_store *s, const char *bucket, const char *key, struct enl_errmsg *e)
{
	struct local_store *st = (struct local_store *)s;
	int rc = enl_bucket_name_check(bucket, e);
	if (!rc)
		rc = enl_local_key_check(key, e);
	if (rc)
		return rc;
	const char *last;
	char mname[LOCAL_SEGMENT_MAX + 8];
	int dfd = enl_local_open_key_dir(st, SIDE_DATA, bucket, key, 0, &last);
	int mfd = enl_local_open_key_dir(st, SIDE_META, bucket, key, 0, &last);
	if (dfd < 0 && dfd != -ENOENT && dfd != -ENOTDIR) {
		rc = enl_local_errno(-dfd, "delete", e);
		goto done;
	}
	pthread_mutex_t *lk = enl_local_key_lock(st, bucket, key);
	pthread_mutex_lock(lk);
	/* Data first: once it is gone, readers answer "not found" whatever the sidecar. */
	if (dfd >= 0 && unlinkat(dfd, last, 0) != 0 && errno != ENOENT && errno != EISDIR &&
	    errno != ENOTDIR)
		rc = enl_local_io_fail(e, "delete", errno);
	if (!rc && mfd >= 0 && enl_local_sidecar_name(last, mname, sizeof(mname)) == 0 &&
	    unlinkat(mfd, mname, 0) != 0 && errno != ENOENT && errno != EISDIR)
		rc = enl_local_io_fail(e, "delete", errno);
	pthread_mutex_unlock(lk);
done:
	if (dfd >= 0)
		close(dfd);
	if (mfd >= 0)
		close(mfd);
	return rc;
}
