/* One invocation: a function URL request goes through the route table, any other event
 * to the /process use case; the deadline decides first whether an image job may start. */
#include "enlarger/lambda.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

void enl_lambda_result_free(struct enl_lambda_result *r)
{
	enl_buf_free(&r->body);
}

void enl_lambda_handle(const struct enl_lambda_door *d, const struct enl_lambda_invocation *inv,
                       int64_t now_ms, struct enl_lambda_result *out)
{
	const struct enl_buf *ev = &inv->event;
	int64_t left = inv->deadline_ms ? inv->deadline_ms - now_ms : INT64_MAX;
	json_t *root =
	    ev->len ? json_loadb((const char *)ev->data, ev->len, JSON_REJECT_DUPLICATES, NULL)
	            : NULL;

	memset(out, 0, sizeof(*out));
	if (json_is_object(root) && enl_lambda_is_url_request(root)) {
		out->kind = "url";
		enl_lambda_url_request(d, root, inv->request_id, left, out);
	} else if (left < d->reserve_ms) {
		/* Refused before anything is read or claimed: Lambda's retry finds the photo as
		 * this invocation found it. */
		char msg[200];
		snprintf(
		    msg, sizeof(msg),
		    "%lld ms left before the deadline; processing starts with at least %lld ms "
		    "(ENLARGER_LAMBDA_RESERVE_MS)",
		    (long long)left, (long long)d->reserve_ms);
		out->kind = "event";
		out->error_type = ENL_LAMBDA_DEADLINE;
		if (enl_lambda_error_body(&out->body, out->error_type, msg))
			enl_buf_free(&out->body);
	} else {
		out->kind = "event";
		enl_lambda_s3_event(d, ev->data, ev->len, out);
	}
	json_decref(root);
}
