/* Local directory object store: the ops table, opening, ping, the bucket folder's path
 * and the per-key locks. Objects live at root/<bucket>/<key> with a metadata sidecar at
 * root/.meta/<bucket>/<key>.json. The other files: local_check.c (names and options),
 * local_path.c (the no-link path walk), local_sidecar.c, local_etag.c, local_read.c
 * (GET, HEAD, open), local_write.c (PUT, DELETE), local_list.c; local_internal.h joins them.
 *
 * Layout and guarantees (the folder watcher and operators rely on these):
 * - One folder per bucket; a key's '/' makes subfolders. Bucket names follow S3's
 *   rules, so none starts with '.', and ".meta" can never be a bucket.
 * - Keys never leave their bucket folder: keys are checked (no "." / ".." / empty
 *   segments, no absolute paths, backslashes or control characters, at most 1024
 *   bytes, valid UTF-8), and every path is opened one segment at a time with
 *   O_NOFOLLOW, so a symbolic link dropped into a bucket folder is never followed.
 * - A PUT writes a temporary file named ".tmp-<random>" in the target folder
 *   (O_EXCL, fsync), then renames it over the key: readers see the old bytes or
 *   the new ones, never a part. Names starting with ".tmp-" are reserved (refused
 *   as key segments) and never listed; the folder watcher ignores dot files.
 *   Temporaries left behind by a crash are never visible; they may be deleted.
 * - The sidecar records the data file's identity (inode, size, mtime) next to the
 *   ETag, content type, cache control and user metadata. A PUT writes both
 *   temporaries first (fsync'd), then renames the sidecar, then the data file,
 *   the two renames under a per-key lock (64 stripes). A reader opens the data
 *   file and reads the sidecar under the same lock (then reads the bytes outside
 *   it from the open fd), and uses the sidecar only when its identity matches the
 *   open file. So within one process a reader always sees a matching pair. When
 *   another process (the CLI on the same data dir) is between its two renames the
 *   identities differ: the reader retries for a few milliseconds, then treats the
 *   file as one dropped in by hand, as it does after a crash between the renames
 *   or when someone overwrote the file by hand. Either way a reader never pairs
 *   new bytes with the old ETag (which would poison caches keyed by ETag) nor old
 *   bytes with the new ETag. An inode cannot be reused while the reader holds
 *   the file open, so a matching identity is the file's own sidecar.
 * - A file dropped in by hand (no sidecar, or a stale one) gets the MD5 hex of
 *   its bytes as ETag (what S3 gives a single PUT) and a content type guessed
 *   from its first bytes. The first read remembers them in a sidecar (checked
 *   against the file's identity like any other), so a large original is hashed
 *   once, not on every HEAD; replacing the file by hand makes it stale again.
 * - Limitations next to S3: an object "a" and objects under "a/" cannot both
 *   exist (a file and a folder of one name), nor an object "a" and objects under
 *   "a.json/" (their sidecars would collide); such a PUT fails with ENL_EINVAL.
 *   A path segment may be at most 250 bytes. Empty folders left by deletes stay. */
#include "local_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enlarger/fs.h"

pthread_mutex_t *enl_local_key_lock(struct local_store *st, const char *bucket, const char *key)
{
	/* FNV-1a over bucket '/' key. */
	uint32_t h = 2166136261u;
	for (const char *p = bucket; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &st->locks[h % LOCAL_LOCKS];
}

/* Makes sure the bucket folder exists (creating it, so a fresh data dir is ready
 * for the folder watcher) and the root is writable. */
static int local_ping(struct enl_store *s, const char *bucket, struct enl_errmsg *e)
{
	struct local_store *st = (struct local_store *)s;
	int rc = enl_bucket_name_check(bucket, e);
	if (rc)
		return rc;
	int fd = enl_local_open_dirs(st->root_fd, bucket, strlen(bucket), 1);
	if (fd < 0)
		return enl_local_create_errno(-fd, "open bucket folder", e);
	int ok = faccessat(fd, ".", W_OK, 0) == 0;
	int err = errno;
	close(fd);
	return ok ? ENL_OK : enl_local_io_fail(e, "access bucket folder", err);
}

static void local_destroy(struct enl_store *s)
{
	struct local_store *st = (struct local_store *)s;
	if (!st)
		return;
	for (int i = 0; i < LOCAL_LOCKS; i++)
		pthread_mutex_destroy(&st->locks[i]);
	enl_local_info_free(st);
	for (int i = 0; i < LOCAL_LOCKS; i++)
		pthread_rwlock_destroy(&st->info_locks[i]);
	if (st->root_fd >= 0)
		close(st->root_fd);
	free(st->root);
	free(st);
}

static const struct enl_store_ops local_ops = {
    .get = enl_local_get,
    .head = enl_local_head,
    .put = enl_local_put,
    .del = enl_local_del,
    .list = enl_local_list,
    .ping = local_ping,
    .destroy = local_destroy,
    .open = enl_local_open,
};

int enl_store_local_open(const char *dir, struct enl_store **out, struct enl_errmsg *e)
{
	*out = NULL;
	if (!dir || !dir[0])
		return enl_fail(e, ENL_EINVAL, "local store: no data directory");
	int err = enl_mkdir_p(dir);
	if (err)
		return enl_fail(e, ENL_EIO, "local store: cannot create the data directory: %s",
		                strerror(-err));
	struct local_store *st = calloc(1, sizeof(*st));
	if (!st)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	if (!(st->root = strdup(dir))) {
		free(st);
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	}
	st->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->root_fd < 0) {
		err = errno;
		free(st->root);
		free(st);
		return enl_fail(e, ENL_EIO, "local store: cannot open the data directory: %s",
		                strerror(err));
	}
	if (mkdirat(st->root_fd, LOCAL_META_DIR, 0755) != 0 && errno != EEXIST) {
		err = errno;
		close(st->root_fd);
		free(st->root);
		free(st);
		return enl_fail(e, ENL_EIO, "local store: cannot create the metadata folder: %s",
		                strerror(err));
	}
	for (int i = 0; i < LOCAL_LOCKS; i++)
		pthread_mutex_init(&st->locks[i], NULL);
	for (int i = 0; i < LOCAL_LOCKS; i++)
		pthread_rwlock_init(&st->info_locks[i], NULL);
	st->base.ops = &local_ops;
	st->base.name = "local";
	*out = &st->base;
	return ENL_OK;
}

int enl_store_local_dir(const struct enl_store *s, const char *bucket, char *out, size_t cap,
                        struct enl_errmsg *e)
{
	const struct local_store *st = (const struct local_store *)s;
	int rc;
	if (!s || s->ops != &local_ops)
		return enl_fail(e, ENL_EUNSUPPORTED, "the store is not a local folder");
	if ((rc = enl_bucket_name_check(bucket, e)))
		return rc;
	int n = snprintf(out, cap, "%s/%s", st->root, bucket);
	if (n < 0 || (size_t)n >= cap)
		return enl_fail(e, ENL_ETOOBIG, "the data directory's path is too long");
	return ENL_OK;
}
