/* The routes in-process, h2o style: the route table built from a configuration, each
 * request a fake enl_req dispatched with enl_http_dispatch (as a door without sockets
 * would) over a real local store and a real SQLite table in a temporary directory.
 * Checks the status each outcome maps to (the table EventBridge depends on), the API
 * key and origin secret, settings bound when the table is built, render parameter
 * errors, the "superseded" outcome, /readyz and /metrics.
 *
 * Oracles: the images are made here with known sizes; the rendered bytes are decoded
 * again with libvips to read their size and format; the stored item is read back from
 * the table. A wrapping store and table (delegating to the real ones) inject a failed
 * write and a newer event that takes the photo over mid-run. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <vips/vips.h>

#include "app_fixture.h"
#include "check.h"
#include "enlarger/config.h"
#include "enlarger/http.h"
#include "enlarger/jobgate.h"
#include "enlarger/log.h"
#include "enlarger/metrics.h"
#include "enlarger/pipeline.h"
#include "enlarger/routes.h"
#include "enlarger/service.h"
#include "enlarger/store.h"
#include "enlarger/table.h"
#include "source.h" /* src/service: a restarted server's empty map of sizes */

/* The secrets the table is built with (ENL_SECRET_MIN_BYTES or more), and the previous
 * ones a rotation leaves accepted. */
#define API_KEY "process-key-0000000001"
#define API_KEY_PREVIOUS "process-key-0000000000"
#define ORIGIN "origin-secret-000000001"
#define ORIGIN_PREVIOUS "origin-secret-000000000"

/* ---- a fake request --------------------------------------------------------------- */

struct fake {
	struct enl_req req;
	const char *hname[8], *hvalue[8];
	int nh;
	char qname[8][16], qvalue[8][64];
	int nq;
	char path[512];
	char raw_query[512];
};

static const char *fake_header(const struct enl_req *r, const char *name)
{
	const struct fake *f = (const struct fake *)r;
	return fixture_header(f->hname, f->hvalue, f->nh, name);
}

static const char *fake_query(const struct enl_req *r, const char *name)
{
	const struct fake *f = (const struct fake *)r;
	for (int i = 0; i < f->nq; i++)
		if (strcmp(f->qname[i], name) == 0)
			return f->qvalue[i];
	return NULL;
}

/* path may carry "?a=1&b=2" (no percent-encoding in these tests: the raw path is the
 * path). */
static void fake_init(struct fake *f, const char *method, const char *path, const char *body)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	char *q = strchr(f->path, '?');
	if (q) {
		*q++ = '\0';
		snprintf(f->raw_query, sizeof(f->raw_query), "%s", q);
		while (*q && f->nq < 8) {
			char *amp = strchr(q, '&');
			if (amp)
				*amp = '\0';
			char *eq = strchr(q, '=');
			snprintf(f->qname[f->nq], sizeof(f->qname[0]), "%.*s",
			         eq ? (int)(eq - q) : (int)strlen(q), q);
			snprintf(f->qvalue[f->nq], sizeof(f->qvalue[0]), "%s", eq ? eq + 1 : "");
			f->nq++;
			if (!amp)
				break;
			q = amp + 1;
		}
	}
	f->req.method = method;
	f->req.path = f->path;
	f->req.raw_path = f->path;
	f->req.raw_query = f->raw_query;
	f->req.body = (const unsigned char *)body;
	f->req.body_len = body ? strlen(body) : 0;
	snprintf(f->req.request_id, sizeof(f->req.request_id), "test");
	f->req.client_ip = "127.0.0.1";
	f->req.header = fake_header;
	f->req.query = fake_query;
}

static void fake_header_add(struct fake *f, const char *name, const char *value)
{
	f->hname[f->nh] = name;
	f->hvalue[f->nh] = value;
	f->nh++;
}

static const char *resp_header(const struct enl_resp *r, const char *name)
{
	for (int i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* The response body as JSON (new reference) or NULL. */
static json_t *resp_json(const struct enl_resp *r)
{
	return json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
}

/* ---- a store and a table that wrap the real ones ------------------------------------ */

struct wrap_store {
	struct enl_store base;
	struct enl_store *inner;
	int fail_put;          /* 1: every put fails with ENL_EIO */
	int fail_ping;         /* 1: ping fails with ENL_EIO */
	int gets, heads, puts; /* calls so far */
	int no_open;           /* 1: a store without files, as S3 (reads are gets) */
};

static int ws_get(struct enl_store *s, const char *b, const char *k, size_t max,
                  struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e)
{
	((struct wrap_store *)s)->gets++;
	return enl_store_get(((struct wrap_store *)s)->inner, b, k, max, out, info, e);
}
static int ws_head(struct enl_store *s, const char *b, const char *k, struct enl_object_info *info,
                   struct enl_errmsg *e)
{
	((struct wrap_store *)s)->heads++;
	return enl_store_head(((struct wrap_store *)s)->inner, b, k, info, e);
}
static int ws_put(struct enl_store *s, const char *b, const char *k, const void *d, size_t n,
                  const struct enl_put_opts *o, struct enl_errmsg *e)
{
	struct wrap_store *w = (struct wrap_store *)s;
	w->puts++;
	if (w->fail_put)
		return enl_fail(e, ENL_EIO, "injected: the store is down");
	return enl_store_put(w->inner, b, k, d, n, o, e);
}
static int ws_del(struct enl_store *s, const char *b, const char *k, struct enl_errmsg *e)
{
	return enl_store_del(((struct wrap_store *)s)->inner, b, k, e);
}
static int ws_list(struct enl_store *s, const char *b, const char *p, enl_store_list_cb cb,
                   void *ud, struct enl_errmsg *e)
{
	return enl_store_list(((struct wrap_store *)s)->inner, b, p, cb, ud, e);
}
static int ws_ping(struct enl_store *s, const char *b, struct enl_errmsg *e)
{
	struct wrap_store *w = (struct wrap_store *)s;
	if (w->fail_ping)
		return enl_fail(e, ENL_EIO, "injected: the store is down");
	return enl_store_ping(w->inner, b, e);
}
static int ws_open(struct enl_store *s, const char *b, const char *k, size_t max, int *fd,
                   struct enl_object_info *info, struct enl_errmsg *e)
{
	struct wrap_store *w = (struct wrap_store *)s;
	*fd = -1;
	if (w->no_open)
		return enl_fail(e, ENL_EUNSUPPORTED, "no files here");
	w->gets++;
	return enl_store_open(w->inner, b, k, max, fd, info, e);
}
static void ws_destroy(struct enl_store *s)
{
	(void)s;
}
static const struct enl_store_ops wrap_store_ops = {
    .get = ws_get,
    .head = ws_head,
    .put = ws_put,
    .del = ws_del,
    .list = ws_list,
    .ping = ws_ping,
    .destroy = ws_destroy,
    .open = ws_open,
};

struct wrap_table {
	struct enl_table base;
	struct enl_table *inner;
	/* When set: just before the next complete, a newer event (this sequencer) claims the
	 * photo, as a retry of a newer upload would while this attempt still runs. */
	const char *usurp_seq;
	int usurped;
	int fail_ping; /* 1: ping fails with ENL_EIO */
};

static int wt_claim(struct enl_table *t, const struct enl_claim_req *req,
                    enum enl_claim_result *out, struct enl_errmsg *e)
{
	return enl_table_claim(((struct wrap_table *)t)->inner, req, out, e);
}
static int wt_complete(struct enl_table *t, const char *id, const char *attempt, json_t *fields,
                       struct enl_errmsg *e)
{
	struct wrap_table *w = (struct wrap_table *)t;
	if (w->usurp_seq) {
		enum enl_claim_result cr;
		struct enl_claim_req req = {.photo_id = id,
		                            .sequencer = w->usurp_seq,
		                            .etag = "0123",
		                            .attempt = "usurper",
		                            .bucket = "originals",
		                            .key = id,
		                            .now_ms = 1,
		                            .lease_ms = 60000};
		if (enl_table_claim(w->inner, &req, &cr, e) == 0 && cr == ENL_CLAIM_OK)
			w->usurped = 1;
		w->usurp_seq = NULL;
	}
	return enl_table_complete(w->inner, id, attempt, fields, e);
}
static int wt_fail(struct enl_table *t, const char *id, const char *attempt, const char *reason,
                   struct enl_errmsg *e)
{
	return enl_table_fail(((struct wrap_table *)t)->inner, id, attempt, reason, e);
}
static int wt_get(struct enl_table *t, const char *id, json_t **out, struct enl_errmsg *e)
{
	return enl_table_get(((struct wrap_table *)t)->inner, id, out, e);
}
static int wt_ping(struct enl_table *t, struct enl_errmsg *e)
{
	struct wrap_table *w = (struct wrap_table *)t;
	if (w->fail_ping)
		return enl_fail(e, ENL_EIO, "injected: the table is down");
	return enl_table_ping(w->inner, e);
}
static void wt_destroy(struct enl_table *t)
{
	(void)t;
}
static int wt_release(struct enl_table *t, const char *id, const char *att, const char *why,
                      struct enl_errmsg *e)
{
	return enl_table_release(((struct wrap_table *)t)->inner, id, att, why, e);
}
static int wt_renew(struct enl_table *t, const char *id, const char *att, int64_t until,
                    struct enl_errmsg *e)
{
	return enl_table_renew(((struct wrap_table *)t)->inner, id, att, until, e);
}
static const struct enl_table_ops wrap_table_ops = {
    .claim = wt_claim,
    .complete = wt_complete,
    .fail = wt_fail,
    .release = wt_release,
    .renew = wt_renew,
    .get = wt_get,
    .ping = wt_ping,
    .destroy = wt_destroy,
};

/* ---- fixtures ----------------------------------------------------------------------- */

static struct enl_store *local_store;
static int vips_threads_at_start;
static struct wrap_store wstore;
static struct wrap_table wtable;

/* A noisy w x h JPEG made by libvips. */
static void put_jpeg(const char *key, int w, int h)
{
	REQUIRE(fixture_put_noise(local_store, "originals", key, w, h, ".jpg", 0) == 0);
}

static void put_bytes(const char *key, const char *bytes)
{
	struct enl_errmsg e = {{0}};
	REQUIRE(enl_store_put(local_store, "originals", key, bytes, strlen(bytes), NULL, &e) == 0);
}

/* The route table under test: built from the configuration, as `enlarger serve` does. */
static const struct enl_route *table;
static size_t n_table;

static void use_routes(const struct enl_routes *r)
{
	table = enl_routes_table(r, &n_table);
}

/* Dispatches f as a door without sockets would, and checks the route named route
 * answered; the caller frees resp. */
static void run(struct fake *f, const char *route, struct enl_resp *resp)
{
	enl_resp_init(resp);
	const struct enl_route *rt = enl_http_dispatch(table, n_table, &f->req, resp);
	CHECK(rt != NULL);
	CHECK_STR_EQ(rt ? rt->name : "(none)", route);
}

/* Runs a fresh fake request; the caller frees resp. */
static void call(const char *route, const char *method, const char *path, const char *body,
                 const char *hname, const char *hvalue, struct enl_resp *resp)
{
	struct fake f;
	fake_init(&f, method, path, body);
	if (hname)
		fake_header_add(&f, hname, hvalue);
	run(&f, route, resp);
}

/* POST /process with body (and the test's API key); returns the status, and the body's
 * "outcome" (or the problem's "detail") into what. */
static int process(const char *body, char *what, size_t whatsz)
{
	struct enl_resp r;
	call("process", "POST", "/process", body, "x-api-key", API_KEY, &r);
	json_t *j = resp_json(&r);
	const char *s =
	    j ? json_string_value(json_object_get(j, r.status == 200 ? "outcome" : "detail"))
	      : NULL;
	snprintf(what, whatsz, "%s", s ? s : "");
	if (r.status != 200 && r.status != 304) {
		/* Every refusal is an RFC 9457 problem whose status is the response's. */
		CHECK_STR_EQ(r.content_type, "application/problem+json");
		CHECK_INT_EQ(json_integer_value(json_object_get(j, "status")), r.status);
	}
	int st = r.status;
	json_decref(j);
	enl_resp_free(&r);
	return st;
}

static json_t *item_of(const char *id)
{
	json_t *item = NULL;
	struct enl_errmsg e = {{0}};
	enl_table_get(&wtable.base, id, &item, &e);
	return item;
}

/* ---- the tests ---------------------------------------------------------------------- */

/* POST /process of a new 64x64 JPEG at key while every job slot is taken (no queue):
 * 429 (EventBridge retries it) with Retry-After retry_after. */
static void expect_queue_full(struct enl_app *app, const char *key, const char *retry_after)
{
	char body[256];
	struct enl_resp r;
	put_jpeg(key, 64, 64);
	snprintf(body, sizeof(body), "{\"bucket\":\"originals\",\"key\":\"%s\"}", key);
	REQUIRE(enl_jobgate_enter_cost(app->gate, 0, 0) == 0);
	call("process", "POST", "/process", body, "x-api-key", API_KEY, &r);
	CHECK_INT_EQ(r.status, 429);
	CHECK_STR_EQ(resp_header(&r, "Retry-After"), retry_after);
	enl_resp_free(&r);
	enl_jobgate_leave_cost(app->gate, 0);
}

/* Retry-After on a busy /process is the gate's estimate when that passes the configured
 * least: with jobs of about 20 s and one running, 20. The mean is brought back down
 * after, for the tests that follow. */
static void expect_retry_after_estimate(struct enl_app *app)
{
	for (int i = 0; i < 40; i++)
		enl_jobgate_job_time(app->gate, 20000);
	struct enl_jobgate_stats st;
	enl_jobgate_stats(app->gate, &st);
	CHECK(st.mean_job_ms > 19990 && st.mean_job_ms <= 20000);
	expect_queue_full(app, "q-estimate.jpg", "20");
	for (int i = 0; i < 60; i++)
		enl_jobgate_job_time(app->gate, 1);
}

static void test_process(struct enl_app *app)
{
	char what[256];

	/* API key: missing and wrong are 401 with WWW-Authenticate; nothing is read. */
	struct enl_resp r;
	call("process", "POST", "/process", "{\"bucket\":\"originals\",\"key\":\"a.jpg\"}", NULL,
	     NULL, &r);
	CHECK_INT_EQ(r.status, 401);
	CHECK(resp_header(&r, "WWW-Authenticate") != NULL);
	enl_resp_free(&r);
	call("process", "POST", "/process", "{\"bucket\":\"originals\",\"key\":\"a.jpg\"}",
	     "x-api-key", "process-key-0000000002", &r);
	CHECK_INT_EQ(r.status, 401);
	enl_resp_free(&r);
	call("process", "POST", "/process", "{\"bucket\":\"originals\",\"key\":\"a.jpg\"}",
	     "x-api-key", API_KEY "x", &r);
	CHECK_INT_EQ(r.status, 401);
	enl_resp_free(&r);
	/* During a rotation the previous key still opens /process (a.jpg is not there). */
	call("process", "POST", "/process", "{\"bucket\":\"originals\",\"key\":\"a.jpg\"}",
	     "x-api-key", API_KEY_PREVIOUS, &r);
	CHECK_INT_EQ(r.status, 404);
	enl_resp_free(&r);

	/* 400: malformed body, an event of another kind, the wrong bucket. */
	CHECK_INT_EQ(process("{\"bucket\":", what, sizeof(what)), 400);
	CHECK_INT_EQ(process("[1,2]", what, sizeof(what)), 400);
	CHECK_INT_EQ(process("{\"bucket\":\"other\",\"key\":\"a.jpg\"}", what, sizeof(what)), 400);
	CHECK(strstr(what, "other") != NULL);
	/* 404: no such original. */
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"none.jpg\"}", what, sizeof(what)),
	             404);

	/* 200 processed, then a duplicate (same ETag, no sequencer). */
	put_jpeg("a.jpg", 640, 480);
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"a.jpg\"}", what, sizeof(what)),
	             200);
	CHECK_STR_EQ(what, "processed");
	json_t *item = item_of("a.jpg");
	CHECK_STR_EQ(json_string_value(json_object_get(item, "processingStatus")), "completed");
	CHECK_INT_EQ(json_integer_value(json_object_get(item, "width")), 640);
	CHECK_INT_EQ(json_integer_value(json_object_get(item, "height")), 480);
	json_decref(item);
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"a.jpg\"}", what, sizeof(what)),
	             200);
	CHECK_STR_EQ(what, "duplicate");
	uint64_t runs = app->process_runs;

	/* Sequencers: newer processes, the same again is a duplicate, older is stale. */
	put_jpeg("s.jpg", 320, 200);
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"s.jpg\",\"sequencer\":\"0A\"}",
	                     what, sizeof(what)),
	             200);
	CHECK_STR_EQ(what, "processed");
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"s.jpg\",\"sequencer\":\"0a\"}",
	                     what, sizeof(what)),
	             200);
	CHECK_STR_EQ(what, "duplicate");
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"s.jpg\",\"sequencer\":\"09\"}",
	                     what, sizeof(what)),
	             200);
	CHECK_STR_EQ(what, "stale");
	CHECK_INT_EQ(app->process_runs, runs + 1); /* only the first did work */

	/* 429 with Retry-After: the same sequencer is being processed (a live claim). */
	{
		enum enl_claim_result cr;
		struct enl_errmsg e = {{0}};
		struct enl_claim_req req = {.photo_id = "busy.jpg",
		                            .sequencer = "10",
		                            .etag = "x",
		                            .attempt = "other-attempt",
		                            .bucket = "originals",
		                            .key = "busy.jpg",
		                            .now_ms = (int64_t)g_get_real_time() / 1000,
		                            .lease_ms = 600000};
		put_jpeg("busy.jpg", 100, 100);
		REQUIRE(enl_table_claim(&wtable.base, &req, &cr, &e) == 0 && cr == ENL_CLAIM_OK);
		call("process", "POST", "/process",
		     "{\"bucket\":\"originals\",\"key\":\"busy.jpg\",\"sequencer\":\"10\"}",
		     "x-api-key", API_KEY, &r);
		CHECK_INT_EQ(r.status, 429);
		CHECK_STR_EQ(resp_header(&r, "Retry-After"), "7");
		enl_resp_free(&r);
	}

	/* 422: undecodable, and the item is marked failed with the reason. */
	put_bytes("bad.jpg", "\xff\xd8\xff\xe0 this is not a JPEG at all");
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"bad.jpg\"}", what, sizeof(what)),
	             422);
	item = item_of("bad.jpg");
	CHECK_STR_EQ(json_string_value(json_object_get(item, "processingStatus")), "failed");
	CHECK(json_string_length(json_object_get(item, "processingError")) > 0);
	json_decref(item);
	/* 422 for a type that is not an image at all. */
	put_bytes("text.jpg", "hello, I am a text file and not a photograph");
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"text.jpg\"}", what, sizeof(what)),
	             422);

	/* 503 with Retry-After: the job queue is full (every slot taken, no queue). */
	expect_queue_full(app, "q.jpg", "7");
	expect_retry_after_estimate(app);

	/* 503 (retryable) when the store fails, and the item is not marked failed: the
	 * claim is released (pending, no lease) so the retry need not wait for the lease. */
	wstore.fail_put = 1;
	call("process", "POST", "/process", "{\"bucket\":\"originals\",\"key\":\"q.jpg\"}",
	     "x-api-key", API_KEY, &r);
	wstore.fail_put = 0;
	CHECK_INT_EQ(r.status, 503);
	CHECK(resp_header(&r, "Retry-After") != NULL);
	enl_resp_free(&r);
	item = item_of("q.jpg");
	CHECK_STR_EQ(json_string_value(json_object_get(item, "processingStatus")), "pending");
	CHECK(json_object_get(item, "leaseUntil") == NULL);
	CHECK(json_object_get(item, "processingError") != NULL);
	json_decref(item);

	/* Superseded: while this attempt ran, a newer event (sequencer 20) claimed the photo.
	 * The result is dropped, the answer is 200 "superseded" (nothing to retry), and the
	 * item stays with the newer claim. */
	put_jpeg("sup.jpg", 300, 200);
	wtable.usurp_seq = "20";
	wtable.usurped = 0;
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"sup.jpg\",\"sequencer\":\"1F\"}",
	                     what, sizeof(what)),
	             200);
	CHECK_INT_EQ(wtable.usurped, 1);
	CHECK_STR_EQ(what, "superseded");
	item = item_of("sup.jpg");
	CHECK_STR_EQ(json_string_value(json_object_get(item, "processingStatus")), "processing");
	CHECK_STR_EQ(json_string_value(json_object_get(item, "attempt")), "usurper");
	CHECK(json_object_get(item, "width") == NULL); /* the dropped result wrote nothing */
	json_decref(item);
}

/* How the last render's body came, before render() read it into bytes. */
static enum enl_body_kind render_body_kind;

/* A /render answer's body read into out->body, as a door that carries bytes does; returns
 * the status. */
static int render_read(struct enl_resp *out)
{
	struct enl_errmsg e = {{0}};
	render_body_kind = out->body_ref.kind;
	CHECK_INT_EQ(enl_resp_body_bytes(out, 0, &e), 0);
	return out->status;
}

/* GET /render/<path>; returns the status and frees everything but what the caller asks. */
static int render(const char *path, const char *hname, const char *hvalue, struct enl_resp *out)
{
	call("render", "GET", path, NULL, hname, hvalue, out);
	return render_read(out);
}

static void expect_param_error(const char *query, const char *names)
{
	char path[256];
	struct enl_resp r;
	snprintf(path, sizeof(path), "/render/r.jpg?%s", query);
	CHECK_INT_EQ(render(path, "x-origin-secret", ORIGIN, &r), 400);
	json_t *j = resp_json(&r);
	const char *detail = json_string_value(json_object_get(j, "detail"));
	CHECK_STR_EQ(r.content_type, "application/problem+json");
	if (!detail || !strstr(detail, names)) {
		check_failures++;
		fprintf(stderr, "render ?%s: detail \"%s\" does not name %s\n", query,
		        detail ? detail : "(none)", names);
	}
	json_decref(j);
	enl_resp_free(&r);
}

static void test_render(struct enl_app *app, const struct enl_config *cfg,
                        const struct enl_routes *routes)
{
	struct enl_resp r;
	put_jpeg("r.jpg", 800, 600);

	/* Origin secret: missing or wrong is 401, and nothing is rendered. */
	uint64_t runs = app->render_runs;
	CHECK_INT_EQ(render("/render/r.jpg?w=200", NULL, NULL, &r), 401);
	CHECK_STR_EQ(r.content_type, "application/problem+json");
	enl_resp_free(&r);
	CHECK_INT_EQ(
	    render("/render/r.jpg?w=200", "x-origin-secret", "origin-secret-000000002", &r), 401);
	enl_resp_free(&r);
	CHECK_INT_EQ(render("/render/r.jpg?w=200", "x-wrong-header", ORIGIN, &r), 401);
	enl_resp_free(&r);
	CHECK_INT_EQ(render("/render/r.jpg?w=200", "x-origin-secret", ORIGIN_PREVIOUS "x", &r),
	             401);
	enl_resp_free(&r);
	CHECK_INT_EQ(app->render_runs, runs);

	/* Parameter errors: 400 naming the parameter. */
	expect_param_error("h=10", "w");
	expect_param_error("w=abc", "w");
	expect_param_error("w=0", "w");
	expect_param_error("w=-5", "w");
	expect_param_error("w=99999", "w");
	expect_param_error("w=300", "100, 200, 400"); /* the allow-list, listed */
	expect_param_error("w=200&h=x", "h");
	expect_param_error("w=200&fit=stretch", "fit");
	expect_param_error("w=200&fmt=gif", "fmt");
	expect_param_error("w=200&q=0", "q");
	expect_param_error("w=200&q=101", "q");
	CHECK_INT_EQ(app->render_runs, runs);

	/* A height past what the core renders is refused by the parser: 400 before the
	 * original is HEADed or read, not after the whole original was read. */
	int gets = wstore.gets, heads = wstore.heads;
	expect_param_error("w=400&h=10000", "parameter h");
	expect_param_error("w=400&h=8193", "parameter h");
	CHECK_INT_EQ(wstore.gets, gets);
	CHECK_INT_EQ(wstore.heads, heads);
	CHECK_INT_EQ(app->render_runs, runs);

	/* 404 for a missing original. */
	CHECK_INT_EQ(render("/render/nope.jpg?w=200", "x-origin-secret", ORIGIN, &r), 404);
	enl_resp_free(&r);

	/* 200: a miss renders 200x150 WebP; the same again is a hit with the same ETag. */
	CHECK_INT_EQ(render("/render/r.jpg?w=200&fmt=webp", "x-origin-secret", ORIGIN, &r), 200);
	CHECK_STR_EQ(r.content_type, "image/webp");
	CHECK_STR_EQ(resp_header(&r, "X-Cache"), "miss");
	CHECK_INT_EQ(render_body_kind, ENL_BODY_SHARED); /* the render's own bytes */
	CHECK_STR_EQ(resp_header(&r, "Cache-Control"), "public, max-age=300"); /* no v */
	CHECK(resp_header(&r, "Vary") == NULL);
	char etag[80];
	snprintf(etag, sizeof(etag), "%s", resp_header(&r, "ETag") ? resp_header(&r, "ETag") : "");
	CHECK(strlen(etag) == 34 && etag[0] == '"');
	VipsImage *img = vips_image_new_from_buffer(r.body.data, r.body.len, "", NULL);
	REQUIRE(img != NULL);
	CHECK_INT_EQ(vips_image_get_width(img), 200);
	CHECK_INT_EQ(vips_image_get_height(img), 150);
	const char *loader = NULL;
	CHECK(vips_image_get_string(img, "vips-loader", &loader) == 0 && loader &&
	      strstr(loader, "webp"));
	g_object_unref(img);
	enl_resp_free(&r);
	CHECK_INT_EQ(app->render_runs, runs + 1);

	CHECK_INT_EQ(render("/render/r.jpg?w=200&fmt=webp", "x-origin-secret", ORIGIN, &r), 200);
	CHECK_STR_EQ(resp_header(&r, "X-Cache"), "hit");
	CHECK_INT_EQ(render_body_kind, ENL_BODY_FILE); /* the cached file, not a copy */
	CHECK_STR_EQ(resp_header(&r, "ETag"), etag);
	img = vips_image_new_from_buffer(r.body.data, r.body.len, "", NULL);
	REQUIRE(img != NULL);
	CHECK_INT_EQ(vips_image_get_width(img), 200);
	g_object_unref(img);
	enl_resp_free(&r);
	CHECK_INT_EQ(app->render_runs, runs + 1);
	/* A store without files (S3): the hit is read, and held as shared bytes. */
	wstore.no_open = 1;
	CHECK_INT_EQ(render("/render/r.jpg?w=200&fmt=webp", "x-origin-secret", ORIGIN, &r), 200);
	CHECK_STR_EQ(resp_header(&r, "X-Cache"), "hit");
	CHECK_INT_EQ(render_body_kind, ENL_BODY_SHARED);
	img = vips_image_new_from_buffer(r.body.data, r.body.len, "", NULL);
	REQUIRE(img != NULL);
	CHECK_INT_EQ(vips_image_get_width(img), 200);
	g_object_unref(img);
	enl_resp_free(&r);
	wstore.no_open = 0;
	CHECK_INT_EQ(app->render_runs, runs + 1);
	/* During a rotation the previous secret still opens /render. */
	CHECK_INT_EQ(render("/render/r.jpg?w=200&fmt=webp", "x-origin-secret", ORIGIN_PREVIOUS, &r),
	             200);
	enl_resp_free(&r);

	/* If-None-Match: 304 with no body. */
	{
		struct fake f;
		fake_init(&f, "GET", "/render/r.jpg?w=200&fmt=webp", NULL);
		fake_header_add(&f, "x-origin-secret", ORIGIN);
		fake_header_add(&f, "If-None-Match", etag);
		run(&f, "render", &r);
		CHECK_INT_EQ(r.status, 304);
		CHECK_INT_EQ(r.body.len, 0);
		CHECK_STR_EQ(resp_header(&r, "ETag"), etag);
		enl_resp_free(&r);
	}

	/* fmt=auto follows Accept and says Vary: Accept. */
	{
		struct fake f;
		fake_init(&f, "GET", "/render/r.jpg?w=100", NULL);
		fake_header_add(&f, "x-origin-secret", ORIGIN);
		fake_header_add(&f, "Accept", "image/webp,*/*");
		run(&f, "render", &r);
		CHECK_INT_EQ(r.status, 200);
		CHECK_STR_EQ(r.content_type, "image/webp");
		CHECK_STR_EQ(resp_header(&r, "Vary"), "Accept");
		enl_resp_free(&r);
	}

	/* 422 for an original that cannot be decoded. */
	put_bytes("broken.png", "\x89PNG\r\n\x1a\n not really");
	CHECK_INT_EQ(render("/render/broken.png?w=100", "x-origin-secret", ORIGIN, &r), 422);
	enl_resp_free(&r);

	/* A job's share of the cores travels in its own options: no request changes libvips'
	 * process-wide thread count, which the core set once at start. */
	CHECK_INT_EQ(vips_concurrency_get(), vips_threads_at_start);

	/* With no secret configured, /render is open: a table built from such a
	 * configuration. */
	struct enl_config open_cfg = *cfg;
	struct enl_routes *open_routes = NULL;
	struct enl_errmsg e = {{0}};
	open_cfg.origin_secret[0] = '\0';
	REQUIRE(enl_routes_new(&open_cfg, app, &open_routes, &e) == 0);
	use_routes(open_routes);
	CHECK_INT_EQ(render("/render/r.jpg?w=200&fmt=webp", NULL, NULL, &r), 200);
	enl_resp_free(&r);
	use_routes(routes);
	enl_routes_free(open_routes);
}

/* The store operations since the last call: HEADs, GETs, PUTs. */
static void expect_ops(int heads, int gets, int puts, const char *what)
{
	static int h0, g0, p0;
	int dh = wstore.heads - h0, dg = wstore.gets - g0, dp = wstore.puts - p0;
	h0 = wstore.heads;
	g0 = wstore.gets;
	p0 = wstore.puts;
	check_count++;
	if (heads >= 0 && (dh != heads || dg != gets || dp != puts)) {
		check_failures++;
		fprintf(stderr, "%s: %d HEAD, %d GET, %d PUT; want %d, %d, %d\n", what, dh, dg, dp,
		        heads, gets, puts);
	}
}

static void version_of(const char *key, char out[ENL_VERSION_TAG_MAX + 1])
{
	struct enl_object_info info;
	struct enl_errmsg e = {{0}};
	REQUIRE(enl_store_head(local_store, "originals", key, &info, &e) == 0);
	enl_version_tag(&info, out);
}

/* GET path with the origin secret; out's status, headers and ETag (into etag when given). */
static int get_render(const char *path, const char *inm, struct enl_resp *out)
{
	struct fake f;
	fake_init(&f, "GET", path, NULL);
	fake_header_add(&f, "x-origin-secret", ORIGIN);
	if (inm)
		fake_header_add(&f, "If-None-Match", inm);
	run(&f, "render", out);
	return render_read(out);
}

/* GET path (If-None-Match inm, may be NULL): its status must be status, its X-Cache x_cache
 * (NULL: not checked), and it must cost heads, gets and puts store operations. out's
 * headers stay for the caller, who frees it. */
static void expect_render(const char *path, const char *inm, int status, const char *x_cache,
                          int heads, int gets, int puts, struct enl_resp *out)
{
	CHECK_INT_EQ(get_render(path, inm, out), status);
	if (x_cache)
		CHECK_STR_EQ(resp_header(out, "X-Cache"), x_cache);
	expect_ops(heads, gets, puts, path);
}

/* Versions, canonical keys and what each answer costs in store operations (the bound
 * docs/keys.md states: HEAD, GET variant, GET original, PUT variant at most). */
static void test_render_versions(struct enl_app *app)
{
	struct enl_resp r;
	char v1[ENL_VERSION_TAG_MAX + 1], v2[ENL_VERSION_TAG_MAX + 1], path[512], etag[80];
	char want[512];

	put_jpeg("v.jpg", 800, 600);
	version_of("v.jpg", v1);
	expect_ops(-1, 0, 0, "");

	/* A version nobody has read yet: its size comes from its header, in the same four
	 * operations as any miss. Then a hit, a revalidation, a miss of a known version. */
	expect_render("/render/v.jpg?w=400&fmt=webp", NULL, 200, "miss", 1, 2, 1, &r);
	CHECK_STR_EQ(resp_header(&r, "Cache-Control"), "public, max-age=300");
	snprintf(etag, sizeof(etag), "%s", resp_header(&r, "ETag"));
	enl_resp_free(&r);
	expect_render("/render/v.jpg?w=400&fmt=webp", NULL, 200, "hit", 1, 1, 0, &r);
	enl_resp_free(&r);
	expect_render("/render/v.jpg?w=400&fmt=webp", etag, 304, NULL, 1, 0, 0, &r);
	CHECK_STR_EQ(resp_header(&r, "Cache-Control"), "public, max-age=300");
	enl_resp_free(&r);
	expect_render("/render/v.jpg?w=200&fmt=webp", NULL, 200, "miss", 1, 2, 1, &r);
	enl_resp_free(&r);

	/* v: the current version is for ever; any other is a 302 to it, after one HEAD. */
	snprintf(path, sizeof(path), "/render/v.jpg?w=400&fmt=webp&v=%s", v1);
	expect_render(path, NULL, 200, "hit", 1, 1, 0, &r);
	CHECK_STR_EQ(resp_header(&r, "Cache-Control"), "public, max-age=31536000, immutable");
	CHECK_STR_EQ(resp_header(&r, "ETag"), etag);
	enl_resp_free(&r);
	snprintf(want, sizeof(want), "/render/v.jpg?fmt=webp&v=%s&w=400", v1);
	expect_render("/render/v.jpg?w=400&v=0123abc&fmt=webp", NULL, 302, NULL, 1, 0, 0, &r);
	CHECK_STR_EQ(resp_header(&r, "Location"), want);
	CHECK_STR_EQ(resp_header(&r, "Cache-Control"), "public, max-age=60");
	CHECK_INT_EQ(r.body.len, 0);
	enl_resp_free(&r);

	/* Replaced: the old version's URL moves on; the URL without v has new bytes. */
	put_jpeg("v.jpg", 600, 800);
	version_of("v.jpg", v2);
	CHECK(strcmp(v1, v2) != 0);
	expect_ops(-1, 0, 0, "");
	snprintf(path, sizeof(path), "/render/v.jpg?w=400&fmt=webp&v=%s", v1);
	expect_render(path, NULL, 302, NULL, 1, 0, 0, &r);
	snprintf(want, sizeof(want), "/render/v.jpg?fmt=webp&v=%s&w=400", v2);
	CHECK_STR_EQ(resp_header(&r, "Location"), want);
	enl_resp_free(&r);
	expect_render("/render/v.jpg?w=400&fmt=webp", etag, 200, "miss", 1, 2, 1, &r);
	CHECK(strcmp(resp_header(&r, "ETag"), etag) != 0);
	VipsImage *img = vips_image_new_from_buffer(r.body.data, r.body.len, "", NULL);
	REQUIRE(img != NULL);
	CHECK_INT_EQ(vips_image_get_width(img), 400); /* the new, portrait bytes */
	CHECK_INT_EQ(vips_image_get_height(img), 533);
	g_object_unref(img);
	enl_resp_free(&r);

	/* Canonical: a width past the source's is the source's, the same variant. */
	put_jpeg("small.jpg", 150, 100);
	expect_ops(-1, 0, 0, "");
	expect_render("/render/small.jpg?w=200&fmt=png", NULL, 200, "miss", 1, 2, 1, &r);
	snprintf(etag, sizeof(etag), "%s", resp_header(&r, "ETag"));
	enl_resp_free(&r);
	const char *same[] = {"/render/small.jpg?w=400&fmt=png",
	                      "/render/small.jpg?fmt=png&w=200&h=400&fit=inside",
	                      "/render/small.jpg?fmt=png&w=400&fit=cover"};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		expect_render(same[i], NULL, 200, "hit", 1, 1, 0, &r);
		CHECK_STR_EQ(resp_header(&r, "ETag"), etag);
		enl_resp_free(&r);
	}

	/* A processed photo: after a restart (an empty map) its size comes from the item, so
	 * a hit is still one HEAD and one GET; an unprocessed one reads its original once. */
	char what[64], vd[ENL_VERSION_TAG_MAX + 1];
	put_jpeg("done.jpg", 640, 480);
	CHECK_INT_EQ(process("{\"bucket\":\"originals\",\"key\":\"done.jpg\"}", what, sizeof(what)),
	             200);
	json_t *item = item_of("done.jpg");
	version_of("done.jpg", vd);
	CHECK_STR_EQ(json_string_value(json_object_get(item, "version")), vd);
	json_decref(item);
	CHECK_INT_EQ(get_render("/render/done.jpg?w=400&fmt=webp", NULL, &r), 200);
	enl_resp_free(&r);
	expect_ops(-1, 0, 0, "");
	enl_sources_free(app->sources);
	REQUIRE(enl_sources_new(&app->sources) == 0);
	expect_render("/render/done.jpg?w=400&fmt=webp", NULL, 200, "hit", 1, 1, 0, &r);
	enl_resp_free(&r);
	expect_render("/render/small.jpg?w=200&fmt=png", NULL, 200, "hit", 1, 2, 0, &r);
	enl_resp_free(&r);
	expect_render("/render/small.jpg?w=200&fmt=png", NULL, 200, "hit", 1, 1, 0, &r);
	enl_resp_free(&r);
}

/* Signed URLs: a table built with a signing key (and a previous one). */
static void test_render_signed(struct enl_app *app, const struct enl_config *cfg,
                               const struct enl_routes *routes)
{
	const char *k1 = "the current key, 32 bytes or more",
	           *k0 = "the previous key, 32 bytes or more";
	struct enl_config scfg = *cfg;
	struct enl_routes *sroutes = NULL;
	struct enl_errmsg e = {{0}};
	struct enl_resp r;
	char sig[ENL_RENDER_SIG_LEN + 1], path[512], v[ENL_VERSION_TAG_MAX + 1];

	snprintf(scfg.render_signing_key, sizeof(scfg.render_signing_key), "%s", k1);
	snprintf(scfg.render_signing_key_previous, sizeof(scfg.render_signing_key_previous), "%s",
	         k0);
	REQUIRE(enl_routes_new(&scfg, app, &sroutes, &e) == 0);
	use_routes(sroutes);
	version_of("v.jpg", v);
	expect_ops(-1, 0, 0, "");

	/* Missing or wrong: 403 before any store operation. */
	CHECK_INT_EQ(get_render("/render/v.jpg?w=400&fmt=webp", NULL, &r), 403);
	CHECK_STR_EQ(r.content_type, "application/problem+json");
	enl_resp_free(&r);
	REQUIRE(enl_render_sign(k1, "/render/v.jpg", "w=400&fmt=webp", sig) == 0);
	snprintf(path, sizeof(path), "/render/v.jpg?w=200&fmt=webp&sig=%s", sig); /* other w */
	CHECK_INT_EQ(get_render(path, NULL, &r), 403);
	enl_resp_free(&r);
	snprintf(path, sizeof(path), "/render/V.jpg?w=400&fmt=webp&sig=%s", sig); /* other key */
	CHECK_INT_EQ(get_render(path, NULL, &r), 403);
	enl_resp_free(&r);
	expect_ops(0, 0, 0, "refused signatures");

	/* Right, in any order of the pairs; under the previous key too. */
	snprintf(path, sizeof(path), "/render/v.jpg?sig=%s&fmt=webp&w=400", sig);
	CHECK_INT_EQ(get_render(path, NULL, &r), 200);
	enl_resp_free(&r);
	REQUIRE(enl_render_sign(k0, "/render/v.jpg", "w=400&fmt=webp", sig) == 0);
	snprintf(path, sizeof(path), "/render/v.jpg?w=400&fmt=webp&sig=%s", sig);
	CHECK_INT_EQ(get_render(path, NULL, &r), 200);
	enl_resp_free(&r);

	/* An older version's URL: the 302 is signed with the current key. */
	REQUIRE(enl_render_sign(k0, "/render/v.jpg", "w=400&fmt=webp&v=0ld", sig) == 0);
	snprintf(path, sizeof(path), "/render/v.jpg?w=400&fmt=webp&v=0ld&sig=%s", sig);
	CHECK_INT_EQ(get_render(path, NULL, &r), 302);
	const char *loc = resp_header(&r, "Location");
	REQUIRE(loc != NULL);
	char want_sig[ENL_RENDER_SIG_LEN + 1], query[256];
	snprintf(query, sizeof(query), "fmt=webp&v=%s&w=400", v);
	REQUIRE(enl_render_sign(k1, "/render/v.jpg", query, want_sig) == 0);
	char want[512];
	snprintf(want, sizeof(want), "/render/v.jpg?%s&sig=%s", query, want_sig);
	CHECK_STR_EQ(loc, want);
	enl_resp_free(&r);
	CHECK_INT_EQ(get_render(want, NULL, &r), 200);
	CHECK_STR_EQ(resp_header(&r, "Cache-Control"), "public, max-age=31536000, immutable");
	enl_resp_free(&r);

	use_routes(routes);
	enl_routes_free(sroutes);
}

/* Settings are bound when the table is built: a route reads its own copy, never the
 * configuration, so changing the configuration afterwards changes nothing. */
static void test_bound_settings(struct enl_app *app, struct enl_config *cfg)
{
	struct enl_config saved = *cfg;
	struct enl_resp r;
	char what[256];

	snprintf(cfg->process_api_key, sizeof(cfg->process_api_key), "changed");
	snprintf(cfg->process_api_key_header, sizeof(cfg->process_api_key_header), "x-changed");
	snprintf(cfg->origin_secret, sizeof(cfg->origin_secret), "changed");
	snprintf(cfg->origin_secret_header, sizeof(cfg->origin_secret_header), "x-changed");
	cfg->retry_after_s = 99;
	/* The bound key still opens /process (the wrong bucket is a 400, not a 401). */
	CHECK_INT_EQ(process("{\"bucket\":\"other\",\"key\":\"a.jpg\"}", what, sizeof(what)), 400);
	call("process", "POST", "/process", "{}", "x-changed", "changed", &r);
	CHECK_INT_EQ(r.status, 401);
	CHECK_STR_EQ(resp_header(&r, "WWW-Authenticate"), "ApiKey header=\"x-api-key\"");
	enl_resp_free(&r);
	/* The bound secret still opens /render. */
	CHECK_INT_EQ(render("/render/r.jpg?w=200&fmt=webp", "x-origin-secret", ORIGIN, &r), 200);
	enl_resp_free(&r);
	CHECK_INT_EQ(render("/render/r.jpg?w=200&fmt=webp", "x-changed", "changed", &r), 401);
	enl_resp_free(&r);
	/* The bound Retry-After on a full queue. */
	expect_queue_full(app, "bound.jpg", "7");
	*cfg = saved;
}

static void test_ops(void)
{
	struct enl_resp r;
	call("healthz", "GET", "/healthz", NULL, NULL, NULL, &r);
	CHECK_INT_EQ(r.status, 200);
	enl_resp_free(&r);
	call("readyz", "GET", "/readyz", NULL, NULL, NULL, &r);
	CHECK_INT_EQ(r.status, 200);
	json_t *j = resp_json(&r);
	CHECK_STR_EQ(json_string_value(json_object_get(j, "table")), "sqlite");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "store")), "local");
	json_decref(j);
	enl_resp_free(&r);
	/* A backend that does not answer: 503 naming which one, with ENLARGER_RETRY_AFTER. */
	for (int which = 0; which < 2; which++) {
		wstore.fail_ping = which == 0;
		wtable.fail_ping = which == 1;
		call("readyz", "GET", "/readyz", NULL, NULL, NULL, &r);
		CHECK_INT_EQ(r.status, 503);
		CHECK_STR_EQ(resp_header(&r, "Retry-After"), "7");
		j = resp_json(&r);
		CHECK_STR_EQ(json_string_value(json_object_get(j, "detail")),
		             which == 0 ? "the object store is not reachable"
		                        : "the photo table is not reachable");
		json_decref(j);
		enl_resp_free(&r);
	}
	wstore.fail_ping = wtable.fail_ping = 0;

	/* libvips memory: the peak is non-zero after the renders above, and equals what
	 * libvips itself reports; the current value is a number too. */
	call("metrics", "GET", "/metrics", NULL, NULL, NULL, &r);
	CHECK_INT_EQ(r.status, 200);
	char *text = strndup((const char *)r.body.data, r.body.len);
	REQUIRE(text);
	const char *peak = strstr(text, "\nenlarger_vips_memory_peak_bytes ");
	const char *now = strstr(text, "\nenlarger_vips_memory_bytes ");
	CHECK(peak && now);
	if (peak) {
		double v = strtod(peak + strlen("\nenlarger_vips_memory_peak_bytes "), NULL);
		CHECK(v > 0);
		CHECK(v >= (double)vips_tracked_get_mem_highwater() * 0.5);
	}
	free(text);
	enl_resp_free(&r);
}

/* JSON bodies print reals with 15 significant digits (5.9, not 5.9000000000000004). */
static void test_json_precision(void)
{
	struct enl_resp r;
	enl_resp_init(&r);
	CHECK_INT_EQ(
	    enl_resp_json(&r, 200, json_pack("{s:f, s:f}", "fNumber", 5.9, "lat", 48.8584)), 0);
	char *text = strndup((const char *)r.body.data, r.body.len);
	CHECK_STR_EQ(text, "{\"fNumber\":5.9,\"lat\":48.8584}");
	free(text);
	enl_resp_free(&r);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/enl-routes-XXXXXX";
	char path[256];
	struct enl_config cfg;
	struct enl_errmsg e = {{0}};
	struct enl_table *sqlite = NULL;
	struct enl_app app;
	struct enl_routes *routes = NULL;
	(void)argc;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/data", dir);
	const char *env[] = {"ENLARGER_DATA_DIR",
	                     path,
	                     "ENLARGER_PROCESS_API_KEY",
	                     API_KEY,
	                     "ENLARGER_PROCESS_API_KEY_PREVIOUS",
	                     API_KEY_PREVIOUS,
	                     "ENLARGER_ORIGIN_SECRET",
	                     ORIGIN,
	                     "ENLARGER_ORIGIN_SECRET_PREVIOUS",
	                     ORIGIN_PREVIOUS,
	                     "ENLARGER_RENDER_WIDTHS",
	                     "100,200,400",
	                     "ENLARGER_JOBS",
	                     "1",
	                     "ENLARGER_QUEUE_DEPTH",
	                     "0",
	                     "ENLARGER_QUEUE_TIMEOUT_MS",
	                     "0",
	                     "ENLARGER_RETRY_AFTER",
	                     "7",
	                     "ENLARGER_LOG_LEVEL",
	                     "error",
	                     NULL};
	REQUIRE(enl_config_load(&cfg, fixture_env, (void *)env, &e) == 0);
	enl_log_set_level((enum enl_log_level)cfg.log_level);
	REQUIRE(enl_pipeline_init(argv[0]) == 0);
	vips_threads_at_start = vips_concurrency_get();
	REQUIRE(enl_store_local_open(cfg.data_dir, &local_store, &e) == 0);
	snprintf(path, sizeof(path), "%s/photos.db", dir);
	REQUIRE(enl_table_sqlite_open(path, cfg.table, cfg.table_key, &sqlite, &e) == 0);
	wstore = (struct wrap_store){.base = {&wrap_store_ops, "local"}, .inner = local_store};
	wtable = (struct wrap_table){.base = {&wrap_table_ops, "sqlite"}, .inner = sqlite};
	REQUIRE(enl_app_init(&app, &cfg, &wstore.base, &wtable.base, &e) == 0);
	enl_app_register_metrics(&app);
	REQUIRE(enl_routes_new(&cfg, &app, &routes, &e) == 0);
	use_routes(routes);

	test_json_precision();
	test_process(&app);
	test_render(&app, &cfg, routes);
	test_render_versions(&app);
	test_render_signed(&app, &cfg, routes);
	test_bound_settings(&app, &cfg);
	test_ops();

	enl_routes_free(routes);
	enl_app_free(&app);
	enl_table_destroy(sqlite);
	enl_store_destroy(local_store);
	enl_pipeline_shutdown();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done();
}
