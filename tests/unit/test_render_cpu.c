/* Render misses compute one per core (app->render_cpu), however many jobs the job gate
 * admits: eight concurrent misses over a real local store and SQLite table, with
 * ENLARGER_JOBS two more than the cores. Every render passes the CPU slots, no more than
 * the cores are ever in them at once, and the gate did run more jobs than that. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vips/vips.h>

#include "check.h"
#include "enlarger/config.h"
#include "enlarger/jobgate.h"
#include "enlarger/pipeline.h"
#include "enlarger/service.h"
#include "enlarger/store.h"
#include "enlarger/table.h"

#define RENDERS 8

static char dir[128], jobs[16];
static struct enl_config cfg;
static struct enl_app app;
static volatile int done;
static unsigned max_cpu, max_gate;
static int rcs[RENDERS], hits[RENDERS]; /* each render's, checked on the main thread */

static const char *env(void *ud, const char *name)
{
	(void)ud;
	if (strcmp(name, "ENLARGER_DATA_DIR") == 0)
		return dir;
	if (strcmp(name, "ENLARGER_JOBS") == 0)
		return jobs;
	if (strcmp(name, "ENLARGER_RENDER_WIDTHS") == 0)
		return "400";
	return NULL;
}

static void *sample(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		struct enl_jobgate_stats c, g;
		enl_jobgate_stats(app.render_cpu, &c);
		enl_jobgate_stats(app.gate, &g);
		max_cpu = c.running > max_cpu ? c.running : max_cpu;
		max_gate = g.running > max_gate ? g.running : max_gate;
		usleep(200);
	}
	return NULL;
}

static void *render(void *arg)
{
	int i = (int)(intptr_t)arg;
	char key[32];
	struct enl_render_params p;
	struct enl_render_result r;
	struct enl_errmsg e = {{0}};

	snprintf(key, sizeof(key), "p%d.jpg", i);
	memset(&r, 0, sizeof(r));
	rcs[i] = enl_render_params_parse(&cfg, "w=400&fmt=webp", NULL, &p, &e);
	if (rcs[i] == 0)
		rcs[i] = enl_service_render(&app, key, &p, NULL, &r, &e);
	if (rcs[i])
		fprintf(stderr, "render %s: %s\n", key, e.text);
	hits[i] = r.cache_hit;
	enl_render_result_free(&r);
	return NULL;
}

int main(void)
{
	struct enl_errmsg e = {{0}};
	struct enl_store *store = NULL;
	struct enl_table *t = NULL;
	struct enl_jobgate_stats st;
	pthread_t th[RENDERS], sampler;
	VipsImage *noise = NULL, *img = NULL;
	void *jpg = NULL;
	size_t len = 0;
	char path[256];

	REQUIRE(enl_pipeline_init("test_render_cpu") == 0);
	int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(jobs, sizeof(jobs), "%d", (cores > 0 ? cores : 1) + 2);
	snprintf(dir, sizeof(dir), "/tmp/enl-render-cpu-%ld", (long)getpid());
	REQUIRE(mkdir(dir, 0755) == 0);
	REQUIRE(enl_config_load(&cfg, env, NULL, &e) == 0);
	REQUIRE(enl_store_local_open(dir, &store, &e) == 0);
	snprintf(path, sizeof(path), "%s/photos.db", dir);
	REQUIRE(enl_table_sqlite_open(path, "photos", "photoId", &t, &e) == 0);
	REQUIRE(enl_app_init(&app, &cfg, store, t, &e) == 0);

	/* 3000 x 2000 noise: tens of milliseconds a render, long enough to overlap. */
	REQUIRE(vips_gaussnoise(&noise, 3000, 2000, "mean", 128.0, "sigma", 40.0, NULL) == 0);
	REQUIRE(vips_cast_uchar(noise, &img, NULL) == 0);
	REQUIRE(vips_image_write_to_buffer(img, ".jpg", &jpg, &len, NULL) == 0);
	for (int i = 0; i < RENDERS; i++) {
		snprintf(path, sizeof(path), "p%d.jpg", i);
		REQUIRE(enl_store_put(store, cfg.originals_bucket, path, jpg, len, NULL, &e) == 0);
	}

	REQUIRE(pthread_create(&sampler, NULL, sample, NULL) == 0);
	for (int i = 0; i < RENDERS; i++)
		REQUIRE(pthread_create(&th[i], NULL, render, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < RENDERS; i++)
		pthread_join(th[i], NULL);
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	pthread_join(sampler, NULL);

	for (int i = 0; i < RENDERS; i++) {
		CHECK_INT_EQ(rcs[i], 0);
		CHECK(!hits[i]);
	}
	enl_jobgate_stats(app.render_cpu, &st);
	fprintf(stderr,
	        "  %d cores, ENLARGER_JOBS %s: %llu renders through the CPU slots, at most "
	        "%u computing, at most %u jobs in the gate\n",
	        cores, jobs, (unsigned long long)st.admitted, max_cpu, max_gate);
	CHECK_INT_EQ((int)st.admitted, RENDERS);
	CHECK(max_cpu >= 1 && (int)max_cpu <= cores);
	CHECK((int)max_gate > cores);

	enl_app_free(&app);
	enl_table_destroy(t);
	enl_store_destroy(store);
	g_object_unref(noise);
	g_object_unref(img);
	g_free(jpg);
	int rc = check_done();
	if (!rc) {
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return rc;
}
