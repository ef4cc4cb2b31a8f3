/* The direct libwebp encoder (src/core/webp_encode.c) through enl_encode: the bytes are read
 * back by libvips' own WebP loader (an independent decoder and demuxer) and walked chunk by
 * chunk here; libvips' saver at the same settings is the oracle for the VP8 bitstream. */
#include <stdint.h>

#include "check.h"
#include "vips_internal.h"

/* A w x h, 3- or 4-band memory image: smooth ramps, a hard-edged box, and (4 bands) an
 * alpha ramp from 0 to 255 across x. */
static VipsImage *pattern(int w, int h, int bands)
{
	size_t n = (size_t)w * h * bands;
	unsigned char *p = malloc(n);
	VipsImage *img;
	REQUIRE(p != NULL);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			unsigned char *q = p + ((size_t)y * w + x) * bands;
			int box = x > w / 3 && x < w / 2 && y > h / 4 && y < h / 2;
			q[0] = (unsigned char)(x * 255 / (w - 1));
			q[1] = (unsigned char)(y * 255 / (h - 1));
			q[2] = box ? 30 : (unsigned char)(128 + 100 * sin((x + y) / 40.0));
			if (bands == 4)
				q[3] = (unsigned char)(x * 255 / (w - 1));
		}
	img = vips_image_new_from_memory_copy(p, n, w, h, bands, VIPS_FORMAT_UCHAR);
	free(p);
	REQUIRE(img != NULL);
	img->Type = VIPS_INTERPRETATION_sRGB;
	return img;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* The chunk ids of a WebP file, concatenated ("VP8 ", "VP8XALPHVP8 "), into ids (cap 64);
 * *vp8 / *vp8_len: the VP8 payload. 0, or -1 when the RIFF structure is broken. */
static int chunks(const struct enl_buf *b, char *ids, const unsigned char **vp8, size_t *vp8_len)
{
	size_t at = 12, n = 0;
	ids[0] = 0;
	if (b->len < 20 || memcmp(b->data, "RIFF", 4) || memcmp(b->data + 8, "WEBP", 4) ||
	    le32(b->data + 4) + (size_t)8 != b->len)
		return -1;
	while (at + 8 <= b->len) {
		size_t clen = le32(b->data + at + 4);
		if (clen > b->len - at - 8 || n + 4 >= 64)
			return -1;
		memcpy(ids + n, b->data + at, 4);
		n += 4;
		ids[n] = 0;
		if (memcmp(b->data + at, "VP8 ", 4) == 0) {
			*vp8 = b->data + at + 8;
			*vp8_len = clen;
		}
		at += 8 + clen + (clen & 1);
	}
	return at == b->len ? 0 : -1;
}

/* The mean (or, with max, the largest) absolute difference of band range [b0, b0 + nb)
 * between two images of one size; -1 when libvips fails. */
static double abs_diff(VipsImage *a, VipsImage *b, int b0, int nb, int max)
{
	VipsImage *ea = NULL, *eb = NULL, *d = NULL, *ad = NULL;
	double m = -1;
	if (!vips_extract_band(a, &ea, b0, "n", nb, NULL) &&
	    !vips_extract_band(b, &eb, b0, "n", nb, NULL) && !vips_subtract(ea, eb, &d, NULL) &&
	    !vips_abs(d, &ad, NULL) && (max ? vips_max(ad, &m, NULL) : vips_avg(ad, &m, NULL)))
		m = -1;
	g_clear_object(&ea);
	g_clear_object(&eb);
	g_clear_object(&d);
	g_clear_object(&ad);
	return m;
}

/* Encodes src as WebP through enl_encode with a job share of `threads` and checks the file against
 * libvips' decoder and the chunk walk. Returns the output (caller frees its bytes). */
static struct enl_output encode_and_check(VipsImage *src, int threads, const char *artist,
                                          const char *want_ids)
{
	struct enl_output out;
	struct enl_errmsg e = {{0}};
	VipsImage *dec = NULL;
	const unsigned char *vp8 = NULL;
	size_t vp8_len = 0;
	char ids[64];
	int bands = vips_image_get_bands(src);

	memset(&out, 0, sizeof(out));
	REQUIRE(enl_encode(src, ENL_FMT_WEBP, 80, threads, artist, NULL, &out, &e) == 0);
	CHECK_INT_EQ(out.width, src->Xsize);
	CHECK_INT_EQ(out.height, src->Ysize);
	REQUIRE(chunks(&out.bytes, ids, &vp8, &vp8_len) == 0);
	CHECK_STR_EQ(ids, want_ids);
	CHECK(vp8 != NULL && vp8_len > 10);

	dec = vips_image_new_from_buffer(out.bytes.data, out.bytes.len, "", NULL);
	REQUIRE(dec != NULL);
	CHECK_INT_EQ(vips_image_get_width(dec), src->Xsize);
	CHECK_INT_EQ(vips_image_get_height(dec), src->Ysize);
	CHECK_INT_EQ(vips_image_get_bands(dec), bands);
	CHECK(vips_image_get_typeof(dec, VIPS_META_ICC_NAME) == 0);
	CHECK(vips_image_get_typeof(dec, VIPS_META_XMP_NAME) == 0);
	if (!artist) {
		CHECK(vips_image_get_typeof(dec, VIPS_META_EXIF_NAME) == 0);
	} else {
		const char *s = NULL;
		CHECK(vips_image_get_typeof(dec, VIPS_META_EXIF_NAME) != 0);
		CHECK(vips_image_get_string(dec, "exif-ifd0-Artist", &s) == 0 && s &&
		      strncmp(s, artist, strlen(artist)) == 0);
	}
	if (vips_image_get_bands(dec) == bands) {
		double rgb = abs_diff(src, dec, 0, 3, 0);
		fprintf(stderr, "%dx%dx%d: %zu bytes, mean |diff| RGB %.2f\n", src->Xsize,
		        src->Ysize, bands, out.bytes.len, rgb);
		CHECK(rgb >= 0 && rgb < 3.0);
		if (bands == 4) /* alpha_quality 100: the alpha plane is lossless */
			CHECK_NEAR(abs_diff(src, dec, 3, 1, 1), 0, 0);
	}
	g_object_unref(dec);
	return out;
}

/* The VP8 payload of a WebP buffer as a new enl_buf-free copy in *out. */
static void vp8_of(const void *data, size_t len, struct enl_buf *out)
{
	struct enl_buf b = {(unsigned char *)data, len, len, 0, NULL};
	const unsigned char *vp8 = NULL;
	size_t vp8_len = 0;
	char ids[64];
	REQUIRE(chunks(&b, ids, &vp8, &vp8_len) == 0 && vp8);
	enl_buf_init(out, 0);
	REQUIRE(enl_buf_append(out, vp8, vp8_len) == 0);
}

int main(int argc, char **argv)
{
	VipsImage *rgb, *rgba, *opaque4 = NULL, *lazy = NULL;
	struct enl_output a, b;
	struct enl_buf p1, p2;
	struct enl_errmsg e = {{0}};
	void *vbuf = NULL;
	size_t vlen = 0;

	(void)argc;
	if (VIPS_INIT(argv[0]))
		return 1;
	vips_cache_set_max(0);
	rgb = pattern(257, 131, 3);
	rgba = pattern(257, 131, 4);
	REQUIRE(enl_webp_can_encode(rgb) && enl_webp_can_encode(rgba));

	/* Opaque: a simple file, nothing but the bitstream. */
	a = encode_and_check(rgb, 1, NULL, "VP8 ");
	/* libvips' saver at the settings enl_encode used before (Q 80, effort 4): the same
	 * bitstream, so the quality mapping is unchanged. */
	REQUIRE(vips_webpsave_buffer(rgb, &vbuf, &vlen, "Q", 80, "effort", 4, "strip", TRUE,
	                             NULL) == 0);
	vp8_of(a.bytes.data, a.bytes.len, &p1);
	vp8_of(vbuf, vlen, &p2);
	CHECK(p1.len == p2.len && memcmp(p1.data, p2.data, p1.len) == 0);
	enl_buf_free(&p1);
	enl_buf_free(&p2);
	g_free(vbuf);

	/* Quality 0 is the format default, 80. */
	memset(&b, 0, sizeof(b));
	REQUIRE(enl_encode(rgb, ENL_FMT_WEBP, 0, 1, NULL, NULL, &b, &e) == 0);
	CHECK(a.bytes.len == b.bytes.len && memcmp(a.bytes.data, b.bytes.data, a.bytes.len) == 0);
	enl_buf_free(&b.bytes);

	/* libwebp's thread_level changes who computes, not what. */
	b = encode_and_check(rgb, 2, NULL, "VP8 ");
	CHECK(a.bytes.len == b.bytes.len && memcmp(a.bytes.data, b.bytes.data, a.bytes.len) == 0);
	enl_buf_free(&b.bytes);
	enl_buf_free(&a.bytes);

	/* Alpha kept, as VP8X + ALPH + VP8; threaded alpha gives the same bytes. */
	a = encode_and_check(rgba, 1, NULL, "VP8XALPHVP8 ");
	b = encode_and_check(rgba, 2, NULL, "VP8XALPHVP8 ");
	CHECK(a.bytes.len == b.bytes.len && memcmp(a.bytes.data, b.bytes.data, a.bytes.len) == 0);
	enl_buf_free(&a.bytes);
	enl_buf_free(&b.bytes);

	/* Four bands, all opaque: libwebp drops the alpha plane (as libvips' saver did). */
	REQUIRE(vips_extract_band(rgba, &lazy, 0, "n", 3, NULL) == 0);
	{
		VipsImage *t = NULL;
		REQUIRE(vips_bandjoin_const1(lazy, &t, 255, NULL) == 0);
		opaque4 = vips_image_copy_memory(t);
		g_object_unref(t);
		g_clear_object(&lazy);
	}
	REQUIRE(opaque4 && enl_webp_can_encode(opaque4));
	memset(&a, 0, sizeof(a));
	REQUIRE(enl_encode(opaque4, ENL_FMT_WEBP, 80, 1, NULL, NULL, &a, &e) == 0);
	{
		const unsigned char *vp8 = NULL;
		size_t vp8_len = 0;
		char ids[64];
		REQUIRE(chunks(&a.bytes, ids, &vp8, &vp8_len) == 0);
		CHECK_STR_EQ(ids, "VP8 ");
	}
	enl_buf_free(&a.bytes);

	/* Artist added by outmeta.c onto the simple file: VP8X (EXIF flag) + VP8 + EXIF. */
	a = encode_and_check(rgb, 1, "Ada Lovelace", "VP8XVP8 EXIF");
	CHECK(a.bytes.data[20] == 0x08);
	enl_buf_free(&a.bytes);
	a = encode_and_check(rgba, 1, "Ada Lovelace", "VP8XALPHVP8 EXIF");
	CHECK(a.bytes.data[20] == (0x08 | 0x10));
	enl_buf_free(&a.bytes);

	/* Not a memory image: libvips' saver, same kind of file (VP8X kept from its mux). */
	REQUIRE(vips_linear1(rgb, &lazy, 1.0, 0.0, "uchar", TRUE, NULL) == 0);
	CHECK(!enl_webp_can_encode(lazy));
	a = encode_and_check(lazy, 1, NULL, "VP8XVP8 ");
	enl_buf_free(&a.bytes);

	g_object_unref(lazy);
	g_object_unref(opaque4);
	g_object_unref(rgba);
	g_object_unref(rgb);
	vips_shutdown();
	return check_done();
}
