/* The runtime loop: the next invocation, its answer posted, one at a time, with the
 * invocation's ids on every log line meanwhile. */
#include "enlarger/lambda.h"

#include <stdint.h>
#include <string.h>

#include "enlarger/clock.h"
#include "enlarger/log.h"
#include "enlarger/service.h"

/* The background cleanups an invocation queued (a replaced or deleted photo's old objects,
 * the CDN) run after its answer is posted and before the next is asked for, since Lambda
 * freezes the process in between; they stop this long before the invocation's deadline. */
#define SETTLE_MARGIN_MS 500

/* What is posted when there was no memory for the real body. */
static const char no_memory_body[] =
    "{\"errorMessage\":\"out of memory\",\"errorType\":\"" ENL_LAMBDA_BACKEND "\"}";

static void log_invocation(const struct enl_lambda_result *r, int64_t ms, int post_rc,
                           const struct enl_errmsg *pe)
{
	json_t *f = json_object();
	json_object_set_new(f, "kind", json_string(r->kind));
	json_object_set_new(f, "durationMs", json_integer((json_int_t)ms));
	json_object_set_new(f, "bytesOut", json_integer((json_int_t)r->body.len));
	if (r->error_type)
		json_object_set_new(f, "errorType", json_string(r->error_type));
	if (post_rc)
		json_object_set_new(f, "error", json_string(pe->text));
	enl_log_json(post_rc ? ENL_LOG_ERROR : ENL_LOG_INFO, "invocation", f);
}

int enl_lambda_run(struct enl_lambda_runtime *rt, const struct enl_lambda_door *d,
                   struct enl_errmsg *e)
{
	for (;;) {
		struct enl_lambda_invocation inv;
		struct enl_lambda_result res;
		struct enl_errmsg pe = {{0}};
		int rc;

		if ((rc = enl_lambda_next(rt, &inv, e)))
			return rc;
		int64_t t0 = enl_mono_ms();
		enl_log_context_set("awsRequestId", inv.request_id);
		enl_log_context_set("traceId", inv.trace_id[0] ? inv.trace_id : NULL);

		enl_lambda_handle(d, &inv, enl_wall_ms(), &res);
		if (res.body.len)
			rc = enl_lambda_post(rt, inv.request_id, res.error_type, res.body.data,
			                     res.body.len, &pe);
		else
			rc = enl_lambda_post(rt, inv.request_id, ENL_LAMBDA_BACKEND, no_memory_body,
			                     strlen(no_memory_body), &pe);
		log_invocation(&res, enl_mono_ms() - t0, rc, &pe);
		int64_t left =
		    inv.deadline_ms ? inv.deadline_ms - enl_wall_ms() - SETTLE_MARGIN_MS : 0;
		if (left > 0 && !enl_app_settle(d->app, left > INT32_MAX ? INT32_MAX : (int)left))
			enl_logf(ENL_LOG_WARN, "background cleanups left for a later invocation");

		enl_log_context_set("awsRequestId", NULL);
		enl_log_context_set("traceId", NULL);
		enl_lambda_result_free(&res);
		enl_lambda_invocation_free(&inv);
		/* A refused post (413, an unknown id) fails this invocation only; a runtime API
		 * that is gone or answers 500 ends the process, as the API asks. */
		if (rc == ENL_EIO) {
			*e = pe;
			return rc;
		}
	}
}
