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
 * is JSON with an outcome. Small limits (1 MP, widths 8/16/32, one job) keep it fast. */
#include <stdatomic.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_fixture.h"
#include "core_internal.h"
#include "enlarger/config.h"
#include "enlarger/log.h"
#include "enlarger/metrics.h"
#include "enlarger/routes.h"
#include "enlarger/service.h"
#include "enlarger/store.h"
#include "enlarger/table.h"
#include "fuzz.h"
#include "fuzz_vips.h"
#include "server_internal.h"

#define MAX_HEADERS 32
#define MAX_BODY 4096

static char dir[64];
static struct enl_config cfg;
static struct enl_store *store;
static struct enl_table *table;
static struct enl_app app;
static struct enl_routes *table_routes;

static const char *const env[] = {"ENLARGER_PROCESS_API_KEY",
                                  "k1",
                                  "ENLARGER_ORIGIN_SECRET",
                                  "cdn",
                                  "ENLARGER_RENDER_WIDTHS",
                                  "8,16,32",
                                  "ENLARGER_JOBS",
                                  "1",
                                  "ENLARGER_QUEUE_DEPTH",
                                  "0",
                                  "ENLARGER_QUEUE_TIMEOUT_MS",
                                  "0",
                                  "ENLARGER_MAX_INPUT_PIXELS",
                                  "1000000",
                                  "ENLARGER_THUMB_SIZE",
                                  "16",
                                  "ENLARGER_OPTIMIZED_WIDTH",
                                  "48",
                                  "ENLARGER_OPTIMIZED_HEIGHT",
                                  "48",
                                  "ENLARGER_LOG_LEVEL",
                                  "error",
                                  NULL};

static const char *cfg_env(void *ud, const char *name)
{
	(void)ud;
	return strcmp(name, "ENLARGER_DATA_DIR") == 0 ? dir : fixture_env((void *)env, name);
}

static void cleanup(void)
{
	enl_routes_free(table_routes);
	enl_app_free(&app);
	enl_table_destroy(table);
	enl_store_destroy(store);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct enl_errmsg e = {""};
	char path[128];
	fuzz_vips_init(argc && *argc ? (*argv)[0] : NULL);
	/* /dev/shm when there is one: the stores fsync. */
	snprintf(dir, sizeof(dir), "%s/enl-fuzz-http-XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	FUZZ_CHECK(enl_config_load(&cfg, cfg_env, NULL, &e) == 0);
	enl_log_set_level(ENL_LOG_ERROR);
	FUZZ_CHECK(enl_store_local_open(cfg.data_dir, &store, &e) == 0);
	snprintf(path, sizeof(path), "%s/photos.db", dir);
	FUZZ_CHECK(enl_table_sqlite_open(path, cfg.table, cfg.table_key, &table, &e) == 0);
	FUZZ_CHECK(enl_app_init(&app, &cfg, store, table, &e) == 0);
	enl_app_register_metrics(&app);
	FUZZ_CHECK(enl_routes_new(&cfg, &app, &table_routes, &e) == 0);
	/* Two small originals, the JPEG rotated (orientation 6). */
	FUZZ_CHECK(fixture_put_noise(store, cfg.originals_bucket, "a.jpg", 40, 30, ".jpg", 6) == 0);
	FUZZ_CHECK(
	    fixture_put_noise(store, cfg.originals_bucket, "dir/b c.png", 20, 20, ".png", 0) == 0);
	atexit(cleanup);
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

static int ctl_free(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return 0;
	return 1;
}

static const char *resp_header(const struct enl_resp *r, const char *name)
{
	for (int i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void check_response(const struct enl_route *rt, const char *method, struct enl_resp *resp)
{
	static const int documented[] = {200, 304, 400, 401, 404, 405, 413, 422, 429, 503, 504};
	int ok = 0;
	for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
		ok |= resp->status == documented[i];
	if (!ok)
		fprintf(stderr, "status %d: %.*s\n", resp->status, (int)resp->body.len,
		        resp->body.data ? (const char *)resp->body.data : "");
	FUZZ_CHECK(ok);
	FUZZ_CHECK(ctl_free(resp->content_type));
	for (int i = 0; i < resp->n_headers; i++)
		FUZZ_CHECK(resp->headers[i].name[0] && ctl_free(resp->headers[i].name) &&
		           ctl_free(resp->headers[i].value));
	if (resp->status >= 400) {
		FUZZ_CHECK(strcmp(resp->content_type, "application/problem+json") == 0);
		json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
		FUZZ_CHECK(json_integer_value(json_object_get(j, "status")) == resp->status);
		FUZZ_CHECK(json_is_string(json_object_get(j, "detail")) ||
		           json_is_string(json_object_get(j, "title")));
		json_decref(j);
		return;
	}
	if (!rt || resp->status != 200)
		return;
	if (strcmp(rt->name, "render") == 0) {
		const char *etag = resp_header(resp, "ETag"), *cache = resp_header(resp, "X-Cache");
		size_t el = etag ? strlen(etag) : 0;
		FUZZ_CHECK(el >= 2 && etag[0] == '"' && etag[el - 1] == '"');
		FUZZ_CHECK(cache && (!strcmp(cache, "hit") || !strcmp(cache, "miss")));
		if (strcmp(method, "HEAD") != 0) {
			int accepted;
			const char *name =
			    enl_decode_sniff(resp->body.data, resp->body.len, &accepted);
			char want[64];
			snprintf(want, sizeof(want), "image/%s", name);
			FUZZ_CHECK(accepted && strcmp(resp->content_type, want) == 0);
		}
	} else if (strcmp(rt->name, "process") == 0) {
		json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
		FUZZ_CHECK(json_is_string(json_object_get(j, "outcome")));
		json_decref(j);
	}
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
	char *path = NULL;
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
	const struct enl_route *routes = enl_routes_table(table_routes, &n_routes);
	rt = enl_http_dispatch(routes, n_routes, &f.req, &resp);
	free(b);
	if (rt)
		FUZZ_CHECK(strncmp(path, rt->prefix, strlen(rt->prefix)) == 0);
	else
		FUZZ_CHECK(resp.status == 404 || resp.status == 405);
	if (resp.status == 405)
		FUZZ_CHECK(resp_header(&resp, "Allow") != NULL);
	goto checked;
answer:
	enl_http_resp_finish(&resp, f.req.request_id);
checked:
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "%s %s -> %d %s %.*s\n", method, target, resp.status,
		        resp.content_type, resp.status >= 400 ? (int)resp.body.len : 0,
		        (const char *)resp.body.data);
	check_response(rt, method, &resp);
done:
	enl_resp_free(&resp);
	enl_http_args_free(&f.args);
	free(path);
	free(head);
	vips_error_clear();
	return 0;
}
