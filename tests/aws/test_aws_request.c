/* enl_aws_request against a loopback fake (tests/aws/aws_fake_server.py): response capture,
 * signing headers on the wire, retries (503, predicate), no retry on 400, 404 as a status,
 * the body cap, a server that never answers, a refused connection, connection reuse and
 * concurrent use of one client. The server's own counters are the oracle for attempts and
 * connections. */
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "aws_fake.h"
#include "check.h"
#include "enlarger/aws.h"

static struct fake srv;
static struct enl_aws_credprov *creds;

static char *url(const char *path)
{
	static char buf[8][512];
	static int i;
	char *b = buf[i++ % 8];
	snprintf(b, 512, "%s%s", srv.base, path);
	return b;
}

static struct enl_aws_client *client(long timeout_ms, int attempts)
{
	struct enl_aws_client_opts o = {.connect_timeout_ms = timeout_ms,
	                                .timeout_ms = timeout_ms,
	                                .max_attempts = attempts,
	                                .backoff_base_ms = 10,
	                                .backoff_max_ms = 50};
	struct enl_aws_client *c = NULL;
	struct enl_errmsg e;
	REQUIRE(enl_aws_client_new(&c, &o, creds, &e) == 0);
	return c;
}

/* GET path unsigned; returns the rc and fills rs (caller frees). */
static int get(struct enl_aws_client *c, const char *path, size_t cap, struct enl_aws_response *rs)
{
	struct enl_aws_request rq = {.method = "GET", .url = url(path), .max_response = cap};
	struct enl_errmsg e;
	return enl_aws_request(c, &rq, rs, &e);
}

/* GETs path and checks what came back: the result, the final status and the number of
 * attempts. */
static void check_get(struct enl_aws_client *c, const char *path, int want_rc, long want_status,
                      int want_attempts)
{
	struct enl_aws_response rs;
	CHECK_INT_EQ(get(c, path, 0, &rs), want_rc);
	CHECK_INT_EQ(rs.status, want_status);
	CHECK_INT_EQ(rs.attempts, want_attempts);
	enl_aws_response_free(&rs);
}

static json_t *stats(void)
{
	json_t *j = fake_control(&srv, "/_stats");
	REQUIRE(j);
	return j; /* new reference */
}

static long hits(json_t *st, const char *path)
{
	return (long)json_integer_value(json_object_get(json_object_get(st, "hits"), path));
}

static size_t conns(json_t *st, const char *path)
{
	return json_array_size(json_object_get(json_object_get(st, "conns"), path));
}

static const char *echo_header(json_t *doc, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "headers"), i, p)
	{
		if (strcasecmp(json_string_value(json_array_get(p, 0)), name) == 0)
			return json_string_value(json_array_get(p, 1));
	}
	return NULL;
}

static void test_capture(struct enl_aws_client *c)
{
	struct enl_aws_response rs;
	CHECK_INT_EQ(get(c, "/ok", 0, &rs), 0);
	CHECK_INT_EQ(rs.status, 200);
	CHECK_INT_EQ(rs.body.len, 5);
	CHECK(rs.body.data && memcmp(rs.body.data, "hello", 5) == 0);
	CHECK_STR_EQ(enl_aws_response_header(&rs, "ETag"), "\"5d41402abc4b2a76b9719d911017c592\"");
	CHECK_STR_EQ(enl_aws_response_header(&rs, "content-type"), "text/plain");
	CHECK_STR_EQ(enl_aws_response_header(&rs, "cache-control"), "public, max-age=60");
	CHECK_STR_EQ(enl_aws_response_header(&rs, "last-modified"),
	             "Wed, 21 Oct 2015 07:28:00 GMT");
	CHECK_STR_EQ(enl_aws_response_header(&rs, "x-amz-meta-a"), "one");
	CHECK_STR_EQ(enl_aws_response_header(&rs, "x-amz-meta-ab"), "two");
	CHECK_INT_EQ(rs.content_length, 5);
	CHECK_INT_EQ(rs.attempts, 1);
	enl_aws_response_free(&rs);

	struct enl_aws_request rq = {.method = "HEAD", .url = url("/ok")};
	struct enl_errmsg e;
	CHECK_INT_EQ(enl_aws_request(c, &rq, &rs, &e), 0);
	CHECK_INT_EQ(rs.status, 200);
	CHECK_INT_EQ(rs.body.len, 0);
	CHECK_INT_EQ(rs.content_length, 5);
	enl_aws_response_free(&rs);
	/* A HEAD's Content-Length announces no body: a cap below it does not refuse it. */
	rq.max_response = 2;
	CHECK_INT_EQ(enl_aws_request(c, &rq, &rs, &e), 0);
	CHECK_INT_EQ(rs.status, 200);
	CHECK_INT_EQ(rs.content_length, 5);
	enl_aws_response_free(&rs);

	check_get(c, "/status/404", 0, 404, 1);
}

static void test_signed_put(struct enl_aws_client *c)
{
	const char *body = "pretend JPEG";
	struct enl_sigv4_header h[] = {{"Content-Type", "image/jpeg"},
	                               {"Cache-Control", "public, max-age=31536000"},
	                               {"x-amz-meta-a", "1"},
	                               {"x-amz-meta-ab", "2"}};
	struct enl_aws_request rq = {.method = "PUT",
	                             .url = url("/echo/a/../b%20c%2B.jpg"),
	                             .headers = h,
	                             .n_headers = 4,
	                             .body = body,
	                             .body_len = strlen(body),
	                             .service = "s3",
	                             .region = "eu-west-1"};
	struct enl_aws_response rs;
	struct enl_errmsg e;
	CHECK_INT_EQ(enl_aws_request(c, &rq, &rs, &e), 0);
	CHECK_INT_EQ(rs.status, 200);
	json_t *doc = json_loadb((const char *)rs.body.data, rs.body.len, 0, NULL);
	REQUIRE(doc);
	char hash[65];
	enl_sigv4_sha256_hex(hash, body, strlen(body));
	CHECK_STR_EQ(json_string_value(json_object_get(doc, "method")), "PUT");
	CHECK_STR_EQ(json_string_value(json_object_get(doc, "path")), "/echo/a/../b%20c%2B.jpg");
	CHECK_INT_EQ(json_integer_value(json_object_get(doc, "body_len")), strlen(body));
	CHECK_STR_EQ(echo_header(doc, "x-amz-content-sha256"), hash);
	CHECK_STR_EQ(echo_header(doc, "x-amz-security-token"), "TOKEN/with+plus==");
	CHECK_STR_EQ(echo_header(doc, "content-type"), "image/jpeg");
	CHECK_STR_EQ(echo_header(doc, "x-amz-meta-ab"), "2");
	CHECK(echo_header(doc, "expect") == NULL);
	const char *az = echo_header(doc, "authorization");
	CHECK(az && strncmp(az, "AWS4-HMAC-SHA256 Credential=AKIDSTATIC/", 39) == 0);
	CHECK(az && strstr(az, "/eu-west-1/s3/aws4_request, SignedHeaders=cache-control;"
	                       "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;"
	                       "x-amz-meta-ab;x-amz-security-token, Signature="));
	json_decref(doc);
	enl_aws_response_free(&rs);

	/* A POST without Content-Type must not get curl's form default. Unsigned. */
	struct enl_aws_request post = {
	    .method = "POST", .url = url("/echo/post"), .body = "{}", .body_len = 2};
	CHECK_INT_EQ(enl_aws_request(c, &post, &rs, &e), 0);
	doc = json_loadb((const char *)rs.body.data, rs.body.len, 0, NULL);
	REQUIRE(doc);
	CHECK(echo_header(doc, "content-type") == NULL);
	CHECK(echo_header(doc, "authorization") == NULL);
	CHECK_INT_EQ(json_integer_value(json_object_get(doc, "body_len")), 2);
	json_decref(doc);
	enl_aws_response_free(&rs);

	/* Headers the helper owns are refused. */
	struct enl_sigv4_header bad[] = {{"Authorization", "x"}};
	struct enl_aws_request rq2 = {.method = "GET",
	                              .url = url("/echo/x"),
	                              .headers = bad,
	                              .n_headers = 1,
	                              .service = "s3",
	                              .region = "r"};
	CHECK_INT_EQ(enl_aws_request(c, &rq2, &rs, &e), ENL_EINVAL);
	enl_aws_response_free(&rs);
	struct enl_aws_request rq3 = {.method = "GET", .url = "ftp://x/y"};
	CHECK_INT_EQ(enl_aws_request(c, &rq3, &rs, &e), ENL_EINVAL);
	enl_aws_response_free(&rs);
}

static int throttled(void *arg, const struct enl_aws_response *r)
{
	(void)arg;
	return r->status == 400 && r->body.data &&
	       strstr((const char *)r->body.data, "ThrottlingException") != NULL;
}

static void test_retries(struct enl_aws_client *c)
{
	struct enl_aws_response rs;
	struct enl_errmsg e;

	CHECK_INT_EQ(get(c, "/flaky/a?n=2", 0, &rs), 0);
	CHECK_INT_EQ(rs.status, 200);
	CHECK_INT_EQ(rs.attempts, 3);
	CHECK(rs.body.data && strcmp((const char *)rs.body.data, "finally") == 0);
	enl_aws_response_free(&rs);

	check_get(c, "/flaky/b?n=100", ENL_EIO, 503, 4);
	check_get(c, "/status/400", 0, 400, 1);
	check_get(c, "/status/429", ENL_EIO, 429, 4);

	struct enl_aws_request rq = {.method = "POST",
	                             .url = url("/throttle/x"),
	                             .body = "{}",
	                             .body_len = 2,
	                             .retry_if = throttled};
	CHECK_INT_EQ(enl_aws_request(c, &rq, &rs, &e), 0);
	CHECK_INT_EQ(rs.status, 200);
	CHECK_INT_EQ(rs.attempts, 2);
	enl_aws_response_free(&rs);
	rq.url = url("/throttle/y");
	rq.retry_if = NULL;
	CHECK_INT_EQ(enl_aws_request(c, &rq, &rs, &e), 0);
	CHECK_INT_EQ(rs.status, 400);
	CHECK_INT_EQ(rs.attempts, 1);
	enl_aws_response_free(&rs);

	json_t *st = stats();
	CHECK_INT_EQ(hits(st, "/flaky/a"), 3);
	CHECK_INT_EQ(hits(st, "/flaky/b"), 4);
	CHECK_INT_EQ(hits(st, "/status/400"), 1);
	CHECK_INT_EQ(hits(st, "/throttle/x"), 2);
	CHECK_INT_EQ(hits(st, "/throttle/y"), 1);
	json_decref(st);
}

static void test_cap(struct enl_aws_client *c)
{
	struct enl_aws_response rs;
	CHECK_INT_EQ(get(c, "/big?len=100000", 10000, &rs), ENL_ETOOBIG);
	CHECK_INT_EQ(rs.attempts, 1);
	enl_aws_response_free(&rs);
	CHECK_INT_EQ(get(c, "/bigchunked?len=100000", 10000, &rs), ENL_ETOOBIG);
	CHECK(rs.body.len <= 10000);
	enl_aws_response_free(&rs);
	CHECK_INT_EQ(get(c, "/bigchunked?len=10000", 10000, &rs), 0);
	CHECK_INT_EQ(rs.body.len, 10000);
	enl_aws_response_free(&rs);
	CHECK_INT_EQ(get(c, "/big?len=10000", 10000, &rs), 0);
	CHECK_INT_EQ(rs.body.len, 10000);
	enl_aws_response_free(&rs);
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_timeouts(void)
{
	struct enl_aws_client *c = client(300, 2);
	struct enl_aws_response rs;
	double t0 = seconds();
	CHECK_INT_EQ(get(c, "/hang", 0, &rs), ENL_ETIMEOUT);
	double took = seconds() - t0;
	fprintf(stderr, "hang: %.2fs\n", took);
	CHECK(took >= 0.5 && took < 2.0); /* two attempts of 0.3 s, short backoff */
	CHECK_INT_EQ(rs.attempts, 2);
	CHECK_INT_EQ(rs.status, 0);
	enl_aws_response_free(&rs);

	/* A port nobody listens on: connection refused, retried, then ENL_EIO. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t al = sizeof(a);
	REQUIRE(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	        getsockname(s, (struct sockaddr *)&a, &al) == 0);
	close(s);
	char u[64];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
	struct enl_aws_request rq = {.method = "GET", .url = u};
	struct enl_errmsg e;
	CHECK_INT_EQ(enl_aws_request(c, &rq, &rs, &e), ENL_EIO);
	CHECK_INT_EQ(rs.attempts, 2);
	enl_aws_response_free(&rs);
	enl_aws_client_free(c);
}

static void test_reuse(void)
{
	struct enl_aws_client *c = client(2000, 1);
	struct enl_aws_response rs;
	for (int i = 0; i < 6; i++) {
		CHECK_INT_EQ(get(c, "/ok/reuse", 0, &rs), 0);
		enl_aws_response_free(&rs);
	}
	json_t *st = stats();
	CHECK_INT_EQ(hits(st, "/ok/reuse"), 6);
	CHECK_INT_EQ(conns(st, "/ok/reuse"), 1);
	json_decref(st);
	enl_aws_client_free(c);
}

static struct enl_aws_client *shared;
static int thread_failures;

static void *hammer(void *arg)
{
	char u[512];
	(void)arg;
	/* Not url(): its rotating static buffers are for one thread (ThreadSanitizer). */
	snprintf(u, sizeof(u), "%s/echo/threads", srv.base);
	for (int i = 0; i < 10; i++) {
		struct enl_aws_request rq = {
		    .method = "GET", .url = u, .service = "dynamodb", .region = "eu-west-1"};
		struct enl_aws_response rs;
		struct enl_errmsg e;
		if (enl_aws_request(shared, &rq, &rs, &e) != 0 || rs.status != 200)
			__atomic_add_fetch(&thread_failures, 1, __ATOMIC_SEQ_CST);
		enl_aws_response_free(&rs);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[4];
	shared = client(5000, 2);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_INT_EQ(thread_failures, 0);
	json_t *st = stats();
	CHECK_INT_EQ(hits(st, "/echo/threads"), 40);
	CHECK(conns(st, "/echo/threads") <= 4); /* pooled: at most one per thread */
	json_decref(st);
	enl_aws_client_free(shared);
}

int main(void)
{
	if (fake_start(&srv) != 0) {
		fprintf(stderr, "SKIP: cannot start the python fake server\n");
		return 77;
	}
	struct enl_aws_creds cr = {.access_key_id = "AKIDSTATIC",
	                           .secret_access_key = "secret",
	                           .session_token = "TOKEN/with+plus=="};
	REQUIRE(enl_aws_credprov_new_static(&creds, &cr) == 0);
	struct enl_aws_client *c = client(5000, 4);

	test_reuse();
	test_capture(c);
	test_signed_put(c);
	test_retries(c);
	test_cap(c);
	test_timeouts();
	test_threads();

	enl_aws_client_free(c);
	enl_aws_credprov_free(creds);
	fake_stop(&srv);
	return check_done();
}
