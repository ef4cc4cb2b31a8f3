/* Prometheus text-format metrics: request counters and latency histograms per route,
 * render-cache counters, object store calls, byte totals, and gauges read from callbacks
 * at scrape time. */
#include "enlarger/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "enlarger/err.h"

#define MAX_ROUTES 32
#define MAX_CODES 128
#define MAX_GAUGES 16
#define MAX_STORE_BUCKETS 8

/* The operations enlarger_store_operations_total counts, in the order they are shown. */
static const char *const store_ops[] = {"head", "get", "put", "del", "list", "ping"};
#define N_STORE_OPS (sizeof(store_ops) / sizeof(store_ops[0]))

static const double bucket_le[] = {ENL_METRICS_LATENCY_BUCKETS};
#define N_BUCKETS (sizeof(bucket_le) / sizeof(bucket_le[0]))

struct route_stats {
	char name[32];
	uint64_t buckets[N_BUCKETS]; /* non-cumulative here; summed when rendered */
	uint64_t count;
	double sum;
};

struct code_count {
	int route; /* index in routes */
	int status;
	uint64_t n;
};

struct gauge {
	char name[64];
	char help[128];
	enl_metrics_gauge_fn fn;
	void *ctx;
};

/* One lock for everything: a request touches a few counters once, a scrape reads all. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct route_stats routes[MAX_ROUTES];
static int n_routes;
static struct code_count codes[MAX_CODES];
static int n_codes;
static uint64_t bytes_in_total, bytes_out_total, cache_hits, cache_misses;
static uint64_t from_mezzanine, from_original; /* render misses by source */
static struct gauge gauges[MAX_GAUGES];
static int n_gauges;
/* Store calls by bucket label (index n_store_buckets: "other") and operation. */
static struct {
	char bucket[64]; /* the bucket's name */
	char role[32];   /* its label */
} store_buckets[MAX_STORE_BUCKETS];
static int n_store_buckets;
static uint64_t store_calls[MAX_STORE_BUCKETS + 1][N_STORE_OPS];

/* Label values are ours, but escape them anyway as the format asks. */
static void copy_label(char *dst, size_t cap, const char *src)
{
	size_t j = 0;
	for (; src && *src && j + 1 < cap; src++) {
		unsigned char c = (unsigned char)*src;
		dst[j++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '_';
	}
	dst[j] = 0;
}

/* Called with lock held. */
static int route_index(const char *route)
{
	char name[32];
	copy_label(name, sizeof(name), route && *route ? route : "unknown");
	for (int i = 0; i < n_routes; i++)
		if (strcmp(routes[i].name, name) == 0)
			return i;
	if (n_routes == MAX_ROUTES - 1 || strcmp(name, "other") == 0) {
		/* The last slot is "other", so the table never overflows. */
		struct route_stats *o = &routes[MAX_ROUTES - 1];
		if (!o->name[0])
			snprintf(o->name, sizeof(o->name), "other");
		return MAX_ROUTES - 1;
	}
	snprintf(routes[n_routes].name, sizeof(routes[n_routes].name), "%s", name);
	return n_routes++;
}

void enl_metrics_request(const char *route, int status, double seconds, uint64_t bytes_in,
                         uint64_t bytes_out)
{
	if (!(seconds >= 0))
		seconds = 0;
	pthread_mutex_lock(&lock);
	int r = route_index(route);
	struct route_stats *rs = &routes[r];
	size_t b = 0;
	while (b < N_BUCKETS && seconds > bucket_le[b])
		b++;
	if (b < N_BUCKETS)
		rs->buckets[b]++;
	rs->count++;
	rs->sum += seconds;
	int c = 0;
	while (c < n_codes && !(codes[c].route == r && codes[c].status == status))
		c++;
	if (c == n_codes && n_codes < MAX_CODES) {
		codes[c].route = r;
		codes[c].status = status;
		codes[c].n = 0;
		n_codes++;
	}
	if (c < n_codes)
		codes[c].n++;
	bytes_in_total += bytes_in;
	bytes_out_total += bytes_out;
	pthread_mutex_unlock(&lock);
}

void enl_metrics_render_cache(int hit)
{
	pthread_mutex_lock(&lock);
	if (hit)
		cache_hits++;
	else
		cache_misses++;
	pthread_mutex_unlock(&lock);
}

void enl_metrics_render_source(int mezzanine)
{
	pthread_mutex_lock(&lock);
	if (mezzanine)
		from_mezzanine++;
	else
		from_original++;
	pthread_mutex_unlock(&lock);
}

void enl_metrics_store_op(const char *op, const char *bucket)
{
	size_t o = 0;
	while (o < N_STORE_OPS && strcmp(store_ops[o], op ? op : "") != 0)
		o++;
	if (o == N_STORE_OPS)
		return;
	pthread_mutex_lock(&lock);
	int b = 0;
	while (b < n_store_buckets && strcmp(store_buckets[b].bucket, bucket ? bucket : "") != 0)
		b++;
	store_calls[b < n_store_buckets ? b : MAX_STORE_BUCKETS][o]++;
	pthread_mutex_unlock(&lock);
}

int enl_metrics_store_bucket(const char *bucket, const char *role)
{
	int rc = 0;
	pthread_mutex_lock(&lock);
	int b = 0;
	while (b < n_store_buckets && strcmp(store_buckets[b].bucket, bucket) != 0)
		b++;
	if (b == MAX_STORE_BUCKETS) {
		rc = ENL_ETOOBIG;
		goto done;
	}
	if (b == n_store_buckets) {
		snprintf(store_buckets[b].bucket, sizeof(store_buckets[b].bucket), "%s", bucket);
		memset(store_calls[b], 0, sizeof(store_calls[b]));
		n_store_buckets++;
	}
	copy_label(store_buckets[b].role, sizeof(store_buckets[b].role), role);
done:
	pthread_mutex_unlock(&lock);
	return rc;
}

static int valid_name(const char *s)
{
	if (!s || !*s || strlen(s) >= sizeof(gauges[0].name))
		return 0;
	for (const char *p = s; *p; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		         *p == ':' || (p != s && *p >= '0' && *p <= '9');
		if (!ok)
			return 0;
	}
	return 1;
}

int enl_metrics_gauge(const char *name, const char *help, enl_metrics_gauge_fn fn, void *ctx)
{
	if (!valid_name(name))
		return ENL_EINVAL;
	int rc = 0;
	pthread_mutex_lock(&lock);
	int i = 0;
	while (i < n_gauges && strcmp(gauges[i].name, name) != 0)
		i++;
	if (!fn) {
		if (i < n_gauges) {
			memmove(&gauges[i], &gauges[i + 1],
			        (size_t)(n_gauges - i - 1) * sizeof(gauges[0]));
			n_gauges--;
		}
		goto done;
	}
	if (i == n_gauges) {
		if (n_gauges == MAX_GAUGES) {
			rc = ENL_ETOOBIG;
			goto done;
		}
		n_gauges++;
	}
	snprintf(gauges[i].name, sizeof(gauges[i].name), "%s", name);
	/* HELP text may not hold a newline; backslashes are escaped by the format. */
	copy_label(gauges[i].help, sizeof(gauges[i].help), help ? help : name);
	gauges[i].fn = fn;
	gauges[i].ctx = ctx;
done:
	pthread_mutex_unlock(&lock);
	return rc;
}

static int appendf(struct enl_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int appendf(struct enl_buf *out, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return ENL_EINTERNAL;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1; /* cannot happen with our bounded names */
	return enl_buf_append(out, line, (size_t)n);
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		if ((rc = (x)) != 0)                                                               \
			goto done;                                                                 \
	} while (0)

int enl_metrics_render(struct enl_buf *out)
{
	int rc = 0;
	pthread_mutex_lock(&lock);

	TRY(appendf(out, "# HELP enlarger_http_requests_total HTTP requests by route and "
	                 "status code.\n# TYPE enlarger_http_requests_total counter\n"));
	for (int c = 0; c < n_codes; c++)
		TRY(appendf(out, "enlarger_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
		            routes[codes[c].route].name, codes[c].status,
		            (unsigned long long)codes[c].n));

	TRY(appendf(out, "# HELP enlarger_http_request_duration_seconds Time from a request's "
	                 "headers to the end of its response, by route.\n"
	                 "# TYPE enlarger_http_request_duration_seconds histogram\n"));
	for (int r = 0; r < MAX_ROUTES; r++) {
		const struct route_stats *rs = &routes[r];
		if (!rs->name[0] || !rs->count)
			continue;
		uint64_t cum = 0;
		for (size_t b = 0; b < N_BUCKETS; b++) {
			cum += rs->buckets[b];
			TRY(appendf(out,
			            "enlarger_http_request_duration_seconds_bucket{route=\"%s\","
			            "le=\"%g\"} %llu\n",
			            rs->name, bucket_le[b], (unsigned long long)cum));
		}
		TRY(appendf(
		    out,
		    "enlarger_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
		    "%llu\n",
		    rs->name, (unsigned long long)rs->count));
		TRY(appendf(out, "enlarger_http_request_duration_seconds_sum{route=\"%s\"} %.9g\n",
		            rs->name, rs->sum));
		TRY(appendf(out,
		            "enlarger_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		            rs->name, (unsigned long long)rs->count));
	}

	TRY(appendf(out,
	            "# HELP enlarger_http_request_bytes_total Request body bytes received.\n"
	            "# TYPE enlarger_http_request_bytes_total counter\n"
	            "enlarger_http_request_bytes_total %llu\n"
	            "# HELP enlarger_http_response_bytes_total Response body bytes sent.\n"
	            "# TYPE enlarger_http_response_bytes_total counter\n"
	            "enlarger_http_response_bytes_total %llu\n",
	            (unsigned long long)bytes_in_total, (unsigned long long)bytes_out_total));
	TRY(appendf(out,
	            "# HELP enlarger_render_cache_hits_total Renders served from the cache.\n"
	            "# TYPE enlarger_render_cache_hits_total counter\n"
	            "enlarger_render_cache_hits_total %llu\n"
	            "# HELP enlarger_render_cache_misses_total Renders computed on a miss.\n"
	            "# TYPE enlarger_render_cache_misses_total counter\n"
	            "enlarger_render_cache_misses_total %llu\n",
	            (unsigned long long)cache_hits, (unsigned long long)cache_misses));
	TRY(appendf(out,
	            "# HELP enlarger_render_source_total Render misses by the source decoded: the "
	            "version's mezzanine or the original.\n"
	            "# TYPE enlarger_render_source_total counter\n"
	            "enlarger_render_source_total{source=\"mezzanine\"} %llu\n"
	            "enlarger_render_source_total{source=\"original\"} %llu\n",
	            (unsigned long long)from_mezzanine, (unsigned long long)from_original));

	TRY(appendf(out, "# HELP enlarger_store_operations_total Object store calls by operation "
	                 "and bucket role.\n# TYPE enlarger_store_operations_total counter\n"));
	for (int b = 0; b <= n_store_buckets; b++) {
		int row = b < n_store_buckets ? b : MAX_STORE_BUCKETS;
		const char *role = b < n_store_buckets ? store_buckets[b].role : "other";
		for (size_t o = 0; o < N_STORE_OPS; o++)
			TRY(appendf(
			    out, "enlarger_store_operations_total{op=\"%s\",bucket=\"%s\"} %llu\n",
			    store_ops[o], role, (unsigned long long)store_calls[row][o]));
	}

	for (int g = 0; g < n_gauges; g++) {
		double v = gauges[g].fn(gauges[g].ctx);
		char text[40];
		if (isnan(v))
			snprintf(text, sizeof(text), "NaN");
		else if (isinf(v))
			snprintf(text, sizeof(text), v > 0 ? "+Inf" : "-Inf");
		else
			snprintf(text, sizeof(text), "%.17g", v);
		TRY(appendf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", gauges[g].name,
		            gauges[g].help, gauges[g].name, gauges[g].name, text));
	}
done:
	pthread_mutex_unlock(&lock);
	return rc;
}

void enl_metrics_reset(void)
{
	pthread_mutex_lock(&lock);
	memset(routes, 0, sizeof(routes));
	n_routes = 0;
	n_codes = 0;
	bytes_in_total = bytes_out_total = cache_hits = cache_misses = 0;
	from_mezzanine = from_original = 0;
	n_gauges = 0;
	n_store_buckets = 0;
	memset(store_calls, 0, sizeof(store_calls));
	pthread_mutex_unlock(&lock);
}
