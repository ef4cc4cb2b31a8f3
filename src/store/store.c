/* Object store dispatch: the enl_store_* calls forward to the implementation's ops, and
 * each is counted here, once for every backend (enlarger_store_operations_total). */
#include "enlarger/store.h"

#include <strings.h>

#include "enlarger/metrics.h"

/* A store call with a NULL store or a missing op is a bug in the caller; say so
 * instead of crashing, so the request fails with a 500 and a log line. */
#define ENL_STORE_CHECK(s, op, e)                                                                  \
	do {                                                                                       \
		if (!(s) || !(s)->ops || !(s)->ops->op)                                            \
			return enl_fail((e), ENL_EINTERNAL, "object store not configured");        \
	} while (0)

int enl_store_get(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                  struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e)
{
	if (out)
		enl_buf_init(out, max_bytes);
	ENL_STORE_CHECK(s, get, e);
	enl_metrics_store_op("get", bucket);
	if (!out)
		return enl_fail(e, ENL_EINTERNAL, "get without an output buffer");
	return s->ops->get(s, bucket, key, max_bytes, out, info, e);
}

int enl_store_head(struct enl_store *s, const char *bucket, const char *key,
                   struct enl_object_info *info, struct enl_errmsg *e)
{
	ENL_STORE_CHECK(s, head, e);
	enl_metrics_store_op("head", bucket);
	return s->ops->head(s, bucket, key, info, e);
}

int enl_store_put(struct enl_store *s, const char *bucket, const char *key, const void *data,
                  size_t len, const struct enl_put_opts *opts, struct enl_errmsg *e)
{
	ENL_STORE_CHECK(s, put, e);
	enl_metrics_store_op("put", bucket);
	return s->ops->put(s, bucket, key, data, len, opts, e);
}

int enl_store_del(struct enl_store *s, const char *bucket, const char *key, struct enl_errmsg *e)
{
	ENL_STORE_CHECK(s, del, e);
	enl_metrics_store_op("del", bucket);
	return s->ops->del(s, bucket, key, e);
}

int enl_store_list(struct enl_store *s, const char *bucket, const char *prefix,
                   enl_store_list_cb cb, void *ud, struct enl_errmsg *e)
{
	ENL_STORE_CHECK(s, list, e);
	enl_metrics_store_op("list", bucket);
	if (!cb)
		return enl_fail(e, ENL_EINTERNAL, "list without a callback");
	return s->ops->list(s, bucket, prefix ? prefix : "", cb, ud, e);
}

int enl_store_ping(struct enl_store *s, const char *bucket, struct enl_errmsg *e)
{
	ENL_STORE_CHECK(s, ping, e);
	enl_metrics_store_op("ping", bucket);
	return s->ops->ping(s, bucket, e);
}

int enl_store_open(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                   int *fd_out, struct enl_object_info *info, struct enl_errmsg *e)
{
	*fd_out = -1;
	if (s && s->ops && !s->ops->open)
		return enl_fail(e, ENL_EUNSUPPORTED, "the %s store has no files to open",
		                s->name ? s->name : "object");
	ENL_STORE_CHECK(s, open, e);
	enl_metrics_store_op("get", bucket); /* a GET whose bytes are read by the sender */
	return s->ops->open(s, bucket, key, max_bytes, fd_out, info, e);
}

void enl_store_destroy(struct enl_store *s)
{
	if (s && s->ops && s->ops->destroy)
		s->ops->destroy(s);
}

const char *enl_object_meta(const struct enl_object_info *info, const char *name)
{
	if (!info || !name)
		return NULL;
	/* S3 lower-cases user metadata names; compare without case so callers may
	 * spell them either way. */
	for (int i = 0; i < info->n_meta && i < ENL_META_MAX; i++)
		if (strcasecmp(info->meta[i].name, name) == 0)
			return info->meta[i].value;
	return NULL;
}
