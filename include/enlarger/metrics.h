/* Process-wide metrics in the Prometheus text format (version 0.0.4), for GET /metrics.
 * Thread-safe. Knows nothing of libvips or HTTP libraries: values that live elsewhere
 * (jobs running, queue depth, libvips memory) come in through gauge callbacks. */
#ifndef ENLARGER_METRICS_H
#define ENLARGER_METRICS_H

#include <stdint.h>

#include "enlarger/buf.h"

#define ENL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Names of the gauges the service and the server register (see enl_metrics_gauge). */
#define ENL_METRIC_JOBS_RUNNING "enlarger_jobs_running"
#define ENL_METRIC_JOBS_QUEUED "enlarger_jobs_queued"
#define ENL_METRIC_JOBS_MEMORY "enlarger_jobs_memory_bytes"
#define ENL_METRIC_VIPS_MEMORY "enlarger_vips_memory_bytes"
#define ENL_METRIC_RESPONSE_MEMORY "enlarger_response_memory_bytes"

/* Upper bounds (seconds) of the latency histogram buckets, +Inf implied. */
#define ENL_METRICS_LATENCY_BUCKETS                                                                \
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0

/* One finished request: counts it under {route, code}, adds its duration to the route's
 * histogram, and its bytes to the totals. route is a short fixed name ("render"); past
 * 32 distinct routes the rest are counted as "other". */
void enl_metrics_request(const char *route, int status, double seconds, uint64_t bytes_in,
                         uint64_t bytes_out);

/* One render-cache lookup (hit != 0 for a hit). */
void enl_metrics_render_cache(int hit);
/* One render miss rendered from the version's mezzanine (mezzanine != 0) or from the
 * original: enlarger_render_source_total{source}. */
void enl_metrics_render_source(int mezzanine);

/* One object store call (src/store/store.c counts every call, whatever its outcome; a
 * retry inside the S3 client is not another call): op is "head", "get", "put", "del",
 * "list" or "ping" (others are not counted), under enlarger_store_operations_total{op,
 * bucket}. The bucket label is the role enl_metrics_store_bucket gave the bucket's name,
 * else "other": the label set stays small and the same across deployments whatever the
 * buckets are called. */
void enl_metrics_store_op(const char *op, const char *bucket);
/* Labels bucket (a name) with role ("originals", "renders", ...) from now on; naming a
 * bucket again replaces its role. 0, or ENL_ETOOBIG past 8 buckets. */
int enl_metrics_store_bucket(const char *bucket, const char *role);

/* A gauge whose value is read at scrape time. Registering a name again replaces it;
 * fn == NULL removes it (do so before ctx goes away). fn runs under the metrics lock:
 * it must be quick and must not call enl_metrics_*. 0, or ENL_ETOOBIG when 16 gauges
 * are registered, or ENL_EINVAL for a name that is not [a-zA-Z_:][a-zA-Z0-9_:]*. */
typedef double (*enl_metrics_gauge_fn)(void *ctx);
int enl_metrics_gauge(const char *name, const char *help, enl_metrics_gauge_fn fn, void *ctx);

/* Appends the whole exposition to out (which keeps its own cap). 0 or ENL_ENOMEM /
 * ENL_ETOOBIG from the buffer. */
int enl_metrics_render(struct enl_buf *out);

/* Forgets every counter and gauge (tests). */
void enl_metrics_reset(void);

#endif
