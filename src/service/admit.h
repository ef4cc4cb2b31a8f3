/* Admission of one image job under the job gate's memory budget
 * (ENLARGER_MEMORY_BUDGET_MB), shared by /render misses and /process.
 *
 * The cost of a job (enl_pipeline_estimate_cost) needs the original's header, and the
 * stores have no ranged read, so the header comes with the whole original. Reading it
 * before entering the gate would let every queued request hold its original, outside
 * the budget (queue depth x 200 MB at worst). So the job enters with a guess made from
 * the HEAD's size, reads the original only once admitted, and then sets its real cost
 * (enl_jobgate_resize, which never waits). When the real cost does not fit beside the
 * running jobs, the job drops the bytes, leaves, queues again with the real cost and
 * reads the original again once admitted: queued requests never hold an original. */
#ifndef ENLARGER_SERVICE_ADMIT_H
#define ENLARGER_SERVICE_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "enlarger/service.h"

struct enl_admit {
	size_t cost; /* bytes this job holds in the gate */
	int in_gate;
	int timeout_ms;   /* the longest wait for a slot */
	int64_t since_ms; /* admitted at (monotonic), for the gate's mean job time */
	int64_t retry_ms; /* after ENL_EBUSY: the gate's estimate of the wait (Retry-After) */
	struct enl_pipeline_opts opts; /* the job's: app->popts with its share of the cores */
};

/* Waits up to timeout_ms for a slot for a job over an original of `size` bytes (from its
 * HEAD), then sets a->opts. 0, or ENL_EBUSY with e set and a->retry_ms (queue full or timed
 * out). */
int enl_admit_enter_within(struct enl_app *app, uint64_t size, int timeout_ms, struct enl_admit *a,
                           struct enl_errmsg *e);
/* The same for a render, within ENLARGER_QUEUE_TIMEOUT_MS. */
int enl_admit_enter(struct enl_app *app, uint64_t size, struct enl_admit *a, struct enl_errmsg *e);

/* Once admitted: reads the original, key in bucket (the originals bucket, or the render
 * bucket for a mezzanine), capped at max_input_bytes, into *original and
 * *ginfo, and sets the job's cost from its header (req: the render; NULL: /process),
 * whose read goes into *probe for the pipeline call. Errors: those of enl_store_get (out
 * freed), or ENL_EBUSY when the requeue with the real cost failed (then a->in_gate is 0).
 * A header the estimate cannot read keeps the guess: its verdict is in *probe, and the
 * pipeline call reports it. */
int enl_admit_fetch(struct enl_app *app, const char *bucket, const char *key,
                    const struct enl_render_req *req, struct enl_admit *a, struct enl_buf *original,
                    struct enl_object_info *ginfo, struct enl_probe *probe, struct enl_errmsg *e);

/* Leaves the gate if in it, telling the gate how long the job held its slot. */
void enl_admit_leave(struct enl_app *app, struct enl_admit *a);

/* Once a job that cost at least ENL_TRIM_AFTER_JOB_BYTES has left and freed its buffers:
 * gives the pages malloc keeps for reuse back to the kernel, unless another such job runs
 * (it would reuse them). */
void enl_admit_return_pages(struct enl_app *app, const struct enl_admit *a);

#endif
