/* webp-sweep: libwebp settings against bytes, SSIM and encode time, on the very pixels
 * enl_encode gets for a render (enl_decode_image: shrink-on-load, oriented, sRGB, 8-bit).
 *
 *   webp-sweep FILE WIDTH REPS < settings
 *
 * Each stdin line is "Q METHOD SNS FILTER SHARPNESS SEGMENTS PARTITIONS PASS THREADS"
 * (-1 = libwebp's preset value, see struct enl_webp_opts). For each it encodes REPS times
 * with enl_webp_encode and prints
 *   FILE WIDTHxHEIGHT Q METHOD SNS FILTER SHARPNESS SEGMENTS PARTITIONS PASS THREADS
 *   BYTES SSIM MEDIAN_MS MIN_MS
 * SSIM is bench/ssim.c's (included below, so the method is the same code): luma of the
 * output flattened on white against the source resized with Lanczos3 to the output's size,
 * the reference computed once per run. Not part of enlarger. Build:
 *   cc -O2 -std=c11 -Iinclude -Isrc/core -o build/bench/webp-sweep bench/webp-sweep.c \
 *      build/libenl_core.a build/libenl_util.a \
 *      $(pkg-config --cflags --libs vips libexif jansson libwebp libjpeg) -lpthread -lm
 */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "vips_internal.h"

#define main bench_ssim_main
#include "ssim.c"
#undef main

#include "bench_util.h"
#include "enlarger/fs.h"

/* SSIM of the encoded bytes against the reference luma (fit: same size, or one pixel more
 * than the reference after rounding, as in ssim.c's against()). */
static double ssim_of(const void *buf, size_t len, const struct luma *ref)
{
	VipsImage *raw = vips_image_new_from_buffer(buf, len, "", NULL), *n = NULL;
	struct luma lo = {0}, crop = {0};
	const struct luma *l = &lo;
	double s = -2;
	if (!raw || !(n = normalise(raw, 255)) || to_luma(n, &lo))
		goto done;
	if (ref->w < lo.w || ref->h < lo.h) {
		crop.w = ref->w < lo.w ? ref->w : lo.w;
		crop.h = ref->h < lo.h ? ref->h : lo.h;
		crop.px = malloc(sizeof(double) * (size_t)crop.w * crop.h);
		if (!crop.px)
			goto done;
		for (int y = 0; y < crop.h; y++)
			memcpy(crop.px + (size_t)y * crop.w, lo.px + (size_t)y * lo.w,
			       sizeof(double) * crop.w);
		l = &crop;
	}
	s = ssim(l, ref, 0, 0);
done:
	luma_free(&crop);
	luma_free(&lo);
	if (n)
		g_object_unref(n);
	if (raw)
		g_object_unref(raw);
	return s;
}

int main(int argc, char **argv)
{
	struct enl_pipeline_opts po;
	struct enl_probe src;
	struct enl_errmsg e = {{0}};
	VipsImage *img = NULL, *raw = NULL, *norm = NULL, *refimg = NULL;
	struct luma ref = {0};
	struct enl_buf in;
	char line[256];
	int width, reps;

	if (argc != 4) {
		fprintf(stderr, "usage: webp-sweep FILE WIDTH REPS < settings\n");
		return 2;
	}
	width = atoi(argv[2]);
	reps = atoi(argv[3]) > 0 ? atoi(argv[3]) : 1;
	if (enl_pipeline_init(argv[0]))
		return 1;
	if (enl_file_read(argv[1], 0, &in, &e)) {
		fprintf(stderr, "webp-sweep: %s\n", e.text);
		return 1;
	}
	enl_pipeline_opts_default(&po);
	if (enl_decode_probe(in.data, in.len, &po, &src, &e) ||
	    enl_decode_image(in.data, in.len, &src, width, VIPS_MAX_COORD, VIPS_INTERESTING_NONE,
	                     VIPS_SIZE_DOWN, 0, &img, &e)) {
		fprintf(stderr, "webp-sweep: %s\n", e.text);
		return 1;
	}
	/* The reference: the whole source, normalised as ssim.c does, Lanczos3 to img's size. */
	if (!(raw = vips_image_new_from_file(argv[1], NULL)) || !(norm = normalise(raw, 255)) ||
	    vips_resize(norm, &refimg, (double)img->Xsize / norm->Xsize, "vscale",
	                (double)img->Ysize / norm->Ysize, "kernel", VIPS_KERNEL_LANCZOS3, NULL) ||
	    to_luma(refimg, &ref)) {
		fprintf(stderr, "webp-sweep: reference: %s\n", vips_error_buffer());
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		struct enl_webp_opts o;
		double *t = calloc((size_t)reps, sizeof(double));
		void *buf = NULL;
		size_t blen = 0;
		enl_webp_opts_default(&o, 80);
		if (!t || sscanf(line, "%d %d %d %d %d %d %d %d %d", &o.quality, &o.method,
		                 &o.sns_strength, &o.filter_strength, &o.filter_sharpness,
		                 &o.segments, &o.partitions, &o.pass, &o.thread_level) != 9) {
			free(t);
			continue;
		}
		for (int i = 0; i < reps; i++) {
			double t0 = now_ms();
			if (buf)
				enl_webp_free(buf);
			if (enl_webp_encode(img, &o, &buf, &blen)) {
				fprintf(stderr, "webp-sweep: %s\n", vips_error_buffer());
				return 1;
			}
			t[i] = now_ms() - t0;
		}
		qsort(t, (size_t)reps, sizeof(double), cmp_double);
		printf("%s\t%dx%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%zu\t%.5f\t%.2f\t%.2f\n",
		       argv[1], img->Xsize, img->Ysize, o.quality, o.method, o.sns_strength,
		       o.filter_strength, o.filter_sharpness, o.segments, o.partitions, o.pass,
		       o.thread_level, blen, ssim_of(buf, blen, &ref), t[reps / 2], t[0]);
		fflush(stdout);
		enl_webp_free(buf);
		free(t);
	}
	luma_free(&ref);
	g_object_unref(refimg);
	g_object_unref(norm);
	g_object_unref(raw);
	g_object_unref(img);
	enl_buf_free(&in);
	return 0;
}
