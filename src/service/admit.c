/* Admission of image jobs under the memory budget: see admit.h for the order of
 * enter, read and resize, and why. */
#include "admit.h"

#include <malloc.h>

#include "enlarger/clock.h"
#include "enlarger/defaults.h"
#include "enlarger/jobgate.h"
#include "enlarger/log.h"
#include "enlarger/pipeline.h"
#include "enlarger/store.h"

/* The guess before the header is known: the original, a quarter of it again for the
 * decoded image (a JPEG read with shrink-on-load for a render is about an eighth of
 * its bytes, decoded) and the estimate's fixed 4 MiB. Too low only costs a resize. */
static size_t guess_cost(uint64_t size)
{
	size_t s = size > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)size;
	return s + s / 4 + ((size_t)4 << 20);
}

/* The job's options: the app's, with its share of the cores, which the jobs running now
 * split: a job alone (an idle server, one request) gets them all, under load each gets
 * one, which is what throughput wants (bench/profile.md). */
static void job_opts(struct enl_app *app, struct enl_admit *a)
{
	struct enl_jobgate_stats st;
	enl_jobgate_stats(app->gate, &st);
	a->opts = app->popts;
	a->opts.threads = st.running > 0 ? app->cores / (int)st.running : 1;
	if (a->opts.threads < 1)
		a->opts.threads = 1;
}

/* Enters with a->cost, waiting up to a->timeout_ms; on a full queue or timeout, the
 * estimate of the wait goes into a->retry_ms for the answer's Retry-After. */
static int enter(struct enl_app *app, struct enl_admit *a, struct enl_errmsg *e)
{
	if (enl_jobgate_enter_cost(app->gate, a->cost, a->timeout_ms)) {
		a->retry_ms = enl_jobgate_wait_ms(app->gate);
		return enl_fail(e, ENL_EBUSY, "the image job queue is full; retry later");
	}
	a->in_gate = 1;
	a->since_ms = enl_mono_ms();
	job_opts(app, a);
	return 0;
}

int enl_admit_enter_within(struct enl_app *app, uint64_t size, int timeout_ms, struct enl_admit *a,
                           struct enl_errmsg *e)
{
	a->in_gate = 0;
	a->retry_ms = 0;
	a->timeout_ms = timeout_ms;
	a->cost = guess_cost(size);
	return enter(app, a, e);
}

int enl_admit_enter(struct enl_app *app, uint64_t size, struct enl_admit *a, struct enl_errmsg *e)
{
	return enl_admit_enter_within(app, size, app->cfg->queue_timeout_ms, a, e);
}

static int get_original(struct enl_app *app, const char *bucket, const char *key,
                        struct enl_buf *original, struct enl_object_info *ginfo,
                        struct enl_errmsg *e)
{
	return enl_store_get(app->store, bucket, key, app->cfg->max_input_bytes, original, ginfo,
	                     e);
}

int enl_admit_fetch(struct enl_app *app, const char *bucket, const char *key,
                    const struct enl_render_req *req, struct enl_admit *a, struct enl_buf *original,
                    struct enl_object_info *ginfo, struct enl_probe *probe, struct enl_errmsg *e)
{
	struct enl_errmsg pe = {{0}};
	size_t cost = 0;
	int rc;

	if ((rc = get_original(app, bucket, key, original, ginfo, e)))
		return rc;
	if (enl_pipeline_estimate_cost(original->data, original->len, &a->opts, req, probe, &cost,
	                               &pe))
		return 0;
	if (enl_jobgate_resize(app->gate, a->cost, cost) == 0) {
		a->cost = cost;
		return 0;
	}
	/* Does not fit beside the running jobs: wait again without the bytes. */
	enl_buf_free(original);
	enl_jobgate_leave_cost(app->gate, a->cost);
	a->in_gate = 0;
	a->cost = cost;
	if ((rc = enter(app, a, e)))
		return rc;
	if ((rc = get_original(app, bucket, key, original, ginfo, e)))
		return rc;
	/* Replaced while queued: the new bytes' cost must fit too, or this is a 503. */
	if (enl_pipeline_estimate_cost(original->data, original->len, &a->opts, req, probe, &cost,
	                               &pe) == 0 &&
	    cost != a->cost) {
		if (enl_jobgate_resize(app->gate, a->cost, cost)) {
			enl_buf_free(original);
			return enl_fail(e, ENL_EBUSY,
			                "the original changed while queued; retry later");
		}
		a->cost = cost;
	}
	return 0;
}

void enl_admit_leave(struct enl_app *app, struct enl_admit *a)
{
	if (a->in_gate) {
		enl_jobgate_job_time(app->gate, enl_mono_ms() - a->since_ms);
		enl_jobgate_leave_cost(app->gate, a->cost);
	}
	a->in_gate = 0;
}

void enl_admit_return_pages(struct enl_app *app, const struct enl_admit *a)
{
	struct enl_jobgate_stats st;

	if (a->cost < ENL_TRIM_AFTER_JOB_BYTES)
		return;
	enl_jobgate_stats(app->gate, &st);
	if (st.memory_in_use < ENL_TRIM_AFTER_JOB_BYTES)
		malloc_trim(0);
}
