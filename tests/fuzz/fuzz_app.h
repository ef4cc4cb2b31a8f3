/* Shared by the fuzz targets that answer whole requests (http_request, lambda): the
 * service over a real local store and SQLite table in a temporary folder holding two
 * small originals, with small limits (1 MP, widths 8/16/32, one job) to stay fast, and
 * the checks every answer must pass whichever door it came through. */
#ifndef ENLARGER_FUZZ_APP_H
#define ENLARGER_FUZZ_APP_H

#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "app_fixture.h"
#include "core_internal.h"
#include "enlarger/config.h"
#include "enlarger/http.h"
#include "enlarger/log.h"
#include "enlarger/metrics.h"
#include "enlarger/routes.h"
#include "enlarger/service.h"
#include "enlarger/store.h"
#include "enlarger/table.h"
#include "fuzz.h"
#include "fuzz_vips.h"

struct fuzz_app {
	char dir[64];
	struct enl_config cfg;
	struct enl_store *store;
	struct enl_table *table;
	struct enl_app app;
	struct enl_routes *routes;
};

static struct fuzz_app fuzz_app;

static const char *const fuzz_app_settings[] = {"ENLARGER_PROCESS_API_KEY",
                                                "fuzz-process-key-1",
                                                "ENLARGER_ORIGIN_SECRET",
                                                "fuzz-origin-secret",
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

static const char *fuzz_app_env(void *ud, const char *name)
{
	(void)ud;
	return strcmp(name, "ENLARGER_DATA_DIR") == 0
	           ? fuzz_app.dir
	           : fixture_env((void *)fuzz_app_settings, name);
}

static void fuzz_app_cleanup(void)
{
	struct fuzz_app *a = &fuzz_app;
	enl_routes_free(a->routes);
	enl_app_free(&a->app);
	enl_table_destroy(a->table);
	enl_store_destroy(a->store);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%.63s'", a->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", a->dir);
}

/* Sets up fuzz_app once (removed at exit); name tells the temporary folders apart. */
static inline void fuzz_app_init(const char *argv0, const char *name)
{
	struct fuzz_app *a = &fuzz_app;
	struct enl_errmsg e = {""};
	char path[128];
	fuzz_vips_init(argv0);
	/* /dev/shm when there is one: the stores fsync. */
	snprintf(a->dir, sizeof(a->dir), "%s/enl-fuzz-%s-XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", name);
	FUZZ_CHECK(mkdtemp(a->dir) != NULL);
	FUZZ_CHECK(enl_config_load(&a->cfg, fuzz_app_env, NULL, &e) == 0);
	enl_log_set_level(ENL_LOG_ERROR);
	FUZZ_CHECK(enl_store_local_open(a->cfg.data_dir, &a->store, &e) == 0);
	snprintf(path, sizeof(path), "%.63s/photos.db", a->dir);
	FUZZ_CHECK(enl_table_sqlite_open(path, a->cfg.table, a->cfg.table_key, &a->table, &e) == 0);
	FUZZ_CHECK(enl_app_init(&a->app, &a->cfg, a->store, a->table, &e) == 0);
	enl_app_register_metrics(&a->app);
	FUZZ_CHECK(enl_routes_new(&a->cfg, &a->app, &a->routes, &e) == 0);
	/* Two small originals, the JPEG rotated (orientation 6). */
	FUZZ_CHECK(
	    fixture_put_noise(a->store, a->cfg.originals_bucket, "a.jpg", 40, 30, ".jpg", 6) == 0);
	FUZZ_CHECK(fixture_put_noise(a->store, a->cfg.originals_bucket, "dir/b c.png", 20, 20,
	                             ".png", 0) == 0);
	atexit(fuzz_app_cleanup);
}

static inline int fuzz_ctl_free(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return 0;
	return 1;
}

static inline const char *fuzz_resp_header(const struct enl_resp *r, const char *name)
{
	for (int i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* The answer of route (its name; NULL when none took the request) to method: a status
 * the API documents (api/openapi.yaml), never 500; headers free of control characters; a
 * problem is application/problem+json whose "status" is the answer's; a rendered 200 is
 * an image of the type it says, with a quoted ETag and a cache verdict; a 200 from
 * /process is JSON with an outcome. extra: one more status this door may answer (0:
 * none). */
static inline void fuzz_check_answer(const char *route, const char *method, struct enl_resp *resp,
                                     int extra)
{
	static const int documented[] = {200, 304, 400, 401, 404, 405, 413, 422, 429, 503, 504};
	struct enl_errmsg e = {{0}};
	/* A body by reference (a cached file, shared bytes) read as a door without sockets
	 * reads it. */
	FUZZ_CHECK(enl_resp_body_bytes(resp, 0, &e) == 0);
	int ok = extra && resp->status == extra;
	for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
		ok |= resp->status == documented[i];
	if (!ok)
		fprintf(stderr, "status %d: %.*s\n", resp->status, (int)resp->body.len,
		        resp->body.data ? (const char *)resp->body.data : "");
	FUZZ_CHECK(ok);
	FUZZ_CHECK(fuzz_ctl_free(resp->content_type));
	for (int i = 0; i < resp->n_headers; i++)
		FUZZ_CHECK(resp->headers[i].name[0] && fuzz_ctl_free(resp->headers[i].name) &&
		           fuzz_ctl_free(resp->headers[i].value));
	if (resp->status >= 400) {
		FUZZ_CHECK(strcmp(resp->content_type, "application/problem+json") == 0);
		if (strcmp(method, "HEAD") == 0 && resp->body.len == 0)
			return; /* a door that drops a HEAD answer's body */
		json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
		FUZZ_CHECK(json_integer_value(json_object_get(j, "status")) == resp->status);
		FUZZ_CHECK(json_is_string(json_object_get(j, "detail")) ||
		           json_is_string(json_object_get(j, "title")));
		json_decref(j);
		return;
	}
	if (!route || resp->status != 200)
		return;
	if (strcmp(route, "render") == 0) {
		const char *etag = fuzz_resp_header(resp, "ETag");
		const char *cache = fuzz_resp_header(resp, "X-Cache");
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
	} else if (strcmp(route, "process") == 0) {
		json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
		FUZZ_CHECK(json_is_string(json_object_get(j, "outcome")));
		json_decref(j);
	}
}

#endif
