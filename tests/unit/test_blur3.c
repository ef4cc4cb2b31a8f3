/* enl_blur3 (src/core/blur3.c) against the arithmetic written out: a flat image stays
 * flat, an impulse spreads into the separable [k, 256 - 2k, k] / 256 kernel's 3x3 square
 * (across first, each pass rounded), edges count themselves, bands stay apart, the row
 * padding is never touched, k 0 changes nothing. */
#include <string.h>

#include "check.h"
#include "core_internal.h"

enum { W = 7, H = 5, B = 3 };

static int px(const unsigned char *p, int x, int y, int b)
{
	return p[(size_t)y * W * B + (size_t)x * B + (size_t)b];
}

int main(void)
{
	unsigned char p[W * H * B];
	int k = 32, c = 256 - 2 * 32;

	memset(p, 77, sizeof(p));
	CHECK_INT_EQ(enl_blur3(p, W, H, W * B, B, k), 0);
	for (size_t i = 0; i < sizeof(p); i++)
		if (p[i] != 77) {
			CHECK_INT_EQ(p[i], 77);
			break;
		}

	/* An impulse of 200 in band 1 at (3, 2). */
	memset(p, 0, sizeof(p));
	p[2 * W * B + 3 * B + 1] = 200;
	CHECK_INT_EQ(enl_blur3(p, W, H, W * B, B, k), 0);
	{
		int across_c = (c * 200 + 128) >> 8, across_k = (k * 200 + 128) >> 8;
		CHECK_INT_EQ(px(p, 3, 2, 1), (c * across_c + 128) >> 8);
		CHECK_INT_EQ(px(p, 2, 2, 1), (c * across_k + 128) >> 8);
		CHECK_INT_EQ(px(p, 3, 1, 1), (k * across_c + 128) >> 8);
		CHECK_INT_EQ(px(p, 4, 3, 1), (k * across_k + 128) >> 8);
		CHECK_INT_EQ(px(p, 5, 2, 1), 0);
		CHECK_INT_EQ(px(p, 3, 2, 0), 0);
		CHECK_INT_EQ(px(p, 3, 2, 2), 0);
	}

	/* A corner counts itself for its missing neighbours: (k + c) / 256 of it stays on
	 * each axis. */
	memset(p, 0, sizeof(p));
	p[0] = 100;
	CHECK_INT_EQ(enl_blur3(p, W, H, W * B, B, k), 0);
	{
		int across = ((k + c) * 100 + 128) >> 8;
		CHECK_INT_EQ(px(p, 0, 0, 0), ((k + c) * across + 128) >> 8);
	}

	/* Rows wider than the pixels: the padding is neither read into them nor written. */
	{
		unsigned char q[H][W * B + 4];
		memset(q, 9, sizeof(q));
		for (int y = 0; y < H; y++)
			memset(q[y], 50, W * B);
		CHECK_INT_EQ(enl_blur3(&q[0][0], W, H, W * B + 4, B, k), 0);
		CHECK_INT_EQ(q[2][W * B + 1], 9);
		CHECK_INT_EQ(q[4][W * B - 1], 50);
		CHECK_INT_EQ(q[0][0], 50);
	}

	memset(p, 0, sizeof(p));
	p[5] = 255;
	CHECK_INT_EQ(enl_blur3(p, W, H, W * B, B, 0), 0);
	CHECK_INT_EQ(p[5], 255);
	CHECK_INT_EQ(p[5 + B], 0);
	return check_done();
}
