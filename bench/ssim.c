/* bench-ssim: SSIM of resized outputs against a reference resize of their source.
 *
 *   bench-ssim SOURCE OUTPUT...
 *
 * The source is decoded once at full size, oriented (EXIF), converted to 8-bit sRGB and
 * flattened on white when it has alpha. For each output (decoded and flattened the same
 * way) the reference is the source resized with Lanczos3 to the output's own size; when
 * the output's aspect ratio differs from the source's (a cover crop, e.g. the 200x200
 * thumbnail) the reference is scaled to cover and the crop offset that best matches the
 * output (least squared error) is searched along the free axis. SSIM is Wang et al.
 * (2004) on luma (Rec. 601 weights), 11x11 Gaussian window with sigma 1.5, K1 0.01,
 * K2 0.03, over the window positions that fit inside the image (no padding).
 *
 * A source with alpha saved to a format without it (JPEG) has been flattened on some
 * background by the encoder: such an output is compared with the reference flattened on
 * white and on black, and the better match is reported with the background it used.
 *
 * Prints one line per output: PATH<TAB>WIDTH<TAB>HEIGHT<TAB>fit|cover<TAB>SSIM<TAB>BG,
 * BG being white, black or - (the source has no alpha).
 * The last reference made is kept: list outputs of the same size next to each other (e.g.
 * the formats of one width) and the source is resized once for them.
 * Exit 1 if any output cannot be read. Part of bench/, not of enlarger. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#define WIN 11
#define SIGMA 1.5

struct luma {
	int w;
	int h;
	double *px; /* w * h, 0..255; owned */
};

static void luma_free(struct luma *l)
{
	free(l->px);
	l->px = NULL;
}

/* Oriented, 8-bit sRGB, alpha flattened on grey level bg. Returns a new image or NULL. */
static VipsImage *normalise(VipsImage *in, double bg_level)
{
	VipsImage *t[4] = {NULL, NULL, NULL, NULL};
	VipsImage *out = NULL;

	if (vips_autorot(in, &t[0], NULL))
		goto done;
	if (vips_colourspace(t[0], &t[1], VIPS_INTERPRETATION_sRGB, NULL))
		goto done;
	if (vips_image_hasalpha(t[1])) {
		double level[3] = {bg_level, bg_level, bg_level};
		VipsArrayDouble *bg = vips_array_double_new(level, 3);
		int rc = vips_flatten(t[1], &t[2], "background", bg, NULL);
		vips_area_unref(VIPS_AREA(bg));
		if (rc)
			goto done;
	} else {
		t[2] = t[1];
		g_object_ref(t[2]);
	}
	if (vips_cast_uchar(t[2], &t[3], NULL))
		goto done;
	out = t[3];
	t[3] = NULL;
done:
	for (int i = 0; i < 4; i++)
		if (t[i])
			g_object_unref(t[i]);
	return out;
}

/* Rec. 601 luma of an sRGB (3+ bands) or grey (1-2 bands) uchar image. 0 or -1. */
static int to_luma(VipsImage *in, struct luma *out)
{
	VipsImage *mem = vips_image_copy_memory(in);
	if (!mem)
		return -1;
	int w = mem->Xsize, h = mem->Ysize, bands = mem->Bands;
	const unsigned char *p = (const unsigned char *)VIPS_IMAGE_ADDR(mem, 0, 0);
	out->w = w;
	out->h = h;
	out->px = malloc(sizeof(double) * (size_t)w * (size_t)h);
	if (!out->px) {
		g_object_unref(mem);
		return -1;
	}
	for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
		const unsigned char *q = p + i * (size_t)bands;
		out->px[i] = bands >= 3 ? 0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2] : q[0];
	}
	g_object_unref(mem);
	return 0;
}

/* Separable Gaussian over the "valid" region: in is w x h, out is (w-WIN+1) x (h-WIN+1). */
static void blur_valid(const double *in, int w, int h, const double *k, double *tmp, double *out)
{
	int ow = w - WIN + 1, oh = h - WIN + 1;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < ow; x++) {
			double s = 0;
			for (int i = 0; i < WIN; i++)
				s += k[i] * in[(size_t)y * w + x + i];
			tmp[(size_t)y * ow + x] = s;
		}
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			double s = 0;
			for (int i = 0; i < WIN; i++)
				s += k[i] * tmp[(size_t)(y + i) * ow + x];
			out[(size_t)y * ow + x] = s;
		}
}

/* SSIM of a (w x h) and the w x h window of b at (ox, oy). Returns -2 on failure. */
static double ssim(const struct luma *a, const struct luma *b, int ox, int oy)
{
	int w = a->w, h = a->h;
	if (w < WIN || h < WIN)
		return -2;
	size_t n = (size_t)w * h, on = (size_t)(w - WIN + 1) * (h - WIN + 1);
	double k[WIN], ks = 0;
	for (int i = 0; i < WIN; i++) {
		double d = i - (WIN - 1) / 2.0;
		k[i] = exp(-d * d / (2 * SIGMA * SIGMA));
		ks += k[i];
	}
	for (int i = 0; i < WIN; i++)
		k[i] /= ks;

	double *buf = malloc(sizeof(double) * (5 * n + n + 5 * on));
	if (!buf)
		return -2;
	double *src[5], *dst[5], *tmp = buf + 5 * n;
	for (int i = 0; i < 5; i++) {
		src[i] = buf + (size_t)i * n;
		dst[i] = buf + 6 * n + (size_t)i * on;
	}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			double p = a->px[i], q = b->px[(size_t)(y + oy) * b->w + x + ox];
			src[0][i] = p;
			src[1][i] = q;
			src[2][i] = p * p;
			src[3][i] = q * q;
			src[4][i] = p * q;
		}
	for (int i = 0; i < 5; i++)
		blur_valid(src[i], w, h, k, tmp, dst[i]);

	const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
	double sum = 0;
	for (size_t i = 0; i < on; i++) {
		double mx = dst[0][i], my = dst[1][i];
		double vx = dst[2][i] - mx * mx, vy = dst[3][i] - my * my,
		       cxy = dst[4][i] - mx * my;
		sum += ((2 * mx * my + c1) * (2 * cxy + c2)) /
		       ((mx * mx + my * my + c1) * (vx + vy + c2));
	}
	free(buf);
	return sum / (double)on;
}

/* Offset of the w x h window of ref that best matches out (least squared error). */
static void best_offset(const struct luma *out, const struct luma *ref, int *ox, int *oy)
{
	double best = -1;
	*ox = 0;
	*oy = 0;
	for (int y = 0; y + out->h <= ref->h; y++)
		for (int x = 0; x + out->w <= ref->w; x++) {
			double e = 0;
			for (int j = 0; j < out->h && (best < 0 || e < best); j++)
				for (int i = 0; i < out->w; i++) {
					double d = out->px[(size_t)j * out->w + i] -
					           ref->px[(size_t)(j + y) * ref->w + i + x];
					e += d * d;
				}
			if (best < 0 || e < best) {
				best = e;
				*ox = x;
				*oy = y;
			}
		}
}

/* The last reference made, for the output size it was made for (see the top comment). */
static struct {
	VipsImage *src; /* borrowed */
	int w;
	int h;
	struct luma lr;
} last_ref;

/* SSIM of output lo against src resized to lo's size (cover: best crop). -2 on failure. */
static double against(VipsImage *src, const struct luma *lo_in, int *cover_out)
{
	double s = -2;
	VipsImage *refimg = NULL;
	struct luma crop = {0};
	const struct luma *lo = lo_in;
	int sw = src->Xsize, sh = src->Ysize;

	double sa = (double)sw / sh, oa = (double)lo->w / lo->h;
	int cover = fabs(oa - sa) / sa > 0.02;
	double hs = (double)lo->w / sw, vs = (double)lo->h / sh;
	if (cover)
		hs = vs = fmax(hs, vs);
	*cover_out = cover;
	if (!last_ref.lr.px || last_ref.src != src || last_ref.w != lo->w || last_ref.h != lo->h) {
		luma_free(&last_ref.lr);
		if (vips_resize(src, &refimg, hs, "vscale", vs, "kernel", VIPS_KERNEL_LANCZOS3,
		                NULL) ||
		    to_luma(refimg, &last_ref.lr))
			goto done;
		last_ref.src = src;
		last_ref.w = lo->w;
		last_ref.h = lo->h;
	}
	const struct luma lr = last_ref.lr;
	if (lr.w < lo->w || lr.h < lo->h) {
		/* rounding left the reference a pixel short: compare the common area */
		crop.w = lr.w < lo->w ? lr.w : lo->w;
		crop.h = lr.h < lo->h ? lr.h : lo->h;
		crop.px = malloc(sizeof(double) * (size_t)crop.w * crop.h);
		if (!crop.px)
			goto done;
		for (int y = 0; y < crop.h; y++)
			memcpy(crop.px + (size_t)y * crop.w, lo->px + (size_t)y * lo->w,
			       sizeof(double) * crop.w);
		lo = &crop;
	}
	int ox = 0, oy = 0;
	if (cover)
		best_offset(lo, &lr, &ox, &oy);
	s = ssim(lo, &lr, ox, oy);
done:
	luma_free(&crop);
	if (refimg)
		g_object_unref(refimg);
	return s;
}

/* srcs[0]: the source flattened on white; srcs[1]: on black, or NULL without alpha. */
static int one(VipsImage *const srcs[2], const char *path)
{
	int rc = -1, cover = 0;
	VipsImage *raw = NULL, *outn = NULL;
	struct luma lo = {0};
	const char *bg = "-";
	double s = -2;

	raw = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	if (!raw)
		goto done;
	int out_alpha = vips_image_hasalpha(raw);
	if (!(outn = normalise(raw, 255)) || to_luma(outn, &lo))
		goto done;
	s = against(srcs[0], &lo, &cover);
	if (srcs[1]) {
		bg = "white";
		if (!out_alpha) {
			double sb = against(srcs[1], &lo, &cover);
			if (sb > s) {
				s = sb;
				bg = "black";
			}
		}
	}
	if (s < -1)
		goto done;
	printf("%s\t%d\t%d\t%s\t%.5f\t%s\n", path, outn->Xsize, outn->Ysize,
	       cover ? "cover" : "fit", s, bg);
	rc = 0;
done:
	if (rc)
		fprintf(stderr, "bench-ssim: %s: %s\n", path, vips_error_buffer());
	vips_error_clear();
	luma_free(&lo);
	if (outn)
		g_object_unref(outn);
	if (raw)
		g_object_unref(raw);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench-ssim SOURCE OUTPUT...\n");
		return 2;
	}
	if (VIPS_INIT(argv[0]))
		return 1;
	int rc = 0;
	VipsImage *srcs[2] = {NULL, NULL};
	VipsImage *raw = vips_image_new_from_file(argv[1], NULL);
	if (!raw)
		goto fail;
	int has_alpha = vips_image_hasalpha(raw);
	for (int i = 0; i < (has_alpha ? 2 : 1); i++) {
		VipsImage *norm = normalise(raw, i == 0 ? 255 : 0);
		if (!norm)
			goto fail;
		srcs[i] = vips_image_copy_memory(norm);
		g_object_unref(norm);
		if (!srcs[i])
			goto fail;
	}
	for (int i = 2; i < argc; i++)
		if (one(srcs, argv[i]))
			rc = 1;
	goto done;
fail:
	fprintf(stderr, "bench-ssim: %s: %s\n", argv[1], vips_error_buffer());
	rc = 1;
done:
	luma_free(&last_ref.lr);
	for (int i = 0; i < 2; i++)
		if (srcs[i])
			g_object_unref(srcs[i]);
	if (raw)
		g_object_unref(raw);
	vips_shutdown();
	return rc;
}
