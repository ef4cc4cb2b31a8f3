/* enl_resize_down (core_internal.h): vips_resize of a decoded 8-bit RGB image in plain C,
 * for the common render (a JPEG we decoded: a mezzanine, a DCT-scaled original). In
 * vips_thumbnail_image the reduce, and the pipeline around it, cost more than everything
 * in such a render but the decode and the WebP encode (bench/profile.md, "The resize in
 * C"). Same box averages, Lanczos3 kernel, support, sample centres and edge copies as
 * libvips 8.14's vips_reduce, with exact weights (libvips rounds each centre to 1/32
 * pixel, and the box to 8 bits) in 14-bit fixed point, rounded to 8 bits after each axis
 * as libvips does. Both axes run down columns of bytes, which the compiler vectorises:
 * each pass writes its result transposed, so the second pass reads the first's columns as
 * rows and writes the image back upright, turned by the EXIF orientation on the way. */
#include "core_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* GAP: vips_resize's reducing gap (a box first when the reduce is twice it or more);
 * MAX_BOX: the widest box done here. */
enum { FRAC = 14, PEL = 3, GAP = 2, MAX_BOX = 64 };

/* One axis: out samples of n weights each, over source rows first[i] .. first[i] + n - 1
 * (all inside the image: taps past an edge were folded onto the edge pixel). */
struct axis {
	int n;
	int *first;
	int16_t *w; /* 16 bits: the widening multiply vectorises on plain x86-64 (SSE2) */
};

static double lanczos3(double x)
{
	if (x == 0)
		return 1;
	if (x <= -3 || x >= 3)
		return 0;
	return 3 * sin(M_PI * x) * sin(M_PI * x / 3) / (M_PI * M_PI * x * x);
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void axis_free(struct axis *a)
{
	free(a->first);
	free(a->w);
}

/* The weights of a reduce of in samples to out by shrink, each sample convolved first
 * with [k, 256 - 2k, k] / 256 (k 0: none), as the blur of the whole image before the
 * reduce would. ENL_EUNSUPPORTED when the image is narrower than the kernel. */
static int axis_make(struct axis *a, int in, int out, double shrink, int k)
{
	/* As vips_reduceh_build (vips_reducev's is the same) with vips_resize's gap: a box
	 * average of m samples first (vips_shrinkh, its last box padded with the edge sample),
	 * then the Lanczos3 of the rest, over its support, at its centres, moved in by half
	 * of what rounding the size added. The box and the blur are folded into the weights. */
	int m = (int)(in / (double)out / GAP) > 1 ? (int)(in / (double)out / GAP) : 1;
	int boxed = (in + m - 1) / m, pad = k > 0;
	double r = shrink / m, extra = (out * shrink - in) / m, b = k / 256.0;
	int n0 = 2 * (int)rint(3 * r) + 1;
	double *lz = NULL, *acc = NULL;
	int rc = 0;

	a->n = n0 * m + 2 * pad;
	a->first = NULL;
	a->w = NULL;
	if (m > MAX_BOX || in < a->n)
		return ENL_EUNSUPPORTED;
	a->first = malloc((size_t)out * sizeof(*a->first));
	a->w = malloc((size_t)out * (size_t)a->n * sizeof(*a->w));
	lz = malloc((size_t)n0 * sizeof(*lz));
	acc = malloc((size_t)a->n * sizeof(*acc));
	if (!a->first || !a->w || !lz || !acc) {
		rc = ENL_ENOMEM;
		goto done;
	}
	for (int i = 0; i < out; i++) {
		double c = (i + 0.5) * r - 0.5 - extra / 2, sum = 0;
		int p0 = (int)ceil(c - 3 * r), f = clampi(p0 * m - pad, 0, in - a->n);
		int16_t *w = a->w + (size_t)i * (size_t)a->n;
		int32_t isum = 0, big = 0;

		for (int t = 0; t < n0; t++)
			sum += lz[t] = lanczos3((p0 + t - c) / r);
		memset(acc, 0, (size_t)a->n * sizeof(*acc));
		for (int t = 0; t < n0; t++) {
			int p = clampi(p0 + t, 0, boxed - 1);
			double l = lz[t] / sum / m;
			for (int j = 0; j < m; j++) {
				int q = p * m + j < in ? p * m + j : in - 1;
				if (!pad) {
					acc[q - f] += l;
					continue;
				}
				acc[clampi(q - 1, 0, in - 1) - f] += l * b;
				acc[q - f] += l * (1 - 2 * b);
				acc[clampi(q + 1, 0, in - 1) - f] += l * b;
			}
		}
		for (int t = 0; t < a->n; t++) {
			w[t] = (int16_t)lrint(acc[t] * (1 << FRAC));
			isum += w[t];
			if (w[t] > w[big])
				big = t;
		}
		w[big] = (int16_t)(w[big] + (1 << FRAC) - isum); /* flat stays exactly flat */
		a->first[i] = f;
	}
done:
	free(acc);
	free(lz);
	if (rc)
		axis_free(a);
	return rc;
}

/* acc = the weighted sum of a's source rows for sample i, over len bytes, plus half a unit
 * (so that store's shift rounds to nearest). */
static void sum_rows(const unsigned char *src, size_t sstride, size_t len, const struct axis *a,
                     int i, int32_t *acc)
{
	const int16_t *w = a->w + (size_t)i * (size_t)a->n;
	const unsigned char *s = src + (size_t)a->first[i] * sstride;

	for (size_t x = 0; x < len; x++)
		acc[x] = 1 << (FRAC - 1);
	for (int t = 0; t < a->n; t++, s += sstride) {
		int16_t wt = w[t];
		if (wt == 0)
			continue;
		for (size_t x = 0; x < len; x++)
			acc[x] += wt * (int16_t)s[x];
	}
}

/* n pixels of acc, to 8 bits, each written step bytes after the last. */
static void store(const int32_t *acc, int n, unsigned char *dst, ptrdiff_t step)
{
	for (int i = 0; i < n; i++, acc += PEL, dst += step)
		for (int b = 0; b < PEL; b++) {
			int32_t v = acc[b] >> FRAC;
			dst[b] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
}

/* Where stored column x of the w x h result starts in out, turned upright by EXIF
 * orientation o, and the step from one of its pixels to the next (down the column). */
static ptrdiff_t upright(int o, int x, int w, int h, size_t ostride, ptrdiff_t *step)
{
	ptrdiff_t r = (ptrdiff_t)ostride, p = PEL, flip = w - 1 - x;

	switch (o) {
	case 2: *step = r; return flip * p;
	case 3: *step = -r; return flip * p + (h - 1) * r;
	case 4: *step = -r; return x * p + (h - 1) * r;
	case 5: *step = p; return x * r;
	case 6: *step = -p; return x * r + (h - 1) * p;
	case 7: *step = -p; return flip * r + (h - 1) * p;
	case 8: *step = p; return flip * r;
	default: *step = r; return x * p;
	}
}

int enl_resize_down(const unsigned char *src, int sw, int sh, size_t sstride, int k,
                    int orientation, double xshrink, double yshrink, unsigned char *out,
                    size_t ostride)
{
	int dw = (int)(sw / xshrink + 0.5), dh = (int)(sh / yshrink + 0.5), rc = 0;
	struct axis ax, ay;
	size_t across = (size_t)sw * PEL, down = (size_t)dh * PEL, cap = 0;
	unsigned char *turned;
	int32_t *acc;

	if (xshrink <= 1 || yshrink <= 1 || dw < 1 || dh < 1)
		return ENL_EUNSUPPORTED;
	if ((rc = axis_make(&ay, sh, dh, yshrink, k)))
		return rc;
	if ((rc = axis_make(&ax, sw, dw, xshrink, k))) {
		axis_free(&ay);
		return rc;
	}
	/* The image reduced down, transposed (sw rows of dh pixels); from the pool, so its
	 * pages are written already (pixel_pool.c). */
	turned = enl_pixel_pool_get((size_t)sw * down, &cap);
	acc = malloc((across > down ? across : down) * sizeof(*acc));
	if (!turned || !acc) {
		rc = ENL_ENOMEM;
		goto done;
	}
	/* Down the columns, each result row into a column of turned; then down turned's
	 * columns, each result column into out, upright. */
	for (int y = 0; y < dh; y++) {
		sum_rows(src, sstride, across, &ay, y, acc);
		store(acc, sw, turned + (size_t)y * PEL, (ptrdiff_t)down);
	}
	for (int x = 0; x < dw; x++) {
		ptrdiff_t step, at = upright(orientation, x, dw, dh, ostride, &step);
		sum_rows(turned, down, down, &ax, x, acc);
		store(acc, dh, out + at, step);
	}
done:
	free(acc);
	if (turned)
		enl_pixel_pool_put(turned, cap);
	axis_free(&ax);
	axis_free(&ay);
	return rc;
}
