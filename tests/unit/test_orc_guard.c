/* src/core/orc_guard.c: libvips' ORC compiles and frees go through enlarger's lock. Checks
 * that the executable's definitions are the ones libvips calls (symbol lookup), that a
 * render really compiles and frees programs through them, and that renders on four threads
 * at once, each at its own width, come out at the sizes asked for (read back by libvips'
 * JPEG and WebP loaders). Without the guard, liborc 0.4.33 frees code memory unlocked. */
#include <pthread.h>
#include <stdint.h>

#include "check.h"
#include "vips_internal.h"

#define THREADS 4
#define RENDERS 40

static void *jpeg;
static size_t jpeg_len;
static int bad[THREADS];

static void *renders(void *arg)
{
	int t = (int)(intptr_t)arg;
	struct enl_pipeline_opts o;
	enl_pipeline_opts_default(&o);
	for (int i = 0; i < RENDERS; i++) {
		struct enl_render_req r = {0};
		struct enl_output out;
		struct enl_errmsg e = {{0}};
		VipsImage *back;
		r.width = 60 + (t * 131 + i * 37) % 900;
		r.format = i % 2 ? ENL_FMT_JPEG : ENL_FMT_WEBP;
		if (enl_pipeline_render(jpeg, jpeg_len, &o, NULL, &r, &out, &e)) {
			bad[t]++;
			continue;
		}
		back = vips_image_new_from_buffer(out.bytes.data, out.bytes.len, "", NULL);
		/* 1200x800 scaled to width w keeps the 3:2 shape */
		if (!back || vips_image_get_width(back) != r.width ||
		    abs(vips_image_get_height(back) - r.width * 2 / 3) > 1)
			bad[t]++;
		if (back)
			g_object_unref(back);
		enl_buf_free(&out.bytes);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	VipsImage *noise = NULL, *img = NULL;
	pthread_t th[THREADS];
	(void)argc;

	REQUIRE(enl_pipeline_init(argv[0]) == 0);
	CHECK(enl_orc_guard_active() == 1);

	/* A 1200x800 photo-like JPEG: noise is what makes libvips' resize kernels work. */
	REQUIRE(vips_gaussnoise(&noise, 1200, 800, "mean", 128.0, "sigma", 40.0, NULL) == 0);
	REQUIRE(vips_bandjoin_const1(noise, &img, 0, NULL) == 0);
	g_object_unref(noise);
	noise = img;
	REQUIRE(vips_bandjoin_const1(noise, &img, 255, NULL) == 0);
	g_object_unref(noise);
	REQUIRE(vips_cast_uchar(img, &noise, NULL) == 0);
	g_object_unref(img);
	noise->Type = VIPS_INTERPRETATION_sRGB;
	REQUIRE(vips_jpegsave_buffer(noise, &jpeg, &jpeg_len, "Q", 85, NULL) == 0);
	g_object_unref(noise);

	uint64_t before = enl_orc_guard_calls();
	for (int t = 0; t < THREADS; t++)
		REQUIRE(pthread_create(&th[t], NULL, renders, (void *)(intptr_t)t) == 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	uint64_t through = enl_orc_guard_calls() - before;
	/* Each render builds (compiles) and disposes (frees) its resize programs. */
	CHECK(through >= THREADS * RENDERS);
	printf("ORC compiles + frees through the guard: %llu\n", (unsigned long long)through);
	for (int t = 0; t < THREADS; t++)
		CHECK_INT_EQ(bad[t], 0);

	g_free(jpeg);
	return check_done();
}
