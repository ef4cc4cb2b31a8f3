/* POST /process: the EventBridge API destination (also classic S3 notifications and
 * {"bucket","key"} from curl). Statuses are chosen for EventBridge, which retries 429
 * and 5xx (honouring Retry-After) and drops other 4xx: 200 done / duplicate / stale,
 * 400 malformed, 401 key, 404 no original, 422 bad image (item failed), 429 in flight,
 * 503 queue full or backend down. */
#include "enlarger/routes.h"

#include <stdio.h>
#include <string.h>

#include "enlarger/event.h"
#include "enlarger/service.h"

static const char *outcome_name(enum enl_process_outcome o)
{
	switch (o) {
	case ENL_OUTCOME_PROCESSED: return "processed";
	case ENL_OUTCOME_DUPLICATE: return "duplicate";
	case ENL_OUTCOME_STALE: return "stale";
	case ENL_OUTCOME_SUPERSEDED: return "superseded";
	case ENL_OUTCOME_IN_FLIGHT: return "in-flight";
	case ENL_OUTCOME_FAILED: return "failed";
	case ENL_OUTCOME_NONE: break;
	}
	return "none";
}

int enl_route_process(struct enl_req *req, struct enl_resp *resp)
{
	struct enl_app *app = req->ctx;
	const struct enl_config *cfg = app->cfg;
	struct enl_event ev;
	struct enl_process_result res = {0};
	struct enl_errmsg e = {{0}};
	int rc;

	if (cfg->process_api_key[0] &&
	    !enl_http_secret_equal(req->header(req, cfg->process_api_key_header),
	                           cfg->process_api_key)) {
		rc = enl_resp_problem(resp, ENL_EAUTH, "missing or wrong API key");
		enl_resp_header(resp, "WWW-Authenticate", "ApiKey header=\"%s\"",
		                cfg->process_api_key_header);
		return rc;
	}
	if ((rc = enl_event_parse(req->body, req->body_len, &ev, &e)))
		return enl_resp_problem(resp, rc, e.text);
	snprintf(resp->log_key, sizeof(resp->log_key), "%.*s", (int)sizeof(resp->log_key) - 1,
	         ev.key);

	rc = enl_service_process(app, &ev, &res, &e);
	if (rc == 0) {
		json_t *body = res.item ? json_incref(res.item) : json_object();
		json_object_set_new(body, "outcome", json_string(outcome_name(res.outcome)));
		rc = enl_resp_json(resp, 200, body); /* steals body */
	} else if (rc == ENL_EBUSY) {
		rc = enl_resp_problem_status(resp, res.outcome == ENL_OUTCOME_IN_FLIGHT ? 429 : 503,
		                             rc, e.text);
		enl_resp_header(resp, "Retry-After", "%d", cfg->retry_after_s);
	} else {
		rc = enl_resp_problem(resp, rc, e.text);
		if (resp->status == 503 || resp->status == 504)
			enl_resp_header(resp, "Retry-After", "%d", cfg->retry_after_s);
	}
	enl_process_result_free(&res);
	return rc;
}
