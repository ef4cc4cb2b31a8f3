/* BlurHash against the npm reference encoder (tests/unit/blurhash_oracle.js) on the same
 * pixels: synthetic ones, and the thumbnail pixels enl_pipeline_process used. Also the
 * dominant colour. */
#include "pipeline_support.h"

#include "core_internal.h"

static struct enl_pipeline_opts opts;
static char oracle_script[700];
static int have_node;

/* Writes px (channels 3 or 4) as RGBA and asks node. Returns a malloc'd hash or NULL. */
static char *oracle_hash(const unsigned char *px, int w, int h, int channels, int cx, int cy)
{
	size_t n = (size_t)w * h, i;
	unsigned char *rgba = malloc(n * 4);
	const char *f = tpath("px.rgba");
	char *out;
	REQUIRE(rgba != NULL);
	for (i = 0; i < n; i++) {
		memcpy(rgba + 4 * i, px + channels * i, 3);
		rgba[4 * i + 3] = channels == 4 ? px[channels * i + 3] : 255;
	}
	REQUIRE(write_file(f, rgba, n * 4) == 0);
	free(rgba);
	out = run_capture("node '%s' '%s' %d %d %d %d", oracle_script, f, w, h, cx, cy);
	if (out)
		out[strcspn(out, "\n")] = 0;
	return out;
}

static void compare(const unsigned char *px, int w, int h, int channels, int cx, int cy,
                    const char *what)
{
	char mine[200];
	char *ref;
	REQUIRE(enl_placeholder_blurhash(px, w, h, channels, cx, cy, mine, sizeof(mine)) == 0);
	CHECK_INT_EQ(strlen(mine), 4 + 2 * cx * cy);
	ref = oracle_hash(px, w, h, channels, cx, cy);
	REQUIRE(ref != NULL);
	if (strcmp(mine, ref) != 0)
		fprintf(stderr, "%s: mine %s, reference %s\n", what, mine, ref);
	CHECK_STR_EQ(mine, ref);
	free(ref);
}

static void test_synthetic(void)
{
	static const int dims[][4] = {{32, 32, 4, 3}, {200, 200, 4, 3}, {17, 5, 1, 1},
	                              {64, 48, 9, 9}, {50, 80, 5, 2},   {1, 1, 4, 3}};
	unsigned seed = 12345;
	size_t k;
	for (k = 0; k < sizeof(dims) / sizeof(dims[0]); k++) {
		int w = dims[k][0], h = dims[k][1], x, y, c;
		unsigned char *px = malloc((size_t)w * h * 3);
		char what[64];
		REQUIRE(px != NULL);
		/* gradient + noise, so every component carries something */
		for (y = 0; y < h; y++)
			for (x = 0; x < w; x++)
				for (c = 0; c < 3; c++) {
					seed = seed * 1103515245u + 12345u;
					int v = (x * 255 / (w > 1 ? w - 1 : 1)) * (c == 0) +
					        (y * 255 / (h > 1 ? h - 1 : 1)) * (c == 1) +
					        (int)((seed >> 16) % 64) * (c == 2);
					px[((size_t)y * w + x) * 3 + c] =
					    (unsigned char)(v > 255 ? 255 : v);
				}
		snprintf(what, sizeof(what), "synthetic %dx%d %dx%d", w, h, dims[k][2], dims[k][3]);
		compare(px, w, h, 3, dims[k][2], dims[k][3], what);
		free(px);
	}
	{
		/* flat colour: every AC component is zero */
		unsigned char px[4 * 4 * 3];
		memset(px, 77, sizeof(px));
		compare(px, 4, 4, 3, 4, 3, "flat");
	}
}

struct seen {
	unsigned char *px;
	int w, h;
};

static void observe(const unsigned char *rgb, int w, int h, void *ud)
{
	struct seen *s = ud;
	free(s->px);
	s->px = malloc((size_t)w * h * 3);
	REQUIRE(s->px != NULL);
	memcpy(s->px, rgb, (size_t)w * h * 3);
	s->w = w;
	s->h = h;
}

/* The hash in the result is the reference's hash of the thumbnail pixels. */
static void check_process(const void *data, size_t len, const char *what)
{
	struct seen s = {NULL, 0, 0};
	struct enl_pipeline_result r;
	struct enl_errmsg e = {{0}};
	char *ref;
	enl_pipeline_set_thumb_observer(observe, &s);
	REQUIRE(enl_pipeline_process(data, len, &opts, NULL, &r, &e) == 0);
	enl_pipeline_set_thumb_observer(NULL, NULL);
	REQUIRE(s.px != NULL);
	CHECK_INT_EQ(s.w, opts.thumb_size);
	CHECK_INT_EQ(s.h, opts.thumb_size);
	ref = oracle_hash(s.px, s.w, s.h, 3, 4, 3);
	REQUIRE(ref != NULL);
	fprintf(stderr, "%s: blurhash %s dominant %s\n", what, r.blurhash, r.dominant_color);
	CHECK_STR_EQ(r.blurhash, ref);
	free(ref);
	free(s.px);
	enl_pipeline_result_free(&r);
}

static void test_process(void)
{
	VipsImage *noise = NULL, *u = NULL, *big = NULL;
	void *buf = NULL;
	size_t len = 0;
	REQUIRE(vips_gaussnoise(&noise, 900, 600, "mean", 120.0, "sigma", 50.0, NULL) == 0);
	REQUIRE(vips_bandjoin_const(noise, &big, (double[]){0, 0}, 2, NULL) == 0);
	REQUIRE(vips_cast_uchar(big, &u, NULL) == 0);
	u->Type = VIPS_INTERPRETATION_sRGB;
	REQUIRE(vips_jpegsave_buffer(u, &buf, &len, NULL) == 0);
	check_process(buf, len, "noise jpeg");
	g_free(buf);
	REQUIRE(vips_pngsave_buffer(u, &buf, &len, NULL) == 0);
	check_process(buf, len, "noise png");
	g_free(buf);
	g_object_unref(u);
	g_object_unref(big);
	g_object_unref(noise);

	/* shared camera photos, when present */
	{
		const char *dir = getenv("ENL_SHARED_TESTDATA");
		static const char *files[] = {
		    "corpus/small-1200x800.jpg", "corpus/phone-12mp-orient6.jpg",
		    "corpus/cutout-rgba-3000x2000.png", "photos/ianare-heic-IMG_5195.HEIC"};
		size_t i;
		for (i = 0; dir && i < sizeof(files) / sizeof(files[0]); i++) {
			char path[1024];
			unsigned char *d;
			size_t n;
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			d = read_file(path, &n);
			if (!d) {
				fprintf(stderr, "SKIP %s: shared test data not present\n",
				        files[i]);
				continue;
			}
			check_process(d, n, files[i]);
			free(d);
		}
	}
}

/* 70% blue, 30% red with some noise: blue dominates; the mean of its cell is reported. */
static void test_dominant(void)
{
	int w = 100, h = 100, x, y;
	unsigned char *px = malloc((size_t)w * h * 3);
	char out[8];
	REQUIRE(px != NULL);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			unsigned char *p = px + ((size_t)y * w + x) * 3;
			if (x < 70) {
				p[0] = 20 + (x & 1);
				p[1] = 40;
				p[2] = 200 + (y & 3);
			} else {
				p[0] = 230;
				p[1] = 10;
				p[2] = 10;
			}
		}
	enl_placeholder_dominant(px, w, h, 3, out);
	CHECK_STR_EQ(out, "#1528ca"); /* mean of 20/21, 40, 200..203 */
	free(px);
}

int main(int argc, char **argv)
{
	const char *src = getenv("ENL_SOURCE_DIR");
	(void)argc;
	REQUIRE(enl_pipeline_init(argv[0]) == 0);
	enl_pipeline_opts_default(&opts);
	tmp_setup();
	snprintf(oracle_script, sizeof(oracle_script), "%s/tests/unit/blurhash_oracle.js",
	         src ? src : "..");
	have_node = have_tool("node") && access(oracle_script, R_OK) == 0;
	test_dominant();
	if (!have_node) {
		fprintf(stderr, "SKIP BlurHash oracle: node or %s missing\n", oracle_script);
	} else {
		test_synthetic();
		test_process();
	}
	tmp_cleanup();
	enl_pipeline_shutdown();
	if (!have_node)
		return check_failures ? 1 : 77;
	return check_done();
}
