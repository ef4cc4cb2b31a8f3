/* The output sizes (src/core/size.c) against libvips itself: enl_render_inside_size must be
 * the size vips_thumbnail 8.14 gives a full-size image for many (W, H, w, h); a render
 * asked exactly that size (as /render asks it, from an original with shrink-on-load and
 * EXIF orientation, or from the mezzanine /process cut) must come out at it; and the
 * mezzanine's size must follow its rule with ENL_MEZZANINE_SIDE, whatever its value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "check.h"
#include "enlarger/defaults.h"
#include "enlarger/pipeline.h"

/* libvips' own size for a fit-inside thumbnail of a full-size W x H image (no loader, so
 * no shrink-on-load): the oracle. */
static void vips_size(int W, int H, int w, int h, int *ow, int *oh)
{
	VipsImage *in = NULL, *out = NULL;
	REQUIRE(vips_black(&in, W, H, "bands", 3, NULL) == 0);
	REQUIRE(vips_thumbnail_image(in, &out, w, "height", h > 0 ? h : VIPS_MAX_COORD, "size",
	                             VIPS_SIZE_DOWN, NULL) == 0);
	*ow = vips_image_get_width(out);
	*oh = vips_image_get_height(out);
	g_object_unref(out);
	g_object_unref(in);
}

/* A W x H noise JPEG (stored size), with EXIF orientation when orient > 1. g_free(). */
static void *noise_jpeg(int W, int H, int orient, size_t *len)
{
	VipsImage *n = NULL, *u = NULL, *rgb = NULL;
	void *buf = NULL;
	REQUIRE(vips_gaussnoise(&n, W, H, "mean", 128.0, "sigma", 40.0, NULL) == 0);
	REQUIRE(vips_cast_uchar(n, &u, NULL) == 0);
	VipsImage *bands[3] = {u, u, u};
	REQUIRE(vips_bandjoin(bands, &rgb, 3, NULL) == 0);
	rgb->Type = VIPS_INTERPRETATION_sRGB;
	if (orient > 1)
		vips_image_set_int(rgb, VIPS_META_ORIENTATION, orient);
	REQUIRE(vips_jpegsave_buffer(rgb, &buf, len, "Q", 80, NULL) == 0);
	g_object_unref(rgb);
	g_object_unref(u);
	g_object_unref(n);
	return buf;
}

static void oracle_sizes(void)
{
	static const int dims[][2] = {{4033, 3025}, {3025, 4033}, {6000, 4000}, {5001, 2001},
	                              {2049, 7001}, {1999, 1333}, {8191, 37},   {641, 479},
	                              {3001, 3001}, {4897, 3263}};
	static const int widths[] = {64,   128,  200,  300,  430, 600,  800,  1080, 1290, 1680,
	                             2160, 2560, 3072, 3840, 333, 1001, 2047, 2048, 2049};
	static const int heights[] = {0, 0, 100, 599, 1080, 2048};
	int n = 0, bad = 0;
	for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++)
		for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
			for (size_t j = 1; j < sizeof(heights) / sizeof(heights[0]); j++) {
				int W = dims[d][0], H = dims[d][1], w = widths[i], h = heights[j];
				int vw, vh, fw, fh;
				vips_size(W, H, w, h, &vw, &vh);
				enl_render_inside_size(W, H, w, h, &fw, &fh);
				n++;
				if (vw != fw || vh != fh) {
					bad++;
					fprintf(stderr,
					        "%dx%d in %dx%d: libvips %dx%d, ours %dx%d\n", W, H,
					        w, h, vw, vh, fw, fh);
				}
			}
	fprintf(stderr, "%d sizes checked against vips_thumbnail\n", n);
	CHECK_INT_EQ(bad, 0);
}

static void mezzanine_rule(void)
{
	int S = ENL_MEZZANINE_SIDE, mw, mh;
	/* Not larger than the box: none, and the size is the original's. */
	CHECK_INT_EQ(enl_mezzanine_size(S, S, &mw, &mh), 0);
	CHECK(mw == S && mh == S);
	CHECK_INT_EQ(enl_mezzanine_size(S / 2, S, &mw, &mh), 0);
	/* Larger on either side: fitted inside the box, the long side at it. */
	CHECK_INT_EQ(enl_mezzanine_size(3 * S, 2 * S, &mw, &mh), 1);
	CHECK(mw == S && mh == (2 * S + 1) / 3);
	CHECK_INT_EQ(enl_mezzanine_size(S / 2, 3 * S, &mw, &mh), 1);
	CHECK(mh == S && mw <= S / 6 + 1 && mw >= S / 6);
	/* Over the box, but the mezzanine would keep more than the share of the pixels: none
	 * (ENL_MEZZANINE_PIXELS_PERCENT). */
	CHECK_INT_EQ(enl_mezzanine_size(S / 2, S + 1, &mw, &mh), 0);
	CHECK_INT_EQ(enl_mezzanine_size(S * 6 / 5, S * 4 / 5, &mw, &mh), 0);
	{
		/* The side whose square keeps exactly the share: its mezzanine, one pixel more
		 * on a side: still one. */
		int side = (int)ceil(S * sqrt(100.0 / ENL_MEZZANINE_PIXELS_PERCENT));
		CHECK_INT_EQ(enl_mezzanine_size(side - 2, side - 2, &mw, &mh), 0);
		CHECK_INT_EQ(enl_mezzanine_size(side + 1, side + 1, &mw, &mh), 1);
	}
	CHECK_INT_EQ(enl_mezzanine_size(40 * S, 3, &mw, &mh), 1);
	CHECK(mw == S && mh == 1);
}

/* Renders of JPEG originals (decoded with DCT shrink-on-load, some rotated by EXIF) asked
 * the exact fit-inside size, and the same from the original's mezzanine: both at it. */
static void real_renders(void)
{
	const int S = ENL_MEZZANINE_SIDE;
	const int origs[][3] = {{S + S / 2 + 1, S + 1, 1},
	                        {S + 1, S * 2 - 3, 6},
	                        {S * 2 + 1, S - 47, 8},
	                        {S * 3 / 2 + 3, S * 3 / 2 + 3, 1}};
	const int widths[] = {64, 200, 431, 800, 1290, S - 1, S + 1};
	struct enl_pipeline_opts o;
	enl_pipeline_opts_default(&o);
	o.mezzanine = 1;
	for (size_t k = 0; k < sizeof(origs) / sizeof(origs[0]); k++) {
		size_t len;
		void *jpg = noise_jpeg(origs[k][0], origs[k][1], origs[k][2], &len);
		struct enl_pipeline_result res;
		struct enl_errmsg e = {{0}};
		int W, H, mw, mh, drift = 0;
		REQUIRE(enl_pipeline_process(jpg, len, &o, NULL, &res, &e) == 0);
		W = res.width;
		H = res.height;
		CHECK_INT_EQ(W, origs[k][2] >= 5 ? origs[k][1] : origs[k][0]);
		REQUIRE(enl_mezzanine_size(W, H, &mw, &mh) == 1);
		CHECK_INT_EQ(res.mezzanine.width, mw);
		CHECK_INT_EQ(res.mezzanine.height, mh);
		CHECK(res.mezzanine.format == ENL_FMT_JPEG && res.mezzanine.bytes.len > 1000);
		for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
			struct enl_render_req asked = {.width = widths[i], .format = ENL_FMT_WEBP};
			struct enl_render_req exact = asked;
			struct enl_output a, b, c;
			enl_render_inside_size(W, H, asked.width, 0, &exact.width, &exact.height);
			exact.exact = 1;
			REQUIRE(enl_pipeline_render(jpg, len, &o, NULL, &exact, &a, &e) == 0);
			CHECK_INT_EQ(a.width, exact.width);
			CHECK_INT_EQ(a.height, exact.height);
			/* What the plain fit-inside render of the original gives (shrink-on-load
			 * may move the short side by a pixel): counted, for the record. */
			REQUIRE(enl_pipeline_render(jpg, len, &o, NULL, &asked, &c, &e) == 0);
			drift += c.width != a.width || c.height != a.height;
			if (exact.width <= mw && exact.height <= mh) {
				REQUIRE(enl_pipeline_render(res.mezzanine.bytes.data,
				                            res.mezzanine.bytes.len, &o, NULL,
				                            &exact, &b, &e) == 0);
				CHECK_INT_EQ(b.width, exact.width);
				CHECK_INT_EQ(b.height, exact.height);
				enl_buf_free(&b.bytes);
			}
			enl_buf_free(&a.bytes);
			enl_buf_free(&c.bytes);
		}
		fprintf(stderr, "%dx%d: %d of %zu plain renders off the exact size by a pixel\n", W,
		        H, drift, sizeof(widths) / sizeof(widths[0]));
		enl_pipeline_result_free(&res);
		g_free(jpg);
	}
}

int main(void)
{
	REQUIRE(enl_pipeline_init("test_pipeline_sizes") == 0);
	oracle_sizes();
	mezzanine_rule();
	real_renders();
	enl_pipeline_shutdown();
	return check_done();
}
