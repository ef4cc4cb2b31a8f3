/* Fuzz target for the output metadata rewriters (enl_outmeta_finish, src/core/outmeta.c):
 * the WebP chunk rebuild and the EXIF block added to JPEG, WebP and PNG outputs. The
 * first byte picks the format (bits 0-1: JPEG, WebP, PNG, AVIF), alpha (bit 2), an
 * Artist (bit 3; bit 5 makes it short enough to sit inside its IFD entry) and a
 * Copyright (bit 4); the next two are the width and height less one; the rest is the
 * encoded file. Checks: a failure is ENL_EINTERNAL or ENL_ENOMEM and leaves the bytes
 * alone, as does a format or case with nothing to do; on success the file is the input
 * with only the expected change:
 * - JPEG: one APP1 "Exif" segment after SOI (and after a JFIF APP0), the rest as it was;
 * - WebP: a RIFF whose size adds up, chunks that tile it, no ICCP, XMP or foreign EXIF
 *   chunk, VP8X flags that say so, and a VP8X first when one was needed;
 * - PNG: one eXIf chunk with a correct CRC before the first IDAT, the rest as it was;
 * and the EXIF block, read by libexif (enl_exif_parse), holds exactly the Artist and
 * Copyright given. */
#include "core_internal.h"
#include "enlarger/buf.h"
#include "fuzz.h"

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint32_t crc32_ref(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
	}
	return ~c;
}

static void check_exif(const unsigned char *p, size_t n, const char *artist, const char *copyright)
{
	struct enl_exif x;
	enl_exif_parse(p, n, &x);
	FUZZ_CHECK(strcmp(x.artist, artist ? artist : "") == 0);
	FUZZ_CHECK(strcmp(x.copyright, copyright ? copyright : "") == 0);
	FUZZ_CHECK(!x.make[0] && !x.model[0] && !x.has_gps && !x.orientation);
}

static void check_jpeg(const struct enl_buf *in, const struct enl_buf *out, const char *artist,
                       const char *copyright)
{
	size_t at = 2;
	if (in->len >= 6 && in->data[2] == 0xff && in->data[3] == 0xe0 &&
	    4 + (((size_t)in->data[4] << 8) | in->data[5]) <= in->len)
		at = 4 + (((size_t)in->data[4] << 8) | in->data[5]);
	FUZZ_CHECK(out->len > in->len + 10 && memcmp(out->data, in->data, at) == 0);
	const unsigned char *seg = out->data + at;
	size_t seglen = (size_t)seg[2] << 8 | seg[3];
	FUZZ_CHECK(seg[0] == 0xff && seg[1] == 0xe1 && memcmp(seg + 4, "Exif\0\0", 6) == 0);
	FUZZ_CHECK(out->len == in->len + 2 + seglen);
	FUZZ_CHECK(memcmp(seg + 2 + seglen, in->data + at, in->len - at) == 0);
	check_exif(seg + 4, seglen - 2, artist, copyright);
}

static void check_webp(const struct enl_buf *in, const struct enl_buf *out, int add,
                       const char *artist, const char *copyright)
{
	const unsigned char *o = out->data;
	FUZZ_CHECK(out->len >= 20 && !memcmp(o, "RIFF", 4) && !memcmp(o + 8, "WEBP", 4));
	FUZZ_CHECK(le32(o + 4) + (size_t)8 == out->len);
	int exifs = 0, vp8x_flags = -1;
	size_t at = 12;
	const unsigned char *exif = NULL;
	size_t exif_len = 0;
	while (at < out->len) {
		FUZZ_CHECK(at + 8 <= out->len);
		size_t clen = le32(o + at + 4);
		FUZZ_CHECK(clen <= out->len - at - 8);
		const unsigned char *c = o + at;
		FUZZ_CHECK(memcmp(c, "ICCP", 4) != 0 && memcmp(c, "XMP ", 4) != 0);
		if (!memcmp(c, "VP8X", 4)) {
			FUZZ_CHECK(at == 12 && vp8x_flags < 0 && clen == 10);
			vp8x_flags = c[8];
		}
		if (!memcmp(c, "EXIF", 4)) {
			exifs++;
			exif = c + 8;
			exif_len = clen;
		}
		size_t whole = 8 + clen + (clen & 1);
		at += whole < out->len - at ? whole : out->len - at;
	}
	FUZZ_CHECK(exifs == add);
	if (vp8x_flags >= 0)
		FUZZ_CHECK((vp8x_flags & 0x20) == 0 && (vp8x_flags & 0x04) == 0 &&
		           !!(vp8x_flags & 0x08) == add);
	if (add && memcmp(in->data + 12, "VP8X", 4) != 0)
		FUZZ_CHECK(vp8x_flags >= 0);
	if (add)
		check_exif(exif, exif_len, artist, copyright);
}

static void check_png(const struct enl_buf *in, const struct enl_buf *out, const char *artist,
                      const char *copyright)
{
	/* The input's first IDAT, walking its chunks. */
	size_t at = 8;
	while (memcmp(in->data + at + 4, "IDAT", 4) != 0)
		at += 12 + (size_t)be32(in->data + at);
	const unsigned char *o = out->data;
	FUZZ_CHECK(out->len > in->len + 12 && memcmp(o, in->data, at) == 0);
	size_t n = be32(o + at);
	FUZZ_CHECK(memcmp(o + at + 4, "eXIf", 4) == 0 && out->len == in->len + 12 + n);
	FUZZ_CHECK(be32(o + at + 8 + n) == crc32_ref(o + at + 4, 4 + n));
	FUZZ_CHECK(memcmp(o + at + 12 + n, in->data + at, in->len - at) == 0);
	check_exif(o + at + 8, n, artist, copyright);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	static const enum enl_format fmts[] = {ENL_FMT_JPEG, ENL_FMT_WEBP, ENL_FMT_PNG,
	                                       ENL_FMT_AVIF};
	enum enl_format fmt = fmts[data[0] & 3];
	int has_alpha = !!(data[0] & 4);
	const char *artist =
	    data[0] & 8 ? (data[0] & 32 ? "Ann" : "Ann Artist, Photographer") : NULL;
	const char *copyright = data[0] & 16 ? "(c) 2024 Someone Who Owns It" : NULL;
	int width = data[1] + 1, height = data[2] + 1;
	int add = artist || copyright;

	struct enl_buf b, in;
	enl_buf_init(&b, 0);
	enl_buf_init(&in, 0);
	/* Exactly the file's bytes, as the encoders hand them over (no spare capacity). */
	if (size > 3) {
		void *copy = malloc(size - 3);
		FUZZ_CHECK(copy != NULL);
		memcpy(copy, data + 3, size - 3);
		enl_buf_adopt(&b, copy, size - 3, free);
		FUZZ_CHECK(enl_buf_append(&in, data + 3, size - 3) == 0);
	}

	int rc = enl_outmeta_finish(&b, fmt, width, height, has_alpha, artist, copyright);
	if (rc || fmt == ENL_FMT_AVIF || (!add && fmt != ENL_FMT_WEBP)) {
		FUZZ_CHECK(rc == 0 || rc == ENL_EINTERNAL || rc == ENL_ENOMEM);
		FUZZ_CHECK(b.len == in.len && (!b.len || memcmp(b.data, in.data, b.len) == 0));
	} else if (fmt == ENL_FMT_JPEG) {
		check_jpeg(&in, &b, artist, copyright);
	} else if (fmt == ENL_FMT_WEBP) {
		check_webp(&in, &b, add, artist, copyright);
	} else {
		check_png(&in, &b, artist, copyright);
	}
	enl_buf_free(&b);
	enl_buf_free(&in);
	return 0;
}
