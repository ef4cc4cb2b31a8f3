/* The sweeps (src/service/sweep.c) and the background cleanup worker (cleanup.c) over a
 * real local store and a real SQLite table in a temporary directory.
 *
 * Sweeps: which derivatives and render variants go (the versions nothing names) and which
 * stay (the item's keys, its etag's version in flight, another photo under the same prefix,
 * the original's current version), and that nothing is deleted when what is current cannot
 * be known. Worker: its bounds, observed through a store that wraps the real one and records
 * how many listings run at once, overall and per photo: at most ENLARGER_CLEANUP_JOBS at
 * once, never two of one photo, a full queue drops (and counts), waiting tasks of one photo
 * merge, and a drain finishes what is queued. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cleanup.h"
#include "enlarger/config.h"
#include "enlarger/keys.h"
#include "enlarger/service.h"
#include "enlarger/store.h"
#include "enlarger/table.h"
#include "sweep.h"

static char dir[128];
static struct enl_config cfg;

/* ---- a store that wraps the real one and watches the listings ---- */

struct watch_store {
	struct enl_store base;
	struct enl_store *inner;
	pthread_mutex_t mu;
	int listing, max_listing; /* listings running now, and at most */
	char running[8][256];     /* the prefixes being listed */
	int same_photo_overlap;   /* a prefix listed twice at once */
	int delay_ms;             /* each listing takes this long */
	int deletes;
};

static struct watch_store ws;

static int w_get(struct enl_store *s, const char *b, const char *k, size_t max, struct enl_buf *out,
                 struct enl_object_info *info, struct enl_errmsg *e)
{
	return enl_store_get(((struct watch_store *)s)->inner, b, k, max, out, info, e);
}
static int w_head(struct enl_store *s, const char *b, const char *k, struct enl_object_info *info,
                  struct enl_errmsg *e)
{
	return enl_store_head(((struct watch_store *)s)->inner, b, k, info, e);
}
static int w_put(struct enl_store *s, const char *b, const char *k, const void *d, size_t n,
                 const struct enl_put_opts *o, struct enl_errmsg *e)
{
	return enl_store_put(((struct watch_store *)s)->inner, b, k, d, n, o, e);
}
static int w_del(struct enl_store *s, const char *b, const char *k, struct enl_errmsg *e)
{
	struct watch_store *w = (struct watch_store *)s;
	pthread_mutex_lock(&w->mu);
	w->deletes++;
	pthread_mutex_unlock(&w->mu);
	return enl_store_del(w->inner, b, k, e);
}
static int w_list(struct enl_store *s, const char *b, const char *p, enl_store_list_cb cb, void *ud,
                  struct enl_errmsg *e)
{
	struct watch_store *w = (struct watch_store *)s;
	int slot = -1;
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < 8; i++) {
		if (w->running[i][0] && strcmp(w->running[i], p) == 0)
			w->same_photo_overlap++;
		if (!w->running[i][0] && slot < 0)
			slot = i;
	}
	if (slot >= 0)
		snprintf(w->running[slot], sizeof(w->running[slot]), "%s", p);
	if (++w->listing > w->max_listing)
		w->max_listing = w->listing;
	pthread_mutex_unlock(&w->mu);
	if (w->delay_ms)
		usleep((useconds_t)w->delay_ms * 1000);
	int rc = enl_store_list(w->inner, b, p, cb, ud, e);
	pthread_mutex_lock(&w->mu);
	w->listing--;
	if (slot >= 0)
		w->running[slot][0] = '\0';
	pthread_mutex_unlock(&w->mu);
	return rc;
}
static int w_ping(struct enl_store *s, const char *b, struct enl_errmsg *e)
{
	return enl_store_ping(((struct watch_store *)s)->inner, b, e);
}
static void w_destroy(struct enl_store *s)
{
	enl_store_destroy(((struct watch_store *)s)->inner);
}
static const struct enl_store_ops watch_ops = {
    .get = w_get,
    .head = w_head,
    .put = w_put,
    .del = w_del,
    .list = w_list,
    .ping = w_ping,
    .destroy = w_destroy,
};

/* ---- helpers ---- */

static const char *env(void *ud, const char *name)
{
	(void)ud;
	if (strcmp(name, "ENLARGER_DATA_DIR") == 0)
		return dir;
	if (strcmp(name, "ENLARGER_CLEANUP_JOBS") == 0)
		return "2";
	if (strcmp(name, "ENLARGER_CLEANUP_QUEUE_DEPTH") == 0)
		return "4";
	return NULL;
}

static void put(const char *bucket, const char *key, const char *bytes)
{
	struct enl_errmsg e = {{0}};
	REQUIRE(enl_store_put(&ws.base, bucket, key, bytes, strlen(bytes), NULL, &e) == 0);
}

static int exists(const char *bucket, const char *key)
{
	struct enl_object_info info;
	struct enl_errmsg e = {{0}};
	return enl_store_head(&ws.base, bucket, key, &info, &e) == 0;
}

/* Claims photo_id (etag, sequencer) and, when thumb is given, completes it pointing at it. */
static void item(struct enl_table *t, const char *photo_id, const char *seq, const char *etag,
                 const char *thumb)
{
	struct enl_claim_req r = {.photo_id = photo_id,
	                          .sequencer = seq,
	                          .etag = etag,
	                          .attempt = photo_id,
	                          .bucket = "originals",
	                          .key = photo_id,
	                          .now_ms = 1000,
	                          .lease_ms = 60000};
	enum enl_claim_result res;
	struct enl_errmsg e = {{0}};
	REQUIRE(enl_table_claim(t, &r, &res, &e) == 0 && res == ENL_CLAIM_OK);
	if (!thumb)
		return;
	json_t *f = json_pack("{s:s}", "thumbnailKey", thumb);
	REQUIRE(enl_table_complete(t, photo_id, photo_id, f, &e) == 0);
	json_decref(f);
}

/* ---- the sweeps ---- */

static void test_sweep_derivatives(struct enl_app *app, struct enl_table *t)
{
	struct enl_sweep_stats st = {0};
	struct enl_errmsg e = {{0}};
	const char *th = cfg.thumbnails_bucket, *op = cfg.optimized_bucket;
	/* p: v1 is old, v2 is what the item points at, v3 is in flight (the item's etag). */
	put(th, "p/v1/thumb.webp", "1");
	put(th, "p/v1/thumb.jpg", "1");
	put(th, "p/v2/thumb.webp", "2");
	put(th, "p/v3/thumb.webp", "3");
	put(th, "p/q/v1/thumb.webp", "another photo, p/q");
	put(th, "p/v1/notes.txt", "not a derivative");
	put(op, "p/v1/optimized.webp", "1");
	put(op, "p/v2/optimized.jpg", "2");
	item(t, "p", "10", "\"V3\"", "p/v2/thumb.webp");
	CHECK_INT_EQ(enl_sweep_derivatives(app, "p", &st, &e), 0);
	CHECK_INT_EQ(st.listed, 6);
	CHECK_INT_EQ(st.deleted, 3);
	CHECK(!exists(th, "p/v1/thumb.webp") && !exists(th, "p/v1/thumb.jpg") &&
	      !exists(op, "p/v1/optimized.webp"));
	CHECK(exists(th, "p/v2/thumb.webp") && exists(op, "p/v2/optimized.jpg"));
	CHECK(exists(th, "p/v3/thumb.webp")); /* the version being processed */
	CHECK(exists(th, "p/q/v1/thumb.webp") && exists(th, "p/v1/notes.txt"));
	/* Again: nothing more to do. */
	memset(&st, 0, sizeof(st));
	CHECK_INT_EQ(enl_sweep_derivatives(app, "p", &st, &e), 0);
	CHECK_INT_EQ(st.deleted, 0);

	/* No item (a photo never processed, or deleted): every version goes. */
	put(th, "lonely/a1/thumb.webp", "x");
	put(op, "lonely/a1/optimized.jpg", "x");
	memset(&st, 0, sizeof(st));
	CHECK_INT_EQ(enl_sweep_derivatives(app, "lonely", &st, &e), 0);
	CHECK_INT_EQ(st.deleted, 2);

	/* A version in flight the item cannot name (no etag): nothing is touched. */
	put(th, "busy/b1/thumb.webp", "x");
	item(t, "busy", "10", NULL, NULL);
	memset(&st, 0, sizeof(st));
	CHECK_INT_EQ(enl_sweep_derivatives(app, "busy", &st, &e), ENL_EBUSY);
	CHECK(exists(th, "busy/b1/thumb.webp"));
}

static void test_sweep_renders(struct enl_app *app)
{
	struct enl_sweep_stats st = {0};
	struct enl_errmsg e = {{0}};
	struct enl_object_info info;
	char hash[65], hash2[65], now[ENL_VERSION_TAG_MAX + 1], k[256];
	const char *rb = cfg.render_bucket;

	put(cfg.originals_bucket, "dir/k one.jpg", "the original");
	REQUIRE(enl_store_head(&ws.base, cfg.originals_bucket, "dir/k one.jpg", &info, &e) == 0);
	enl_version_tag(&info, now);
	enl_key_hash("dir/k one.jpg", hash);
	enl_key_hash("other.jpg", hash2);
	snprintf(k, sizeof(k), "%s/%s/w100-h0-inside-qd.webp", hash, now);
	put(rb, k, "current");
	snprintf(k, sizeof(k), "%s/old1/w100-h0-inside-qd.webp", hash);
	put(rb, k, "old");
	snprintf(k, sizeof(k), "%s/old2/w200-h0-inside-qd.jpg", hash);
	put(rb, k, "old");
	snprintf(k, sizeof(k), "%s/old1/w100-h0-inside-qd.webp", hash2);
	put(rb, k, "another original's");
	CHECK_INT_EQ(enl_sweep_renders(app, "dir/k one.jpg", &st, &e), 0);
	CHECK_INT_EQ(st.listed, 3);
	CHECK_INT_EQ(st.deleted, 2);
	snprintf(k, sizeof(k), "%s/%s/w100-h0-inside-qd.webp", hash, now);
	CHECK(exists(rb, k));
	snprintf(k, sizeof(k), "%s/old1/w100-h0-inside-qd.webp", hash2);
	CHECK(exists(rb, k));
	/* The original deleted: its last variant goes too. */
	REQUIRE(enl_store_del(&ws.base, cfg.originals_bucket, "dir/k one.jpg", &e) == 0);
	memset(&st, 0, sizeof(st));
	CHECK_INT_EQ(enl_sweep_renders(app, "dir/k one.jpg", &st, &e), 0);
	CHECK_INT_EQ(st.deleted, 1);
}

/* ---- the worker ---- */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_worker(struct enl_app *app)
{
	char id[32], k[64];
	int dropped = 0;
	ws.delay_ms = 100;
	ws.max_listing = 0;
	ws.same_photo_overlap = 0;
	for (int i = 0; i < 3; i++) {
		snprintf(k, sizeof(k), "w%d/v1/thumb.webp", i);
		put(cfg.thumbnails_bucket, k, "x");
	}
	/* Queue depth 4: of ten distinct photos queued at once, the ones past what is
	 * waiting are dropped; the same photo queued again while it waits is merged. */
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "w%d", i);
		if (enl_cleanup_enqueue(app, id, NULL, ENL_CLEANUP_DERIVATIVES) == ENL_EBUSY)
			dropped++;
	}
	CHECK(dropped >= 4 && dropped <= 6);
	fprintf(stderr, "  worker: %d of 10 dropped with a queue of 4 and 2 workers\n", dropped);
	/* One photo queued many times while it is waiting or running: never two at once. */
	for (int i = 0; i < 20; i++) {
		enl_cleanup_enqueue(app, "w0", NULL, ENL_CLEANUP_DERIVATIVES);
		usleep(20000);
	}
	double t0 = now_s();
	enl_app_drain(app, 20000);
	fprintf(stderr, "  worker: drained in %.2f s, at most %d listings at once\n", now_s() - t0,
	        ws.max_listing);
	CHECK(ws.max_listing <= 2);
	CHECK(ws.max_listing >= 1);
	CHECK_INT_EQ(ws.same_photo_overlap, 0);
	CHECK(!exists(cfg.thumbnails_bucket, "w0/v1/thumb.webp"));
	/* After the drain nothing more is taken. */
	CHECK_INT_EQ(enl_cleanup_enqueue(app, "w9", NULL, ENL_CLEANUP_DERIVATIVES), ENL_EBUSY);
	ws.delay_ms = 0;
}

int main(void)
{
	struct enl_errmsg e = {{0}};
	struct enl_table *t = NULL;
	struct enl_app app;
	char path[256];

	snprintf(dir, sizeof(dir), "/tmp/enl-cleanup-%ld", (long)getpid());
	REQUIRE(mkdir(dir, 0755) == 0);
	REQUIRE(enl_config_load(&cfg, env, NULL, &e) == 0);
	memset(&ws, 0, sizeof(ws));
	pthread_mutex_init(&ws.mu, NULL);
	ws.base.ops = &watch_ops;
	ws.base.name = "local";
	REQUIRE(enl_store_local_open(dir, &ws.inner, &e) == 0);
	snprintf(path, sizeof(path), "%s/photos.db", dir);
	REQUIRE(enl_table_sqlite_open(path, "photos", "photoId", &t, &e) == 0);
	REQUIRE(enl_app_init(&app, &cfg, &ws.base, t, &e) == 0);

	test_sweep_derivatives(&app, t);
	test_sweep_renders(&app);
	test_worker(&app);

	enl_app_free(&app);
	enl_table_destroy(t);
	enl_store_destroy(&ws.base);
	pthread_mutex_destroy(&ws.mu);
	int rc = check_done();
	if (!rc) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return rc;
}
