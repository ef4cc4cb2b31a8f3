/* Private to src/store/local*.c: the local directory store's state, limits and the
 * functions its files share. The layout and the guarantees are described at the top
 * of local.c. */
#ifndef ENLARGER_STORE_LOCAL_INTERNAL_H
#define ENLARGER_STORE_LOCAL_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/stat.h>

#include <jansson.h>

#include "enlarger/names.h"
#include "enlarger/store.h"

#define LOCAL_KEY_MAX 1024
#define LOCAL_SEGMENT_MAX 250 /* leaves room for ".json" within NAME_MAX */
#define LOCAL_SIDECAR_MAX (64 * 1024)
#define LOCAL_LOCKS 64
#define LOCAL_READ_RETRIES 20
#define LOCAL_LIST_DEPTH 128
#define LOCAL_META_DIR ".meta"
#define LOCAL_TMP_PREFIX ".tmp-"
#define LOCAL_INFO_SLOTS 512 /* remembered object infos (local_infocache.c) */

struct local_info_entry;

struct local_store {
	struct enl_store base; /* first: the dispatch casts */
	int root_fd;
	char *root; /* the data directory as given (enl_store_local_dir) */
	pthread_mutex_t locks[LOCAL_LOCKS];
	pthread_rwlock_t info_locks[LOCAL_LOCKS]; /* info[i] under info_locks[i % LOCAL_LOCKS] */
	struct local_info_entry *info[LOCAL_INFO_SLOTS];
};

/* ---- local.c: locks ---- */

/* The lock stripe of bucket/key (borrowed, lives as long as st). */
pthread_mutex_t *enl_local_key_lock(struct local_store *st, const char *bucket, const char *key);

/* ---- local_infocache.c: object infos by data-file identity ---- */

/* 1 and *out filled when bucket/key was read before and its data file (sb, from the
 * open fd) is the same file unchanged; else 0. */
int enl_local_info_cached(struct local_store *st, const char *bucket, const char *key,
                          const struct stat *sb, struct enl_object_info *out);
/* Remembers info for the data file sb of bucket/key (best effort). */
void enl_local_info_remember(struct local_store *st, const char *bucket, const char *key,
                             const struct stat *sb, const struct enl_object_info *info);
void enl_local_info_free(struct local_store *st);

/* ---- local_check.c: what the store accepts (e may be NULL) ---- */

/* Bucket names: enl_bucket_name_check (enlarger/names.h), S3's rules. */
/* A key: 1..LOCAL_KEY_MAX bytes of UTF-8, no control characters or backslashes, no
 * leading '/', no empty, "." or ".." segments, none starting with ".tmp-" and none
 * over LOCAL_SEGMENT_MAX bytes. 0 or ENL_EINVAL. */
int enl_local_key_check(const char *k, struct enl_errmsg *e);
/* A listing prefix: the characters a key may hold, and its folder part (up to the
 * last '/', whose length goes to *dirlen_out) made of proper key segments; the rest
 * is matched by name. 0 or ENL_EINVAL. */
int enl_local_prefix_check(const char *prefix, size_t *dirlen_out, struct enl_errmsg *e);
/* PUT options: content type, cache control and user metadata that fit the info
 * struct and hold no control characters. NULL is fine. 0 or ENL_EINVAL. */
int enl_local_opts_check(const struct enl_put_opts *o, struct enl_errmsg *e);

/* ---- local_path.c: paths below the root, never through a link ---- */

enum local_side { SIDE_DATA, SIDE_META };

/* Opens the directory dir/p[0..n) (segments separated by '/') below dirfd, never
 * following a symbolic link, creating missing folders when create is set.
 * Returns an fd or -errno. */
int enl_local_open_dirs(int dirfd, const char *p, size_t n, int create);
/* Opens the folder that holds key's last segment (data or sidecar side) and
 * points *last at that segment inside key. Returns an fd or -errno. */
int enl_local_open_key_dir(struct local_store *st, enum local_side side, const char *bucket,
                           const char *key, int create, const char **last);
/* Opens key's file on side (the data file, or its sidecar "<last>.json") with flags
 * (O_NOFOLLOW added), no symbolic link on the way: one openat2 where the kernel has it.
 * Returns an fd or -errno. */
int enl_local_open_key_file(struct local_store *st, enum local_side side, const char *bucket,
                            const char *key, int flags);
/* Logs what failed (with strerror, no path) and sets ENL_EIO. */
int enl_local_io_fail(struct enl_errmsg *e, const char *what, int err);
/* errno of a read or delete: missing is ENL_ENOTFOUND, a link or a long name
 * ENL_EINVAL, the rest ENL_EIO. */
int enl_local_errno(int err, const char *what, struct enl_errmsg *e);
/* errno of a creation: a path segment that is a file (or a sidecar) is a key
 * conflict (ENL_EINVAL). */
int enl_local_create_errno(int err, const char *what, struct enl_errmsg *e);

/* ---- local_write.c: atomic writes (temp + fsync + rename) ---- */

/* 0 or -errno. */
int enl_local_write_all(int fd, const void *p, size_t n);
/* A file being written in a folder before it takes its key's name. Unnamed (O_TMPFILE)
 * where the file system allows: a process killed while writing leaves nothing behind,
 * and a new key never has a temporary name at all. Elsewhere it is .tmp-<random>
 * (reserved, never listed), which a crash leaves behind. */
struct local_temp {
	int fd;        /* write here */
	int dirfd;     /* borrowed */
	char name[32]; /* its name in dirfd while it has one, else "" */
};
/* Opens t in dirfd. 0 or -errno. */
int enl_local_temp_open(struct local_temp *t, int dirfd);
/* Makes t the file `target` in its folder, atomically (readers see the old file or
 * the new one whole). Called under the key's lock. 0 or -errno. */
int enl_local_temp_commit(struct local_temp *t, const char *target);
/* Closes t and removes what is left of it (nothing once committed). */
void enl_local_temp_discard(struct local_temp *t);

/* ---- local_etag.c: what S3 would report from the bytes ---- */

/* MD5 hex of data. ENL_OK or ENL_EINTERNAL. */
int enl_local_md5(const void *data, size_t len, char out[33]);
/* MD5 of everything fd holds, read from the start. ENL_EIO with *err set when a
 * read fails. */
int enl_local_md5_fd(int fd, char out[33], int *err);
/* A content type from the first bytes, for files dropped in by hand. Borrowed, static. */
const char *enl_local_sniff_type(const unsigned char *h, size_t n);

/* ---- local_sidecar.c: the metadata sidecar ---- */

/* "<last>.json" into out. 0 or -ENAMETOOLONG. */
int enl_local_sidecar_name(const char *last, char *out, size_t cap);
/* Reads and parses the sidecar of key; *out (new reference) NULL when there is none
 * or it cannot be read or parsed (then the object is treated as dropped in by hand). */
void enl_local_sidecar_load(struct local_store *st, const char *bucket, const char *key,
                            json_t **out);
/* A sidecar's bytes as its JSON object: new reference, or NULL when they are not one. */
json_t *enl_local_sidecar_parse(const void *data, size_t len);
/* Whether sidecar sc (borrowed) describes the file sb. */
int enl_local_sidecar_matches(json_t *sc, const struct stat *sb);
/* ETag, content type, cache control and user metadata from sc (borrowed) into info. */
void enl_local_sidecar_info(json_t *sc, struct enl_object_info *info);
/* The sidecar document for a PUT. New reference, NULL on ENOMEM. */
json_t *enl_local_sidecar_new(const struct stat *sb, const char *etag,
                              const struct enl_put_opts *o);
/* Same inode, device, size and mtime. */
int enl_local_same_file(const struct stat *a, const struct stat *b);
/* Remembers the ETag and type of a file that came without a sidecar, if the file at
 * key is still the one described by sb. Best effort. */
void enl_local_sidecar_cache(struct local_store *st, const char *bucket, const char *key,
                             const struct stat *sb, const struct enl_object_info *info);

/* ---- the operations (local_read.c, local_write.c, local_list.c) ---- */

int enl_local_get(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                  struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e);
int enl_local_head(struct enl_store *s, const char *bucket, const char *key,
                   struct enl_object_info *info, struct enl_errmsg *e);
int enl_local_open(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                   int *fd_out, struct enl_object_info *info, struct enl_errmsg *e);
int enl_local_put(struct enl_store *s, const char *bucket, const char *key, const void *data,
                  size_t len, const struct enl_put_opts *opts, struct enl_errmsg *e);
int enl_local_del(struct enl_store *s, const char *bucket, const char *key, struct enl_errmsg *e);
int enl_local_list(struct enl_store *s, const char *bucket, const char *prefix,
                   enl_store_list_cb cb, void *ud, struct enl_errmsg *e);

#endif
