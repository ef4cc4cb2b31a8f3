/* The whole server under concurrent requests: enl_server_start with the real route table
 * over a local store and an SQLite table in a temporary folder, and 8 client threads
 * (libcurl, one handle each) on 127.0.0.1. Built plainly it checks every answer; under
 * ThreadSanitizer (scripts/test-extra-tsan.sh) it is the race check of the server, the
 * routes, the job gate, single-flight, the stores, the table, metrics and logs together.
 *   test_server_concurrent           requests that never decode an image
 *   test_server_concurrent images    renders (misses of distinct variants side by side,
 *                                    identical ones coalesced, cache hits) and /process
 * Oracles: the status of each request is known in advance; rendered bytes are read back
 * with libvips (format and width); each processed photo's item is read from the table. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "app_fixture.h"
#include "check.h"
#include "enlarger/config.h"
#include "enlarger/http.h"
#include "enlarger/log.h"
#include "enlarger/pipeline.h"
#include "enlarger/routes.h"
#include "enlarger/service.h"
#include "enlarger/store.h"
#include "enlarger/table.h"

#define THREADS 8
#define ROUNDS 6

static int port;
static struct enl_store *store;
static struct enl_table *table;

struct call {
	const char *method, *path, *body;
	const char *header; /* one extra header line, or NULL */
	long want;          /* the status it must get */
	int want_width;     /* a rendered image of this width (0: no image) */
	long also;          /* another status it may get (0: none) */
};

struct outcome {
	int failures; /* calls that got another status or body */
	char first[256];
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	return enl_buf_append(ud, p, size * n) ? 0 : size * n;
}

/* 1 when the bytes are an image of width w that libvips reads. */
static int image_of_width(const struct enl_buf *b, int w)
{
	VipsImage *im = b->len ? vips_image_new_from_buffer(b->data, b->len, "", NULL) : NULL;
	int ok = im && vips_image_get_width(im) == w;
	if (im)
		g_object_unref(im);
	vips_error_clear();
	return ok;
}

static void run(CURL *h, const struct call *c, struct outcome *o)
{
	char url[512];
	struct enl_buf body;
	struct curl_slist *hl = NULL;
	long status = 0;
	enl_buf_init(&body, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, c->path);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	if (c->body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
	if (c->header)
		hl = curl_slist_append(hl, c->header);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	int ok = cc == CURLE_OK &&
	         ((status == c->want && (!c->want_width || image_of_width(&body, c->want_width))) ||
	          (c->also && status == c->also));
	if (!ok && !o->failures++)
		snprintf(o->first, sizeof(o->first), "%s %s: curl %d, status %ld, want %ld",
		         c->method, c->path, (int)cc, status, c->want);
	curl_slist_free_all(hl);
	enl_buf_free(&body);
}

#define SECRET "x-origin-secret: concurrent-origin-1"
#define KEY "x-api-key: concurrent-api-key-1"

/* Requests that stop before any image work. */
static const struct call plain[] = {
    {"GET", "/healthz", NULL, NULL, 200, 0, 0},
    {"GET", "/readyz", NULL, NULL, 200, 0, 0},
    {"GET", "/metrics", NULL, NULL, 200, 0, 0},
    {"GET", "/render/missing.jpg?w=100", NULL, SECRET, 404, 0, 0},
    {"GET", "/render/a.jpg?w=100", NULL, NULL, 401, 0, 0},
    {"GET", "/render/a.jpg?w=7", NULL, SECRET, 400, 0, 0},
    {"POST", "/process", "{\"bucket\":", KEY, 400, 0, 0},
    {"POST", "/process", "{\"bucket\":\"originals\",\"key\":\"a.jpg\"}", NULL, 401, 0, 0},
    {"POST", "/process", "{\"bucket\":\"originals\",\"key\":\"none.jpg\"}", KEY, 404, 0, 0},
    {"GET", "/nowhere", NULL, NULL, 404, 0, 0},
    {"DELETE", "/healthz", NULL, NULL, 405, 0, 0},
};

/* Image work: the same variants from every thread (rendered once, the rest coalesced or
 * cache hits; a request that missed the cache just before the first render was stored
 * renders again), and processing (429 while another thread processes that photo). */
static const struct call images[] = {
    {"GET", "/render/a.jpg?w=100&fmt=webp", NULL, SECRET, 200, 100, 0},
    {"GET", "/render/a.jpg?w=200&fmt=jpeg", NULL, SECRET, 200, 200, 0},
    {"GET", "/render/b.jpg?w=100&fmt=png", NULL, SECRET, 200, 100, 0},
    {"POST", "/process", "{\"bucket\":\"originals\",\"key\":\"a.jpg\"}", KEY, 200, 0, 429},
    {"POST", "/process", "{\"bucket\":\"originals\",\"key\":\"b.jpg\"}", KEY, 200, 0, 429},
    {"GET", "/healthz", NULL, NULL, 200, 0, 0},
    {"GET", "/metrics", NULL, NULL, 200, 0, 0},
};

static const struct call *calls;
static size_t n_calls;

static void *client(void *arg)
{
	struct outcome *o = arg;
	CURL *h = curl_easy_init();
	if (!h) {
		o->failures++;
		return NULL;
	}
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < n_calls; i++)
			run(h, &calls[(i + (size_t)r) % n_calls], o);
	curl_easy_cleanup(h);
	return NULL;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/enl-concurrent-XXXXXX";
	char data[128], db[128];
	struct enl_config cfg;
	struct enl_errmsg e = {{0}};
	struct enl_app app;
	struct enl_server *srv = NULL;
	int with_images = argc > 1 && strcmp(argv[1], "images") == 0;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(db, sizeof(db), "%s/photos.db", dir);
	/* A long lease: each photo is processed once only while no claim's lease runs out
	 * mid-work, and under ThreadSanitizer on a loaded machine a run has taken longer than
	 * the default 60 s and been taken over. */
	const char *env[] = {"ENLARGER_DATA_DIR",
	                     data,
	                     "ENLARGER_LEASE_MS",
	                     "600000",
	                     "ENLARGER_PROCESS_API_KEY",
	                     "concurrent-api-key-1",
	                     "ENLARGER_ORIGIN_SECRET",
	                     "concurrent-origin-1",
	                     "ENLARGER_RENDER_WIDTHS",
	                     "100,200",
	                     "ENLARGER_JOBS",
	                     "3",
	                     "ENLARGER_QUEUE_DEPTH",
	                     "64",
	                     "ENLARGER_QUEUE_TIMEOUT_MS",
	                     "120000",
	                     "ENLARGER_LOG_LEVEL",
	                     "error",
	                     NULL};
	REQUIRE(enl_config_load(&cfg, fixture_env, (void *)env, &e) == 0);
	enl_log_set_level((enum enl_log_level)cfg.log_level);
	REQUIRE(enl_pipeline_init(argv[0]) == 0);
	REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == 0);
	REQUIRE(enl_store_local_open(cfg.data_dir, &store, &e) == 0);
	REQUIRE(enl_table_sqlite_open(db, cfg.table, cfg.table_key, &table, &e) == 0);
	REQUIRE(enl_app_init(&app, &cfg, store, table, &e) == 0);
	enl_app_register_metrics(&app);
	REQUIRE(fixture_put_noise(store, "originals", "a.jpg", 640, 480, ".jpg", 0) == 0);
	REQUIRE(fixture_put_noise(store, "originals", "b.jpg", 300, 500, ".jpg", 0) == 0);

	size_t n_routes;
	struct enl_routes *routes = NULL;
	REQUIRE(enl_routes_new(&cfg, &app, &routes, &e) == 0);
	struct enl_server_opts so = {
	    .listen = "127.0.0.1:0",
	    .connection_timeout_s = 60,
	    .max_connections = 64,
	    .max_body_bytes = cfg.max_body_bytes,
	    .routes = enl_routes_table(routes, &n_routes),
	};
	so.n_routes = n_routes;
	REQUIRE(enl_server_start(&so, &srv, &e) == 0);
	port = enl_server_port(srv);

	calls = with_images ? images : plain;
	n_calls =
	    with_images ? sizeof(images) / sizeof(images[0]) : sizeof(plain) / sizeof(plain[0]);
	pthread_t t[THREADS];
	struct outcome o[THREADS];
	memset(o, 0, sizeof(o));
	for (int i = 0; i < THREADS; i++)
		REQUIRE(pthread_create(&t[i], NULL, client, &o[i]) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		if (o[i].failures)
			fprintf(stderr, "thread %d: %d failed calls, first: %s\n", i, o[i].failures,
			        o[i].first);
		CHECK_INT_EQ(o[i].failures, 0);
	}

	if (with_images) {
		/* Both photos processed once and completed, whatever the interleaving. */
		for (int i = 0; i < 2; i++) {
			json_t *item = NULL;
			REQUIRE(enl_table_get(table, i ? "b.jpg" : "a.jpg", &item, &e) == 0);
			CHECK_STR_EQ(json_string_value(json_object_get(item, "processingStatus")),
			             "completed");
			json_decref(item);
		}
		CHECK_INT_EQ(app.process_runs, 2);
		/* Three distinct variants: each rendered at least once, and never by every
		 * request that asked for it. */
		CHECK(app.render_runs >= 3 && app.render_runs < 3 * THREADS * ROUNDS / 2);
	}

	enl_server_stop(srv, 5000);
	enl_routes_free(routes);
	enl_app_free(&app);
	enl_table_destroy(table);
	enl_store_destroy(store);
	curl_global_cleanup();
	enl_pipeline_shutdown();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done();
}
