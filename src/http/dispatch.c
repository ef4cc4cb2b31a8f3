/* Routing: picks the route for a request's method and decoded path, or says 404 / 405
 * with the methods the path answers (for the Allow header); runs a route with its bound
 * settings. The server and enl_http_dispatch (a door without sockets) share these. */
#include "server_internal.h"

#include <stdio.h>
#include <string.h>

#include "enlarger/log.h"
#include "problem.h"

static int path_matches(const struct enl_route *rt, const char *path)
{
	size_t n = strlen(rt->prefix);
	if (n && rt->prefix[n - 1] == '/')
		return strncmp(path, rt->prefix, n) == 0;
	return strcmp(path, rt->prefix) == 0;
}

static int method_matches(const struct enl_route *rt, const char *method)
{
	return strcmp(rt->method, method) == 0 ||
	       (strcmp(rt->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

int enl_http_route_find(const struct enl_route *routes, size_t n_routes, const char *method,
                        const char *path, const struct enl_route **out, char *allow, size_t cap)
{
	int path_known = 0;
	*out = NULL;
	allow[0] = 0;
	for (size_t i = 0; i < n_routes; i++) {
		const struct enl_route *rt = &routes[i];
		if (!path_matches(rt, path))
			continue;
		if (method_matches(rt, method)) {
			*out = rt;
			return 0;
		}
		path_known = 1;
		char m[32];
		snprintf(m, sizeof(m), "%s%s", rt->method,
		         strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
		if (!strstr(allow, m)) {
			size_t used = strlen(allow);
			snprintf(allow + used, cap - used, "%s%s", used ? ", " : "", m);
		}
	}
	return path_known ? 405 : 404;
}

struct enl_http_refusal enl_http_route_refusal(int status)
{
	if (status == 405)
		return (struct enl_http_refusal){405, "method-not-allowed", "Method not allowed",
		                                 "this path does not answer this method"};
	const struct enl_err_info *nf = enl_err_info(ENL_ENOTFOUND);
	return (struct enl_http_refusal){404, nf->name, nf->title, "no such route"};
}

void enl_http_route_run(const struct enl_route *rt, struct enl_req *req, struct enl_resp *resp)
{
	req->self = rt->self;
	enl_log_set_request_id(req->request_id);
	int rc = rt->fn(req, resp);
	enl_log_set_request_id(NULL);
	if (resp->status == 0) {
		/* The route failed before writing an answer: the generic one for its error. */
		enl_resp_free(resp);
		enl_resp_init(resp);
		enl_resp_problem(resp, rc ? rc : ENL_EINTERNAL, NULL);
		if (!rc)
			snprintf(resp->log_error, sizeof(resp->log_error), "route set no response");
	}
}

void enl_http_route_refuse(struct enl_resp *resp, int status, const char *allow)
{
	struct enl_http_refusal r = enl_http_route_refusal(status);
	enl_resp_problem_typed(resp, r.status, r.type_name, r.title, r.detail);
	if (allow[0])
		enl_resp_header(resp, "Allow", "%s", allow);
}

const struct enl_route *enl_http_dispatch(const struct enl_route *routes, size_t n_routes,
                                          struct enl_req *req, struct enl_resp *resp)
{
	const struct enl_route *rt = NULL;
	char allow[128];
	int st = enl_http_route_find(routes, n_routes, req->method, req->path, &rt, allow,
	                             sizeof(allow));
	if (st)
		enl_http_route_refuse(resp, st, allow);
	else
		enl_http_route_run(rt, req, resp);
	enl_http_resp_finish(resp, req->request_id);
	return rt;
}
