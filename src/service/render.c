/* The render use case behind GET /render/<key>: look the variant up in the render
 * bucket under a key that names the original's version and every byte-changing
 * parameter; on a miss render it once (single-flight), answer, and keep it.
 *
 * The original is HEADed on every request: its ETag is in the cache key, so a replaced
 * original is never answered with variants of the old bytes. CloudFront in front keeps
 * this off the hot path. No request lists the bucket: a miss costs at most a HEAD of the
 * original, a GET of the variant, a GET of the original and a PUT of the variant. The
 * variants of older versions are removed by the replacement's cleanup, and the render
 * bucket's lifecycle rule expires whatever is left (docs/keys.md). */
#include "enlarger/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/keys.h"
#include "enlarger/log.h"
#include "enlarger/metrics.h"
#include "admit.h"
#include "flight.h"

/* A cached variant is never larger than this; anything bigger is not ours. */
#define MAX_VARIANT_BYTES ((size_t)256 * 1024 * 1024)

/* Does an If-None-Match list hold etag (strong or weak form) or "*"? */
static int etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		size_t n = strcspn(p, ",");
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == el && strncmp(p, etag, el) == 0)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

/* Fetches the original and renders it under the job gate, with the job's memory cost
 * (admit.h: entered with a guess from the HEAD's size, the original read only once
 * admitted, then the cost from its header). */
static int render_miss(struct enl_app *app, const char *key, uint64_t size, const char *version,
                       const struct enl_render_params *p, struct enl_output *o,
                       int *version_changed, struct enl_errmsg *e)
{
	struct enl_buf original = ENL_BUF_INIT;
	struct enl_object_info ginfo;
	struct enl_admit adm = {0};
	struct enl_probe probe;
	char gversion[ENL_VERSION_TAG_MAX + 1];
	int rc;

	if ((rc = enl_admit_enter(app, size, &adm, e)))
		goto done;
	rc = enl_admit_fetch(app, key, &p->req, &adm, &original, &ginfo, &probe, e);
	if (rc == ENL_ENOTFOUND) {
		rc = enl_fail(e, ENL_ENOTFOUND, "no original \"%.200s\"", key);
		goto done;
	}
	if (rc == ENL_ETOOBIG) {
		rc = enl_fail(e, ENL_ETOOBIG, "the original is over the limit of %zu bytes",
		              app->cfg->max_input_bytes);
		goto done;
	}
	if (rc)
		goto done;
	enl_version_tag(&ginfo, gversion);
	*version_changed = strcmp(gversion, version) != 0;
	__atomic_fetch_add(&app->render_runs, 1, __ATOMIC_RELAXED);
	rc = enl_pipeline_render(original.data, original.len, &adm.opts, &probe, &p->req, o, e);
done:
	enl_admit_leave(app, &adm);
	enl_buf_free(&original);
	return rc;
}

/* What the lookup stage found out about a variant, for the render-and-store stage. */
struct variant {
	uint64_t original_size; /* from the original's HEAD */
	char version[ENL_VERSION_TAG_MAX + 1];
	char cache_key[256];
};

/* The lookup stage: HEADs the original, names the variant (cache key and ETag), answers a
 * revalidation and reads the render cache. 0 with out->not_modified or out->cache_hit
 * set, or 0 with neither and *v filled: a miss, to render. */
static int lookup(struct enl_app *app, const char *key, const struct enl_render_params *p,
                  const char *if_none_match, struct variant *v, struct enl_render_result *out,
                  struct enl_errmsg *e)
{
	const struct enl_config *cfg = app->cfg;
	struct enl_object_info info, cinfo;
	char hash[65];
	int rc;

	rc = enl_store_head(app->store, cfg->originals_bucket, key, &info, e);
	if (rc == ENL_ENOTFOUND || rc == ENL_EINVAL)
		return enl_fail(e, ENL_ENOTFOUND, "no original \"%.200s\"", key);
	if (rc)
		return rc;
	v->original_size = info.size;
	enl_version_tag(&info, v->version);
	if (enl_render_cache_key(key, v->version, &p->req, v->cache_key, sizeof(v->cache_key)))
		return enl_fail(e, ENL_EINTERNAL, "cache key too long");
	/* The ETag names the cache key, which names the bytes: it is known before any
	 * read, so a revalidation costs one HEAD of the original. */
	enl_key_hash(v->cache_key, hash);
	snprintf(out->etag, sizeof(out->etag), "\"%.32s\"", hash);
	if (if_none_match && etag_matches(if_none_match, out->etag)) {
		out->not_modified = 1;
		return 0;
	}

	rc = enl_store_get(app->store, cfg->render_bucket, v->cache_key, MAX_VARIANT_BYTES,
	                   &out->bytes, &cinfo, e);
	if (rc == 0) {
		out->cache_hit = 1;
		enl_metrics_render_cache(1);
		return 0;
	}
	if (rc != ENL_ENOTFOUND)
		enl_logf(ENL_LOG_WARN, "render cache read failed, rendering: %s", e->text);
	enl_buf_free(&out->bytes);
	enl_metrics_render_cache(0);
	return 0;
}

/* Best effort: a failed cache write is logged, and the variant is rendered again next time. */
static void store_variant(struct enl_app *app, const char *key, const char *cache_key,
                          const struct enl_output *o)
{
	struct enl_put_opts po = {0};
	struct enl_errmsg pe = {{0}};
	po.content_type = enl_format_mime(o->format);
	po.cache_control = ENL_CACHE_FOREVER;
	po.no_fsync = 1; /* a cache: atomic, not durable (a lost entry is re-rendered) */
	if (enl_store_put(app->store, app->cfg->render_bucket, cache_key, o->bytes.data,
	                  o->bytes.len, &po, &pe)) {
		json_t *lf = json_object();
		json_object_set_new(lf, "key", json_string(key));
		json_object_set_new(lf, "error", json_string(pe.text));
		enl_log_json(ENL_LOG_WARN, "render cache write failed", lf);
	}
}

/* The render-and-store stage of a miss: identical misses render once (single-flight); the
 * leader keeps the variant in the render cache before the flight ends. out->bytes gets
 * the variant. */
static int render_and_store(struct enl_app *app, const char *key, const struct enl_render_params *p,
                            const struct variant *v, struct enl_render_result *out,
                            struct enl_errmsg *e)
{
	struct enl_output o;
	struct enl_flight *f = NULL;
	int leader = 0, version_changed = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	f = enl_flight_join(app->flights, v->cache_key, &leader);
	if (!f)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	if (!leader) {
		rc = enl_flight_wait(app->flights, f, &out->bytes, e);
		goto done;
	}

	rc = render_miss(app, key, v->original_size, v->version, p, &o, &version_changed, e);
	/* Into the cache before the flight ends: a caller arriving after the end then
	 * finds a hit instead of rendering the same variant again. */
	if (rc == 0 && !version_changed)
		store_variant(app, key, v->cache_key, &o);
	enl_flight_finish(app->flights, f, rc, e, o.bytes.data, o.bytes.len);
	if (rc)
		goto done;
	enl_buf_move(&out->bytes, &o.bytes);

done:
	enl_flight_leave(app->flights, f);
	enl_buf_free(&o.bytes);
	return rc;
}

int enl_service_render(struct enl_app *app, const char *key, const struct enl_render_params *p,
                       const char *if_none_match, struct enl_render_result *out,
                       struct enl_errmsg *e)
{
	struct variant v;
	struct enl_errmsg local;
	int rc;

	if (!e)
		e = &local;
	memset(out, 0, sizeof(*out));
	enl_buf_init(&out->bytes, 0);
	snprintf(out->content_type, sizeof(out->content_type), "%s",
	         enl_format_mime(p->req.format));
	if ((rc = lookup(app, key, p, if_none_match, &v, out, e)) || out->not_modified ||
	    out->cache_hit)
		return rc;
	return render_and_store(app, key, p, &v, out, e);
}

void enl_render_result_free(struct enl_render_result *r)
{
	enl_buf_free(&r->bytes);
}
