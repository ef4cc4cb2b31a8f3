/* enl_http_answer: a request that arrives whole (a Lambda function URL's) answered by the
 * server's rules, in-process over a small route table: the path and the query decoded as
 * the server decodes them (what the route sees), 400 for bad encodings, 404, 405 with
 * Allow, 413 only for a path a route takes, the door's admission, the response-size
 * limit (502, never a cut body), bodies by reference (a file, shared bytes) carried as
 * bytes, HEAD, X-Request-Id, problem bodies with the request id,
 * and the access log line. */
#include "check.h"

#include <fcntl.h>
#include <jansson.h>
#include <strings.h>
#include <unistd.h>

#include "enlarger/http.h"
#include "enlarger/log.h"

/* GET /r/<anything>: what the route saw, as JSON. */
static int route_echo(struct enl_req *req, struct enl_resp *resp)
{
	const char *a = req->query(req, "a"), *b = req->query(req, "b");
	const char *h = req->header(req, "x-thing");
	snprintf(resp->log_key, sizeof(resp->log_key), "%s", req->path + 3);
	return enl_resp_json(resp, 200,
	                     json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:s?, s:s?}", "path",
	                               req->path, "a", a, "b", b, "h", h, "method", req->method,
	                               "rawPath", req->raw_path, "rawQuery", req->raw_query));
}

/* POST /p: the body's length. */
static int route_post(struct enl_req *req, struct enl_resp *resp)
{
	return enl_resp_json(resp, 200, json_pack("{s:I}", "len", (json_int_t)req->body_len));
}

/* GET /big?n=: n bytes. */
static int route_big(struct enl_req *req, struct enl_resp *resp)
{
	size_t n = (size_t)atol(req->query(req, "n"));
	struct enl_buf b = ENL_BUF_INIT;
	unsigned char *d = malloc(n ? n : 1);
	memset(d, 'x', n);
	enl_buf_adopt(&b, d, n, free);
	snprintf(resp->log_key, sizeof(resp->log_key), "big");
	enl_resp_bytes(resp, 200, "application/octet-stream", &b);
	return 0;
}

/* The byte at i of a body by reference. */
static unsigned char ref_byte(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* GET /ref?kind=file|shared|gone&n=: n bytes by reference, as /render answers: a stretch
 * of a file (from offset 5), shared bytes, or a file that ends before its stated length. */
static int route_ref(struct enl_req *req, struct enl_resp *resp)
{
	const char *kind = req->query(req, "kind");
	size_t n = (size_t)atol(req->query(req, "n"));
	unsigned char *d = malloc(n + 5);
	struct enl_body body;
	enl_body_init(&body);
	for (size_t i = 0; i < n; i++)
		d[i + 5] = ref_byte(i);
	if (strcmp(kind, "shared") == 0) {
		struct enl_buf b = ENL_BUF_INIT;
		struct enl_shared *s = NULL;
		memmove(d, d + 5, n);
		enl_buf_adopt(&b, d, n, free);
		REQUIRE(enl_shared_new(&b, NULL, NULL, &s) == 0);
		enl_body_set_shared(&body, s);
	} else {
		char path[] = "/tmp/enl-whole-ref-XXXXXX";
		int fd = mkstemp(path);
		REQUIRE(fd >= 0);
		unlink(path);
		size_t written = strcmp(kind, "gone") == 0 ? n / 2 : n;
		REQUIRE(write(fd, d, written + 5) == (ssize_t)(written + 5));
		free(d);
		enl_body_set_file(&body, fd, 5, n);
	}
	snprintf(resp->log_key, sizeof(resp->log_key), "ref");
	enl_resp_body(resp, 200, "image/webp", &body);
	return 0;
}

static const struct enl_route routes[] = {
    {"GET", "/r/", route_echo, "echo", NULL},
    {"POST", "/p", route_post, "post", NULL},
    {"GET", "/big", route_big, "big", NULL},
    {"GET", "/ref", route_ref, "ref", NULL},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* The request's headers: name/value pairs. */
struct hdrs {
	const char *kv[8];
	int refuse; /* the admission's answer */
	int admitted;
};

static const char *get_header(void *impl, const char *name)
{
	const struct hdrs *h = impl;
	for (int i = 0; h->kv[i]; i += 2)
		if (strcasecmp(h->kv[i], name) == 0)
			return h->kv[i + 1];
	return NULL;
}

static int admit(void *impl, const struct enl_route *rt, struct enl_errmsg *e)
{
	struct hdrs *h = impl;
	h->admitted++;
	if (h->refuse && strcmp(rt->name, "echo") == 0)
		return enl_fail(e, h->refuse, "not now: the door says so");
	return 0;
}

static const char *resp_header(const struct enl_resp *r, const char *name)
{
	for (int i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* Answers one request; the body as JSON (new reference) or NULL. */
static json_t *answer(const char *method, const char *path, const char *query, const char *body,
                      struct hdrs *h, struct enl_resp *resp)
{
	struct enl_http_whole in = {
	    .method = method,
	    .raw_path = path,
	    .raw_query = query,
	    .body = (const unsigned char *)body,
	    .body_len = body ? strlen(body) : 0,
	    .max_body_bytes = 16,
	    .max_response_bytes = 1000,
	    .request_id = "lambda-req-1",
	    .header = get_header,
	    .admit = admit,
	    .retry_after_s = 7,
	    .impl = h,
	};
	enl_resp_init(resp);
	enl_http_answer(routes, N_ROUTES, &in, resp);
	return json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
}

static void check_problem(json_t *p, const struct enl_resp *r, int status, const char *type)
{
	char want[128];
	snprintf(want, sizeof(want), "https://enlarger.dev/problems/%s", type);
	CHECK_INT_EQ(r->status, status);
	CHECK_STR_EQ(r->content_type, "application/problem+json");
	CHECK_STR_EQ(json_string_value(json_object_get(p, "type")), want);
	CHECK_INT_EQ(json_integer_value(json_object_get(p, "status")), status);
	CHECK_STR_EQ(json_string_value(json_object_get(p, "requestId")),
	             resp_header(r, "X-Request-Id"));
}

int main(void)
{
	struct enl_resp r;
	struct hdrs h = {{NULL}, 0, 0};
	json_t *j;

	/* The log goes to a file the test reads back. */
	char logpath[] = "/tmp/enl-whole-log-XXXXXX";
	int logfd = mkstemp(logpath);
	REQUIRE(logfd >= 0);
	int saved = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);

	/* Decoded as the server decodes: %XX in the path (a '+' stays), '+' and %XX in the
	 * query; the route reads its settings' request only. */
	h = (struct hdrs){{"X-Thing", "yes", NULL}, 0, 0};
	j = answer("GET", "/r/a%20b+c%C3%A9", "a=1+2%2B&b&c=", NULL, &h, &r);
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(json_string_value(json_object_get(j, "path")), "/r/a b+c\xc3\xa9");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "a")), "1 2+");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "b")), "");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "h")), "yes");
	/* And as sent, for the /render signature: byte for byte. */
	CHECK_STR_EQ(json_string_value(json_object_get(j, "rawPath")), "/r/a%20b+c%C3%A9");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "rawQuery")), "a=1+2%2B&b&c=");
	CHECK_STR_EQ(resp_header(&r, "X-Request-Id"), "lambda-req-1");
	CHECK_INT_EQ(h.admitted, 1);
	json_decref(j);
	enl_resp_free(&r);

	/* A caller's X-Request-Id wins over the door's id, as on the server. */
	h = (struct hdrs){{"x-request-id", "caller-7", NULL}, 0, 0};
	j = answer("GET", "/r/x", NULL, NULL, &h, &r);
	CHECK_STR_EQ(resp_header(&r, "X-Request-Id"), "caller-7");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "rawQuery")), ""); /* never NULL */
	json_decref(j);
	enl_resp_free(&r);

	/* Bad encodings: 400 before any route or admission. */
	h = (struct hdrs){{NULL}, 0, 0};
	j = answer("GET", "/r/%zz", NULL, NULL, &h, &r);
	check_problem(j, &r, 400, "invalid");
	CHECK(strstr(json_string_value(json_object_get(j, "detail")), "path") != NULL);
	json_decref(j);
	enl_resp_free(&r);
	j = answer("GET", "/r/ok", "a=%00", NULL, &h, &r);
	check_problem(j, &r, 400, "invalid");
	CHECK(strstr(json_string_value(json_object_get(j, "detail")), "query") != NULL);
	CHECK_INT_EQ(h.admitted, 0);
	json_decref(j);
	enl_resp_free(&r);

	/* 404; 405 with Allow; a body past the limit: 404 for a path no route takes (as the
	 * server picks the route first), 413 for one a route takes. */
	j = answer("GET", "/nope", NULL, NULL, &h, &r);
	check_problem(j, &r, 404, "not-found");
	json_decref(j);
	enl_resp_free(&r);
	j = answer("DELETE", "/r/x", NULL, NULL, &h, &r);
	check_problem(j, &r, 405, "method-not-allowed");
	CHECK_STR_EQ(resp_header(&r, "Allow"), "GET, HEAD");
	json_decref(j);
	enl_resp_free(&r);
	j = answer("POST", "/nope", NULL, "0123456789abcdefXYZ", &h, &r);
	CHECK_INT_EQ(r.status, 404);
	json_decref(j);
	enl_resp_free(&r);
	j = answer("POST", "/p", NULL, "0123456789abcdefXYZ", &h, &r);
	check_problem(j, &r, 413, "body-too-large");
	json_decref(j);
	enl_resp_free(&r);
	j = answer("POST", "/p", NULL, "0123456789abcdef", &h, &r);
	CHECK_INT_EQ(r.status, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "len")), 16);
	json_decref(j);
	enl_resp_free(&r);

	/* The door's admission: its error's problem (503 and Retry-After for busy). */
	h = (struct hdrs){{NULL}, ENL_EBUSY, 0};
	j = answer("GET", "/r/x", NULL, NULL, &h, &r);
	check_problem(j, &r, 503, "busy");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "detail")), "not now: the door says so");
	CHECK_STR_EQ(resp_header(&r, "Retry-After"), "7");
	json_decref(j);
	enl_resp_free(&r);
	h = (struct hdrs){{NULL}, 0, 0};

	/* The size the door can carry: 1000 bytes pass, 1001 are a 502 problem. */
	j = answer("GET", "/big", "n=1000", NULL, &h, &r);
	CHECK_INT_EQ(r.status, 200);
	CHECK_INT_EQ(r.body.len, 1000);
	json_decref(j);
	enl_resp_free(&r);
	j = answer("GET", "/big", "n=1001", NULL, &h, &r);
	check_problem(j, &r, 502, "response-too-large");
	CHECK(strstr(json_string_value(json_object_get(j, "detail")), "1001 bytes") != NULL);
	json_decref(j);
	enl_resp_free(&r);
	/* HEAD: no body, the body's Content-Length, and no 502 (nothing is carried). */
	j = answer("HEAD", "/big", "n=5000", NULL, &h, &r);
	CHECK_INT_EQ(r.status, 200);
	CHECK_INT_EQ(r.body.len, 0);
	CHECK_STR_EQ(resp_header(&r, "Content-Length"), "5000");
	CHECK(j == NULL);
	enl_resp_free(&r);

	/* Bodies by reference (a file, shared bytes) are carried as their bytes, under the
	 * same limit; HEAD gives their length unread; a file that ends early is a 503. */
	const char *kinds[] = {"file", "shared"};
	for (int k = 0; k < 2; k++) {
		char q[64];
		snprintf(q, sizeof(q), "kind=%s&n=1000", kinds[k]);
		j = answer("GET", "/ref", q, NULL, &h, &r);
		CHECK_INT_EQ(r.status, 200);
		CHECK_STR_EQ(r.content_type, "image/webp");
		CHECK_INT_EQ(r.body_ref.kind, ENL_BODY_NONE);
		REQUIRE(r.body.len == 1000);
		int same = 1;
		for (size_t i = 0; i < 1000; i++)
			same &= r.body.data[i] == ref_byte(i);
		CHECK(same);
		json_decref(j);
		enl_resp_free(&r);
		snprintf(q, sizeof(q), "kind=%s&n=1001", kinds[k]);
		j = answer("GET", "/ref", q, NULL, &h, &r);
		check_problem(j, &r, 502, "response-too-large");
		json_decref(j);
		enl_resp_free(&r);
		j = answer("HEAD", "/ref", q, NULL, &h, &r);
		CHECK_INT_EQ(r.status, 200);
		CHECK_INT_EQ(r.body.len, 0);
		CHECK_INT_EQ(r.body_ref.kind, ENL_BODY_NONE);
		CHECK_STR_EQ(resp_header(&r, "Content-Length"), "1001");
		CHECK(j == NULL);
		enl_resp_free(&r);
	}
	j = answer("GET", "/ref", "kind=gone&n=800", NULL, &h, &r);
	check_problem(j, &r, 503, "backend-failure");
	CHECK(strstr(json_string_value(json_object_get(j, "detail")), "ended early") != NULL);
	json_decref(j);
	enl_resp_free(&r);

	/* The access log lines, as the server writes them. */
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	FILE *f = fopen(logpath, "r");
	char line[2048];
	int found_502 = 0, found_echo = 0;
	while (f && fgets(line, sizeof(line), f)) {
		json_t *l = json_loads(line, 0, NULL);
		const char *msg = json_string_value(json_object_get(l, "msg"));
		if (msg && strcmp(msg, "request") == 0) {
			const char *route = json_string_value(json_object_get(l, "route"));
			int st = (int)json_integer_value(json_object_get(l, "status"));
			if (route && strcmp(route, "big") == 0 && st == 502)
				found_502 = json_object_get(l, "key") &&
				            strcmp(json_string_value(json_object_get(l, "key")),
				                   "big") == 0;
			if (route && strcmp(route, "echo") == 0 && st == 200 &&
			    strcmp(json_string_value(json_object_get(l, "requestId")),
			           "lambda-req-1") == 0)
				found_echo = 1;
		}
		json_decref(l);
	}
	if (f)
		fclose(f);
	unlink(logpath);
	close(logfd);
	CHECK(found_echo);
	CHECK(found_502); /* the refused answer keeps its route and key in the log */
	return check_done();
}
