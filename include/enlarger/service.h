/* The use cases every door shares (HTTP routes, the CLI, the folder watcher):
 * process a photo and render a variant. Knows stores and tables only through
 * include/enlarger/store.h and table.h, so the AWS backends slot in unchanged. */
#ifndef ENLARGER_SERVICE_H
#define ENLARGER_SERVICE_H

#include <stdint.h>

#include <jansson.h>

#include "enlarger/body.h"
#include "enlarger/buf.h"
#include "enlarger/config.h"
#include "enlarger/err.h"
#include "enlarger/event.h"
#include "enlarger/keys.h"
#include "enlarger/pipeline.h"
#include "enlarger/store.h"
#include "enlarger/table.h"

struct enl_jobgate;
struct enl_flights; /* render single-flight map (src/service/flight.c) */
struct enl_sources; /* the sizes of originals' versions (src/service/source.c) */
struct enl_cleanup; /* background cleanups (src/service/cleanup.c) */

struct enl_app {
	const struct enl_config *cfg; /* borrowed: outlives the app */
	struct enl_store *store;      /* borrowed: the caller opens and destroys it */
	struct enl_table *table;      /* borrowed */
	struct enl_jobgate *gate;     /* owned: bounds concurrent image work */
	/* owned: one render computing per core. The gate admits a job more than the cores
	 * (ENLARGER_JOBS' default) to use the time jobs wait on their sources; a third render
	 * computing beside two on two cores only stretches all three (bench/profile.md). */
	struct enl_jobgate *render_cpu;
	struct enl_pipeline_opts popts;
	struct enl_flights *flights; /* owned */
	struct enl_sources *sources; /* owned */
	struct enl_cleanup *cleanup; /* owned: old objects of replaced and deleted photos */
	struct enl_cdn *cdn;         /* borrowed, may be NULL: invalidated by the cleanups */
	int cores;                   /* online CPUs, shared by the running jobs */
	/* Pipeline runs since start (processed photos + renders), for tests and metrics. */
	uint64_t process_runs;
	uint64_t render_runs;
};

/* The core's options from the settings: the one mapping, for every door (app->popts,
 * `enlarger process`). */
void enl_app_pipeline_opts(struct enl_pipeline_opts *out, const struct enl_config *cfg);
/* Sets up app over store and table (both borrowed). 0, ENL_ENOMEM or ENL_EINVAL. */
int enl_app_init(struct enl_app *app, const struct enl_config *cfg, struct enl_store *store,
                 struct enl_table *table, struct enl_errmsg *e);
/* Registers the app's gauges (jobs running, queued, pipeline runs, libvips memory now
 * and at its peak) with the metrics, and names the configured buckets' roles
 * (originals, thumbnails, optimized, renders) for the store call counter. */
void enl_app_register_metrics(struct enl_app *app);
/* Lets the background work (cleanups) queued so far finish for up to deadline_ms, then
 * drops the rest (logged): for a shutdown, after the server stopped. */
void enl_app_drain(struct enl_app *app, int deadline_ms);
/* Waits up to deadline_ms until the background work queued so far has run (work waiting
 * to be tried again later is left for later). For Lambda, which freezes the process once
 * it asks for the next invocation. 1 when settled, 0 when the deadline came first. */
int enl_app_settle(struct enl_app *app, int deadline_ms);
void enl_app_free(struct enl_app *app);

/* ---- readiness ----------------------------------------------------------------- */

struct enl_readiness {
	const char *store; /* the backends' names (borrowed): "local" or "s3" */
	const char *table; /* "sqlite" or "dynamodb" */
	enum { ENL_DOWN_NONE, ENL_DOWN_STORE, ENL_DOWN_TABLE } down; /* the first that failed */
};

/* Pings the store (the originals bucket) and then the table. 0 when both answer; else
 * the first one's error (ENL_EIO, ENL_ETIMEOUT, ...) with out->down naming it. */
int enl_service_ready(struct enl_app *app, struct enl_readiness *out, struct enl_errmsg *e);

/* ---- process a photo ---------------------------------------------------------- */

enum enl_process_outcome {
	ENL_OUTCOME_PROCESSED,  /* this call made the derivatives and completed the item */
	ENL_OUTCOME_DUPLICATE,  /* the same sequencer / ETag was already done (or failed) */
	ENL_OUTCOME_STALE,      /* a newer event is stored: nothing changed */
	ENL_OUTCOME_SUPERSEDED, /* a newer event took the photo over while this one ran */
	ENL_OUTCOME_IN_FLIGHT,  /* returned with ENL_EBUSY: the photo is being processed */
	ENL_OUTCOME_FAILED,     /* returned with a 422 error: the item is marked failed */
	ENL_OUTCOME_DELETED,    /* a delete: the item (if any) is "deleted", derivatives gone */
	ENL_OUTCOME_NONE,       /* returned with another error before any table write */
};

struct enl_process_result {
	enum enl_process_outcome outcome;
	char photo_id[ENL_KEY_MAX + 1];
	json_t *item; /* new reference (the photo item) or NULL; enl_process_result_free */
	/* PROCESSED with a mezzanine written: {"key", "width", "height", "bytes"} (not in the
	 * item: the photo table's attributes are the backend's contract). NULL otherwise. */
	json_t *mezzanine;
	/* With ENL_EBUSY: how long until a retry is likely to find a slot (the job gate's
	 * estimate from its queue, ms; 0: none), for Retry-After. */
	int64_t retry_after_ms;
};

/* Processes the object ev names, or, for an "Object Deleted" event, deletes what was made
 * of it (src/service/delete.c: the item marked "deleted", its derivatives deleted before
 * this returns, render variants and the CDN invalidation in the background). Returns 0
 * with out->item for PROCESSED, DUPLICATE, STALE and SUPERSEDED, and DELETED (out->item
 * NULL when the photo had no item). A replaced version's derivatives and render variants
 * are deleted in the background once the item points at the new ones. Errors: ENL_EINVAL
 * (wrong bucket, bad photo id), ENL_ENOTFOUND (no original), ENL_EDECODE /
 * ENL_EUNSUPPORTED / ENL_ETOOBIG (item marked failed), ENL_EBUSY (out->outcome IN_FLIGHT:
 * the photo is being processed; otherwise no job slot came within
 * ENLARGER_PROCESS_QUEUE_TIMEOUT_MS; out->retry_after_ms either way), ENL_EIO /
 * ENL_ETIMEOUT / ENL_ENOMEM (retryable; the claim is released, or when that fails too its
 * lease ends; never "completed"). Runs to the end even if the
 * client that asked has gone. */
int enl_service_process(struct enl_app *app, const struct enl_event *ev,
                        struct enl_process_result *out, struct enl_errmsg *e);
void enl_process_result_free(struct enl_process_result *r);

/* The /process use case for an event's raw body, the one entry of every door that takes
 * S3 events (POST /process, the Lambda door), so a new kind of event reaches them all at
 * once: parses body (enl_event_parse) into *ev and processes the object it names
 * (enl_service_process). Errors: the parser's ENL_EINVAL (e says what is wrong), else
 * those of enl_service_process, and ENL_EDECODE (outcome ENL_OUTCOME_FAILED) for a
 * duplicate of an event whose photo failed: a retry ends where the first attempt did.
 * *out as enl_service_process leaves it (free it either way). */
int enl_service_event(struct enl_app *app, const void *body, size_t len, struct enl_event *ev,
                      struct enl_process_result *out, struct enl_errmsg *e);

/* "processed", "duplicate", ... (static). */
const char *enl_process_outcome_name(enum enl_process_outcome o);
/* What a door answers for a successful enl_service_process: r's item (itself, now with
 * "outcome" set; {"photoId"} when there is none, as for a delete of a photo
 * without an item) with "outcome", and "mezzanine" when r has one. New reference, NULL when out of
 * memory. */
json_t *enl_process_result_json(struct enl_process_result *r);

/* The flat fields a processed photo gets (pipeline result + derivative keys + version +
 * processedAt), as stored in the table and printed by `enlarger process`. keys[d][0]
 * is the WebP key and keys[d][1] the JPEG key of derivative d; version is the version tag
 * of the original read (docs/keys.md), NULL for a file that is no stored object. New
 * reference. */
json_t *enl_service_fields(const struct enl_pipeline_result *res,
                           const char *keys[ENL_DERIV_COUNT][2], const char *version);

/* ---- render a variant --------------------------------------------------------- */

/* Characters of a /render signature: base64url of HMAC-SHA256, without padding. */
#define ENL_RENDER_SIG_LEN 43

/* What a /render URL asks for, read from its query as sent (enl_render_params_parse),
 * before the original's size is known. */
struct enl_render_params {
	/* As asked: width; height (0: no h); fit (inside unless fit=cover); format (auto
	 * resolved from Accept); quality (0: no q). */
	struct enl_render_req req;
	int fmt_auto;                          /* 1: the answer varies with Accept */
	char version[ENL_VERSION_TAG_MAX + 1]; /* v as sent; "" when absent */
	char sig[ENL_RENDER_SIG_LEN + 1];      /* sig as sent; "" when absent */
};

/* Reads raw_query (as sent, without '?'; NULL is "") in canonical form only, against
 * the settings: each of w, h, fit, fmt, q, v, sig at most once, no other name, no
 * empty pair; numbers in canonical decimal (no leading zero, sign, space or escape);
 * w required and from ENLARGER_RENDER_WIDTHS, h the same and only with fit; fit
 * inside|cover; fmt webp|jpeg|png|avif|auto (default auto, resolved from accept); q
 * from ENLARGER_RENDER_QUALITIES (none when it is empty); v a version tag; sig
 * ENL_RENDER_SIG_LEN base64url characters. ENL_EINVAL with e naming the parameters. */
int enl_render_params_parse(const struct enl_config *c, const char *raw_query, const char *accept,
                            struct enl_render_params *out, struct enl_errmsg *e);

/* The request that answers p for a source of src_w x src_h (after orientation), with
 * everything that cannot change the bytes folded away (docs/keys.md): w and h never
 * past the source's, h dropped where it cannot bind, cover without h is inside, the
 * quality named by the number the encoder uses (0 for PNG). Requests with the same
 * bytes get the same *out, and so the same cache key. */
void enl_render_canonical(const struct enl_config *c, const struct enl_render_params *p, int src_w,
                          int src_h, struct enl_render_req *out);

/* Signed URLs (src/service/render_sign.c, docs/signing.md). The query's pairs other
 * than sig, sorted by name (equal names keep their order) and '&'-joined, as sent, into
 * *out (free()). ENL_ENOMEM. */
int enl_render_sign_query(const char *raw_query, char **out);
/* The sig of raw_path and raw_query (its own sig pair left out) under key: base64url
 * without padding of HMAC-SHA256 keyed with key's bytes, over raw_path "?" sorted query.
 * 0, ENL_ENOMEM or ENL_EINTERNAL. */
int enl_render_sign(const char *key, const char *raw_path, const char *raw_query,
                    char out[ENL_RENDER_SIG_LEN + 1]);
/* 1 when sig is the signature under key or under previous (either may be NULL or ""),
 * compared in constant time; else 0. */
int enl_render_sig_ok(const char *key, const char *previous, const char *raw_path,
                      const char *raw_query, const char *sig);
/* The same URL at another version, for the 302 from an older one: raw_path "?" the
 * query's pairs with v=version (sig dropped) sorted by name, then "&sig=" its signature
 * under key when key is set (NULL or "": unsigned). *out: free(). 0 or ENL_ENOMEM. */
int enl_render_url_at(const char *raw_path, const char *raw_query, const char *version,
                      const char *key, char **out);

/* AVIF, then WebP, then JPEG: the first that accept lists explicitly with q > 0. */
enum enl_format enl_accept_pick(const char *accept);

struct enl_render_result {
	int redirect;     /* 1: the URL names another version than version; nothing read */
	int not_modified; /* 1: if_none_match matched; body is empty */
	int cache_hit;    /* 1: served from the render bucket */
	char version[ENL_VERSION_TAG_MAX + 1]; /* the original's current version */
	char etag[72];                         /* quoted strong ETag */
	char content_type[32];
	/* The variant, never a copy of its own: the cached file (a store with files), or
	 * bytes shared with every other answer sending them (read from S3, or rendered).
	 * Owned: enl_render_result_free. */
	struct enl_body body;
};

/* Renders key from the originals bucket with p, through the render cache, under the
 * canonical cache key of the original's current version (out->version). When p names
 * another version: out->redirect, and nothing but the original's HEAD was read.
 * if_none_match may be NULL. Four store operations at most on a miss: HEAD the original,
 * GET the variant, GET the version's mezzanine (when the output fits inside it) or the
 * original, PUT the variant; five when the mezzanine turns out missing (docs/keys.md). Errors:
 * ENL_ENOTFOUND (no original), ENL_EINVAL, ENL_EDECODE / ENL_EUNSUPPORTED / ENL_ETOOBIG (422; an
 * original over ENLARGER_MAX_INPUT_BYTES by its HEAD before it waits for a job slot), ENL_EBUSY
 * (queue full, the answers held in memory at ENLARGER_RESPONSE_MEMORY_MB, or the original replaced
 * while it was read), ENL_EIO. A failed cache write is logged, not returned. Identical misses that
 * arrive together are rendered once, and share one buffer. */
int enl_service_render(struct enl_app *app, const char *key, const struct enl_render_params *p,
                       const char *if_none_match, struct enl_render_result *out,
                       struct enl_errmsg *e);
void enl_render_result_free(struct enl_render_result *r);

/* ---- local folder watcher ----------------------------------------------------- */

struct enl_watch;
/* Watches the originals bucket's folder in the local store (enl_store_local_dir) and its
 * subfolders (inotify) and processes each file that is closed after writing or moved in;
 * dot files and temporary files (~, .tmp, .part, .swp) are skipped. Runs on its own
 * thread. ENL_EUNSUPPORTED when app->store is not the local store. */
int enl_watch_start(struct enl_app *app, struct enl_watch **out, struct enl_errmsg *e);
void enl_watch_stop(struct enl_watch *w);

#endif
