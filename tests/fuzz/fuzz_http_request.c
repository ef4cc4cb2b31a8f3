/* Fuzz target for a whole HTTP request through the route table, without sockets: what
 * src/http/server.c does with a request once libmicrohttpd has split it (percent-decoding
 * of the path and the query, routing with 404/405, the body limit), then the route
 * itself (/process, /render/<key>, /healthz, /readyz, /metrics) over a real local store
 * and SQLite table in a temporary folder holding two small originals, and the finishing
 * touches every response gets (enl_http_resp_finish). The input is the request as sent:
 * "METHOD target HTTP/1.1", header lines, a blank line, the body.
 * Checks: the status is one the API documents (api/openapi.yaml), never 500; every
 * header name and value is free of control characters; a problem answer is
 * application/problem+json whose "status" is the response's; a 200 from /render is an
 * image of the type it says, with a quoted ETag and a cache verdict; a 200 from /process
 * is JSON with an outcome (fuzz_app.h, shared with the Lambda door's target). */
#include "fuzz_app.h"
#include "server_internal.h"

#define MAX_HEADERS 32
#define MAX_BODY 4096

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_app_init(argc && *argc ? (*argv)[0] : NULL, "http");
	return 0;
}

/* ---- the request as the server hands it to a route -------------------------------- */

struct fuzz_req {
	struct enl_req req;
	const char *hname[MAX_HEADERS], *hvalue[MAX_HEADERS];
	int nh;
	struct enl_http_args args;
};

static const char *req_header(const struct enl_req *r, const char *name)
{
	const struct fuzz_req *f = (const struct fuzz_req *)r;
	return fixture_header(f->hname, f->hvalue, f->nh, name);
}

static const char *req_query(const struct enl_req *r, const char *name)
{
	return enl_http_args_get(&((const struct fuzz_req *)r)->args, name);
}

/* As libmicrohttpd splits a query: at '&', then at the first '='; a name without '='
 * has no value. 0 or what enl_http_args_add says. */
static int split_query(char *q, struct enl_http_args *args)
{
	while (q) {
		char *amp = strchr(q, '&');
		if (amp)
			*amp++ = 0;
		char *eq = strchr(q, '=');
		if (eq)
			*eq++ = 0;
		if (*q || eq) {
			int rc = enl_http_args_add(args, q, eq);
			if (rc)
				return rc;
		}
		q = amp;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The head ends at the first blank line; the rest is the body. */
	const uint8_t *sep = memmem(data, size, "\n\n", 2);
	size_t head_len = sep ? (size_t)(sep - data) : size;
	char *head = fuzz_cstr(data, head_len);
	const uint8_t *body = sep ? sep + 2 : data + size;
	size_t body_len = (size_t)(data + size - body);
	struct fuzz_req f;
	struct enl_resp resp;
	const struct enl_route *rt = NULL;
	char *path = NULL, *raw_query = NULL;
	memset(&f, 0, sizeof(f));
	enl_resp_init(&resp);

	char *lines[1 + MAX_HEADERS];
	int nl = fuzz_lines(head, lines, 1 + MAX_HEADERS);
	for (int i = 0; i < nl; i++) {
		size_t n = strlen(lines[i]);
		if (n && lines[i][n - 1] == '\r')
			lines[i][n - 1] = 0;
	}
	/* Request line: method, target, version (libmicrohttpd refuses anything else). */
	char *method = lines[0], *target = strchr(method, ' ');
	char *version = target ? strrchr(target + 1, ' ') : NULL;
	if (!target || !version || strncmp(version + 1, "HTTP/1.", 7) != 0 || target == method)
		goto done;
	*target++ = 0;
	*version = 0;
	if (target[0] != '/')
		goto done;
	for (int i = 1; i < nl; i++) {
		char *colon = strchr(lines[i], ':');
		if (!colon || colon == lines[i])
			continue;
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		f.hname[f.nh] = lines[i];
		f.hvalue[f.nh++] = v;
	}

	/* What server.c's begin() does with the headers in. */
	char *query = strchr(target, '?');
	if (query)
		*query++ = 0;
	const char *rid = req_header(&f.req, "X-Request-Id");
	if (enl_http_request_id_ok(rid))
		snprintf(f.req.request_id, sizeof(f.req.request_id), "%s", rid);
	else
		enl_http_request_id_new(f.req.request_id, sizeof(f.req.request_id));
	/* As sent, before split_query cuts it up: routes read the canonical query from it. */
	raw_query = strdup(query ? query : "");
	FUZZ_CHECK(raw_query != NULL);
	f.req.raw_path = target;
	f.req.raw_query = raw_query;
	int rc = enl_http_pct_decode(target, 0, &path);
	if (rc == 0)
		rc = split_query(query, &f.args);
	if (rc) {
		FUZZ_CHECK(rc == ENL_EINVAL);
		enl_resp_problem(&resp, ENL_EINVAL, "the path or query has an invalid encoding");
		goto answer;
	}
	if (body_len > MAX_BODY) {
		enl_resp_problem_status(&resp, 413, ENL_ETOOBIG, "body too large");
		goto answer;
	}
	/* The body as the server keeps it: NUL-terminated, NULL when empty. */
	char *b = body_len ? fuzz_cstr(body, body_len) : NULL;
	f.req.method = method;
	f.req.path = path;
	f.req.body = (const unsigned char *)b;
	f.req.body_len = body_len;
	f.req.client_ip = "127.0.0.1";
	f.req.header = req_header;
	f.req.query = req_query;
	size_t n_routes;
	const struct enl_route *routes = enl_routes_table(fuzz_app.routes, &n_routes);
	rt = enl_http_dispatch(routes, n_routes, &f.req, &resp);
	free(b);
	if (rt)
		FUZZ_CHECK(strncmp(path, rt->prefix, strlen(rt->prefix)) == 0);
	else
		FUZZ_CHECK(resp.status == 404 || resp.status == 405);
	if (resp.status == 405)
		FUZZ_CHECK(fuzz_resp_header(&resp, "Allow") != NULL);
	goto checked;
answer:
	enl_http_resp_finish(&resp, f.req.request_id);
checked:
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "%s %s -> %d %s %.*s\n", method, target, resp.status,
		        resp.content_type, resp.status >= 400 ? (int)resp.body.len : 0,
		        (const char *)resp.body.data);
	fuzz_check_answer(rt ? rt->name : NULL, method, &resp, 0);
done:
	enl_resp_free(&resp);
	enl_http_args_free(&f.args);
	free(path);
	free(raw_query);
	free(head);
	vips_error_clear();
	return 0;
}
