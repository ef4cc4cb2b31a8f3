/* Placeholders computed from the thumbnail's pixels: BlurHash and the dominant colour.
 * Plain C over 8-bit pixels; no libvips here. */
#include "core_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/text.h"

static const char b83[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

static char *encode83(long value, int digits, char *dst)
{
	int i;
	for (i = 1; i <= digits; i++) {
		long div = 1;
		int k;
		for (k = 0; k < digits - i; k++)
			div *= 83;
		*dst++ = b83[(value / div) % 83];
	}
	return dst;
}

static double srgb_to_linear(int v)
{
	double x = v / 255.0;
	return x <= 0.04045 ? x / 12.92 : pow((x + 0.055) / 1.055, 2.4);
}

static int linear_to_srgb(double v)
{
	double x = v < 0 ? 0 : v > 1 ? 1 : v;
	/* trunc(... + 0.5) as the reference does; x >= 0 so (int) truncates the same. */
	if (x <= 0.0031308)
		return (int)(x * 12.92 * 255 + 0.5);
	return (int)((1.055 * pow(x, 0.4166666666666667) - 0.055) * 255 + 0.5);
}

static double sign_pow(double v, double e)
{
	return (v < 0 ? -1.0 : 1.0) * pow(fabs(v), e);
}

/* Keeps the reference's order of operations so the doubles, and so the string, match:
 * basis = norm * cos(pi * cx * x / w) * cos(pi * cy * y / h), summed x outer, y inner. */
int enl_placeholder_blurhash(const unsigned char *px, int w, int h, int channels, int cx, int cy,
                             char *out, size_t outsz)
{
	double lin[256];
	double *cosx = NULL, *cosy = NULL;
	double factors[81][3];
	double max_ac = 1.0, scale;
	char *p = out;
	int i, j, x, y, rc = 0;

	if (!px || w < 1 || h < 1 || channels < 3 || cx < 1 || cx > 9 || cy < 1 || cy > 9 ||
	    outsz < (size_t)(4 + 2 * cx * cy + 1))
		return ENL_EINVAL;
	cosx = malloc(sizeof(double) * (size_t)w);
	cosy = malloc(sizeof(double) * (size_t)h);
	if (!cosx || !cosy) {
		rc = ENL_ENOMEM;
		goto done;
	}
	for (i = 0; i < 256; i++)
		lin[i] = srgb_to_linear(i);
	scale = 1.0 / ((double)w * h);

	for (j = 0; j < cy; j++) {
		for (i = 0; i < cx; i++) {
			double norm = (i == 0 && j == 0) ? 1 : 2;
			double r = 0, g = 0, b = 0;
			for (x = 0; x < w; x++)
				cosx[x] = cos(M_PI * i * x / w);
			for (y = 0; y < h; y++)
				cosy[y] = cos(M_PI * j * y / h);
			for (x = 0; x < w; x++) {
				for (y = 0; y < h; y++) {
					const unsigned char *q =
					    px + ((size_t)y * w + x) * (size_t)channels;
					double basis = norm * cosx[x] * cosy[y];
					r += basis * lin[q[0]];
					g += basis * lin[q[1]];
					b += basis * lin[q[2]];
				}
			}
			factors[j * cx + i][0] = r * scale;
			factors[j * cx + i][1] = g * scale;
			factors[j * cx + i][2] = b * scale;
		}
	}

	p = encode83((cx - 1) + (cy - 1) * 9, 1, p);
	if (cx * cy > 1) {
		/* The reference takes the largest signed AC value (not the absolute). */
		double actual = -INFINITY, qd;
		long quant;
		for (i = 1; i < cx * cy; i++)
			for (j = 0; j < 3; j++)
				if (factors[i][j] > actual)
					actual = factors[i][j];
		qd = floor(actual * 166 - 0.5);
		quant = (long)floor(fmax(0, fmin(82, qd)));
		max_ac = (quant + 1) / 166.0;
		p = encode83(quant, 1, p);
	} else {
		p = encode83(0, 1, p);
	}
	p = encode83(((long)linear_to_srgb(factors[0][0]) << 16) +
	                 ((long)linear_to_srgb(factors[0][1]) << 8) + linear_to_srgb(factors[0][2]),
	             4, p);
	for (i = 1; i < cx * cy; i++) {
		long qc[3];
		for (j = 0; j < 3; j++) {
			double v = floor(sign_pow(factors[i][j] / max_ac, 0.5) * 9 + 9.5);
			qc[j] = (long)floor(fmax(0, fmin(18, v)));
		}
		p = encode83(qc[0] * 19 * 19 + qc[1] * 19 + qc[2], 2, p);
	}
	*p = '\0';
done:
	free(cosx);
	free(cosy);
	return rc;
}

void enl_placeholder_dominant(const unsigned char *px, int w, int h, int channels, char out[8])
{
	/* 4096 cells of 16 levels per channel: coarse enough that the noise of a photo lands in
	 * one cell, fine enough that a blue sky and a blue shirt stay apart. */
	enum { CELLS = 16 * 16 * 16 };
	unsigned *count = calloc(CELLS, sizeof(unsigned));
	unsigned long long *sum = calloc(CELLS * 3, sizeof(unsigned long long));
	size_t i, n = (size_t)w * (size_t)h;
	int best = 0, c, rgb[3] = {0, 0, 0};

	if (count && sum && px && channels >= 3) {
		for (i = 0; i < n; i++) {
			const unsigned char *q = px + i * (size_t)channels;
			int cell = (q[0] >> 4) << 8 | (q[1] >> 4) << 4 | (q[2] >> 4);
			count[cell]++;
			sum[cell * 3] += q[0];
			sum[cell * 3 + 1] += q[1];
			sum[cell * 3 + 2] += q[2];
		}
		for (c = 1; c < CELLS; c++)
			if (count[c] > count[best])
				best = c;
		if (count[best])
			for (c = 0; c < 3; c++)
				rgb[c] = (int)((sum[best * 3 + c] + count[best] / 2) / count[best]);
	}
	unsigned char bytes[3] = {(unsigned char)rgb[0], (unsigned char)rgb[1],
	                          (unsigned char)rgb[2]};
	out[0] = '#';
	enl_hex_encode(out + 1, bytes, sizeof(bytes));
	free(count);
	free(sum);
}
