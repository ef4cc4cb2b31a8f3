/* enl_resize_down (src/core/resize.c) against libvips, the oracle it stands in for: on a
 * fractal surface (a camera photo's falling spectrum) and on bars (edges at every phase
 * of the reduce, short of 0 and 255: the fold of the blur into the weights clamps
 * overshoots in another place than a blur before), for reduces from 1.25 to 15.6 (box
 * averages first from 4), odd sizes, each EXIF orientation, with and without the
 * mezzanine's blur, the result has the size and pixels of enl_blur3, vips_resize and
 * vips_autorot (what the render did before) to within rounding: a mean difference under
 * 0.4 levels, none over 2; 400 small random crops, sizes and reduces, near the edges of
 * the kernel and the boxes, within 0.75 on average. No reduce, a box over 64 samples,
 * or an image under the kernel are left to libvips. */
#include <stdlib.h>

#include "core_internal.h"
#include "pipeline_support.h"

/* A w x h 3-band sRGB image: a seeded fractal surface, with a black and white bar
 * pattern across its top third (hard edges, every phase of the reduce). */
static VipsImage *surface(int w, int h)
{
	VipsImage *img = fractal_image(w, h, 11);
	for (int y = 0; y < h / 3; y++)
		for (int x = 0; x < w; x++)
			memset(VIPS_IMAGE_ADDR(img, x, y), (x / 3 + y / 5) % 2 ? 208 : 48, 3);
	return img;
}

/* The oracle: a copy of img blurred by k, reduced by vips_resize, turned upright. */
static VipsImage *oracle(VipsImage *img, int k, int orientation, double xs, double ys)
{
	VipsImage *c, *r = NULL, *up = NULL, *mem = NULL;
	c = vips_image_new_from_memory_copy(VIPS_IMAGE_ADDR(img, 0, 0),
	                                    VIPS_IMAGE_SIZEOF_IMAGE(img), vips_image_get_width(img),
	                                    vips_image_get_height(img), 3, VIPS_FORMAT_UCHAR);
	REQUIRE(c);
	REQUIRE(enl_blur3(VIPS_IMAGE_ADDR(c, 0, 0), vips_image_get_width(c),
	                  vips_image_get_height(c), VIPS_IMAGE_SIZEOF_LINE(c), 3, k) == 0);
	/* NULL when libvips will not make it (a small image reduced to nothing). */
	if (vips_resize(c, &r, 1.0 / xs, "vscale", 1.0 / ys, "kernel", VIPS_KERNEL_LANCZOS3,
	                NULL) == 0) {
		vips_image_set_int(r, VIPS_META_ORIENTATION, orientation);
		REQUIRE(vips_autorot(r, &up, NULL) == 0);
		mem = vips_image_copy_memory(up);
		REQUIRE(mem);
		g_object_unref(up);
		g_object_unref(r);
	}
	vips_error_clear();
	g_object_unref(c);
	return mem;
}

/* img reduced by xs across and ys down (stored axes). */
static void one_xy(VipsImage *img, int k, int orientation, double xs, double ys)
{
	int w = vips_image_get_width(img), h = vips_image_get_height(img);
	VipsImage *want = oracle(img, k, orientation, xs, ys), *got;
	REQUIRE(want);
	int ow = vips_image_get_width(want), oh = vips_image_get_height(want), worst = 0;
	unsigned char *out = malloc((size_t)ow * (size_t)oh * 3);
	double mean;

	REQUIRE(out);
	CHECK_INT_EQ(enl_resize_down(VIPS_IMAGE_ADDR(img, 0, 0), w, h, VIPS_IMAGE_SIZEOF_LINE(img),
	                             k, orientation, xs, ys, out, (size_t)ow * 3),
	             0);
	got = vips_image_new_from_memory(out, (size_t)ow * (size_t)oh * 3, ow, oh, 3,
	                                 VIPS_FORMAT_UCHAR);
	REQUIRE(got);
	mean = mean_abs_diff(got, want);
	for (int y = 0; y < oh; y++) {
		const unsigned char *a = out + (size_t)y * (size_t)ow * 3;
		const unsigned char *b = VIPS_IMAGE_ADDR(want, 0, y);
		for (int x = 0; x < ow * 3; x++)
			worst = VIPS_MAX(worst, abs((int)a[x] - (int)b[x]));
	}
	fprintf(stderr,
	        "%dx%d / %.3f x %.3f, blur %d, orientation %d: %dx%d, mean %.3f, worst %d\n", w, h,
	        xs, ys, k, orientation, ow, oh, mean, worst);
	CHECK(mean >= 0 && mean < 0.4);
	CHECK(worst <= 2);
	g_object_unref(got);
	g_object_unref(want);
	free(out);
}

static void one(VipsImage *img, int k, int orientation, double shrink)
{
	one_xy(img, k, orientation, shrink, shrink);
}

/* Small crops of img at random sizes, reduces, blurs and orientations (seeded): each is
 * left to libvips, or has libvips' size and pixels within 0.75 levels on average (libvips
 * rounds each box to 8 bits, and a small image has few pixels to average that over); the
 * sanitizer build also checks that every read and write stays inside the buffers.
 * Returns how many were compared. */
static int random_small(VipsImage *img, int n)
{
	int compared = 0;
	srand(16);
	for (int i = 0; i < n; i++) {
		int w = 1 + rand() % 300, h = 1 + rand() % 300, k = rand() % 2 ? rand() % 40 : 0;
		int o = 1 + rand() % 8, dw, dh, rc;
		double xs = 1.05 + (rand() % 1100) / 100.0;
		double ys = rand() % 2 ? xs : 1.05 + (rand() % 1100) / 100.0;
		VipsImage *crop = NULL, *c, *want, *got;
		unsigned char *out;

		REQUIRE(vips_extract_area(img, &crop, rand() % (vips_image_get_width(img) - w),
		                          rand() % (vips_image_get_height(img) - h), w, h,
		                          NULL) == 0);
		c = vips_image_copy_memory(crop);
		REQUIRE(c);
		dw = (int)(w / xs + 0.5);
		dh = (int)(h / ys + 0.5);
		out = malloc((size_t)(dw > 0 ? dw : 1) * (size_t)(dh > 0 ? dh : 1) * 3);
		REQUIRE(out);
		rc = enl_resize_down(VIPS_IMAGE_ADDR(c, 0, 0), w, h, VIPS_IMAGE_SIZEOF_LINE(c), k,
		                     o, xs, ys, out, (size_t)(o >= 5 ? dh : dw) * 3);
		CHECK(rc == 0 || rc == ENL_EUNSUPPORTED);
		/* libvips of the same, when it makes that size at all */
		want = rc == 0 ? oracle(c, k, o, xs, ys) : NULL;
		if (want && vips_image_get_width(want) == (o >= 5 ? dh : dw) &&
		    vips_image_get_height(want) == (o >= 5 ? dw : dh)) {
			got = vips_image_new_from_memory(
			    out, (size_t)dw * (size_t)dh * 3, vips_image_get_width(want),
			    vips_image_get_height(want), 3, VIPS_FORMAT_UCHAR);
			REQUIRE(got);
			double m = mean_abs_diff(got, want);
			if (!(m >= 0 && m < 0.75))
				fprintf(stderr,
				        "%dx%d / %.2f x %.2f, blur %d, orientation %d: mean %.3f\n",
				        w, h, xs, ys, k, o, m);
			CHECK(m >= 0 && m < 0.75);
			compared++;
			g_object_unref(got);
		}
		if (want)
			g_object_unref(want);
		free(out);
		g_object_unref(c);
		g_object_unref(crop);
	}
	return compared;
}

int main(void)
{
	unsigned char px[64 * 3];
	VipsImage *big, *odd;

	/* libvips' C reduce, the exact one: its ORC path for reducev rounds its weights to
	 * fewer bits (up to 8 levels off either). */
	setenv("VIPS_NOVECTOR", "1", 1);
	REQUIRE(VIPS_INIT("test_resize") == 0);
	vips_cache_set_max(0);
	big = surface(750, 1000);
	odd = surface(101, 67);
	/* The c8 render from the mezzanine; the same with its blur; an original shrunk on
	 * load by 4 and turned (orientation 6). */
	one(big, 0, 1, 1.875);
	one(big, 18, 1, 1.875);
	one(big, 0, 6, 1.89);
	for (int o = 1; o <= 8; o++)
		one(odd, o % 2 ? 0 : 25, o, 1.3 + 0.3 * o);
	one(big, 9, 1, 1.25);
	one(big, 0, 3, 3.3);
	/* An exact size (VIPS_SIZE_FORCE): each axis its own reduce. */
	one_xy(big, 12, 6, 1.6, 2.7);
	/* Box averages first (vips_resize's gap of 2), from a factor of 4: boxes of 2, 3, 7. */
	one(big, 0, 1, 4.0);
	one(big, 14, 8, 7.9);
	one(big, 20, 1, 15.625);
	one(odd, 0, 1, 5.5);

	/* Small images: at the edges of the kernel and the boxes. */
	int compared = random_small(big, 400);
	fprintf(stderr, "random small crops: %d of 400 compared with libvips\n", compared);
	CHECK(compared > 100);

	/* Left to libvips: no reduce, a box over 64, an image under the kernel. */
	CHECK_INT_EQ(enl_resize_down(px, 8, 8, 24, 0, 1, 1.0, 1.0, px, 24), ENL_EUNSUPPORTED);
	CHECK_INT_EQ(enl_resize_down(VIPS_IMAGE_ADDR(big, 0, 0), 750, 1000,
	                             VIPS_IMAGE_SIZEOF_LINE(big), 0, 1, 375.0, 500.0, px, 24),
	             ENL_EUNSUPPORTED);
	CHECK_INT_EQ(enl_resize_down(px, 8, 8, 24, 0, 1, 2.0, 2.0, px, 24), ENL_EUNSUPPORTED);

	g_object_unref(odd);
	g_object_unref(big);
	vips_shutdown();
	return check_done();
}
