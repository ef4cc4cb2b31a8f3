/* The application object the doors share: configuration, backends, job gate. */
#include "enlarger/service.h"

#include <string.h>
#include <unistd.h>

#include "enlarger/jobgate.h"
#include "enlarger/metrics.h"
#include "cleanup.h"
#include "flight.h"
#include "source.h"

void enl_app_pipeline_opts(struct enl_pipeline_opts *out, const struct enl_config *cfg)
{
	enl_pipeline_opts_default(out);
	out->max_input_pixels = cfg->max_input_pixels;
	out->max_input_bytes = cfg->max_input_bytes;
	out->thumb_size = cfg->thumb_size;
	out->optimized_width = cfg->optimized_width;
	out->optimized_height = cfg->optimized_height;
	out->webp_quality = cfg->webp_quality;
	out->jpeg_quality = cfg->jpeg_quality;
	out->keep_copyright = cfg->keep_copyright;
	out->mezzanine = cfg->mezzanine;
}

int enl_app_init(struct enl_app *app, const struct enl_config *cfg, struct enl_store *store,
                 struct enl_table *table, struct enl_errmsg *e)
{
	struct enl_jobgate_opts go = {0};
	int rc;

	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	app->store = store;
	app->table = table;
	app->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (app->cores < 1)
		app->cores = 1;

	enl_app_pipeline_opts(&app->popts, cfg);

	go.jobs = cfg->jobs;
	go.queue_depth = cfg->queue_depth;
	go.memory_budget = (size_t)cfg->memory_budget_mb << 20;
	if ((rc = enl_jobgate_new(&go, &app->gate)))
		goto fail;
	go = (struct enl_jobgate_opts){.jobs = (unsigned)app->cores, .queue_depth = cfg->jobs};
	if ((rc = enl_jobgate_new(&go, &app->render_cpu)))
		goto fail;
	if ((rc = enl_flights_new((size_t)cfg->response_memory_mb << 20, &app->flights)))
		goto fail;
	if ((rc = enl_sources_new(&app->sources)))
		goto fail;
	if ((rc = enl_cleanup_new(&app->cleanup, cfg->cleanup_jobs, cfg->cleanup_queue_depth)))
		goto fail;
	return 0;
fail:
	enl_app_free(app);
	return enl_fail(e, rc, "cannot set up the job gate");
}

static double runs_gauge(void *ctx)
{
	const uint64_t *n = ctx;
	return (double)__atomic_load_n(n, __ATOMIC_RELAXED);
}

static double kept_memory_gauge(void *ctx)
{
	return (double)enl_flights_memory(ctx);
}

static double vips_memory_gauge(void *ctx)
{
	(void)ctx;
	return (double)enl_pipeline_memory_bytes();
}

static double vips_memory_peak_gauge(void *ctx)
{
	(void)ctx;
	return (double)enl_pipeline_memory_peak_bytes();
}

void enl_app_register_metrics(struct enl_app *app)
{
	/* Store calls are counted by role; registered last wins where two roles share a
	 * bucket. */
	enl_metrics_store_bucket(app->cfg->originals_bucket, "originals");
	enl_metrics_store_bucket(app->cfg->thumbnails_bucket, "thumbnails");
	enl_metrics_store_bucket(app->cfg->optimized_bucket, "optimized");
	enl_metrics_store_bucket(app->cfg->render_bucket, "renders");
	enl_metrics_gauge(ENL_METRIC_VIPS_MEMORY,
	                  "Bytes libvips holds now (pixel buffers of the images being worked on)",
	                  vips_memory_gauge, NULL);
	enl_metrics_gauge("enlarger_vips_memory_peak_bytes",
	                  "The most bytes libvips has held at once since start",
	                  vips_memory_peak_gauge, NULL);
	enl_jobgate_export_metrics(app->gate);
	enl_metrics_gauge("enlarger_process_pipeline_runs",
	                  "Photos decoded and processed by POST /process, the CLI or the watcher",
	                  runs_gauge, &app->process_runs);
	enl_metrics_gauge("enlarger_render_pipeline_runs", "Variants rendered on a cache miss",
	                  runs_gauge, &app->render_runs);
	enl_metrics_gauge(ENL_METRIC_RESPONSE_MEMORY,
	                  "Bytes of /render answers held in memory while they are sent (each "
	                  "variant once, however many requests send it)",
	                  kept_memory_gauge, app->flights);
	enl_cleanup_register_metrics(app->cleanup);
}

void enl_app_drain(struct enl_app *app, int deadline_ms)
{
	enl_cleanup_stop(app->cleanup, deadline_ms);
}

int enl_app_settle(struct enl_app *app, int deadline_ms)
{
	return enl_cleanup_settle(app->cleanup, deadline_ms);
}

void enl_app_free(struct enl_app *app)
{
	if (!app)
		return;
	enl_metrics_gauge("enlarger_process_pipeline_runs", NULL, NULL, NULL);
	enl_metrics_gauge("enlarger_render_pipeline_runs", NULL, NULL, NULL);
	enl_metrics_gauge(ENL_METRIC_RESPONSE_MEMORY, NULL, NULL, NULL);
	if (app->cleanup)
		enl_cleanup_register_metrics(NULL);
	enl_cleanup_free(app->cleanup); /* first: its workers use the rest */
	enl_jobgate_free(app->gate);
	enl_jobgate_free(app->render_cpu);
	enl_flights_free(app->flights);
	enl_sources_free(app->sources);
	app->cleanup = NULL;
	app->gate = NULL;
	app->render_cpu = NULL;
	app->flights = NULL;
	app->sources = NULL;
}
