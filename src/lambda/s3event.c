/* An S3 event delivered to the function (EventBridge's "Object Created" as a rule target,
 * a classic notification, {"bucket","key"} from `aws lambda invoke`): the /process use
 * case, its failures sorted into the classes Lambda's retries and on-failure destination
 * act on as EventBridge acts on POST /process's statuses (docs/lambda.md). */
#include "enlarger/lambda.h"

#include <string.h>

#include <jansson.h>

#include "enlarger/service.h"

const char *enl_lambda_error_type(int err)
{
	if (err == ENL_EBUSY)
		return ENL_LAMBDA_BUSY;
	int status = enl_http_status(err);
	return status >= 400 && status < 500 && status != 429 ? ENL_LAMBDA_REJECTED
	                                                      : ENL_LAMBDA_BACKEND;
}

static void fail(struct enl_lambda_result *out, const char *type, const char *message)
{
	out->error_type = type;
	if (enl_lambda_error_body(&out->body, type, message))
		enl_buf_free(&out->body); /* out of memory: the loop posts a bare error */
}

void enl_lambda_s3_event(const struct enl_lambda_door *d, const void *event, size_t len,
                         struct enl_lambda_result *out)
{
	struct enl_event ev;
	struct enl_process_result res;
	struct enl_errmsg e = {{0}};
	char *text = NULL;

	int rc = enl_service_event(d->app, event, len, &ev, &res, &e);
	if (rc) {
		fail(out, enl_lambda_error_type(rc), e.text);
	} else {
		json_t *body = enl_process_result_json(&res);
		text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
		json_decref(body);
		if (text)
			enl_buf_adopt(&out->body, text, strlen(text), free);
		else
			fail(out, ENL_LAMBDA_BACKEND, "out of memory");
	}
	enl_process_result_free(&res);
}
