/* The process-a-photo use case: fetch the original, claim the photo in the table,
 * run the core once under the job gate, write the four derivatives, complete the item.
 *
 * Idempotency comes from the table's claim (include/enlarger/table.h): EventBridge
 * delivers at least once and out of order, so a duplicate or older sequencer changes
 * nothing, and one that is being processed right now is answered "busy". A retryable
 * failure (store, table, memory, timeout) releases the claim (the item goes back to
 * "pending") so the retry takes it at once; if the release itself fails the lease still
 * ends. Only a verdict on the image itself marks it "failed".
 *
 * The lease is short (ENLARGER_LEASE_MS) and renewed while the work runs (lease.h), so a
 * claim outlives no process: a killed one's photo is taken over by the redelivered
 * event within a lease. A job that cannot start within ENLARGER_PROCESS_QUEUE_TIMEOUT_MS
 * answers busy with the gate's estimate of the wait, inside EventBridge's 5 s. */
#include "enlarger/service.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "enlarger/keys.h"
#include "enlarger/clock.h"
#include "enlarger/jobgate.h"
#include "enlarger/log.h"
#include "enlarger/text.h"
#include "admit.h"
#include "lease.h"
#include "lifecycle.h"
#include "source.h"

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void new_attempt_id(char out[33])
{
	unsigned char r[16];
	if (RAND_bytes(r, sizeof(r)) != 1) {
		/* Never expected; a time-based id still differs between attempts. */
		snprintf(out, 33, "t%031lld", (long long)enl_wall_ms());
		return;
	}
	enl_hex_encode(out, r, sizeof(r));
}

/* Is err a verdict on the image (mark the item failed, 422) rather than a passing
 * failure that a retry may get past? */
static int is_image_error(int err)
{
	return err == ENL_EDECODE || err == ENL_EUNSUPPORTED || err == ENL_ETOOBIG ||
	       err == ENL_EINVAL || err == ENL_EINTERNAL;
}

/* The fields every line about an event carries; attempt and detail may be NULL, secs < 0
 * for none. A new reference. */
static json_t *event_fields(const char *photo_id, const char *key, const char *attempt,
                            const char *detail, double secs)
{
	json_t *f = json_object();
	json_object_set_new(f, "photoId", json_string(photo_id));
	json_object_set_new(f, "key", json_string(key));
	if (attempt)
		json_object_set_new(f, "attempt", json_string(attempt));
	if (detail)
		json_object_set_new(f, "error", json_string(detail));
	if (secs >= 0)
		json_object_set_new(f, "ms", json_integer((json_int_t)(secs * 1000)));
	return f;
}

static void log_event(enum enl_log_level lvl, const char *msg, const char *photo_id,
                      const char *key, const char *attempt, const char *detail, double secs)
{
	enl_log_json(lvl, msg, event_fields(photo_id, key, attempt, detail, secs));
}

/* The line of a processed photo, with its mezzanine's size when it has one (the extra
 * storage it costs). */
static void log_processed(const struct enl_process_result *out, const char *key,
                          const char *attempt, double secs)
{
	json_t *f = event_fields(out->photo_id, key, attempt, NULL, secs);
	if (out->mezzanine)
		json_object_set(f, "mezzanine", out->mezzanine);
	enl_log_json(ENL_LOG_INFO, "photo processed", f);
}

/* Marks the item failed with e's text; a table error here is logged (the claim's
 * lease ends anyway and a retry will see the photo again). */
static void mark_failed(struct enl_app *app, const char *photo_id, const char *attempt,
                        const char *key, const struct enl_errmsg *reason)
{
	struct enl_errmsg te = {{0}};
	int rc = enl_table_fail(app->table, photo_id, attempt, reason->text, &te);
	if (rc && rc != ENL_ECONFLICT)
		log_event(ENL_LOG_ERROR, "cannot mark photo failed", photo_id, key, attempt,
		          te.text, -1);
}

/* Gives the claim back after a retryable failure, best effort: when the table is down
 * too, the lease ends and the retry takes the photo over then. */
static void release_claim(struct enl_app *app, const char *photo_id, const char *attempt,
                          const char *key, const struct enl_errmsg *reason)
{
	struct enl_errmsg te = {{0}};
	int rc = enl_table_release(app->table, photo_id, attempt, reason->text, &te);
	if (rc && rc != ENL_ECONFLICT)
		log_event(ENL_LOG_WARN, "cannot release the claim (the lease will end)", photo_id,
		          key, attempt, te.text, -1);
}

/* How long a photo another attempt is working on likely stays busy: about one job (the
 * gate's running mean), not the queue's wait, so the retry comes back soon after the
 * attempt finishes or, when its process died, soon after its lease ends. */
static int64_t in_flight_wait_ms(struct enl_app *app)
{
	struct enl_jobgate_stats st;
	enl_jobgate_stats(app->gate, &st);
	return (int64_t)st.mean_job_ms;
}

static int head_original(struct enl_app *app, const struct enl_event *ev,
                         struct enl_object_info *info, struct enl_errmsg *e)
{
	int rc = enl_store_head(app->store, app->cfg->originals_bucket, ev->key, info, e);
	if (rc == ENL_ENOTFOUND)
		return enl_fail(e, ENL_ENOTFOUND, "no original \"%.200s\" in bucket %s", ev->key,
		                app->cfg->originals_bucket);
	if (rc == ENL_EINVAL)
		return enl_fail(e, ENL_EINVAL, "key \"%.200s\" is not allowed", ev->key);
	return rc;
}

/* One derivative's PUT, on its own thread. */
struct put_job {
	struct enl_app *app;
	const char *request_id; /* the log's, from the thread that asked */
	const char *bucket, *key;
	const char *cache_control;
	const struct enl_output *o;
	struct enl_errmsg err;
	int rc;
};

static void *put_one(void *arg)
{
	struct put_job *j = arg;
	struct enl_put_opts po = {0};
	enl_log_set_request_id(j->request_id);
	po.content_type = enl_format_mime(j->o->format);
	po.cache_control = j->cache_control;
	j->rc = enl_store_put(j->app->store, j->bucket, j->key, j->o->bytes.data, j->o->bytes.len,
	                      &po, &j->err);
	return NULL;
}

/* Writes the four derivatives, and the mezzanine under mezz_key when res has one (mezz_key
 * NULL: none is written); keys[d][k] receive the derivatives' names. The PUTs run side by
 * side: to S3 each is a round trip of its own, and locally each waits for its fsyncs. A
 * failed mezzanine PUT fails nothing (renders read the original then): logged, and
 * *mezz_written left 0. */
static int put_derivatives(struct enl_app *app, const char *photo_id, const char *version,
                           const struct enl_pipeline_result *res,
                           char keys[ENL_DERIV_COUNT][2][ENL_KEY_MAX + 256], const char *mezz_key,
                           int *mezz_written, struct enl_errmsg *e)
{
	static const enum enl_format fmts[2] = {ENL_FMT_WEBP, ENL_FMT_JPEG};
	struct put_job jobs[ENL_DERIV_COUNT * 2 + 1];
	pthread_t threads[ENL_DERIV_COUNT * 2 + 1];
	int started[ENL_DERIV_COUNT * 2 + 1] = {0};
	int n = 0, rc = 0, mezz = -1;

	memset(jobs, 0, sizeof(jobs));
	for (int d = 0; d < ENL_DERIV_COUNT; d++) {
		for (int k = 0; k < 2; k++, n++) {
			if (enl_derivative_key(photo_id, version, (enum enl_derivative)d, fmts[k],
			                       keys[d][k], sizeof(keys[d][k])))
				return enl_fail(e, ENL_EINVAL, "photo id is too long for a key");
			jobs[n].app = app;
			jobs[n].request_id = enl_log_request_id();
			jobs[n].bucket = d == ENL_DERIV_THUMB ? app->cfg->thumbnails_bucket
			                                      : app->cfg->optimized_bucket;
			jobs[n].key = keys[d][k];
			jobs[n].cache_control = ENL_CACHE_FOREVER;
			jobs[n].o = &res->out[d][k];
		}
	}
	*mezz_written = 0;
	if (mezz_key && res->mezzanine.bytes.len) {
		mezz = n++;
		jobs[mezz].app = app;
		jobs[mezz].request_id = enl_log_request_id();
		jobs[mezz].bucket = app->cfg->render_bucket;
		jobs[mezz].key = mezz_key;
		jobs[mezz].cache_control = "private, no-store"; /* never served */
		jobs[mezz].o = &res->mezzanine;
	}
	/* The last one runs here; one that cannot get a thread runs here too. */
	for (int i = 0; i < n - 1; i++)
		started[i] = pthread_create(&threads[i], NULL, put_one, &jobs[i]) == 0;
	for (int i = 0; i < n; i++)
		if (!started[i])
			put_one(&jobs[i]);
	for (int i = 0; i < n; i++) {
		if (started[i])
			pthread_join(threads[i], NULL);
		if (i == mezz) {
			if (jobs[i].rc)
				enl_logf(ENL_LOG_WARN,
				         "mezzanine write failed; renders read the original: %s",
				         jobs[i].err.text);
			*mezz_written = !jobs[i].rc;
			continue;
		}
		if (jobs[i].rc && !rc) {
			rc = jobs[i].rc;
			if (e)
				*e = jobs[i].err;
		}
	}
	return rc;
}

int enl_service_process(struct enl_app *app, const struct enl_event *ev,
                        struct enl_process_result *out, struct enl_errmsg *e)
{
	const struct enl_config *cfg = app->cfg;
	struct enl_object_info info;
	struct enl_object_info ginfo;
	struct enl_buf original = ENL_BUF_INIT;
	struct enl_pipeline_result res;
	int have_res = 0;
	struct enl_admit adm = {0};
	struct enl_lease lease = {0};
	struct enl_probe probe;
	int claimed = 0;
	const char *key = ev->key;
	char attempt[33];
	char version[ENL_VERSION_TAG_MAX + 1];
	char(*keys)[2][ENL_KEY_MAX + 256] = NULL; /* on the heap: 4 KiB+ */
	char mezz_key[ENL_VERSION_TAG_MAX + 160];
	int mezz_written = 0;
	struct enl_errmsg local;
	json_t *fields = NULL; /* new reference, released at done */
	enum enl_claim_result cr;
	double t0 = mono_s();
	int rc;

	if (!e)
		e = &local;
	memset(out, 0, sizeof(*out));
	memset(&res, 0, sizeof(res));
	out->outcome = ENL_OUTCOME_NONE;
	new_attempt_id(attempt);

	if (ev->action == ENL_EVENT_DELETED) {
		rc = enl_service_delete(app, ev, out, e);
		goto done;
	}
	if (strcmp(ev->bucket, cfg->originals_bucket) != 0) {
		rc = enl_fail(e, ENL_EINVAL, "bucket \"%.100s\" is not the originals bucket (%s)",
		              ev->bucket, cfg->originals_bucket);
		goto done;
	}
	if ((rc = head_original(app, ev, &info, e)))
		goto done;
	if ((rc = enl_photo_id(cfg->photo_id_rule, key, &info, out->photo_id, sizeof(out->photo_id),
	                       e)))
		goto done;

	/* Enter the gate before claiming: a full queue then leaves nothing to undo, and
	 * the claim's lease only covers the work itself. The job's memory cost is guessed
	 * from the HEAD's size and set from the header once read (admit.h). */
	if ((rc = enl_admit_enter_within(app, info.size, cfg->process_queue_timeout_ms, &adm, e)))
		goto done;

	struct enl_prev prev = {.version = ""};
	struct enl_claim_req req = {
	    .photo_id = out->photo_id,
	    .sequencer = ev->sequencer[0] ? ev->sequencer : NULL,
	    .etag = info.etag,
	    .attempt = attempt,
	    .bucket = cfg->originals_bucket,
	    .key = key,
	    .now_ms = enl_wall_ms(),
	    .lease_ms = cfg->lease_ms,
	};
	if ((rc = enl_table_claim(app->table, &req, &cr, e))) {
		/* A claim that failed on the way back (a timeout, a lost answer) may have
		 * landed: give back what this attempt may hold, so the retry is not held off
		 * until the lease ends. The release is conditional on the attempt. */
		if (rc == ENL_EIO || rc == ENL_ETIMEOUT)
			release_claim(app, out->photo_id, attempt, key, e);
		goto done;
	}
	switch (cr) {
	case ENL_CLAIM_OK:
		claimed = 1;
		enl_lease_start(&lease, app->table, out->photo_id, attempt, cfg->lease_ms);
		enl_replace_note(app, out->photo_id, &prev);
		break;
	case ENL_CLAIM_DUPLICATE:
	case ENL_CLAIM_STALE:
		out->outcome = cr == ENL_CLAIM_STALE ? ENL_OUTCOME_STALE : ENL_OUTCOME_DUPLICATE;
		out->item = enl_item_read(app, out->photo_id);
		log_event(ENL_LOG_INFO,
		          cr == ENL_CLAIM_STALE ? "stale event ignored" : "duplicate event ignored",
		          out->photo_id, key, NULL, NULL, -1);
		rc = 0;
		goto done;
	case ENL_CLAIM_BUSY:
		out->outcome = ENL_OUTCOME_IN_FLIGHT;
		out->retry_after_ms = in_flight_wait_ms(app);
		rc = enl_fail(e, ENL_EBUSY, "photo \"%.200s\" is being processed; retry later",
		              out->photo_id);
		goto done;
	}

	if (info.size > cfg->max_input_bytes) {
		rc = enl_fail(e, ENL_ETOOBIG, "the original is %llu bytes, over the limit of %zu",
		              (unsigned long long)info.size, cfg->max_input_bytes);
		goto done;
	}
	rc = enl_admit_fetch(app, cfg->originals_bucket, key, NULL, &adm, &original, &ginfo, &probe,
	                     e);
	if (rc == ENL_ETOOBIG) {
		rc = enl_fail(e, ENL_ETOOBIG, "the original is over the limit of %zu bytes",
		              cfg->max_input_bytes);
		goto done;
	}
	if (rc == ENL_ENOTFOUND) {
		rc = enl_fail(e, ENL_ENOTFOUND, "the original \"%.200s\" disappeared", key);
		goto done;
	}
	if (rc)
		goto done;
	/* The claim recorded the HEAD's ETag, which is what a cleanup keeps while this runs
	 * (sweep.h); the derivatives are named by the bytes read. An original replaced in
	 * between is left to the retry (and to the newer version's own event). */
	if (strcmp(ginfo.etag, info.etag) != 0) {
		rc = enl_fail(e, ENL_EIO, "the original changed while it was read; retry");
		goto done;
	}

	__atomic_fetch_add(&app->process_runs, 1, __ATOMIC_RELAXED);
	log_event(ENL_LOG_INFO, "pipeline run", out->photo_id, key, attempt, NULL, -1);
	rc = enl_pipeline_process(original.data, original.len, &adm.opts, &probe, &res, e);
	enl_buf_free(&original);
	enl_admit_leave(app, &adm);
	if (rc)
		goto done;
	have_res = 1;

	/* Versioned by the bytes we actually read (GET, the same ETag as the claim's). */
	enl_version_tag(&ginfo, version);
	keys = calloc(ENL_DERIV_COUNT, sizeof(*keys));
	if (!keys) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	if (enl_mezzanine_key(key, version, mezz_key, sizeof(mezz_key)))
		mezz_key[0] = '\0';
	if ((rc = put_derivatives(app, out->photo_id, version, &res, keys,
	                          cfg->mezzanine && mezz_key[0] ? mezz_key : NULL, &mezz_written,
	                          e)))
		goto done;
	const char *kp[ENL_DERIV_COUNT][2];
	for (int d = 0; d < ENL_DERIV_COUNT; d++)
		for (int k = 0; k < 2; k++)
			kp[d][k] = keys[d][k];
	fields = enl_service_fields(&res, kp, version);
	if (!fields) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	enl_lease_stop(&lease); /* the last write of the claim: no renewal races it */
	rc = enl_table_complete(app->table, out->photo_id, attempt, fields, e);
	if (rc == ENL_ECONFLICT) {
		/* A newer event took the photo over (our lease ran out): its result wins. */
		claimed = 0;
		out->outcome = ENL_OUTCOME_SUPERSEDED;
		enl_replace_superseded(app, out->photo_id);
		out->item = enl_item_read(app, out->photo_id);
		log_event(ENL_LOG_WARN, "result dropped: a newer event owns the photo",
		          out->photo_id, key, attempt, NULL, mono_s() - t0);
		rc = 0;
		goto done;
	}
	if (rc)
		goto done;
	claimed = 0;
	out->outcome = ENL_OUTCOME_PROCESSED;
	if (mezz_written) {
		/* Renders here take it from now on, without asking the store first. */
		struct enl_source s = {.width = res.width,
		                       .height = res.height,
		                       .jpeg = strcmp(res.source_format, "jpeg") == 0,
		                       .mezz = ENL_SOURCE_MEZZ_YES};
		enl_source_remember(app, key, version, &s);
		out->mezzanine = json_pack("{s:s, s:i, s:i, s:I}", "key", mezz_key, "width",
		                           res.mezzanine.width, "height", res.mezzanine.height,
		                           "bytes", (json_int_t)res.mezzanine.bytes.len);
	}
	enl_replace_done(app, out->photo_id, key, version, &prev);
	out->item = enl_item_read(app, out->photo_id);
	if (!out->item)
		out->item = json_incref(fields);
	log_processed(out, key, attempt, mono_s() - t0);

done:
	enl_admit_leave(app, &adm);
	enl_lease_stop(&lease);
	if (rc == ENL_EBUSY && !out->retry_after_ms)
		out->retry_after_ms = adm.retry_ms; /* no slot in time, at first or requeued */
	if (rc && claimed && is_image_error(rc)) {
		mark_failed(app, out->photo_id, attempt, key, e);
		out->outcome = ENL_OUTCOME_FAILED;
		log_event(ENL_LOG_WARN, "photo failed", out->photo_id, key, attempt, e->text,
		          mono_s() - t0);
	} else if (rc && claimed) {
		/* Retryable: the item goes back to "pending" for the retry. */
		log_event(ENL_LOG_ERROR, "photo not processed (retryable)", out->photo_id, key,
		          attempt, e->text, mono_s() - t0);
		release_claim(app, out->photo_id, attempt, key, e);
	}
	enl_buf_free(&original);
	if (have_res)
		enl_pipeline_result_free(&res);
	free(keys);
	json_decref(fields);
	enl_admit_return_pages(app, &adm);
	return rc;
}

void enl_process_result_free(struct enl_process_result *r)
{
	json_decref(r->item);
	r->item = NULL;
	json_decref(r->mezzanine);
	r->mezzanine = NULL;
}
