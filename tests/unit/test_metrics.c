/* The metrics exposition, parsed back with an independent reader of the Prometheus text
 * format: every sample belongs to a declared family, histograms are cumulative and end
 * with +Inf == _count, and the numbers are what was recorded. */
#include "check.h"

#include <pthread.h>

#include "enlarger/err.h"
#include "enlarger/metrics.h"

#define MAX_SAMPLES 512

struct sample {
	char name[96];
	char labels[160];
	double value;
};

struct parsed {
	struct sample s[MAX_SAMPLES];
	int n;
	char types[32][512]; /* "name type" */
	int n_types;
	int bad_lines;
};

/* A strict reader of the subset of the format we emit. */
static void parse(const char *text, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	const char *line = text;
	while (*line) {
		const char *eol = strchr(line, '\n');
		if (!eol) {
			p->bad_lines++; /* the format wants a final newline */
			break;
		}
		char buf[512];
		size_t len = (size_t)(eol - line);
		if (len >= sizeof(buf)) {
			p->bad_lines++;
			line = eol + 1;
			continue;
		}
		memcpy(buf, line, len);
		buf[len] = 0;
		line = eol + 1;
		if (strncmp(buf, "# HELP ", 7) == 0)
			continue;
		if (strncmp(buf, "# TYPE ", 7) == 0) {
			if (p->n_types < 32)
				snprintf(p->types[p->n_types++], sizeof(p->types[0]), "%s",
				         buf + 7);
			continue;
		}
		if (buf[0] == '#' || p->n == MAX_SAMPLES) {
			p->bad_lines++;
			continue;
		}
		struct sample *s = &p->s[p->n];
		size_t nl = strcspn(buf, "{ ");
		if (nl == 0 || nl >= sizeof(s->name)) {
			p->bad_lines++;
			continue;
		}
		memcpy(s->name, buf, nl);
		s->name[nl] = 0;
		const char *rest = buf + nl;
		if (*rest == '{') {
			const char *close = strchr(rest, '}');
			if (!close || (size_t)(close - rest - 1) >= sizeof(s->labels)) {
				p->bad_lines++;
				continue;
			}
			memcpy(s->labels, rest + 1, (size_t)(close - rest - 1));
			s->labels[close - rest - 1] = 0;
			rest = close + 1;
		}
		if (*rest != ' ') {
			p->bad_lines++;
			continue;
		}
		char *end = NULL;
		s->value = strtod(rest + 1, &end);
		if (!end || *end != 0 || end == rest + 1) {
			p->bad_lines++;
			continue;
		}
		p->n++;
	}
}

static const char *type_of(const struct parsed *p, const char *family)
{
	size_t n = strlen(family);
	for (int i = 0; i < p->n_types; i++)
		if (strncmp(p->types[i], family, n) == 0 && p->types[i][n] == ' ')
			return p->types[i] + n + 1;
	return NULL;
}

static double value(const struct parsed *p, const char *name, const char *labels)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->s[i].name, name) == 0 && strcmp(p->s[i].labels, labels) == 0)
			return p->s[i].value;
	return -1;
}

static double vips_mem(void *ctx)
{
	return *(double *)ctx;
}

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5000; i++) {
		enl_metrics_request("process", 200, 0.001, 10, 20);
		enl_metrics_render_cache(i & 1);
	}
	return NULL;
}

static struct parsed p;

int main(void)
{
	enl_metrics_reset();
	enl_metrics_request("render", 200, 0.003, 0, 1000);  /* le 0.005 */
	enl_metrics_request("render", 200, 0.2, 0, 2000);    /* le 0.25 */
	enl_metrics_request("render", 304, 0.004, 0, 0);     /* le 0.005 */
	enl_metrics_request("render", 404, 100.0, 0, 50);    /* only +Inf */
	enl_metrics_request("process", 200, 1.0, 500, 100);  /* le 1 (bounds are inclusive) */
	enl_metrics_request("process", 422, 0.05, 700, 200); /* le 0.05 */
	enl_metrics_request("we\"ird\nname", 200, 0.01, 0, 0);
	enl_metrics_render_cache(1);
	enl_metrics_render_cache(1);
	enl_metrics_render_cache(0);
	double mem = 123456789.0;
	CHECK_INT_EQ(
	    enl_metrics_gauge("enlarger_vips_memory_bytes", "libvips memory.", vips_mem, &mem), 0);
	CHECK_INT_EQ(enl_metrics_gauge("bad name", "x", vips_mem, &mem), ENL_EINVAL);
	CHECK_INT_EQ(enl_metrics_gauge("9starts_with_digit", "x", vips_mem, &mem), ENL_EINVAL);

	struct enl_buf b;
	enl_buf_init(&b, 1 << 20);
	REQUIRE(enl_metrics_render(&b) == 0);
	parse((const char *)b.data, &p);
	CHECK_INT_EQ(p.bad_lines, 0);
	/* For tests/unit/metrics_oracle.py, which reads it with prometheus_client. */
	const char *dump = getenv("ENL_METRICS_DUMP");
	if (dump) {
		FILE *f = fopen(dump, "wb");
		REQUIRE(f);
		fwrite(b.data, 1, b.len, f);
		fclose(f);
	}

	CHECK_STR_EQ(type_of(&p, "enlarger_http_requests_total"), "counter");
	CHECK_STR_EQ(type_of(&p, "enlarger_http_request_duration_seconds"), "histogram");
	CHECK_STR_EQ(type_of(&p, "enlarger_render_cache_hits_total"), "counter");
	CHECK_STR_EQ(type_of(&p, "enlarger_vips_memory_bytes"), "gauge");

	CHECK_NEAR(value(&p, "enlarger_http_requests_total", "route=\"render\",code=\"200\""), 2,
	           0);
	CHECK_NEAR(value(&p, "enlarger_http_requests_total", "route=\"render\",code=\"304\""), 1,
	           0);
	CHECK_NEAR(value(&p, "enlarger_http_requests_total", "route=\"render\",code=\"404\""), 1,
	           0);
	CHECK_NEAR(value(&p, "enlarger_http_requests_total", "route=\"process\",code=\"422\""), 1,
	           0);
	/* A label value is never able to break the line. */
	CHECK_NEAR(value(&p, "enlarger_http_requests_total", "route=\"we_ird_name\",code=\"200\""),
	           1, 0);

	const char *h = "enlarger_http_request_duration_seconds_bucket";
	CHECK_NEAR(value(&p, h, "route=\"render\",le=\"0.005\""), 2, 0);
	CHECK_NEAR(value(&p, h, "route=\"render\",le=\"0.1\""), 2, 0);
	CHECK_NEAR(value(&p, h, "route=\"render\",le=\"0.25\""), 3, 0);
	CHECK_NEAR(value(&p, h, "route=\"render\",le=\"30\""), 3, 0);
	CHECK_NEAR(value(&p, h, "route=\"render\",le=\"+Inf\""), 4, 0);
	CHECK_NEAR(value(&p, h, "route=\"process\",le=\"0.025\""), 0, 0);
	CHECK_NEAR(value(&p, h, "route=\"process\",le=\"0.05\""), 1, 0);
	CHECK_NEAR(value(&p, h, "route=\"process\",le=\"1\""), 2, 0);
	CHECK_NEAR(value(&p, "enlarger_http_request_duration_seconds_count", "route=\"render\""), 4,
	           0);
	CHECK_NEAR(value(&p, "enlarger_http_request_duration_seconds_sum", "route=\"render\""),
	           100.207, 1e-9);
	/* Buckets are cumulative, in order, and +Inf equals _count, for every route. */
	for (int i = 0; i < p.n; i++) {
		if (strcmp(p.s[i].name, h) != 0 || !strstr(p.s[i].labels, "le=\"+Inf\""))
			continue;
		CHECK(i > 0 && p.s[i - 1].value <= p.s[i].value);
		char route[64];
		size_t rl = strcspn(p.s[i].labels, ",");
		snprintf(route, sizeof(route), "%.*s", (int)rl, p.s[i].labels);
		CHECK_NEAR(p.s[i].value,
		           value(&p, "enlarger_http_request_duration_seconds_count", route), 0);
	}
	for (int i = 1; i < p.n; i++)
		if (strcmp(p.s[i].name, h) == 0 && strcmp(p.s[i - 1].name, h) == 0 &&
		    strncmp(p.s[i].labels, p.s[i - 1].labels, strcspn(p.s[i].labels, ",")) == 0)
			CHECK(p.s[i - 1].value <= p.s[i].value);

	CHECK_NEAR(value(&p, "enlarger_http_request_bytes_total", ""), 1200, 0);
	CHECK_NEAR(value(&p, "enlarger_http_response_bytes_total", ""), 3350, 0);
	CHECK_NEAR(value(&p, "enlarger_render_cache_hits_total", ""), 2, 0);
	CHECK_NEAR(value(&p, "enlarger_render_cache_misses_total", ""), 1, 0);
	CHECK_NEAR(value(&p, "enlarger_vips_memory_bytes", ""), 123456789.0, 0);
	enl_buf_free(&b);

	/* The gauge is read at scrape time; removing it removes the family. */
	mem = 42;
	enl_buf_init(&b, 1 << 20);
	REQUIRE(enl_metrics_render(&b) == 0);
	parse((const char *)b.data, &p);
	CHECK_NEAR(value(&p, "enlarger_vips_memory_bytes", ""), 42, 0);
	enl_buf_free(&b);
	CHECK_INT_EQ(enl_metrics_gauge("enlarger_vips_memory_bytes", NULL, NULL, NULL), 0);
	enl_buf_init(&b, 1 << 20);
	REQUIRE(enl_metrics_render(&b) == 0);
	CHECK(strstr((char *)b.data, "vips") == NULL);
	enl_buf_free(&b);

	/* Store calls: by role for the named buckets, "other" for the rest; an unknown
	 * operation is not counted; every pair is shown from the start (at 0). */
	CHECK_INT_EQ(enl_metrics_store_bucket("acme-originals", "originals"), 0);
	CHECK_INT_EQ(enl_metrics_store_bucket("acme-renders", "renders"), 0);
	enl_metrics_store_op("head", "acme-originals");
	enl_metrics_store_op("get", "acme-originals");
	enl_metrics_store_op("get", "acme-renders");
	enl_metrics_store_op("get", "acme-renders");
	enl_metrics_store_op("put", "somewhere-else");
	enl_metrics_store_op("copy", "acme-renders");
	CHECK_INT_EQ(enl_metrics_store_bucket("acme-renders", "renders"), 0); /* keeps counts */
	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "b%d", i);
		CHECK_INT_EQ(enl_metrics_store_bucket(name, "x"), 0);
	}
	CHECK_INT_EQ(enl_metrics_store_bucket("one-too-many", "x"), ENL_ETOOBIG);
	enl_buf_init(&b, 1 << 20);
	REQUIRE(enl_metrics_render(&b) == 0);
	parse((const char *)b.data, &p);
	CHECK_INT_EQ(p.bad_lines, 0);
	CHECK_STR_EQ(type_of(&p, "enlarger_store_operations_total"), "counter");
	const char *so = "enlarger_store_operations_total";
	CHECK_NEAR(value(&p, so, "op=\"head\",bucket=\"originals\""), 1, 0);
	CHECK_NEAR(value(&p, so, "op=\"get\",bucket=\"originals\""), 1, 0);
	CHECK_NEAR(value(&p, so, "op=\"get\",bucket=\"renders\""), 2, 0);
	CHECK_NEAR(value(&p, so, "op=\"list\",bucket=\"renders\""), 0, 0);
	CHECK_NEAR(value(&p, so, "op=\"put\",bucket=\"other\""), 1, 0);
	CHECK_NEAR(value(&p, so, "op=\"ping\",bucket=\"other\""), 0, 0);
	int store_samples = 0;
	for (int i = 0; i < p.n; i++)
		store_samples += strcmp(p.s[i].name, so) == 0;
	CHECK_INT_EQ(store_samples, 6 * 9); /* 6 operations x (8 buckets + other) */
	enl_buf_free(&b);

	/* A capped buffer: the render fails cleanly rather than truncating silently. */
	enl_buf_init(&b, 64);
	CHECK_INT_EQ(enl_metrics_render(&b), ENL_ETOOBIG);
	enl_buf_free(&b);

	/* Threads: no count is lost. */
	enl_metrics_reset();
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	enl_buf_init(&b, 1 << 20);
	REQUIRE(enl_metrics_render(&b) == 0);
	parse((const char *)b.data, &p);
	CHECK_NEAR(value(&p, "enlarger_http_requests_total", "route=\"process\",code=\"200\""),
	           20000, 0);
	CHECK_NEAR(value(&p, "enlarger_http_request_bytes_total", ""), 200000, 0);
	CHECK_NEAR(value(&p, "enlarger_render_cache_hits_total", ""), 10000, 0);
	CHECK_NEAR(value(&p, "enlarger_render_cache_misses_total", ""), 10000, 0);
	enl_buf_free(&b);
	return check_done();
}
