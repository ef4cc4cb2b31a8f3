/* A render from the mezzanine comes out as the render of the original does
 * (src/core/decode_plan.c): on a fractal surface (a camera photo's falling spectrum, fixed
 * seed), each lossless render from the mezzanine is within a level of the original's on
 * average, and nearer to it than the same mezzanine rendered as if it were an original
 * (nothing matched: decoded at full size without the blur, or by DCT scaling).
 * bench/mezzanine_quality.py holds the same to real photos, with SSIM and bytes. */
#include "pipeline_support.h"

/* A w x h fractal surface as a 3-band sRGB JPEG, as vips_fractsurf makes it, seeded.
 * g_free(). */
static void *fractal_jpeg(int w, int h, size_t *len)
{
	VipsImage *img = fractal_image(w, h, 7);
	void *buf = NULL;
	REQUIRE(vips_jpegsave_buffer(img, &buf, len, "Q", 90, NULL) == 0);
	g_object_unref(img);
	return buf;
}

/* The mean absolute difference of two same-sized PNG renders, in levels. */
static double renders_diff(const struct enl_output *a, const struct enl_output *b)
{
	VipsImage *ia = vips_image_new_from_buffer(a->bytes.data, a->bytes.len, "", NULL);
	VipsImage *ib = vips_image_new_from_buffer(b->bytes.data, b->bytes.len, "", NULL);
	double m;
	REQUIRE(ia && ib);
	m = mean_abs_diff(ia, ib);
	g_object_unref(ib);
	g_object_unref(ia);
	return m;
}

int main(void)
{
	/* A 6 MP original; widths that read the mezzanine, where the original's render
	 * shrinks on load by 8, 4, 4 and 2. */
	const int W = 3000, H = 2000, widths[] = {200, 430, 600, 800};
	struct enl_pipeline_opts o;
	struct enl_pipeline_result res;
	struct enl_errmsg e = {{0}};
	size_t len;
	void *jpg;

	REQUIRE(enl_pipeline_init("test_mezzanine_sharpness") == 0);
	jpg = fractal_jpeg(W, H, &len);
	enl_pipeline_opts_default(&o);
	o.mezzanine = 1;
	REQUIRE(enl_pipeline_process(jpg, len, &o, NULL, &res, &e) == 0);
	REQUIRE(res.mezzanine.bytes.len > 0);
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		struct enl_render_req r = {.width = widths[i], .format = ENL_FMT_PNG, .exact = 1};
		struct enl_render_req plain;
		struct enl_output a, b, c;
		double matched, unmatched;
		enl_render_inside_size(W, H, r.width, 0, &r.width, &r.height);
		plain = r;
		REQUIRE(enl_pipeline_render(jpg, len, &o, NULL, &r, &a, &e) == 0);
		r.original_width = W;
		r.original_jpeg = 1;
		REQUIRE(enl_pipeline_render(res.mezzanine.bytes.data, res.mezzanine.bytes.len, &o,
		                            NULL, &r, &b, &e) == 0);
		REQUIRE(enl_pipeline_render(res.mezzanine.bytes.data, res.mezzanine.bytes.len, &o,
		                            NULL, &plain, &c, &e) == 0);
		REQUIRE(b.width == a.width && b.height == a.height);
		REQUIRE(c.width == a.width && c.height == a.height);
		matched = renders_diff(&a, &b);
		unmatched = renders_diff(&a, &c);
		fprintf(stderr,
		        "%dx%d: from the mezzanine %.3f levels off the original's render on "
		        "average (unmatched %.3f)\n",
		        a.width, a.height, matched, unmatched);
		CHECK(matched <= 1.0);
		/* Strictly nearer where the blur does something: at 800 px the original's box
		 * is 2 px and the blur next to none. */
		CHECK(matched < unmatched || widths[i] == 800);
		enl_buf_free(&a.bytes);
		enl_buf_free(&b.bytes);
		enl_buf_free(&c.bytes);
	}
	enl_pipeline_result_free(&res);
	g_free(jpg);
	enl_pipeline_shutdown();
	return check_done();
}
