/* The HTTP server over real sockets on 127.0.0.1 (port 0), with libcurl and raw sockets
 * as clients: routing (each route with its own settings), HEAD, 404/405, 413, slow
 * clients, decoding, request ids, the access log, metrics and graceful stop; and the
 * same route table dispatched in-process, without sockets (enl_http_dispatch). */
#include "check.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "enlarger/http.h"
#include "enlarger/log.h"
#include "enlarger/metrics.h"

#define MAX_BODY 1000

static atomic_int slow_entered;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- routes ---------------------------------------------------------------------- */

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Everything the route sees, as JSON. */
static int route_echo(struct enl_req *req, struct enl_resp *resp)
{
	json_t *j = json_object();
	json_object_set_new(j, "method", json_string(req->method));
	json_object_set_new(j, "path", opt_str(req->path));
	json_object_set_new(j, "rawPath", opt_str(req->raw_path));
	json_object_set_new(j, "rawQuery", opt_str(req->raw_query));
	json_object_set_new(j, "a", opt_str(req->query(req, "a")));
	json_object_set_new(j, "b", opt_str(req->query(req, "b")));
	json_object_set_new(j, "k y", opt_str(req->query(req, "k y")));
	json_object_set_new(j, "missing", opt_str(req->query(req, "missing")));
	json_object_set_new(j, "thing", opt_str(req->header(req, "x-THING")));
	json_object_set_new(j, "requestId", json_string(req->request_id));
	json_object_set_new(j, "clientIp", opt_str(req->client_ip));
	json_object_set_new(j, "bodyLen", json_integer((json_int_t)req->body_len));
	json_object_set_new(j, "bodyNul",
	                    json_boolean(!req->body || req->body[req->body_len] == 0));
	json_object_set_new(j, "self", json_string(req->self));
	snprintf(resp->log_key, sizeof(resp->log_key), "%s", req->path);
	return enl_resp_json(resp, 200, j);
}

static int route_fixed(struct enl_req *req, struct enl_resp *resp)
{
	(void)req;
	struct enl_buf b;
	enl_buf_init(&b, 0);
	enl_buf_append(&b, "hello world\n", 12);
	enl_resp_bytes(resp, 200, "text/plain", &b);
	enl_resp_header(resp, "Cache-Control", "public, max-age=60");
	return 0;
}

/* Answers HEAD with the size only, as a route would for a stored object. */
static int route_sized(struct enl_req *req, struct enl_resp *resp)
{
	if (strcmp(req->method, "HEAD") == 0) {
		resp->status = 200;
		snprintf(resp->content_type, sizeof(resp->content_type), "image/webp");
		return enl_resp_header(resp, "Content-Length", "%d", 12345);
	}
	struct enl_buf b;
	enl_buf_init(&b, 0);
	enl_buf_append(&b, "abc", 3);
	enl_resp_bytes(resp, 200, "image/webp", &b);
	return enl_resp_header(resp, "Content-Length", "%d", 999); /* ignored */
}

static int route_fail(struct enl_req *req, struct enl_resp *resp)
{
	(void)req;
	(void)resp;
	return ENL_EDECODE; /* no response written: the server answers for the error */
}

static int route_busy(struct enl_req *req, struct enl_resp *resp)
{
	(void)req;
	enl_resp_problem_status(resp, 429, ENL_EBUSY, "that object is being processed");
	enl_resp_header(resp, "Retry-After", "3");
	return ENL_EBUSY;
}

static int route_slow(struct enl_req *req, struct enl_resp *resp)
{
	(void)req;
	atomic_store(&slow_entered, 1);
	usleep(1000 * 1000);
	return enl_resp_json(resp, 200, json_pack("{s:b}", "slow", 1));
}

/* ---- bodies by reference: a file, and bytes shared by every answer ---- */

#define FILE_OFFSET 7
#define FILE_LEN 300000     /* past the socket buffers: sent in several rounds */
#define BIG_LEN (16u << 20) /* far past the socket buffers: a slow reader holds it long */
static char body_path[64], big_path[64];
static unsigned char file_bytes[FILE_OFFSET + FILE_LEN + 5];
static struct enl_shared *shared_body;
static atomic_int shared_freed;

static void on_shared_free(void *ctx, struct enl_shared *s)
{
	(void)ctx;
	(void)s;
	atomic_fetch_add(&shared_freed, 1);
}

/* The bytes [FILE_OFFSET, FILE_OFFSET + FILE_LEN) of the body file, by descriptor. */
static int route_file(struct enl_req *req, struct enl_resp *resp)
{
	(void)req;
	struct enl_body b;
	int fd = open(body_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ENL_EIO;
	enl_body_init(&b);
	enl_body_set_file(&b, fd, FILE_OFFSET, FILE_LEN);
	enl_resp_body(resp, 200, "application/octet-stream", &b);
	return 0;
}

/* BIG_LEN bytes, by descriptor. */
static int route_big(struct enl_req *req, struct enl_resp *resp)
{
	(void)req;
	struct enl_body b;
	int fd = open(big_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ENL_EIO;
	enl_body_init(&b);
	enl_body_set_file(&b, fd, 0, BIG_LEN);
	enl_resp_body(resp, 200, "application/octet-stream", &b);
	return 0;
}

/* One more reference to the shared bytes per answer. */
static int route_shared(struct enl_req *req, struct enl_resp *resp)
{
	(void)req;
	struct enl_body b;
	enl_body_init(&b);
	enl_body_set_shared(&b, enl_shared_ref(shared_body));
	enl_resp_body(resp, 200, "application/octet-stream", &b);
	return 0;
}

/* Each echo route's own settings: the server hands a route its own. */
static char get_settings[] = "get-settings", post_settings[] = "post-settings",
            render_settings[] = "render-settings";

/* clang-format off */
static const struct enl_route routes[] = {
    {"GET", "/echo", route_echo, "echo", get_settings},
    {"POST", "/echo", route_echo, "echo_post", post_settings},
    {"GET", "/render/", route_echo, "render", render_settings},
    {"GET", "/fixed", route_fixed, "fixed", NULL},
    {"GET", "/sized", route_sized, "sized", NULL},
    {"GET", "/fail", route_fail, "fail", NULL},
    {"POST", "/busy", route_busy, "busy", NULL},
    {"GET", "/slow", route_slow, "slow", NULL},
    {"GET", "/file", route_file, "file", NULL},
    {"GET", "/shared", route_shared, "shared", NULL},
    {"GET", "/big", route_big, "big", NULL},
};
/* clang-format on */
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static struct enl_server *start_sending(unsigned timeout_s, unsigned send_timeout_s)
{
	struct enl_server_opts o = {
	    .listen = "127.0.0.1:0",
	    .connection_timeout_s = timeout_s,
	    .send_timeout_s = send_timeout_s,
	    .per_ip_connections = 0,
	    .max_connections = 64,
	    .max_body_bytes = MAX_BODY,
	    .routes = routes,
	    .n_routes = N_ROUTES,
	};
	struct enl_server *s = NULL;
	struct enl_errmsg e = {{0}};
	int rc = enl_server_start(&o, &s, &e);
	if (rc)
		fprintf(stderr, "start: %s\n", e.text);
	REQUIRE(rc == 0 && s);
	REQUIRE(enl_server_port(s) > 0);
	return s;
}

static struct enl_server *start(unsigned timeout_s)
{
	return start_sending(timeout_s, 0);
}

/* ---- a small libcurl client -------------------------------------------------------- */

struct reply {
	long status;
	struct enl_buf body;
	struct enl_buf headers;
	double seconds;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	enl_buf_append(ud, p, sz * n);
	return sz * n;
}

struct upload {
	const char *data;
	size_t len, pos;
};

static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t k = sz * n < u->len - u->pos ? sz * n : u->len - u->pos;
	if (k > 100)
		k = 100; /* several chunks */
	memcpy(p, u->data + u->pos, k);
	u->pos += k;
	return k;
}

/* method NULL = GET. headers: NULL-terminated list. chunked: send the body chunked. */
static void http(int port, const char *method, const char *path, const char *body, size_t body_len,
                 const char *const *headers, int chunked, struct reply *out)
{
	memset(out, 0, sizeof(*out));
	enl_buf_init(&out->body, 0);
	enl_buf_init(&out->headers, 0);
	char url[2048];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	CURL *c = curl_easy_init();
	REQUIRE(c);
	struct curl_slist *hl = NULL;
	for (const char *const *h = headers; h && *h; h++)
		hl = curl_slist_append(hl, *h);
	struct upload up = {body, body_len, 0};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
	if (method && strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (method)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body && chunked) {
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method ? method : "POST");
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	double t0 = now_s();
	CURLcode rc = curl_easy_perform(c);
	out->seconds = now_s() - t0;
	if (rc != CURLE_OK)
		fprintf(stderr, "curl %s %s: %s\n", method ? method : "GET", path,
		        curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
}

static void reply_free(struct reply *r)
{
	enl_buf_free(&r->body);
	enl_buf_free(&r->headers);
}

/* A response header's value (copied into out), or NULL. */
static const char *reply_header(const struct reply *r, const char *name, char *out, size_t cap)
{
	const char *p = (const char *)r->headers.data;
	size_t n = strlen(name);
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		if (!eol)
			break;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			size_t len = (size_t)(eol - v) < cap - 1 ? (size_t)(eol - v) : cap - 1;
			memcpy(out, v, len);
			out[len] = 0;
			return out;
		}
		p = eol + 2;
	}
	return NULL;
}

static json_t *reply_json(const struct reply *r)
{
	return json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
}

static const char *jstr(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static void check_problem(const struct reply *r, int status, const char *type_name)
{
	char v[256], want[128];
	CHECK_INT_EQ(r->status, status);
	CHECK_STR_EQ(reply_header(r, "Content-Type", v, sizeof(v)), "application/problem+json");
	json_t *j = reply_json(r);
	CHECK(json_is_object(j));
	snprintf(want, sizeof(want), "https://enlarger.dev/problems/%s", type_name);
	CHECK_STR_EQ(jstr(j, "type"), want);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "status")), status);
	CHECK(jstr(j, "title") != NULL);
	CHECK(jstr(j, "detail") != NULL);
	/* The problem's requestId is the one in the X-Request-Id header. */
	CHECK_STR_EQ(jstr(j, "requestId"), reply_header(r, "X-Request-Id", v, sizeof(v)));
	json_decref(j);
}

/* ---- raw sockets --------------------------------------------------------------------- */

/* A connected socket, or -1; rcvbuf: its receive buffer (0: the system's), set before
 * connecting so the window is small from the start. */
static int connect_rcvbuf(int port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0); /* no REQUIRE: runs on other threads too */
	if (fd < 0)
		return -1;
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(int port)
{
	return connect_rcvbuf(port, 0);
}

/* Reads until EOF or timeout_s; returns the bytes read (NUL-terminated in buf). */
static size_t read_all(int fd, char *buf, size_t cap, double timeout_s)
{
	size_t n = 0;
	double end = now_s() + timeout_s;
	while (n + 1 < cap && now_s() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	buf[n] = 0;
	return n;
}

/* Is the connection closed by the peer (EOF or reset)? Waits up to ms. */
static int peer_closed(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, ms) <= 0)
		return 0;
	char c[512];
	ssize_t k = recv(fd, c, sizeof(c), MSG_DONTWAIT);
	return k == 0 || (k < 0 && errno != EAGAIN);
}

struct trickle {
	int port;
	double closed_after; /* seconds until the server closed it; < 0 if it never did */
	int bytes_sent;
};

/* Sends a POST's headers, then its body one byte every 300 ms. */
static void *trickler(void *arg)
{
	struct trickle *t = arg;
	t->closed_after = -1;
	int fd = connect_to(t->port);
	if (fd < 0)
		return NULL;
	const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
	send(fd, head, strlen(head), MSG_NOSIGNAL);
	double t0 = now_s();
	while (now_s() - t0 < 6) {
		if (send(fd, "x", 1, MSG_NOSIGNAL) != 1 || peer_closed(fd, 300)) {
			t->closed_after = now_s() - t0;
			break;
		}
		t->bytes_sent++;
	}
	close(fd);
	return NULL;
}

/* ---- the tests ----------------------------------------------------------------------- */

static void test_routing(int port)
{
	struct reply r;
	char v[256];
	const char *hdrs[] = {"X-Thing: yes", "X-Request-Id: req-42.a:b_c", NULL};
	http(port, NULL, "/echo?a=1", NULL, 0, hdrs, 0, &r);
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(reply_header(&r, "Content-Type", v, sizeof(v)), "application/json");
	CHECK_STR_EQ(reply_header(&r, "X-Request-Id", v, sizeof(v)), "req-42.a:b_c");
	json_t *j = reply_json(&r);
	CHECK_STR_EQ(jstr(j, "method"), "GET");
	CHECK_STR_EQ(jstr(j, "path"), "/echo");
	CHECK_STR_EQ(jstr(j, "thing"), "yes");
	CHECK_STR_EQ(jstr(j, "a"), "1");
	CHECK(json_is_null(json_object_get(j, "missing")));
	CHECK_STR_EQ(jstr(j, "requestId"), "req-42.a:b_c");
	CHECK_STR_EQ(jstr(j, "clientIp"), "127.0.0.1");
	CHECK_STR_EQ(jstr(j, "self"), "get-settings");
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "bodyLen")), 0);
	json_decref(j);
	reply_free(&r);

	/* A request id that is not sane is replaced by 16 random hex digits. */
	const char *bad[] = {"X-Request-Id: has spaces and \"quotes\"", NULL};
	http(port, NULL, "/echo", NULL, 0, bad, 0, &r);
	const char *rid = reply_header(&r, "X-Request-Id", v, sizeof(v));
	CHECK(rid && strlen(rid) == 16 && strspn(rid, "0123456789abcdef") == 16);
	j = reply_json(&r);
	CHECK_STR_EQ(jstr(j, "requestId"), rid);
	json_decref(j);
	reply_free(&r);
	char rid2[64];
	http(port, NULL, "/echo", NULL, 0, NULL, 0, &r);
	CHECK(reply_header(&r, "X-Request-Id", rid2, sizeof(rid2)) && strcmp(rid2, v) != 0);
	reply_free(&r);

	/* Same path, other method: the POST route, with its body. */
	http(port, "POST", "/echo", "{\"k\":1}", 7, NULL, 0, &r);
	CHECK_INT_EQ(r.status, 200);
	j = reply_json(&r);
	CHECK_STR_EQ(jstr(j, "method"), "POST");
	CHECK_STR_EQ(jstr(j, "self"), "post-settings");
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "bodyLen")), 7);
	CHECK(json_is_true(json_object_get(j, "bodyNul")));
	json_decref(j);
	reply_free(&r);

	/* A prefix route. */
	http(port, NULL, "/render/some/key.jpg?b=2", NULL, 0, NULL, 0, &r);
	CHECK_INT_EQ(r.status, 200);
	j = reply_json(&r);
	CHECK_STR_EQ(jstr(j, "path"), "/render/some/key.jpg");
	CHECK_STR_EQ(jstr(j, "b"), "2");
	CHECK_STR_EQ(jstr(j, "self"), "render-settings");
	json_decref(j);
	reply_free(&r);

	/* Unknown path, a prefix route's bare prefix without the slash, wrong method. */
	http(port, NULL, "/nope", NULL, 0, NULL, 0, &r);
	check_problem(&r, 404, "not-found");
	reply_free(&r);
	http(port, NULL, "/render", NULL, 0, NULL, 0, &r);
	check_problem(&r, 404, "not-found");
	reply_free(&r);
	http(port, NULL, "/echo/more", NULL, 0, NULL, 0, &r);
	CHECK_INT_EQ(r.status, 404);
	reply_free(&r);
	http(port, "DELETE", "/echo", NULL, 0, NULL, 0, &r);
	check_problem(&r, 405, "method-not-allowed");
	CHECK_STR_EQ(reply_header(&r, "Allow", v, sizeof(v)), "GET, HEAD, POST");
	/* Refused from its headers, a request without a body keeps its connection. */
	CHECK(reply_header(&r, "Connection", v, sizeof(v)) == NULL);
	reply_free(&r);
	http(port, "PUT", "/echo", "{}", 2, NULL, 0, &r);
	check_problem(&r, 405, "method-not-allowed");
	CHECK_STR_EQ(reply_header(&r, "Allow", v, sizeof(v)), "GET, HEAD, POST");
	reply_free(&r);
	http(port, "POST", "/fixed", "x", 1, NULL, 0, &r);
	check_problem(&r, 405, "method-not-allowed");
	CHECK_STR_EQ(reply_header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
	reply_free(&r);

	/* A route that fails without writing a response; one that picks 429 itself. */
	http(port, NULL, "/fail", NULL, 0, NULL, 0, &r);
	check_problem(&r, 422, "undecodable");
	reply_free(&r);
	http(port, "POST", "/busy", "{}", 2, NULL, 0, &r);
	check_problem(&r, 429, "busy");
	CHECK_STR_EQ(reply_header(&r, "Retry-After", v, sizeof(v)), "3");
	reply_free(&r);
}

/* ---- the same table without sockets (enl_http_dispatch), as another door would --- */

static const char *no_header(const struct enl_req *r, const char *name)
{
	(void)r;
	(void)name;
	return NULL;
}

static const char *query_a(const struct enl_req *r, const char *name)
{
	(void)r;
	return strcmp(name, "a") == 0 ? "1" : NULL;
}

static const char *resp_header(const struct enl_resp *r, const char *name)
{
	for (int i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* Dispatches one request; returns the body as JSON (new reference, or NULL). */
static json_t *dispatch(const char *method, const char *path, const char *body,
                        const struct enl_route **rt, struct enl_resp *resp)
{
	struct enl_req req;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.raw_path = path;
	req.raw_query = "a=1";
	req.body = (const unsigned char *)body;
	req.body_len = body ? strlen(body) : 0;
	snprintf(req.request_id, sizeof(req.request_id), "in-process");
	req.client_ip = "-";
	req.header = no_header;
	req.query = query_a;
	enl_resp_init(resp);
	*rt = enl_http_dispatch(routes, N_ROUTES, &req, resp);
	return json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
}

static void check_dispatch_problem(const struct enl_resp *r, json_t *j, int status,
                                   const char *type_name)
{
	char want[128];
	snprintf(want, sizeof(want), "https://enlarger.dev/problems/%s", type_name);
	CHECK_INT_EQ(r->status, status);
	CHECK_STR_EQ(r->content_type, "application/problem+json");
	CHECK_STR_EQ(jstr(j, "type"), want);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "status")), status);
	CHECK_STR_EQ(jstr(j, "requestId"), "in-process");
}

static void test_dispatch(void)
{
	const struct enl_route *rt;
	struct enl_resp r;

	/* Each route runs with its own settings and the request as given. */
	json_t *j = dispatch("GET", "/echo", NULL, &rt, &r);
	CHECK(rt == &routes[0]);
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(jstr(j, "self"), "get-settings");
	CHECK_STR_EQ(jstr(j, "a"), "1");
	CHECK_STR_EQ(jstr(j, "rawQuery"), "a=1");
	CHECK_STR_EQ(jstr(j, "requestId"), "in-process");
	json_decref(j);
	enl_resp_free(&r);
	j = dispatch("POST", "/echo", "{\"k\":1}", &rt, &r);
	CHECK(rt == &routes[1]);
	CHECK_STR_EQ(jstr(j, "self"), "post-settings");
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "bodyLen")), 7);
	json_decref(j);
	enl_resp_free(&r);
	j = dispatch("HEAD", "/render/a/b.jpg", NULL, &rt, &r);
	CHECK(rt == &routes[2]);
	CHECK_STR_EQ(jstr(j, "method"), "HEAD");
	CHECK_STR_EQ(jstr(j, "self"), "render-settings");
	json_decref(j);
	enl_resp_free(&r);

	/* No route: the server's 404 and 405 (with Allow), carrying the request id. */
	j = dispatch("GET", "/nope", NULL, &rt, &r);
	CHECK(rt == NULL);
	check_dispatch_problem(&r, j, 404, "not-found");
	json_decref(j);
	enl_resp_free(&r);
	j = dispatch("DELETE", "/echo", NULL, &rt, &r);
	CHECK(rt == NULL);
	check_dispatch_problem(&r, j, 405, "method-not-allowed");
	CHECK_STR_EQ(resp_header(&r, "Allow"), "GET, HEAD, POST");
	json_decref(j);
	enl_resp_free(&r);

	/* A route that writes nothing answers the problem for its error; a 429 keeps the
	 * route's Retry-After. */
	j = dispatch("GET", "/fail", NULL, &rt, &r);
	check_dispatch_problem(&r, j, 422, "undecodable");
	json_decref(j);
	enl_resp_free(&r);
	j = dispatch("POST", "/busy", "{}", &rt, &r);
	check_dispatch_problem(&r, j, 429, "busy");
	CHECK_STR_EQ(resp_header(&r, "Retry-After"), "3");
	json_decref(j);
	enl_resp_free(&r);
}

/* The body file and the shared bytes the two routes above answer with. */
static void bodies_setup(void)
{
	for (size_t i = 0; i < sizeof(file_bytes); i++)
		file_bytes[i] = (unsigned char)(i * 7 + i / 251);
	snprintf(body_path, sizeof(body_path), "body-XXXXXX");
	int fd = mkstemp(body_path);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, file_bytes, sizeof(file_bytes)) == (ssize_t)sizeof(file_bytes));
	close(fd);
	struct enl_buf b;
	enl_buf_init(&b, 0);
	REQUIRE(enl_buf_append(&b, "shared bytes", 12) == 0);
	REQUIRE(enl_shared_new(&b, on_shared_free, NULL, &shared_body) == 0);
	CHECK(b.data == NULL && b.len == 0);
	snprintf(big_path, sizeof(big_path), "big-XXXXXX");
	fd = mkstemp(big_path);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, BIG_LEN) == 0); /* zeros, without writing them */
	close(fd);
}

/* Files and shared bytes: over the socket from where they are, byte for byte, with
 * their length for HEAD; in-process, read into bytes under a cap for a door that needs
 * them. The shared bytes are released with the last answer that held them. */
static void test_bodies(int port)
{
	struct reply r;
	char v[64];
	http(port, NULL, "/file", NULL, 0, NULL, 0, &r);
	CHECK_INT_EQ(r.status, 200);
	CHECK_INT_EQ(r.body.len, FILE_LEN);
	CHECK(r.body.len == FILE_LEN &&
	      memcmp(r.body.data, file_bytes + FILE_OFFSET, FILE_LEN) == 0);
	reply_free(&r);
	http(port, "HEAD", "/file", NULL, 0, NULL, 0, &r);
	CHECK_INT_EQ(r.status, 200);
	CHECK_INT_EQ(r.body.len, 0);
	CHECK_STR_EQ(reply_header(&r, "Content-Length", v, sizeof(v)), "300000");
	reply_free(&r);
	for (int i = 0; i < 3; i++) {
		http(port, NULL, "/shared", NULL, 0, NULL, 0, &r);
		CHECK_INT_EQ(r.status, 200);
		CHECK(r.body.len == 12 && memcmp(r.body.data, "shared bytes", 12) == 0);
		reply_free(&r);
	}

	const struct enl_route *rt;
	struct enl_resp resp;
	struct enl_errmsg e = {{0}};
	json_t *j = dispatch("GET", "/file", NULL, &rt, &resp);
	CHECK(j == NULL);
	CHECK_INT_EQ(resp.body_ref.kind, ENL_BODY_FILE);
	CHECK_INT_EQ(enl_resp_body_len(&resp), FILE_LEN);
	CHECK_INT_EQ(enl_resp_body_bytes(&resp, FILE_LEN - 1, &e), ENL_ETOOBIG);
	CHECK_INT_EQ(resp.body_ref.kind, ENL_BODY_FILE); /* unchanged */
	CHECK_INT_EQ(enl_resp_body_bytes(&resp, FILE_LEN, &e), 0);
	CHECK_INT_EQ(resp.body_ref.kind, ENL_BODY_NONE);
	CHECK(resp.body.len == FILE_LEN &&
	      memcmp(resp.body.data, file_bytes + FILE_OFFSET, FILE_LEN) == 0);
	enl_resp_free(&resp);
	j = dispatch("GET", "/shared", NULL, &rt, &resp);
	json_decref(j);
	CHECK_INT_EQ(enl_resp_body_len(&resp), 12);
	CHECK_INT_EQ(enl_resp_body_bytes(&resp, 0, &e), 0);
	CHECK(resp.body.len == 12 && memcmp(resp.body.data, "shared bytes", 12) == 0);
	enl_resp_free(&resp);

	/* A file shorter than the body it was said to hold is an error, not a short body. */
	struct enl_body b;
	struct enl_buf out;
	int fd = open(body_path, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	enl_body_init(&b);
	enl_body_set_file(&b, fd, sizeof(file_bytes) - 10, 20);
	CHECK_INT_EQ(enl_body_read(&b, 0, &out, &e), ENL_EIO);
	CHECK(out.data == NULL);
	enl_body_free(&b);
	CHECK(fcntl(fd, F_GETFD) == -1); /* closed with the body */

	/* Ours is the last reference, or the last answer's goes right after it was sent:
	 * the bytes are freed once. */
	CHECK_INT_EQ(atomic_load(&shared_freed), 0);
	enl_shared_unref(shared_body);
	for (int i = 0; i < 100 && atomic_load(&shared_freed) == 0; i++)
		usleep(10 * 1000);
	CHECK_INT_EQ(atomic_load(&shared_freed), 1);
	unlink(body_path);
}

struct slow_reader {
	int port;
	double cut_after; /* seconds until the server closed it; < 0 if it never did */
	size_t got;
};

/* GETs /big with a small receive buffer and reads it steadily, 16 KiB every 100 ms:
 * never idle for the server, but far too slow to finish within the send deadline. */
static void *slow_reader(void *arg)
{
	struct slow_reader *t = arg;
	char buf[16384];
	t->cut_after = -1;
	int fd = connect_rcvbuf(t->port, 16384);
	if (fd < 0)
		return NULL;
	const char *req = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
	send(fd, req, strlen(req), MSG_NOSIGNAL);
	double t0 = now_s();
	while (now_s() - t0 < 10) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t k = recv(fd, buf, sizeof(buf), 0);
		if (k <= 0) {
			t->cut_after = now_s() - t0;
			break;
		}
		t->got += (size_t)k;
		usleep(100 * 1000);
	}
	close(fd);
	return NULL;
}

/* The send deadline (2 s; the idle timeout 5 s): a reader that keeps reading, too
 * slowly, is cut once its response has taken 2 s, with a reset (the bytes still queued
 * in the kernel dropped, not delivered for as long again), while another client gets
 * the same 16 MiB at once. */
static void test_send_deadline(void)
{
	struct enl_server *s = start_sending(5, 2);
	int port = enl_server_port(s);
	struct slow_reader t = {.port = port};
	pthread_t th;
	pthread_create(&th, NULL, slow_reader, &t);
	usleep(300 * 1000);
	struct reply r;
	http(port, NULL, "/big", NULL, 0, NULL, 0, &r);
	CHECK_INT_EQ(r.status, 200);
	CHECK_INT_EQ(r.body.len, BIG_LEN);
	reply_free(&r);
	pthread_join(th, NULL);
	fprintf(stderr, "slow reader cut after %.2f s, %zu of %u bytes\n", t.cut_after, t.got,
	        BIG_LEN);
	CHECK(t.cut_after > 1.8);
	CHECK(t.cut_after < 4.0);
	CHECK(t.got < BIG_LEN / 2);
	unlink(big_path);
	enl_server_stop(s, 2000);
}

static void test_head(int port)
{
	struct reply g, h;
	char v1[64], v2[64];
	http(port, NULL, "/fixed", NULL, 0, NULL, 0, &g);
	http(port, "HEAD", "/fixed", NULL, 0, NULL, 0, &h);
	CHECK_INT_EQ(g.status, 200);
	CHECK_INT_EQ(h.status, 200);
	CHECK_INT_EQ(g.body.len, 12);
	CHECK_INT_EQ(h.body.len, 0);
	CHECK_STR_EQ(reply_header(&h, "Content-Length", v1, sizeof(v1)), "12");
	CHECK_STR_EQ(reply_header(&g, "Content-Length", v2, sizeof(v2)), "12");
	CHECK_STR_EQ(reply_header(&h, "Cache-Control", v1, sizeof(v1)), "public, max-age=60");
	CHECK_STR_EQ(reply_header(&h, "Content-Type", v1, sizeof(v1)), "text/plain");
	reply_free(&g);
	reply_free(&h);

	/* On the wire: nothing follows the headers of a HEAD answer. */
	int fd = connect_to(port);
	REQUIRE(fd >= 0);
	const char *req = "HEAD /fixed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	send(fd, req, strlen(req), MSG_NOSIGNAL);
	char buf[4096];
	read_all(fd, buf, sizeof(buf), 3);
	close(fd);
	const char *end = strstr(buf, "\r\n\r\n");
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK(end && end[4] == 0);
	CHECK(strstr(buf, "Content-Length: 12\r\n") != NULL);

	/* A HEAD answered with a size and no bytes. */
	fd = connect_to(port);
	REQUIRE(fd >= 0);
	req = "HEAD /sized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	send(fd, req, strlen(req), MSG_NOSIGNAL);
	read_all(fd, buf, sizeof(buf), 3);
	close(fd);
	end = strstr(buf, "\r\n\r\n");
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK(end && end[4] == 0);
	CHECK(strstr(buf, "Content-Length: 12345\r\n") != NULL);
	CHECK(strstr(buf, "Content-Length: 0\r\n") == NULL);
	http(port, NULL, "/sized", NULL, 0, NULL, 0, &g);
	CHECK_INT_EQ(g.body.len, 3);
	CHECK_STR_EQ(reply_header(&g, "Content-Length", v1, sizeof(v1)), "3");
	reply_free(&g);
}

static void test_per_ip_limit(void)
{
	struct enl_server_opts o = {.listen = "127.0.0.1:0",
	                            .connection_timeout_s = 5,
	                            .per_ip_connections = 2,
	                            .max_connections = 64,
	                            .max_body_bytes = MAX_BODY,
	                            .routes = routes,
	                            .n_routes = sizeof(routes) / sizeof(routes[0])};
	struct enl_server *s = NULL;
	struct enl_errmsg e;
	REQUIRE(enl_server_start(&o, &s, &e) == 0);
	int port = enl_server_port(s);
	int a = connect_to(port), b = connect_to(port);
	REQUIRE(a >= 0 && b >= 0);
	usleep(100 * 1000);
	int c = connect_to(port); /* the kernel accepts it; the server drops it at once */
	REQUIRE(c >= 0);
	CHECK(peer_closed(c, 1000));
	CHECK(!peer_closed(a, 50));
	close(c);
	close(a);
	usleep(100 * 1000);
	struct reply r;
	http(port, NULL, "/fixed", NULL, 0, NULL, 0, &r); /* a slot is free again */
	CHECK_INT_EQ(r.status, 200);
	reply_free(&r);
	close(b);
	enl_server_stop(s, 1000);
}

static void test_decoding(int port)
{
	struct reply r;
	/* %2F stays inside the key; UTF-8 é; a space. */
	http(port, NULL, "/render/a%20b%2Fc%C3%A9+d.jpg?a=x%2By+z&b=%C3%A9&k+y=%26", NULL, 0, NULL,
	     0, &r);
	CHECK_INT_EQ(r.status, 200);
	json_t *j = reply_json(&r);
	CHECK_STR_EQ(jstr(j, "path"), "/render/a b/c\xc3\xa9+d.jpg"); /* '+' is literal in a path */
	CHECK_STR_EQ(jstr(j, "a"), "x+y z");
	CHECK_STR_EQ(jstr(j, "b"), "\xc3\xa9");
	CHECK_STR_EQ(jstr(j, "k y"), "&");
	/* The path and query as sent, for the /render signature: nothing decoded, '+' kept. */
	CHECK_STR_EQ(jstr(j, "rawPath"), "/render/a%20b%2Fc%C3%A9+d.jpg");
	CHECK_STR_EQ(jstr(j, "rawQuery"), "a=x%2By+z&b=%C3%A9&k+y=%26");
	json_decref(j);
	reply_free(&r);

	/* Keys with spaces, '+', '%' and accents, each kept byte for byte; an empty query, a
	 * bare '?', and a second '?' that belongs to the query. */
	const struct {
		const char *sent, *raw_path, *raw_query, *path;
	} raw[] = {
	    {"/render/My%20Trip/caf%C3%A9%20100%25%20+1.jpg?w=400&v=abc",
	     "/render/My%20Trip/caf%C3%A9%20100%25%20+1.jpg", "w=400&v=abc",
	     "/render/My Trip/caf\xc3\xa9 100% +1.jpg"},
	    {"/render/plus+sign.jpg", "/render/plus+sign.jpg", "", "/render/plus+sign.jpg"},
	    {"/render/x.jpg?", "/render/x.jpg", "", "/render/x.jpg"},
	    {"/render/x.jpg?a=1?b&c=%2b+", "/render/x.jpg", "a=1?b&c=%2b+", "/render/x.jpg"},
	    {"/render/%C3%A9t%C3%A9/%25.jpg?sig=AZ_-09", "/render/%C3%A9t%C3%A9/%25.jpg",
	     "sig=AZ_-09", "/render/\xc3\xa9t\xc3\xa9/%.jpg"},
	};
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		http(port, NULL, raw[i].sent, NULL, 0, NULL, 0, &r);
		CHECK_INT_EQ(r.status, 200);
		j = reply_json(&r);
		CHECK_STR_EQ(jstr(j, "rawPath"), raw[i].raw_path);
		CHECK_STR_EQ(jstr(j, "rawQuery"), raw[i].raw_query);
		CHECK_STR_EQ(jstr(j, "path"), raw[i].path);
		json_decref(j);
		reply_free(&r);
	}

	const char *bad[] = {"/render/a%zz.jpg", "/render/a%00b.jpg", "/render/a%2", "/render/%",
	                     "/echo?a=%00",      "/echo?a=%g1",       NULL};
	for (const char **p = bad; *p; p++) {
		http(port, NULL, *p, NULL, 0, NULL, 0, &r);
		if (r.status != 400)
			fprintf(stderr, "%s -> %ld\n", *p, r.status);
		check_problem(&r, 400, "invalid");
		reply_free(&r);
	}
}

static void test_body_limits(int port)
{
	struct reply r;
	char body[4 * MAX_BODY];
	memset(body, 'b', sizeof(body));

	http(port, "POST", "/echo", body, MAX_BODY, NULL, 0, &r);
	CHECK_INT_EQ(r.status, 200);
	json_t *j = reply_json(&r);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "bodyLen")), MAX_BODY);
	json_decref(j);
	reply_free(&r);

	const char *rid[] = {"X-Request-Id: big-1", NULL};
	http(port, "POST", "/echo", body, MAX_BODY + 1, rid, 0, &r);
	check_problem(&r, 413, "body-too-large");
	reply_free(&r);

	/* A large body: curl asks "Expect: 100-continue" and gets the 413 instead. */
	static char large[200 * 1000];
	memset(large, 'L', sizeof(large));
	http(port, "POST", "/echo", large, sizeof(large), NULL, 0, &r);
	check_problem(&r, 413, "body-too-large");
	CHECK(r.seconds < 0.5);
	reply_free(&r);

	/* Chunked: no Content-Length to judge by, so the limit applies as it arrives. */
	http(port, "POST", "/echo", body, 2 * MAX_BODY, NULL, 1, &r);
	check_problem(&r, 413, "body-too-large");
	reply_free(&r);
	http(port, "POST", "/echo", body, MAX_BODY - 10, NULL, 1, &r);
	CHECK_INT_EQ(r.status, 200);
	j = reply_json(&r);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "bodyLen")), MAX_BODY - 10);
	json_decref(j);
	reply_free(&r);

	/* A declared 10 MB body is refused before a byte of it is sent. */
	int fd = connect_to(port);
	REQUIRE(fd >= 0);
	const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n";
	send(fd, head, strlen(head), MSG_NOSIGNAL);
	char buf[4096];
	double t0 = now_s();
	read_all(fd, buf, sizeof(buf), 3);
	close(fd);
	CHECK(strncmp(buf, "HTTP/1.1 413", 12) == 0);
	CHECK(strstr(buf, "body-too-large") != NULL);
	CHECK(now_s() - t0 < 2.5); /* answered and closed, not waiting for the body */
}

static void test_slow_clients(int port)
{
	/* A client trickling its body (one byte per 300 ms, inside the 1 s idle timeout) is
	 * cut off once the body has not arrived within the timeout... */
	struct trickle t = {.port = port};
	pthread_t th;
	pthread_create(&th, NULL, trickler, &t);
	usleep(200 * 1000);
	/* ...while another client is served at once. */
	struct reply r;
	http(port, NULL, "/fixed", NULL, 0, NULL, 0, &r);
	CHECK_INT_EQ(r.status, 200);
	CHECK(r.seconds < 0.5);
	reply_free(&r);
	pthread_join(th, NULL);
	fprintf(stderr, "trickler closed after %.2f s, %d bytes\n", t.closed_after, t.bytes_sent);
	CHECK(t.closed_after > 0.7);
	CHECK(t.closed_after < 3.0);
	CHECK(t.bytes_sent < 100);

	/* A client that sends headers and then nothing: the idle timeout. */
	int fd = connect_to(port);
	REQUIRE(fd >= 0);
	const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
	send(fd, head, strlen(head), MSG_NOSIGNAL);
	double t0 = now_s();
	char buf[1024];
	read_all(fd, buf, sizeof(buf), 5);
	double took = now_s() - t0;
	close(fd);
	CHECK(took > 0.5 && took < 3.5);

	/* A client trickling its request line and headers, one byte per 300 ms. */
	fd = connect_to(port);
	REQUIRE(fd >= 0);
	const char *slow_head = "GET /fixed HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaa";
	t0 = now_s();
	took = -1;
	for (const char *p = slow_head; *p && now_s() - t0 < 6; p++) {
		if (send(fd, p, 1, MSG_NOSIGNAL) != 1 || peer_closed(fd, 300)) {
			took = now_s() - t0;
			break;
		}
	}
	close(fd);
	fprintf(stderr, "header trickler closed after %.2f s\n", took);
	CHECK(took > 0.7 && took < 2.5);

	/* And the server is still healthy. */
	http(port, NULL, "/fixed", NULL, 0, NULL, 0, &r);
	CHECK_INT_EQ(r.status, 200);
	reply_free(&r);
}

/* Runs requests with stderr captured, then checks their access log lines. */
static void test_access_log(void)
{
	char path[] = "/tmp/enl-http-log-XXXXXX";
	int logfd = mkstemp(path);
	REQUIRE(logfd >= 0);
	unlink(path);
	fflush(stderr);
	int saved = dup(2);
	dup2(logfd, 2);

	struct enl_server *s = start(5);
	int port = enl_server_port(s);
	struct reply r;
	const char *h1[] = {"X-Request-Id: log-1", "Authorization: Bearer SECRET-TOKEN",
	                    "X-Api-Key: SECRET-KEY", NULL};
	http(port, "POST", "/echo", "{\"password\":\"SECRET-BODY\"}", 26, h1, 0, &r);
	long st1 = r.status;
	reply_free(&r);
	const char *h2[] = {"X-Request-Id: log-2", NULL};
	http(port, NULL, "/fail", NULL, 0, h2, 0, &r);
	reply_free(&r);
	const char *h3[] = {"X-Request-Id: log-3", NULL};
	http(port, NULL, "/render/k%C3%A9y.jpg", NULL, 0, h3, 0, &r);
	size_t out3 = r.body.len;
	reply_free(&r);
	enl_server_stop(s, 2000); /* every completion has logged by now */

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CHECK_INT_EQ(st1, 200);

	lseek(logfd, 0, SEEK_SET);
	static char text[65536];
	ssize_t n = read(logfd, text, sizeof(text) - 1);
	close(logfd);
	REQUIRE(n > 0);
	text[n] = 0;
	CHECK(strstr(text, "SECRET") == NULL); /* no body, no credential */

	int seen = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		json_t *j = json_loads(line, 0, NULL);
		if (!json_is_object(j)) {
			fprintf(stderr, "not a JSON line: %s\n", line);
			CHECK(0);
			json_decref(j);
			continue;
		}
		const char *id = jstr(j, "requestId");
		if (id && strcmp(jstr(j, "msg"), "request") == 0) {
			CHECK_STR_EQ(jstr(j, "level"), "info");
			CHECK(json_is_number(json_object_get(j, "durationMs")));
			CHECK(json_number_value(json_object_get(j, "durationMs")) >= 0);
			if (strcmp(id, "log-1") == 0) {
				seen |= 1;
				CHECK_STR_EQ(jstr(j, "method"), "POST");
				CHECK_STR_EQ(jstr(j, "route"), "echo_post");
				CHECK_INT_EQ(json_integer_value(json_object_get(j, "status")), 200);
				CHECK_INT_EQ(json_integer_value(json_object_get(j, "bytesIn")), 26);
				CHECK(json_integer_value(json_object_get(j, "bytesOut")) > 0);
				CHECK(json_object_get(j, "error") == NULL);
			} else if (strcmp(id, "log-2") == 0) {
				seen |= 2;
				CHECK_STR_EQ(jstr(j, "route"), "fail");
				CHECK_INT_EQ(json_integer_value(json_object_get(j, "status")), 422);
				CHECK(jstr(j, "error") && strstr(jstr(j, "error"), "undecodable"));
			} else if (strcmp(id, "log-3") == 0) {
				seen |= 4;
				CHECK_STR_EQ(jstr(j, "route"), "render");
				CHECK_STR_EQ(jstr(j, "key"), "/render/k\xc3\xa9y.jpg");
				CHECK_INT_EQ(json_integer_value(json_object_get(j, "bytesOut")),
				             out3);
			}
		}
		json_decref(j);
	}
	CHECK_INT_EQ(seen, 7);
}

/* Parses one sample line "name{labels} value" of the exposition. */
static double metric(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static void test_metrics(int port)
{
	struct reply r;
	http(port, NULL, "/fixed", NULL, 0, NULL, 0, &r);
	reply_free(&r);
	http(port, NULL, "/fixed", NULL, 0, NULL, 0, &r);
	reply_free(&r);
	http(port, NULL, "/nope", NULL, 0, NULL, 0, &r);
	reply_free(&r);
	usleep(100 * 1000); /* completions run just after the reply */
	struct enl_buf b;
	enl_buf_init(&b, 1 << 20);
	REQUIRE(enl_metrics_render(&b) == 0);
	const char *t = (const char *)b.data;
	CHECK(metric(t, "enlarger_http_requests_total{route=\"fixed\",code=\"200\"}") >= 2);
	CHECK(metric(t, "enlarger_http_requests_total{route=\"unmatched\",code=\"404\"}") >= 1);
	CHECK(metric(t, "enlarger_http_request_duration_seconds_count{route=\"fixed\"}") >= 2);
	CHECK(metric(t, "enlarger_http_response_bytes_total") >= 24);
	enl_buf_free(&b);
}

struct slow_call {
	int port;
	struct reply r;
};

static void *call_slow(void *arg)
{
	struct slow_call *c = arg;
	http(c->port, NULL, "/slow", NULL, 0, NULL, 0, &c->r);
	return NULL;
}

static void test_graceful_stop(void)
{
	struct enl_server *s = start(5);
	int port = enl_server_port(s);
	struct slow_call c = {.port = port};
	pthread_t th;
	atomic_store(&slow_entered, 0);
	pthread_create(&th, NULL, call_slow, &c);
	while (!atomic_load(&slow_entered))
		usleep(10 * 1000);
	double t0 = now_s();
	enl_server_stop(s, 5000);
	double took = now_s() - t0;
	pthread_join(th, NULL);
	fprintf(stderr, "stop took %.2f s\n", took);
	CHECK(took > 0.7 && took < 4);
	CHECK_INT_EQ(c.r.status, 200); /* the request in flight was finished */
	json_t *j = reply_json(&c.r);
	CHECK(json_is_true(json_object_get(j, "slow")));
	json_decref(j);
	reply_free(&c.r);
	/* Nothing listens any more. */
	int fd = connect_to(port);
	CHECK(fd < 0);
	if (fd >= 0)
		close(fd);
}

static void test_listen_parsing(void)
{
	struct enl_server_opts o = {.routes = routes, .n_routes = 1};
	struct enl_server *s = NULL;
	struct enl_errmsg e = {{0}};
	const char *bad[] = {
	    "",       "8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:80a",
	    "::1:80", "[::1", NULL};
	for (const char **p = bad; *p; p++) {
		o.listen = *p;
		CHECK_INT_EQ(enl_server_start(&o, &s, &e), ENL_EINVAL);
		CHECK(s == NULL);
	}
	/* IPv6 loopback, when the machine has it. */
	o.listen = "[::1]:0";
	if (enl_server_start(&o, &s, &e) == 0) {
		CHECK(enl_server_port(s) > 0);
		enl_server_stop(s, 100);
	} else {
		fprintf(stderr, "no IPv6 loopback here: %s\n", e.text);
	}
	/* A port in use is refused with a message naming the address. */
	struct enl_server *a = start(5);
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", enl_server_port(a));
	o.listen = listen;
	CHECK_INT_EQ(enl_server_start(&o, &s, &e), ENL_EIO);
	CHECK(strstr(e.text, listen) != NULL);
	enl_server_stop(a, 100);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	enl_log_set_level(ENL_LOG_WARN); /* quiet access lines, except in test_access_log */
	test_listen_parsing();
	bodies_setup();
	test_dispatch();
	test_per_ip_limit();
	struct enl_server *s = start(1);
	int port = enl_server_port(s);
	test_routing(port);
	test_head(port);
	test_bodies(port);
	test_decoding(port);
	test_body_limits(port);
	test_metrics(port);
	test_slow_clients(port);
	enl_server_stop(s, 2000);
	test_send_deadline();
	enl_log_set_level(ENL_LOG_INFO);
	test_access_log();
	test_graceful_stop();
	curl_global_cleanup();
	return check_done();
}
