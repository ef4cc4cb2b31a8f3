/* Object store: buckets of keyed byte objects. Implementations: a local directory
 * (src/store/local.c, one folder per bucket) and S3 (src/store/s3.c). */
#ifndef ENLARGER_STORE_H
#define ENLARGER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"

#define ENL_META_MAX 8

/* A user metadata pair, S3's x-amz-meta-<name> (name lower-case, without the prefix). */
struct enl_meta_pair {
	char name[64];
	char value[512];
};

struct enl_object_info {
	uint64_t size;
	char etag[80]; /* quoted-free hex, e.g. MD5 of the bytes for a single PUT */
	char content_type[128];
	char cache_control[128];
	int64_t last_modified; /* unix seconds */
	int n_meta;
	struct enl_meta_pair meta[ENL_META_MAX];
};

struct enl_put_opts {
	const char *content_type;  /* may be NULL */
	const char *cache_control; /* may be NULL */
	int n_meta;
	const struct enl_meta_pair *meta;
	/* Object tags in URL query form ("k=v&k2=v2", encoded), NULL or "" for none: what S3
	 * lifecycle rules select by. S3 sends them as x-amz-tagging (signed); the local store
	 * has no lifecycle and ignores them. */
	const char *tagging;
	/* 1: atomic but not durable (no fsync): for caches, whose torn or lost entry is
	 * only recomputed. The local store honours it; S3 is durable anyway. */
	int no_fsync;
};

struct enl_store;

/* Calls cb for each key under prefix; a non-zero return from cb stops the walk
 * and is returned. */
typedef int (*enl_store_list_cb)(void *ud, const char *key);

struct enl_store_ops {
	int (*get)(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
	           struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e);
	int (*head)(struct enl_store *s, const char *bucket, const char *key,
	            struct enl_object_info *info, struct enl_errmsg *e);
	int (*put)(struct enl_store *s, const char *bucket, const char *key, const void *data,
	           size_t len, const struct enl_put_opts *opts, struct enl_errmsg *e);
	int (*del)(struct enl_store *s, const char *bucket, const char *key, struct enl_errmsg *e);
	int (*list)(struct enl_store *s, const char *bucket, const char *prefix,
	            enl_store_list_cb cb, void *ud, struct enl_errmsg *e);
	int (*ping)(struct enl_store *s, const char *bucket, struct enl_errmsg *e);
	void (*destroy)(struct enl_store *s);
	/* NULL in a store whose objects are not files (S3). */
	int (*open)(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
	            int *fd_out, struct enl_object_info *info, struct enl_errmsg *e);
};

/* Implementations embed this as their first member. */
struct enl_store {
	const struct enl_store_ops *ops;
	const char *name; /* "local" or "s3" */
};

/* Errors, for every implementation alike: ENL_ENOTFOUND (no such key),
 * ENL_ETOOBIG (over max_bytes), ENL_EINVAL (a key that is not allowed),
 * ENL_EIO / ENL_ETIMEOUT (backend failure: retryable). A PUT is atomic: readers see
 * the old object or the new one, never a part. out is initialised by get.
 * Keys: 1..1024 bytes of UTF-8 without control characters; bucket names follow
 * S3's rules. The local store also refuses "."/".." and empty segments, a leading
 * '/', backslashes and segments starting with ".tmp-" (see src/store/local.c).
 * get: max_bytes 0 means no cap; over the cap fails before reading the body, and
 * out is left empty (freed) on every error. info may be NULL.
 * del: deleting a missing key succeeds (as on S3).
 * list: keys come in byte order; ENL_ENOTFOUND when the bucket does not exist.
 * ping: the local store creates the bucket folder when missing.
 * open: a GET by reference, for a store whose objects are files (the local store):
 * *fd_out is an open descriptor (the caller's to close) whose bytes [0, info->size) are
 * the object's, as info describes them, for as long as it stays open; the same checks,
 * errors and max_bytes as get, and ENL_EUNSUPPORTED (no call made) from a store
 * without files, whose caller then uses get. */
int enl_store_get(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                  struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e);
int enl_store_head(struct enl_store *s, const char *bucket, const char *key,
                   struct enl_object_info *info, struct enl_errmsg *e);
int enl_store_put(struct enl_store *s, const char *bucket, const char *key, const void *data,
                  size_t len, const struct enl_put_opts *opts, struct enl_errmsg *e);
int enl_store_del(struct enl_store *s, const char *bucket, const char *key, struct enl_errmsg *e);
int enl_store_list(struct enl_store *s, const char *bucket, const char *prefix,
                   enl_store_list_cb cb, void *ud, struct enl_errmsg *e);
int enl_store_ping(struct enl_store *s, const char *bucket, struct enl_errmsg *e);
int enl_store_open(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                   int *fd_out, struct enl_object_info *info, struct enl_errmsg *e);
void enl_store_destroy(struct enl_store *s);

/* Returns the value of user metadata name, or NULL. Borrowed from info. */
const char *enl_object_meta(const struct enl_object_info *info, const char *name);

/* Local directory store rooted at dir (created if missing). *out owned by caller. */
int enl_store_local_open(const char *dir, struct enl_store **out, struct enl_errmsg *e);
/* The folder that holds bucket's objects in the local store s (what the folder watcher
 * watches; it may not exist yet), into out. 0, ENL_EUNSUPPORTED when s is another
 * store, ENL_EINVAL for a bad bucket name, ENL_ETOOBIG when it does not fit in cap. */
int enl_store_local_dir(const struct enl_store *s, const char *bucket, char *out, size_t cap,
                        struct enl_errmsg *e);

struct enl_aws_config;
struct enl_aws_client;

/* S3 store (src/store/s3.c) over client (borrowed: must outlive the store), addressed as
 * cfg says (copied). deadline_ms (0 = none) bounds the retries of each call: no new
 * attempt starts after it. Non-ASCII metadata values travel RFC 2047 encoded and come
 * back decoded. *out owned by caller. */
int enl_store_s3_open(const struct enl_aws_config *cfg, struct enl_aws_client *client,
                      long deadline_ms, struct enl_store **out, struct enl_errmsg *e);

#endif
