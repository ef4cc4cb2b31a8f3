/* Fuzz target for the Lambda door: an invocation's event (what the runtime API hands
 * over, from a function URL or an S3 event source) through enl_lambda_handle over the
 * same service fuzz_http_request answers with (fuzz_app.h). A function URL request
 * (payload format 2.0: rawPath, rawQueryString, headers, a body maybe base64) goes
 * through enl_http_answer and the routes; any other event to the /process use case.
 * Checks: the result is JSON; an error is {"errorMessage","errorType"} of one of the
 * documented types, and a function URL request is refused so only when it lacks rawPath
 * or its method; a function URL answer is {"statusCode","headers","body",
 * "isBase64Encoded"} whose body decodes, that carries X-Request-Id as the server's
 * answers do, and which, read back as a response, passes the
 * checks any answer does (fuzz_check_answer, with the door's own 502); an event that
 * succeeds answers JSON with an outcome. */
#include "enlarger/base64.h"
#include "enlarger/lambda.h"
#include "fuzz_app.h"
#include "server_internal.h"

static struct enl_lambda_door door;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_app_init(argc && *argc ? (*argv)[0] : NULL, "lambda");
	door.app = &fuzz_app.app;
	door.routes = enl_routes_table(fuzz_app.routes, &door.n_routes);
	door.max_body_bytes = fuzz_app.cfg.max_body_bytes;
	door.reserve_ms = fuzz_app.cfg.lambda_reserve_ms;
	door.retry_after_s = fuzz_app.cfg.retry_after_s;
	return 0;
}

/* The route that takes the function URL request in event (its name), or NULL. */
static const char *url_route(const json_t *event, const char *method)
{
	const char *raw = json_string_value(json_object_get(event, "rawPath"));
	const struct enl_route *rt = NULL;
	char *path = NULL, allow[128];
	if (enl_http_pct_decode(raw, 0, &path) == 0 &&
	    enl_http_route_find(door.routes, door.n_routes, method, path, &rt, allow,
	                        sizeof(allow)) != 0)
		rt = NULL;
	free(path);
	return rt ? rt->name : NULL;
}

/* The function URL's answer read back as the response it carries, then checked. */
static void check_url_answer(const json_t *event, const json_t *env)
{
	const char *method = json_string_value(json_object_get(
	    json_object_get(json_object_get(event, "requestContext"), "http"), "method"));
	json_t *headers = json_object_get(env, "headers"), *b = json_object_get(env, "body");
	json_t *b64 = json_object_get(env, "isBase64Encoded");
	struct enl_resp resp;
	const char *k;
	json_t *v;

	enl_resp_init(&resp);
	FUZZ_CHECK(json_is_integer(json_object_get(env, "statusCode")));
	resp.status = (int)json_integer_value(json_object_get(env, "statusCode"));
	FUZZ_CHECK(json_is_object(headers) && json_is_boolean(b64));
	json_object_foreach(headers, k, v)
	{
		FUZZ_CHECK(json_is_string(v));
		if (strcmp(k, "content-type") == 0)
			snprintf(resp.content_type, sizeof(resp.content_type), "%s",
			         json_string_value(v));
		else
			FUZZ_CHECK(enl_resp_header(&resp, k, "%s", json_string_value(v)) == 0);
	}
	if (b) {
		const char *s = json_string_value(b);
		size_t n = json_string_length(b), len = n;
		unsigned char *bytes = malloc(n + 1);
		FUZZ_CHECK(s && bytes);
		if (json_is_true(b64))
			FUZZ_CHECK(enl_base64_decode(bytes, &len, s, n) == 0);
		else
			memcpy(bytes, s, n + 1);
		enl_buf_adopt(&resp.body, bytes, len, free);
	} else {
		FUZZ_CHECK(!json_is_true(b64));
	}
	/* Every answer is settled as the server settles it (but the door's own 502 for a
	 * text body the payload cannot carry, which never went through a route). */
	FUZZ_CHECK(resp.status == 502 || fuzz_resp_header(&resp, "X-Request-Id"));
	fuzz_check_answer(url_route(event, method), method, &resp, 502);
	enl_resp_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {ENL_LAMBDA_REJECTED, ENL_LAMBDA_BUSY,
	                                    ENL_LAMBDA_BACKEND, ENL_LAMBDA_DEADLINE};
	struct enl_lambda_invocation inv;
	struct enl_lambda_result out;
	memset(&inv, 0, sizeof(inv));
	snprintf(inv.request_id, sizeof(inv.request_id), "fuzz-request");
	/* The event as the runtime client keeps it: NUL-terminated, NULL when empty. */
	if (size)
		enl_buf_adopt(&inv.event, fuzz_cstr(data, size), size, free);
	json_t *event =
	    size ? json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL) : NULL;
	int is_url = json_is_object(event) && enl_lambda_is_url_request(event);

	enl_lambda_handle(&door, &inv, 0, &out);
	json_t *j = json_loadb((const char *)out.body.data, out.body.len, 0, NULL);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "%s %s: %.*s\n", out.kind, out.error_type ? out.error_type : "ok",
		        (int)(out.body.len < 300 ? out.body.len : 300),
		        (const char *)out.body.data);
	FUZZ_CHECK(json_is_object(j));
	FUZZ_CHECK(strcmp(out.kind, is_url ? "url" : "event") == 0);
	if (out.error_type) {
		int known = 0;
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			known |= strcmp(out.error_type, types[i]) == 0;
		FUZZ_CHECK(known);
		FUZZ_CHECK(json_is_string(json_object_get(j, "errorMessage")));
		const char *type = json_string_value(json_object_get(j, "errorType"));
		FUZZ_CHECK(type && strcmp(type, out.error_type) == 0);
		if (is_url) {
			json_t *http =
			    json_object_get(json_object_get(event, "requestContext"), "http");
			FUZZ_CHECK(strcmp(out.error_type, ENL_LAMBDA_REJECTED) == 0);
			FUZZ_CHECK(!json_is_string(json_object_get(http, "method")));
		}
	} else if (is_url) {
		check_url_answer(event, j);
	} else {
		FUZZ_CHECK(json_is_string(json_object_get(j, "outcome")));
	}
	json_decref(j);
	json_decref(event);
	enl_lambda_result_free(&out);
	enl_buf_free(&inv.event);
	vips_error_clear();
	return 0;
}
