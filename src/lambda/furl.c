/* A Lambda function URL request (payload format 2.0) answered through the route table
 * the HTTP server dispatches (enl_http_answer), and its answer as the function URL's
 * response: {"statusCode","headers","body","isBase64Encoded"}. */
#include "enlarger/lambda.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "enlarger/base64.h"
#include "enlarger/text.h"

/* The response envelope besides the body: status, at most ENL_RESP_MAX_HEADERS headers
 * (plus Content-Type and X-Request-Id) of at most 64 + 512 bytes, each escaped at worst
 * 6 times (\u00XX), and the JSON around them. */
#define ENVELOPE_MAX ((ENL_RESP_MAX_HEADERS + 2) * (64 + 512) * 6 + 256)

/* A body the payload can carry once base64'd beside the largest envelope. */
#define MAX_BODY_BYTES ((ENL_LAMBDA_MAX_PAYLOAD - ENVELOPE_MAX) / 4 * 3)

int enl_lambda_is_url_request(const json_t *event)
{
	json_t *ctx = json_object_get(event, "requestContext");
	return json_is_string(json_object_get(event, "rawPath")) &&
	       json_is_object(json_object_get(ctx, "http"));
}

/* What the request's accessors and admission read. */
struct url_req {
	const struct enl_lambda_door *d;
	json_t *headers; /* borrowed: the event's "headers" object, names in lower case */
	int64_t left_ms;
	int body_err; /* why the body could not be read (0: it was) */
};

static const char *url_header(void *impl, const char *name)
{
	const struct url_req *u = impl;
	const char *k;
	json_t *v;
	/* Function URLs send names in lower case; look case-insensitively all the same. */
	json_object_foreach(u->headers, k, v)
	{
		if (strcasecmp(k, name) == 0)
			return json_string_value(v);
	}
	return NULL;
}

/* Routes that may run an image job start only with the reserve left before the deadline:
 * refused at once (retryable) rather than cut off by Lambda mid-job. */
static int url_admit(void *impl, const struct enl_route *rt, struct enl_errmsg *e)
{
	const struct url_req *u = impl;
	/* Refused here, once routed, so that the answer is settled, logged and counted as
	 * every other one is (X-Request-Id, the problem's requestId). */
	if (u->body_err)
		return enl_fail(e, u->body_err, "%s",
		                u->body_err == ENL_EINVAL ? "the body is marked base64 but is not"
		                                          : "no memory for the body");
	int image_work = strcmp(rt->name, "render") == 0 || strcmp(rt->name, "process") == 0;
	if (image_work && u->left_ms < u->d->reserve_ms)
		return enl_fail(e, ENL_EBUSY,
		                "the function has %lld ms left before its deadline; an image job "
		                "starts with at least %lld ms (ENLARGER_LAMBDA_RESERVE_MS); retry",
		                (long long)u->left_ms, (long long)u->d->reserve_ms);
	return 0;
}

/* Text a JSON string can carry as it is; anything else goes base64. */
static int is_text(const struct enl_resp *resp)
{
	const char *ct = resp->content_type;
	int textual = strncmp(ct, "text/", 5) == 0 || strstr(ct, "json") != NULL;
	return textual && enl_utf8_valid(resp->body.data, resp->body.len);
}

/* resp as the function URL's response JSON, into out. 0 or ENL_ENOMEM. */
static int encode(const struct enl_resp *resp, struct enl_buf *out)
{
	json_t *env = json_object(), *h = json_object();
	char *head = NULL, *b64 = NULL;
	int text = resp->body.len && is_text(resp);
	int rc = ENL_ENOMEM;

	if (!env || !h)
		goto done;
	if (resp->content_type[0])
		json_object_set_new(h, "content-type", json_string(resp->content_type));
	for (int i = 0; i < resp->n_headers; i++)
		json_object_set_new(h, resp->headers[i].name, json_string(resp->headers[i].value));
	json_object_set_new(env, "statusCode", json_integer(resp->status));
	json_object_set_new(env, "headers", h);
	h = NULL;
	json_object_set_new(env, "isBase64Encoded", json_boolean(!text && resp->body.len));
	if (text)
		json_object_set_new(env, "body",
		                    json_stringn((const char *)resp->body.data, resp->body.len));
	if (!(head = json_dumps(env, JSON_COMPACT)))
		goto done;
	size_t hl = strlen(head);
	/* A binary body is spliced in as base64 text, written once, not copied into a JSON
	 * string and escaped again: "...}" becomes "...,"body":"<base64>"}". */
	if (!text && resp->body.len) {
		size_t bl = enl_base64_len(resp->body.len);
		if (!(b64 = malloc(hl + bl + 16)))
			goto done;
		memcpy(b64, head, hl - 1);
		size_t n = hl - 1;
		memcpy(b64 + n, ",\"body\":\"", 9);
		n += 9;
		n += enl_base64_encode(b64 + n, resp->body.data, resp->body.len);
		memcpy(b64 + n, "\"}", 3);
		n += 2;
		enl_buf_adopt(out, b64, n, free);
		b64 = NULL;
	} else {
		enl_buf_adopt(out, head, hl, free);
		head = NULL;
	}
	rc = 0;
done:
	json_decref(h);
	json_decref(env);
	free(head);
	free(b64);
	return rc;
}

/* The request's body: the event's "body", base64-decoded when isBase64Encoded. */
static int request_body(const json_t *event, unsigned char **out, size_t *len)
{
	json_t *b = json_object_get(event, "body");
	const char *s = json_string_value(b);
	size_t n = s ? json_string_length(b) : 0;
	*out = NULL;
	*len = 0;
	if (!n)
		return 0;
	if (!(*out = malloc(n + 1)))
		return ENL_ENOMEM;
	if (json_is_true(json_object_get(event, "isBase64Encoded")))
		return enl_base64_decode(*out, len, s, n);
	memcpy(*out, s, n + 1);
	*len = n;
	return 0;
}

void enl_lambda_url_request(const struct enl_lambda_door *d, const json_t *event,
                            const char *aws_request_id, int64_t left_ms,
                            struct enl_lambda_result *out)
{
	json_t *http = json_object_get(json_object_get(event, "requestContext"), "http");
	struct url_req u = {d, json_object_get(event, "headers"), left_ms, 0};
	struct enl_http_whole in = {
	    .method = json_string_value(json_object_get(http, "method")),
	    .raw_path = json_string_value(json_object_get(event, "rawPath")),
	    .raw_query = json_string_value(json_object_get(event, "rawQueryString")),
	    .max_body_bytes = d->max_body_bytes,
	    .max_response_bytes = MAX_BODY_BYTES,
	    .client_ip = json_string_value(json_object_get(http, "sourceIp")),
	    .request_id = aws_request_id,
	    .header = url_header,
	    .admit = url_admit,
	    .retry_after_s = d->retry_after_s,
	    .impl = &u,
	};
	unsigned char *body = NULL;
	struct enl_resp resp;
	int rc;

	enl_resp_init(&resp);
	if (!in.method || !in.raw_path) {
		/* Not a request the function URL would send: the caller's mistake. */
		out->error_type = ENL_LAMBDA_REJECTED;
		if (enl_lambda_error_body(&out->body, out->error_type,
		                          "a function URL request needs rawPath and "
		                          "requestContext.http.method"))
			enl_buf_free(&out->body);
		return;
	}
	if ((u.body_err = request_body(event, &body, &in.body_len)))
		in.body_len = 0;
	in.body = body;
	enl_http_answer(d->routes, d->n_routes, &in, &resp);
	rc = encode(&resp, &out->body);
	if (rc == 0 && out->body.len > ENL_LAMBDA_MAX_PAYLOAD) {
		/* Only a text body escaped past its size gets here (binary ones are bounded by
		 * max_response_bytes). */
		char detail[160];
		snprintf(detail, sizeof(detail),
		         "the answer is %zu bytes as JSON, over the function URL's %u",
		         out->body.len, ENL_LAMBDA_MAX_PAYLOAD);
		enl_resp_free(&resp);
		enl_resp_init(&resp);
		enl_resp_problem_status(&resp, 502, ENL_ETOOBIG, detail);
		rc = encode(&resp, &out->body);
	}
	if (rc) {
		out->error_type = ENL_LAMBDA_BACKEND;
		if (enl_lambda_error_body(&out->body, out->error_type, "out of memory"))
			enl_buf_free(&out->body);
	}
	enl_resp_free(&resp);
	free(body);
}
