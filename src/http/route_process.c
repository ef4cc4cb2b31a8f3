/* POST /process: the EventBridge API destination (also classic S3 notifications and
 * {"bucket","key"} from curl). Statuses are chosen for EventBridge, which retries 429
 * and 5xx (honouring Retry-After) and drops other 4xx: 200 done / duplicate / stale,
 * 400 malformed, 401 key, 404 no original, 422 bad image (item failed), 429 in flight
 * or no job slot within ENLARGER_PROCESS_QUEUE_TIMEOUT_MS (Retry-After from the queue),
 * 503 backend down. */
#include "routes_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/event.h"
#include "enlarger/service.h"

/* What POST /process binds when it is registered. */
struct process_route {
	struct enl_app *app;
	char api_key[ENL_CFG_SIZE(process_api_key)]; /* empty: no key required */
	char api_key_previous[ENL_CFG_SIZE(process_api_key_previous)];
	char api_key_header[ENL_CFG_SIZE(process_api_key_header)];
	int retry_after_s;
};

static int route_process(struct enl_req *req, struct enl_resp *resp)
{
	const struct process_route *self = req->self;
	struct enl_event ev;
	struct enl_process_result res = {0};
	struct enl_errmsg e = {{0}};
	int rc;

	if (self->api_key[0] && !enl_http_secret_accepted(req->header(req, self->api_key_header),
	                                                  self->api_key, self->api_key_previous)) {
		rc = enl_resp_problem(resp, ENL_EAUTH, "missing or wrong API key");
		enl_resp_header(resp, "WWW-Authenticate", "ApiKey header=\"%s\"",
		                self->api_key_header);
		return rc;
	}
	rc = enl_service_event(self->app, req->body, req->body_len, &ev, &res, &e);
	snprintf(resp->log_key, sizeof(resp->log_key), "%.*s", (int)sizeof(resp->log_key) - 1,
	         ev.key);
	if (rc == 0) {
		rc = enl_resp_json(resp, 200, enl_process_result_json(&res)); /* steals it */
	} else {
		/* 429: this photo is in flight, or no job slot came in time (EventBridge
		 * retries both, after Retry-After); else the table's. */
		int status = rc == ENL_EBUSY ? 429 : enl_http_status(rc);
		rc = enl_resp_problem_status(resp, status, rc, e.text);
		enl_resp_retry_after(resp, self->retry_after_s, res.retry_after_ms);
	}
	enl_process_result_free(&res);
	return rc;
}

int enl_route_process_register(struct enl_route *rt, const struct enl_config *cfg,
                               struct enl_app *app)
{
	struct process_route *self = calloc(1, sizeof(*self));
	if (!self)
		return ENL_ENOMEM;
	self->app = app;
	memcpy(self->api_key, cfg->process_api_key, sizeof(self->api_key));
	memcpy(self->api_key_previous, cfg->process_api_key_previous,
	       sizeof(self->api_key_previous));
	memcpy(self->api_key_header, cfg->process_api_key_header, sizeof(self->api_key_header));
	self->retry_after_s = cfg->retry_after_s;
	*rt = (struct enl_route){"POST", "/process", route_process, "process", self};
	return 0;
}
