/* A request that arrives whole, from a door without sockets (a Lambda function URL): the
 * server's own decoding, limits, routing, problem bodies, access log and metrics, so such
 * a request is answered exactly as the server answers it. */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "problem.h"

/* The request's private state behind enl_req.impl. */
struct whole_req {
	const struct enl_http_whole *in;
	struct enl_http_args args;
};

static const char *whole_header(const struct enl_req *r, const char *name)
{
	const struct whole_req *w = r->impl;
	return w->in->header(w->in->impl, name);
}

static const char *whole_query(const struct enl_req *r, const char *name)
{
	const struct whole_req *w = r->impl;
	return enl_http_args_get(&w->args, name);
}

/* Splits a raw query string as libmicrohttpd does (on '&', then at the first '=') and
 * decodes each name and value with '+' as a space. 0, ENL_EINVAL or ENL_ENOMEM. */
static int parse_query(const char *q, struct enl_http_args *out)
{
	char *copy = strdup(q ? q : ""); /* split in place */
	int rc = copy ? 0 : ENL_ENOMEM;
	for (char *p = copy; rc == 0 && p && *p;) {
		char *amp = strchr(p, '&');
		if (amp)
			*amp = 0;
		char *eq = strchr(p, '=');
		if (eq)
			*eq = 0;
		if (*p || eq)
			rc = enl_http_args_add(out, p, eq ? eq + 1 : NULL);
		p = amp ? amp + 1 : NULL;
	}
	free(copy);
	return rc;
}

static int has_header(const struct enl_resp *resp, const char *name)
{
	for (int i = 0; i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return 1;
	return 0;
}

/* Drops the route's answer for a problem to follow, keeping its key for the access log. */
static void drop_answer(struct enl_resp *resp)
{
	char key[sizeof(resp->log_key)];
	memcpy(key, resp->log_key, sizeof(key));
	enl_resp_free(resp);
	enl_resp_init(resp);
	memcpy(resp->log_key, key, sizeof(key));
}

/* Picks and runs the route, or answers why not, in the server's order (server.c, begin):
 * the path, the query, the route (404 / 405), the body's size; then the door's own
 * admission, and after the route the size the door can carry, then the body's bytes (a
 * body by reference read into memory: this door carries bytes). Returns the route that
 * took the request, or NULL. */
static const struct enl_route *answer(const struct enl_route *routes, size_t n_routes,
                                      struct enl_req *req, struct whole_req *w,
                                      struct enl_resp *resp)
{
	const struct enl_http_whole *in = w->in;
	const struct enl_route *rt = NULL;
	struct enl_errmsg e = {{0}};
	char *path = NULL;
	char allow[128];
	uint64_t len;
	int rc, st;

	if ((rc = enl_http_pct_decode(in->raw_path, 0, &path))) {
		enl_resp_problem(resp, rc,
		                 rc == ENL_EINVAL
		                     ? "the path has an invalid percent-encoding or a NUL byte"
		                     : NULL);
		goto done;
	}
	if ((rc = parse_query(in->raw_query, &w->args))) {
		enl_resp_problem(resp, rc,
		                 rc == ENL_EINVAL
		                     ? "the query has an invalid percent-encoding or a NUL byte"
		                     : NULL);
		goto done;
	}
	if ((st = enl_http_route_find(routes, n_routes, in->method, path, &rt, allow,
	                              sizeof(allow)))) {
		enl_http_route_refuse(resp, st, allow);
		goto done;
	}
	if (in->body_len > in->max_body_bytes) {
		snprintf(e.text, sizeof(e.text), "the body may be at most %zu bytes",
		         in->max_body_bytes);
		enl_resp_problem_typed(resp, 413, "body-too-large", "Request body too large",
		                       e.text);
		goto done;
	}
	if (in->admit && (rc = in->admit(in->impl, rt, &e))) {
		enl_resp_problem(resp, rc, e.text);
		enl_resp_retry_after(resp, in->retry_after_s, 0);
		goto done;
	}
	req->path = path;
	req->body = in->body_len ? in->body : NULL;
	req->body_len = in->body_len;
	enl_http_route_run(rt, req, resp);
	if (strcmp(in->method, "HEAD") == 0)
		goto done;
	len = enl_resp_body_len(resp);
	if (in->max_response_bytes && len > in->max_response_bytes) {
		snprintf(e.text, sizeof(e.text),
		         "the answer is %llu bytes, over the %zu this door can carry; ask for a "
		         "smaller w or q, or fmt=avif or webp",
		         (unsigned long long)len, in->max_response_bytes);
		drop_answer(resp);
		enl_resp_problem_typed(resp, 502, "response-too-large", "Response too large",
		                       e.text);
	} else if ((rc = enl_resp_body_bytes(resp, 0, &e))) {
		drop_answer(resp);
		enl_resp_problem(resp, rc, e.text);
	}
done:
	enl_http_resp_finish(resp, req->request_id);
	req->path = NULL;
	free(path);
	return rt;
}

void enl_http_answer(const struct enl_route *routes, size_t n_routes,
                     const struct enl_http_whole *in, struct enl_resp *resp)
{
	struct whole_req w = {.in = in};
	struct enl_req req;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&req, 0, sizeof(req));
	req.method = in->method;
	/* As sent, for what must see the request as the client wrote it (the /render
	 * signature and canonical query): never NULL, as the server gives them. */
	req.raw_path = in->raw_path;
	req.raw_query = in->raw_query ? in->raw_query : "";
	req.client_ip = in->client_ip ? in->client_ip : "-";
	req.impl = &w;
	req.header = whole_header;
	req.query = whole_query;
	const char *rid = in->header(in->impl, "X-Request-Id");
	if (enl_http_request_id_ok(rid))
		snprintf(req.request_id, sizeof(req.request_id), "%s", rid);
	else if (enl_http_request_id_ok(in->request_id))
		snprintf(req.request_id, sizeof(req.request_id), "%s", in->request_id);
	else
		enl_http_request_id_new(req.request_id, sizeof(req.request_id));

	const struct enl_route *rt = answer(routes, n_routes, &req, &w, resp);
	enl_resp_header(resp, "X-Request-Id", "%s", req.request_id);
	if (strcmp(in->method, "HEAD") == 0) {
		/* Headers only, with the Content-Length of the body (of either kind, never
		 * read), as the server sends. */
		uint64_t len = enl_resp_body_len(resp);
		if (len && !has_header(resp, "Content-Length"))
			enl_resp_header(resp, "Content-Length", "%llu", (unsigned long long)len);
		enl_buf_free(&resp->body);
		enl_body_free(&resp->body_ref);
	}

	struct enl_http_done done = {
	    .request_id = req.request_id,
	    .method = in->method,
	    .route = rt ? rt->name : "unmatched",
	    .status = resp->status,
	    .seconds = enl_http_seconds_since(&t0),
	    .bytes_in = in->body_len,
	    .bytes_out = resp->body.len,
	    .key = resp->log_key,
	    .error = resp->log_error[0] ? resp->log_error : NULL,
	};
	enl_http_request_done(&done);
	enl_http_args_free(&w.args);
}
