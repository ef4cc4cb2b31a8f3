/* enl_blur3 (core_internal.h): the 3-tap blur a render from the mezzanine gets
 * (decode_plan.c), in plain C over the decoded pixels: libvips' convolution cost several
 * times as much, and rounded its coefficients (bench/profile.md, "The mezzanine"). */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

/* n values from src into dst: [k, 256 - 2k, k] / 256 of before, src and after, rounded. */
static void taps(unsigned char *dst, const unsigned char *before, const unsigned char *src,
                 const unsigned char *after, size_t n, unsigned k)
{
	unsigned c = 256 - 2 * k;
	for (size_t x = 0; x < n; x++)
		dst[x] = (unsigned char)((k * before[x] + c * src[x] + k * after[x] + 128) >> 8);
}

int enl_blur3(unsigned char *px, int w, int h, size_t stride, int bands, int k)
{
	size_t row = (size_t)w * (size_t)bands, b = (size_t)bands;
	unsigned char *line, *prev, *cur;
	int y;

	if (k < 1 || w < 1 || h < 1)
		return 0;
	if (!(line = malloc(3 * row)))
		return ENL_ENOMEM;
	prev = line + row;
	cur = prev + row;
	/* Across, each row from a copy of itself; the first and last pixel count their own
	 * value for the missing neighbour. */
	for (y = 0; y < h; y++) {
		unsigned char *r = px + (size_t)y * stride;
		memcpy(line, r, row);
		if (w > 1) {
			taps(r + b, line, line + b, line + 2 * b, row - 2 * b, (unsigned)k);
			taps(r, line, line, line + b, b, (unsigned)k);
			taps(r + row - b, line + row - 2 * b, line + row - b, line + row - b, b,
			     (unsigned)k);
		}
	}
	/* Down: prev holds the row above as it was across (the first row's own at the top). */
	memcpy(prev, px, row);
	for (y = 0; y < h; y++) {
		unsigned char *r = px + (size_t)y * stride, *t;
		memcpy(cur, r, row);
		taps(r, prev, cur, y + 1 < h ? r + stride : cur, row, (unsigned)k);
		t = prev;
		prev = cur;
		cur = t;
	}
	free(line);
	return 0;
}
