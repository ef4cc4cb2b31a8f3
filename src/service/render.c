/* The render use case behind GET /render/<key>: look the variant up in the render
 * bucket under a key that names the original's version and every byte-changing
 * parameter in canonical form; on a miss render it once (single-flight), answer, and
 * keep it.
 *
 * The original is HEADed on every request: its version is in the cache key, so a replaced
 * original is never answered with variants of the old bytes, and a URL naming an older
 * version (v) is sent to the current one. The canonical key needs the source's size
 * (enl_render_canonical), which source.h knows before any read for every version seen
 * before. No request lists the bucket: a request costs a HEAD of the original, a GET of
 * the variant, and on a miss a GET of its source and a PUT of the variant. The source is
 * the version's mezzanine (written by /process, docs/keys.md) when the output fits inside
 * it, else the original; a mezzanine found missing costs its GET (404) once per version
 * every ENL_MEZZANINE_RECHECK_S, then the original's. A version nobody has read yet reads
 * the original first and the variant second, and renders from the bytes in hand. The
 * variants of older versions are deleted by the cleanup after a replacement or
 * a delete (cleanup.c), and the render bucket's lifecycle rule expires any variant (tagged)
 * left behind, never a mezzanine (docs/keys.md). CloudFront in front keeps all of this off
 * the hot path. */
#include "enlarger/service.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/body.h"
#include "enlarger/defaults.h"
#include "enlarger/jobgate.h"
#include "enlarger/keys.h"
#include "enlarger/log.h"
#include "enlarger/metrics.h"
#include "admit.h"
#include "etag.h"
#include "flight.h"
#include "source.h"

/* A cached variant is never larger than this; anything bigger is not ours. */
#define MAX_VARIANT_BYTES ((size_t)256 * 1024 * 1024)

/* The source read under the job gate, with its header: what a miss renders from, the
 * original or the version's mezzanine. */
struct fetched {
	struct enl_admit adm;
	struct enl_buf original; /* the source's bytes */
	struct enl_object_info info;
	struct enl_probe probe;
	int have;
	int mezzanine; /* 1: the bytes are the mezzanine's */
};

static void fetched_drop(struct enl_app *app, struct fetched *f)
{
	enl_admit_leave(app, &f->adm);
	enl_buf_free(&f->original);
	enl_admit_return_pages(app, &f->adm);
	f->have = 0;
}

/* Enters the gate with a guess of the job's memory cost (cost), then reads bucket/key and
 * its header for req (admit.h: the cost set from the header once read). 0 with f holding
 * it, else f dropped; the caller says what the error means. */
static int read_source(struct enl_app *app, const char *bucket, const char *key, uint64_t cost,
                       const struct enl_render_req *req, struct fetched *f, struct enl_errmsg *e)
{
	int rc = enl_admit_enter(app, cost, &f->adm, e);
	if (rc == 0)
		rc = enl_admit_fetch(app, bucket, key, req, &f->adm, &f->original, &f->info,
		                     &f->probe, e);
	if (rc)
		fetched_drop(app, f);
	return rc;
}

/* Enters the gate with the job's memory cost and reads the original (admit.h: entered
 * with a guess from the HEAD's size, the original read only once admitted, then the cost
 * from its header). An original over the byte limit by its HEAD is refused before the
 * gate: it never takes a slot, nor waits in the queue, to fail. The bytes read must be
 * the version the HEAD named: a key's variants are named by that version. */
static int fetch(struct enl_app *app, const char *key, uint64_t size, const char *version,
                 const struct enl_render_req *req, struct fetched *f, struct enl_errmsg *e)
{
	char got[ENL_VERSION_TAG_MAX + 1];
	int rc;

	if (size > app->cfg->max_input_bytes)
		return enl_fail(e, ENL_ETOOBIG, "the original is %llu bytes, over the limit of %zu",
		                (unsigned long long)size, app->cfg->max_input_bytes);
	rc = read_source(app, app->cfg->originals_bucket, key, size, req, f, e);
	if (rc == ENL_ENOTFOUND)
		rc = enl_fail(e, ENL_ENOTFOUND, "no original \"%.200s\"", key);
	else if (rc == ENL_ETOOBIG)
		rc = enl_fail(e, ENL_ETOOBIG, "the original is over the limit of %zu bytes",
		              app->cfg->max_input_bytes);
	if (rc)
		return rc;
	enl_version_tag(&f->info, got);
	if (strcmp(got, version) != 0) {
		fetched_drop(app, f);
		return enl_fail(e, ENL_EBUSY, "the original was replaced while it was read; retry");
	}
	f->have = 1;
	f->mezzanine = 0;
	return 0;
}

/* What the lookup stage found out about a variant, for the fetch-or-render stage. */
struct variant {
	struct enl_render_req req; /* canonical: what is named */
	struct enl_source src;     /* the version's size, format and mezzanine */
	uint64_t original_size;    /* from the original's HEAD */
	char version[ENL_VERSION_TAG_MAX + 1];
	char cache_key[256];
	int read_cache; /* 1: the store has no files, the leader GETs the cached variant */
};

/* What a miss draws: the canonical request with a fit-inside size made exact
 * (enl_render_inside_size of the source's size), so that either source gives the same
 * size; what that needs from its source; and whether the mezzanine may serve it. */
struct draw {
	struct enl_render_req req;
	struct enl_render_req from_mezzanine; /* req, naming the original (decode_plan.c) */
	int need_w, need_h;                   /* enl_render_source_need */
	int mezzanine;                        /* 1: the version's mezzanine may serve */
};

static void plan_draw(const struct enl_config *cfg, const struct variant *v, struct draw *d)
{
	const struct enl_source *src = &v->src;
	int mw, mh;

	d->req = v->req;
	if (v->req.fit == ENL_FIT_INSIDE || v->req.height < 1) {
		int w, h;
		enl_render_inside_size(src->width, src->height, v->req.width, v->req.height, &w,
		                       &h);
		/* A panorama's height past the bound stays "any height" (from the original). */
		if (h <= ENL_RENDER_MAX_SIDE) {
			d->req.width = w;
			d->req.height = h;
			d->req.fit = ENL_FIT_INSIDE;
			d->req.exact = 1;
		}
	}
	enl_render_source_need(src->width, src->height, &d->req, &d->need_w, &d->need_h);
	d->mezzanine = cfg->mezzanine && src->mezz != ENL_SOURCE_MEZZ_NONE &&
	               enl_mezzanine_size(src->width, src->height, &mw, &mh) && d->need_w <= mw &&
	               d->need_h <= mh;
	d->from_mezzanine = d->req;
	d->from_mezzanine.original_width = src->width;
	d->from_mezzanine.original_jpeg = src->jpeg;
}

/* Reads the version's mezzanine under the gate, when d says it may serve. 0 with f
 * holding it; 1 to render from the original instead (none, or not usable: a missing one
 * is remembered for a while, source.h); or ENL_EBUSY, which the original would meet too. */
static int fetch_mezzanine(struct enl_app *app, const char *key, const struct variant *v,
                           const struct draw *d, struct fetched *f, struct enl_errmsg *e)
{
	char mkey[ENL_VERSION_TAG_MAX + 160];
	struct enl_errmsg me = {{0}};
	int rc;

	if (!d->mezzanine || enl_mezzanine_key(key, v->version, mkey, sizeof(mkey)))
		return 1;
	/* A guess of its bytes, before the header sets the real cost: a byte a pixel. */
	rc = read_source(app, app->cfg->render_bucket, mkey,
	                 (uint64_t)ENL_MEZZANINE_SIDE * ENL_MEZZANINE_SIDE, &d->from_mezzanine, f,
	                 &me);
	if (rc == ENL_EBUSY) {
		*e = me;
	} else if (rc == ENL_ENOTFOUND) {
		enl_source_no_mezzanine(app, key, v->version);
		rc = 1;
	} else if (rc == 0 && (f->probe.rc || strcmp(f->probe.format, "jpeg") != 0 ||
	                       f->probe.width < d->need_w || f->probe.height < d->need_h)) {
		/* Another build's (another ENL_MEZZANINE_SIDE), or damaged: not this render's. */
		enl_logf(ENL_LOG_WARN,
		         "mezzanine %s is %dx%d %s, %dx%d is needed: the original "
		         "is read instead",
		         mkey, f->probe.width, f->probe.height, f->probe.format, d->need_w,
		         d->need_h);
		fetched_drop(app, f);
		rc = 1;
	} else if (rc) {
		enl_logf(ENL_LOG_WARN, "mezzanine read failed, the original is read: %s", me.text);
		rc = 1;
	}
	if (rc)
		return rc;
	f->have = 1;
	f->mezzanine = 1;
	return 0;
}

static void log_rendered(const char *key, const struct enl_output *o, int mezzanine)
{
	json_t *lf = json_object();
	json_object_set_new(lf, "key", json_string(key));
	json_object_set_new(lf, "source", json_string(mezzanine ? "mezzanine" : "original"));
	json_object_set_new(lf, "width", json_integer(o->width));
	json_object_set_new(lf, "height", json_integer(o->height));
	json_object_set_new(lf, "format", json_string(enl_format_name(o->format)));
	enl_log_json(ENL_LOG_INFO, "variant rendered", lf);
}

/* The lookup stage, once the source's size is known: names the variant (its canonical
 * request, cache key and ETag), answers a revalidation, and finds the variant where it
 * costs no copy: bytes an answer already holds (flight.h), or the cached file of a store
 * that has files, sent from its descriptor. 0 with out->not_modified or out->cache_hit
 * set, or 0 with neither: to fetch (a store without files) or render, in a flight. */
static int lookup(struct enl_app *app, const char *key, const struct enl_render_params *p,
                  const struct enl_source *src, const char *if_none_match, struct variant *v,
                  struct enl_render_result *out, struct enl_errmsg *e)
{
	const struct enl_config *cfg = app->cfg;
	struct enl_object_info cinfo;
	struct enl_shared *kept;
	char hash[65];
	int fd = -1;
	int rc;

	enl_render_canonical(cfg, p, src->width, src->height, &v->req);
	v->src = *src;
	if (enl_render_cache_key(key, v->version, &v->req, v->cache_key, sizeof(v->cache_key)))
		return enl_fail(e, ENL_EINTERNAL, "cache key too long");
	/* The ETag names the cache key, which names the bytes: it is known before any
	 * read, so a revalidation costs one HEAD of the original. */
	enl_key_hash(v->cache_key, hash);
	snprintf(out->etag, sizeof(out->etag), "\"%.32s\"", hash);
	if (if_none_match && enl_etag_matches(if_none_match, out->etag)) {
		out->not_modified = 1;
		return 0;
	}

	if ((kept = enl_flights_find(app->flights, v->cache_key))) {
		enl_body_set_shared(&out->body, kept);
		out->cache_hit = 1;
		return 0;
	}
	rc = enl_store_open(app->store, cfg->render_bucket, v->cache_key, MAX_VARIANT_BYTES, &fd,
	                    &cinfo, e);
	if (rc == 0) {
		enl_body_set_file(&out->body, fd, 0, cinfo.size);
		out->cache_hit = 1;
		return 0;
	}
	v->read_cache = rc == ENL_EUNSUPPORTED;
	if (rc != ENL_ENOTFOUND && rc != ENL_EUNSUPPORTED)
		enl_logf(ENL_LOG_WARN, "render cache read failed, rendering: %s", e->text);
	return 0;
}

/* The leader's read of the cached variant from a store without files (S3), kept in
 * memory while it is sent: 0 with *out, or 0 and *out NULL when it is not cached (or
 * cannot be read: then it is rendered), or ENL_EBUSY when the kept answers are at their
 * cap (ENLARGER_RESPONSE_MEMORY_MB). */
static int read_cached(struct enl_app *app, const struct variant *v, struct enl_shared **out,
                       struct enl_errmsg *e)
{
	struct enl_buf bytes = ENL_BUF_INIT;
	struct enl_object_info cinfo;
	int rc;
	*out = NULL;
	if (enl_flights_full(app->flights))
		return enl_fail(e, ENL_EBUSY, "too many answers are being sent; retry later");
	rc = enl_store_get(app->store, app->cfg->render_bucket, v->cache_key, MAX_VARIANT_BYTES,
	                   &bytes, &cinfo, e);
	if (rc) {
		if (rc != ENL_ENOTFOUND)
			enl_logf(ENL_LOG_WARN, "render cache read failed, rendering: %s", e->text);
		return 0;
	}
	rc = enl_flights_keep(app->flights, v->cache_key, &bytes, 0, out);
	if (rc == ENL_EBUSY)
		return enl_fail(e, rc, "too many answers are being sent; retry later");
	return rc ? enl_fail(e, rc, "out of memory") : 0;
}

/* Best effort: a failed cache write is logged, and the variant is rendered again next time. */
static void store_variant(struct enl_app *app, const char *key, const char *cache_key,
                          const struct enl_output *o)
{
	struct enl_put_opts po = {0};
	struct enl_errmsg pe = {{0}};
	po.content_type = enl_format_mime(o->format);
	po.cache_control = ENL_CACHE_FOREVER;
	po.tagging = ENL_VARIANT_TAG; /* what the bucket's lifecycle rule expires */
	po.no_fsync = 1; /* a cache: atomic, not durable (a lost entry is re-rendered) */
	if (enl_store_put(app->store, app->cfg->render_bucket, cache_key, o->bytes.data,
	                  o->bytes.len, &po, &pe)) {
		json_t *lf = json_object();
		json_object_set_new(lf, "key", json_string(key));
		json_object_set_new(lf, "error", json_string(pe.text));
		enl_log_json(ENL_LOG_WARN, "render cache write failed", lf);
	}
}

/* The leader's render of a miss, from f (read here when it is not yet): kept in the render
 * cache (before the flight ends, so a caller arriving after the end finds a hit instead
 * of rendering again) and in memory while it is sent. f is dropped either way. */
static int render_variant(struct enl_app *app, const char *key, const struct variant *v,
                          struct fetched *f, struct enl_shared **out, struct enl_errmsg *e)
{
	struct enl_output o;
	struct draw d;
	int rc;

	memset(&o, 0, sizeof(o));
	plan_draw(app->cfg, v, &d);
	rc = f->have ? 0 : fetch_mezzanine(app, key, v, &d, f, e);
	if (rc == 1)
		rc = fetch(app, key, v->original_size, v->version, &d.req, f, e);
	if (rc == 0) {
		/* Waits as long as it takes, and is never refused: its queue has room for every
		 * job the gate runs. */
		int cpu = enl_jobgate_enter_cost(app->render_cpu, 0, -1) == 0;
		__atomic_fetch_add(&app->render_runs, 1, __ATOMIC_RELAXED);
		rc = enl_pipeline_render(f->original.data, f->original.len, &f->adm.opts, &f->probe,
		                         f->mezzanine ? &d.from_mezzanine : &d.req, &o, e);
		if (cpu)
			enl_jobgate_leave_cost(app->render_cpu, 0);
	}
	if (rc == 0) {
		enl_metrics_render_source(f->mezzanine);
		log_rendered(key, &o, f->mezzanine);
	}
	fetched_drop(app, f);
	if (rc == 0)
		store_variant(app, key, v->cache_key, &o);
	/* Counted even past the cap: the bytes exist already; sharing them adds nothing. */
	if (rc == 0 && enl_flights_keep(app->flights, v->cache_key, &o.bytes, 1, out))
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
	enl_buf_free(&o.bytes);
	return rc;
}

/* The fetch-or-render stage: identical requests that get here together are served by one
 * leader, which reads the cache (a store without files) or renders, and whose bytes every
 * waiter shares. f: the original when already read (dropped here either way: nobody
 * waits holding one). out->body gets the bytes. */
static int fetch_or_render(struct enl_app *app, const char *key, const struct variant *v,
                           struct fetched *f, struct enl_render_result *out, struct enl_errmsg *e)
{
	struct enl_shared *bytes = NULL;
	struct enl_flight *fl;
	int leader = 0, hit = 0;
	int rc;

	fl = enl_flight_join(app->flights, v->cache_key, &leader);
	if (!fl) {
		fetched_drop(app, f);
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	}
	if (!leader) {
		fetched_drop(app, f);
		rc = enl_flight_wait(app->flights, fl, &bytes, &hit, e);
	} else {
		/* Kept by an answer whose flight ended since the lookup: no second render. */
		rc = 0;
		bytes = enl_flights_find(app->flights, v->cache_key);
		if (!bytes && v->read_cache)
			rc = read_cached(app, v, &bytes, e);
		hit = bytes != NULL;
		if (!rc && !bytes)
			rc = render_variant(app, key, v, f, &bytes, e);
		fetched_drop(app, f);
		enl_flight_finish(app->flights, fl, rc, e, bytes, hit);
	}
	enl_flight_leave(app->flights, fl);
	if (rc == 0) {
		enl_body_set_shared(&out->body, bytes);
		out->cache_hit = hit;
	}
	return rc;
}

/* The source size a leader found, as the bytes of its flight: "<width> <height>". */
static int size_share(const struct enl_source *src, struct enl_shared **out)
{
	struct enl_buf b = ENL_BUF_INIT;
	char dims[32];
	int n = snprintf(dims, sizeof(dims), "%d %d %d", src->width, src->height, src->jpeg);
	if (enl_buf_append(&b, dims, (size_t)n + 1)) {
		enl_buf_free(&b);
		return ENL_ENOMEM;
	}
	return enl_shared_new(&b, NULL, NULL, out);
}

/* A version whose size nobody knows yet: read the original (under the gate) and its
 * header, remember the size, then look the variant up and render it from the bytes in
 * hand. Requests for the same version meanwhile wait for the size instead of reading the
 * original too. */
static int render_unknown(struct enl_app *app, const char *key, const struct enl_render_params *p,
                          const char *if_none_match, struct variant *v,
                          struct enl_render_result *out, struct enl_errmsg *e)
{
	char fkey[ENL_VERSION_TAG_MAX + 80], khash[65];
	struct fetched f;
	struct enl_source src = {.mezz = ENL_SOURCE_MEZZ_UNKNOWN};
	struct enl_render_req guess;
	struct enl_shared *dims = NULL;
	int leader = 0, hit = 0, rc;

	memset(&f, 0, sizeof(f));
	enl_buf_init(&f.original, 0);
	enl_key_hash(key, khash);
	snprintf(fkey, sizeof(fkey), "source %s/%s", khash, v->version);
	struct enl_flight *fl = enl_flight_join(app->flights, fkey, &leader);
	if (!fl)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	if (!leader) {
		rc = enl_flight_wait(app->flights, fl, &dims, &hit, e);
		enl_flight_leave(app->flights, fl);
		if (rc == 0 && sscanf((const char *)enl_shared_data(dims), "%d %d %d", &src.width,
		                      &src.height, &src.jpeg) != 3)
			rc = enl_fail(e, ENL_EINTERNAL,
			              "no source size from the render that read it");
		enl_shared_unref(dims);
	} else {
		/* The cost estimate only needs the request's scale: no clamping yet. */
		enl_render_canonical(app->cfg, p, INT_MAX, INT_MAX, &guess);
		rc = fetch(app, key, v->original_size, v->version, &guess, &f, e);
		if (rc == 0 && f.probe.rc) {
			rc = f.probe.rc;
			*e = f.probe.err;
		}
		if (rc == 0) {
			src.width = f.probe.width;
			src.height = f.probe.height;
			src.jpeg = strcmp(f.probe.format, "jpeg") == 0;
			enl_source_remember(app, key, v->version, &src);
			if (size_share(&src, &dims))
				rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		}
		enl_flight_finish(app->flights, fl, rc, e, dims, 0);
		enl_flight_leave(app->flights, fl);
		enl_shared_unref(dims);
	}
	if (rc == 0)
		rc = lookup(app, key, p, &src, if_none_match, v, out, e);
	if (rc == 0 && !out->not_modified && !out->cache_hit)
		return fetch_or_render(app, key, v, &f, out, e);
	fetched_drop(app, &f);
	return rc;
}

int enl_service_render(struct enl_app *app, const char *key, const struct enl_render_params *p,
                       const char *if_none_match, struct enl_render_result *out,
                       struct enl_errmsg *e)
{
	const struct enl_config *cfg = app->cfg;
	struct enl_object_info info;
	struct enl_source src;
	struct fetched f;
	struct variant v;
	struct enl_errmsg local;
	int rc;

	if (!e)
		e = &local;
	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	enl_body_init(&out->body);
	snprintf(out->content_type, sizeof(out->content_type), "%s",
	         enl_format_mime(p->req.format));

	rc = enl_store_head(app->store, cfg->originals_bucket, key, &info, e);
	if (rc == ENL_ENOTFOUND || rc == ENL_EINVAL)
		return enl_fail(e, ENL_ENOTFOUND, "no original \"%.200s\"", key);
	if (rc)
		return rc;
	v.original_size = info.size;
	enl_version_tag(&info, v.version);
	snprintf(out->version, sizeof(out->version), "%s", v.version);
	/* An older (or made-up) version: never its bytes, a pointer to the current ones. */
	if (p->version[0] && strcmp(p->version, v.version) != 0) {
		out->redirect = 1;
		return 0;
	}

	if (enl_source_find(app, key, v.version, &info, &src)) {
		rc = render_unknown(app, key, p, if_none_match, &v, out, e);
	} else {
		memset(&f, 0, sizeof(f));
		enl_buf_init(&f.original, 0);
		rc = lookup(app, key, p, &src, if_none_match, &v, out, e);
		if (rc == 0 && !out->not_modified && !out->cache_hit)
			rc = fetch_or_render(app, key, &v, &f, out, e);
	}
	if (rc == 0 && !out->not_modified)
		enl_metrics_render_cache(out->cache_hit);
	return rc;
}

void enl_render_result_free(struct enl_render_result *r)
{
	enl_body_free(&r->body);
}
