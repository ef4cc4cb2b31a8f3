/* src/core/jpeg_decode.c: libjpeg-turbo called directly gives the pixels libvips' own JPEG
 * loader gives at the same DCT scaling (the oracle), for the JPEGs it takes on: 4:2:0, 4:2:2
 * and 4:4:4 chroma, progressive, an ICC profile and an orientation carried over. It hands
 * CMYK and greyscale back to libvips, fails a truncated file as libvips does with
 * fail_on=error, and decodes past corrupt bytes as libvips does. */
#include <string.h>

#include "check.h"
#include "vips_internal.h"

/* A w x h sRGB noise image saved as JPEG with the given libvips saver options. */
static void *make_jpeg(int w, int h, const char *opts, size_t *len)
{
	VipsImage *n = NULL, *rgb = NULL, *u = NULL;
	void *buf = NULL;
	char fmt[128];
	REQUIRE(vips_gaussnoise(&n, w, h, "mean", 128.0, "sigma", 50.0, NULL) == 0);
	REQUIRE(vips_bandjoin_const1(n, &rgb, 90, NULL) == 0);
	g_object_unref(n);
	REQUIRE(vips_bandjoin_const1(rgb, &n, 200, NULL) == 0);
	g_object_unref(rgb);
	REQUIRE(vips_cast_uchar(n, &u, NULL) == 0);
	g_object_unref(n);
	u->Type = VIPS_INTERPRETATION_sRGB;
	snprintf(fmt, sizeof(fmt), ".jpg%s", opts);
	REQUIRE(vips_image_write_to_buffer(u, fmt, &buf, len, NULL) == 0);
	g_object_unref(u);
	return buf;
}

/* The largest pixel difference between our decode and libvips' at 1/shrink; -1 when the
 * sizes differ or either fails. */
static int max_diff(const void *jpg, size_t len, int shrink)
{
	VipsImage *ours = NULL, *ref, *refm, *d = NULL, *ad = NULL;
	double mx = -1;
	if (enl_jpeg_decode(jpg, len, shrink, 1, &ours))
		return -1;
	ref = vips_image_new_from_buffer(jpg, len, "", "shrink", shrink, NULL);
	refm = ref ? vips_image_copy_memory(ref) : NULL;
	if (refm && vips_image_get_width(refm) == vips_image_get_width(ours) &&
	    vips_image_get_height(refm) == vips_image_get_height(ours) &&
	    vips_image_get_bands(refm) == vips_image_get_bands(ours) &&
	    !vips_subtract(ours, refm, &d, NULL) && !vips_abs(d, &ad, NULL) &&
	    vips_max(ad, &mx, NULL))
		mx = -1;
	g_clear_object(&ad);
	g_clear_object(&d);
	g_clear_object(&refm);
	g_clear_object(&ref);
	g_clear_object(&ours);
	return (int)mx;
}

int main(int argc, char **argv)
{
	static const char *kinds[] = {"[Q=90]", "[Q=90,subsample_mode=off]",
	                              "[Q=80,interlace=true]", "[Q=95,optimize_coding=true]"};
	size_t len;
	void *jpg;
	(void)argc;
	REQUIRE(enl_pipeline_init(argv[0]) == 0);

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		jpg = make_jpeg(1203, 797, kinds[k], &len); /* odd sizes: partial MCUs */
		for (int shrink = 1; shrink <= 8; shrink *= 2) {
			int d = max_diff(jpg, len, shrink);
			printf("%s at 1/%d: largest difference from libvips %d\n", kinds[k], shrink,
			       d);
			CHECK_INT_EQ(d, 0);
		}
		g_free(jpg);
	}

	/* An ICC profile and an orientation come along; sizes are the scaled ones. */
	{
		VipsImage *n = NULL, *u = NULL, *ours = NULL;
		const void *icc = NULL;
		size_t icc_len = 0;
		REQUIRE(vips_gaussnoise(&n, 400, 300, NULL) == 0);
		REQUIRE(vips_cast_uchar(n, &u, NULL) == 0);
		g_object_unref(n);
		REQUIRE(vips_bandjoin_const1(u, &n, 128, NULL) == 0);
		g_object_unref(u);
		REQUIRE(vips_bandjoin_const1(n, &u, 64, NULL) == 0);
		g_object_unref(n);
		u->Type = VIPS_INTERPRETATION_sRGB;
		REQUIRE(vips_jpegsave_buffer(u, &jpg, &len, "Q", 90, "profile", "srgb", NULL) == 0);
		g_object_unref(u);
		CHECK_INT_EQ(enl_jpeg_decode(jpg, len, 4, 6, &ours), 0);
		if (ours) {
			CHECK_INT_EQ(vips_image_get_width(ours), 100);
			CHECK_INT_EQ(vips_image_get_height(ours), 75);
			CHECK_INT_EQ(vips_image_get_orientation(ours), 6);
			CHECK(vips_image_get_typeof(ours, VIPS_META_ICC_NAME) != 0 &&
			      vips_image_get_blob(ours, VIPS_META_ICC_NAME, &icc, &icc_len) == 0 &&
			      icc_len > 128 && memcmp((const char *)icc + 36, "acsp", 4) == 0);
			g_object_unref(ours);
		}
		CHECK_INT_EQ(max_diff(jpg, len, 4), 0);

		/* Truncated (the last third cut off): an error, as libvips' fail_on=error. */
		ours = NULL;
		CHECK_INT_EQ(enl_jpeg_decode(jpg, len * 2 / 3, 4, 1, &ours), ENL_EDECODE);
		CHECK(ours == NULL);
		/* Not a JPEG at all. */
		CHECK_INT_EQ(enl_jpeg_decode("not a jpeg", 10, 4, 1, &ours), ENL_EDECODE);
		/* A scale libjpeg-turbo has but the loader does not offer. */
		CHECK_INT_EQ(enl_jpeg_decode(jpg, len, 3, 1, &ours), ENL_EUNSUPPORTED);
		g_free(jpg);
	}

	/* The pixels' mapping goes back to the pool when the image closes, and the next
	 * decode of that size or less gets it (pixel_pool.c). */
	{
		VipsImage *a = NULL, *b = NULL;
		jpg = make_jpeg(640, 480, "[Q=90]", &len);
		REQUIRE(enl_jpeg_decode(jpg, len, 1, 1, &a) == 0);
		const void *pa = VIPS_IMAGE_ADDR(a, 0, 0);
		size_t kept = enl_pixel_pool_kept();
		g_object_unref(a);
		CHECK(enl_pixel_pool_kept() >= kept + 640 * 480 * 3);
		REQUIRE(enl_jpeg_decode(jpg, len, 2, 1, &b) == 0);
		CHECK(VIPS_IMAGE_ADDR(b, 0, 0) == pa);
		CHECK_INT_EQ(max_diff(jpg, len, 2), 0);
		g_object_unref(b);
		g_free(jpg);
	}

	/* Corrupt bytes in the middle of the scan: libjpeg warns and resynchronises; libvips
	 * with fail_on=error decodes it, and so do we, to the same pixels. */
	{
		jpg = make_jpeg(640, 480, "[Q=90]", &len);
		unsigned char *p = jpg;
		for (size_t i = len / 2; i < len / 2 + 40; i++)
			p[i] = (unsigned char)(p[i] * 7 + 3);
		VipsImage *ours = NULL,
		          *ref = vips_image_new_from_buffer(jpg, len, "", "shrink", 2, "fail_on",
		                                            VIPS_FAIL_ON_ERROR, NULL);
		VipsImage *refm = ref ? vips_image_copy_memory(ref) : NULL;
		int r = enl_jpeg_decode(jpg, len, 2, 1, &ours);
		printf("corrupt middle: libvips %s, ours %d\n", refm ? "decodes" : "fails", r);
		CHECK_INT_EQ(r == 0, refm != NULL);
		if (!refm)
			vips_error_clear();
		if (refm && ours)
			CHECK_INT_EQ(max_diff(jpg, len, 2), 0);
		g_clear_object(&ours);
		g_clear_object(&refm);
		g_clear_object(&ref);
		g_free(jpg);
	}

	/* CMYK and greyscale go back to libvips. */
	{
		VipsImage *n = NULL, *u = NULL, *c = NULL, *ours = NULL;
		REQUIRE(vips_gaussnoise(&n, 320, 240, NULL) == 0);
		REQUIRE(vips_cast_uchar(n, &u, NULL) == 0);
		g_object_unref(n);
		u->Type = VIPS_INTERPRETATION_B_W;
		REQUIRE(vips_jpegsave_buffer(u, &jpg, &len, NULL) == 0);
		CHECK_INT_EQ(enl_jpeg_decode(jpg, len, 2, 1, &ours), ENL_EUNSUPPORTED);
		g_free(jpg);
		REQUIRE(vips_bandjoin_const(u, &c, (double[]){10, 20, 30}, 3, NULL) == 0);
		c->Type = VIPS_INTERPRETATION_CMYK;
		REQUIRE(vips_jpegsave_buffer(c, &jpg, &len, NULL) == 0);
		CHECK_INT_EQ(enl_jpeg_decode(jpg, len, 2, 1, &ours), ENL_EUNSUPPORTED);
		CHECK(ours == NULL);
		g_free(jpg);
		g_object_unref(c);
		g_object_unref(u);
	}
	return check_done();
}
