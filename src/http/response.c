/* Response helpers for routes: headers, JSON bodies and RFC 9457 problem bodies; and
 * what the server settles on every response just before sending it. */
#include "enlarger/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "enlarger/defaults.h"
#include "problem.h"
#include "server_internal.h"

void enl_resp_init(struct enl_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	enl_buf_init(&resp->body, 0);
	enl_body_init(&resp->body_ref);
}

void enl_resp_free(struct enl_resp *resp)
{
	enl_buf_free(&resp->body);
	enl_body_free(&resp->body_ref);
	resp->n_headers = 0;
}

static int has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return 1;
	return 0;
}

int enl_resp_header(struct enl_resp *resp, const char *name, const char *fmt, ...)
{
	char value[sizeof(resp->headers[0].value)];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value) || strlen(name) >= sizeof(resp->headers[0].name))
		return ENL_ETOOBIG;
	/* CR or LF in a header would let a value smuggle in headers of its own. */
	if (has_ctl(name) || has_ctl(value) || !*name)
		return ENL_EINVAL;
	struct enl_resp_header *h = NULL;
	for (int i = 0; i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			h = &resp->headers[i];
	if (!h) {
		if (resp->n_headers >= ENL_RESP_MAX_HEADERS)
			return ENL_ETOOBIG;
		h = &resp->headers[resp->n_headers++];
	}
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->value, sizeof(h->value), "%s", value);
	return 0;
}

int enl_resp_json(struct enl_resp *resp, int status, json_t *body)
{
	int rc = ENL_ENOMEM;
	char *text = NULL;
	if (!body)
		goto done;
	/* 15 significant digits: 5.9 prints as 5.9, not 5.9000000000000004. */
	text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	if (!text)
		goto done;
	size_t len = strlen(text);
	resp->status = status;
	snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
	/* json_dumps allocates with jansson's allocator, which is malloc unless set. */
	enl_body_free(&resp->body_ref);
	enl_buf_adopt(&resp->body, text, len, free);
	text = NULL;
	rc = 0;
done:
	free(text);
	json_decref(body);
	return rc;
}

int enl_http_status(int err)
{
	return enl_err_info(err)->http_status;
}

int enl_resp_problem_typed(struct enl_resp *resp, int status, const char *type_name,
                           const char *title, const char *detail)
{
	char type[128];
	snprintf(type, sizeof(type), ENL_PROBLEM_TYPE_BASE "%s", type_name);
	json_t *p = json_object();
	if (!p)
		return ENL_ENOMEM;
	json_object_set_new(p, "type", json_string(type));
	json_object_set_new(p, "title", json_string(title));
	json_object_set_new(p, "status", json_integer(status));
	/* json_string refuses invalid UTF-8; a detail that quotes a hostile key falls back. */
	json_t *d = json_string(detail && *detail ? detail : title);
	json_object_set_new(p, "detail", d ? d : json_string(title));
	snprintf(resp->log_error, sizeof(resp->log_error), "%s: %s", type_name,
	         detail && *detail ? detail : title);
	int rc = enl_resp_json(resp, status, p); /* steals p */
	if (rc == 0)
		snprintf(resp->content_type, sizeof(resp->content_type),
		         "application/problem+json");
	return rc;
}

int enl_resp_problem_status(struct enl_resp *resp, int status, int err, const char *detail)
{
	const struct enl_err_info *i = enl_err_info(err);
	return enl_resp_problem_typed(resp, status, i->name, i->title, detail);
}

int enl_resp_problem(struct enl_resp *resp, int err, const char *detail)
{
	return enl_resp_problem_status(resp, enl_http_status(err), err, detail);
}

void enl_resp_bytes(struct enl_resp *resp, int status, const char *content_type,
                    struct enl_buf *body)
{
	resp->status = status;
	snprintf(resp->content_type, sizeof(resp->content_type), "%s",
	         content_type ? content_type : "application/octet-stream");
	enl_body_free(&resp->body_ref);
	enl_buf_move(&resp->body, body);
}

void enl_resp_body(struct enl_resp *resp, int status, const char *content_type,
                   struct enl_body *body)
{
	resp->status = status;
	snprintf(resp->content_type, sizeof(resp->content_type), "%s",
	         content_type ? content_type : "application/octet-stream");
	enl_buf_free(&resp->body);
	enl_body_move(&resp->body_ref, body);
}

uint64_t enl_resp_body_len(const struct enl_resp *resp)
{
	return resp->body_ref.kind != ENL_BODY_NONE ? resp->body_ref.len : resp->body.len;
}

int enl_resp_body_bytes(struct enl_resp *resp, size_t max, struct enl_errmsg *e)
{
	struct enl_buf b;
	int rc;
	if (resp->body_ref.kind == ENL_BODY_NONE)
		return 0;
	if ((rc = enl_body_read(&resp->body_ref, max, &b, e)))
		return rc;
	enl_body_free(&resp->body_ref);
	enl_buf_move(&resp->body, &b);
	return 0;
}

void enl_resp_retry_after(struct enl_resp *resp, int floor_s, int64_t wait_ms)
{
	if (!(resp->status == 429 || resp->status == 503 || resp->status == 504))
		return;
	int64_t s = wait_ms > 0 ? (wait_ms + 999) / 1000 : 0;
	if (s < floor_s)
		s = floor_s;
	if (s > ENL_RETRY_AFTER_MAX_S)
		s = ENL_RETRY_AFTER_MAX_S;
	if (s > 0)
		enl_resp_header(resp, "Retry-After", "%lld", (long long)s);
}

/* ---- what the server adds before sending (server_internal.h) ---- */

/* Problem bodies are built, status and all, by routes that do not know the request id:
 * it goes in here as the last member, written into the body's text before its closing
 * brace, so the body is serialised once. */
static void finish_problem(struct enl_resp *resp, const char *request_id)
{
	struct enl_buf *b = &resp->body;
	if (strncmp(resp->content_type, "application/problem+json", 24) != 0 || b->len < 2 ||
	    b->data[b->len - 1] != '}')
		return;
	json_t *id = json_string(request_id);
	char *quoted = id ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
	json_decref(id);
	if (!quoted)
		return;
	char tail[320];
	int n = snprintf(tail, sizeof(tail), ",\"requestId\":%s}", quoted);
	if (n > 0 && (size_t)n < sizeof(tail)) {
		b->len--; /* over the closing brace, which tail writes again */
		if (enl_buf_append(b, tail, (size_t)n) != 0)
			b->len++; /* no memory: the body as the route built it (nothing written) */
	}
	free(quoted);
}

void enl_http_resp_finish(struct enl_resp *resp, const char *request_id)
{
	if (resp->status < 100 || resp->status > 599) {
		enl_resp_free(resp);
		enl_resp_init(resp);
		enl_resp_problem(resp, ENL_EINTERNAL, "the route set no valid status");
	}
	finish_problem(resp, request_id);
}
