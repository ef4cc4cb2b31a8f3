/* The only metadata an output carries: encoders strip everything, then this adds back a
 * minimal EXIF block (IFD0 with Artist and Copyright, nothing else) to the encoded bytes.
 * Built byte by byte so that no GPS, serial number or maker note can ride along. */
#include "core_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TAG_ARTIST 0x013b
#define TAG_COPYRIGHT 0x8298
#define EXIF_ASCII 2

static void put16le(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void put32le(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static void put32be(unsigned char *p, uint32_t v)
{
	p[0] = (v >> 24) & 0xff;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static uint32_t get32le(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* A little-endian TIFF structure: header, IFD0 with one or two ASCII entries, the strings.
 * Entries are in ascending tag order as TIFF requires. */
static int build_tiff(const char *artist, const char *copyright, struct enl_buf *out)
{
	const char *val[2] = {artist, copyright};
	const unsigned tag[2] = {TAG_ARTIST, TAG_COPYRIGHT};
	unsigned char ent[12 * 2];
	unsigned char head[10];
	unsigned char next[4] = {0, 0, 0, 0};
	size_t vlen[2] = {0, 0};
	uint32_t data_off;
	int i, n = 0, rc;

	for (i = 0; i < 2; i++)
		if (val[i] && *val[i])
			n++;
	/* header (8) + count (2) + entries + next IFD (4) */
	data_off = 8 + 2 + 12 * (uint32_t)n + 4;
	memcpy(head, "II*\0", 4);
	put32le(head + 4, 8);
	put16le(head + 8, (unsigned)n);
	n = 0;
	for (i = 0; i < 2; i++) {
		unsigned char *p = ent + 12 * n;
		if (!val[i] || !*val[i])
			continue;
		vlen[i] = strnlen(val[i], 4096) + 1; /* with its NUL */
		put16le(p, tag[i]);
		put16le(p + 2, EXIF_ASCII);
		put32le(p + 4, (uint32_t)vlen[i]);
		if (vlen[i] <= 4) {
			memset(p + 8, 0, 4);
			memcpy(p + 8, val[i], vlen[i]);
		} else {
			put32le(p + 8, data_off);
			data_off += (uint32_t)vlen[i];
		}
		n++;
	}
	if ((rc = enl_buf_append(out, head, sizeof(head))) ||
	    (rc = enl_buf_append(out, ent, 12 * (size_t)n)) ||
	    (rc = enl_buf_append(out, next, sizeof(next))))
		return rc;
	for (i = 0; i < 2; i++) {
		if (vlen[i] <= 4)
			continue;
		if ((rc = enl_buf_append(out, val[i], vlen[i] - 1)) ||
		    (rc = enl_buf_append(out, "", 1)))
			return rc;
	}
	return 0;
}

/* JPEG: an APP1 "Exif" segment after SOI (and after a JFIF APP0 when there is one). */
static int add_jpeg(const struct enl_buf *in, const struct enl_buf *tiff, struct enl_buf *out)
{
	size_t at = 2, seglen = 2 + 6 + tiff->len;
	unsigned char mk[4];
	int rc;

	if (in->len < 4 || in->data[0] != 0xff || in->data[1] != 0xd8)
		return ENL_EINTERNAL;
	if (seglen > 0xffff)
		return ENL_EINTERNAL;
	if (in->len >= 6 && in->data[2] == 0xff && in->data[3] == 0xe0) {
		size_t app0 = ((size_t)in->data[4] << 8) | in->data[5];
		if (4 + app0 <= in->len)
			at = 4 + app0; /* marker (2) + length field counted in app0 */
	}
	mk[0] = 0xff;
	mk[1] = 0xe1;
	mk[2] = (seglen >> 8) & 0xff;
	mk[3] = seglen & 0xff;
	if ((rc = enl_buf_append(out, in->data, at)) || (rc = enl_buf_append(out, mk, 4)) ||
	    (rc = enl_buf_append(out, "Exif\0\0", 6)) ||
	    (rc = enl_buf_append(out, tiff->data, tiff->len)) ||
	    (rc = enl_buf_append(out, in->data + at, in->len - at)))
		return rc;
	return 0;
}

/* WebP: rebuilt chunk by chunk. libvips 8.14's webpsave ignores strip and always writes an
 * EXIF chunk of its own (orientation, resolution), so every EXIF, XMP and ICCP chunk is
 * dropped here and the VP8X flags cleared; then ours is appended when there is one. A simple
 * file (no VP8X) that gets EXIF needs a VP8X chunk with the canvas size. tiff may be NULL. */
static int rewrite_webp(const struct enl_buf *in, const struct enl_buf *tiff, int width, int height,
                        int has_alpha, struct enl_buf *out)
{
	unsigned char hdr[12], vp8x[18], ch[8];
	size_t at = 12, body = 0, riff_len_at;
	int rc, have_vp8x = 0;

	if (in->len < 20 || memcmp(in->data, "RIFF", 4) != 0 ||
	    memcmp(in->data + 8, "WEBP", 4) != 0 || get32le(in->data + 4) + (size_t)8 != in->len)
		return ENL_EINTERNAL;
	if (width < 1 || height < 1 || width > (1 << 24) || height > (1 << 24))
		return ENL_EINTERNAL;
	memcpy(hdr, "RIFF\0\0\0\0WEBP", 12);
	if ((rc = enl_buf_append(out, hdr, sizeof(hdr))))
		return rc;
	riff_len_at = 4;
	if (memcmp(in->data + 12, "VP8X", 4) != 0 && tiff) {
		uint32_t w1 = (uint32_t)width - 1, h1 = (uint32_t)height - 1;
		memset(vp8x, 0, sizeof(vp8x));
		memcpy(vp8x, "VP8X", 4);
		put32le(vp8x + 4, 10);
		vp8x[8] = 0x08 | (has_alpha && memcmp(in->data + 12, "VP8L", 4) == 0 ? 0x10 : 0);
		vp8x[12] = w1 & 0xff;
		vp8x[13] = (w1 >> 8) & 0xff;
		vp8x[14] = (w1 >> 16) & 0xff;
		vp8x[15] = h1 & 0xff;
		vp8x[16] = (h1 >> 8) & 0xff;
		vp8x[17] = (h1 >> 16) & 0xff;
		if ((rc = enl_buf_append(out, vp8x, sizeof(vp8x))))
			return rc;
	}
	while (at + 8 <= in->len) {
		const unsigned char *c = in->data + at;
		size_t clen = get32le(c + 4), whole;
		if (clen > in->len - at - 8)
			return ENL_EINTERNAL;
		whole = 8 + clen + (clen & 1);
		if (whole > in->len - at)
			whole = in->len - at; /* a missing final pad byte */
		if (memcmp(c, "EXIF", 4) == 0 || memcmp(c, "XMP ", 4) == 0 ||
		    memcmp(c, "ICCP", 4) == 0) {
			at += whole;
			continue;
		}
		if (memcmp(c, "VP8X", 4) == 0) {
			/* Only as the first chunk (a second one would follow ours). */
			if (clen != 10 || have_vp8x || at != 12)
				return ENL_EINTERNAL;
			have_vp8x = 1;
			memcpy(vp8x, c, sizeof(vp8x));
			vp8x[8] &= (unsigned char)~(0x20 | 0x08 | 0x04); /* ICC, EXIF, XMP */
			if (tiff)
				vp8x[8] |= 0x08;
			if ((rc = enl_buf_append(out, vp8x, sizeof(vp8x))))
				return rc;
		} else if ((rc = enl_buf_append(out, c, whole))) {
			return rc;
		}
		body++;
		at += whole;
	}
	if (!body)
		return ENL_EINTERNAL;
	if (tiff) {
		memcpy(ch, "EXIF", 4);
		put32le(ch + 4, (uint32_t)tiff->len);
		if ((rc = enl_buf_append(out, ch, sizeof(ch))) ||
		    (rc = enl_buf_append(out, tiff->data, tiff->len)) ||
		    ((tiff->len & 1) && (rc = enl_buf_append(out, "", 1))))
			return rc;
	}
	if (out->len - 8 > UINT32_MAX)
		return ENL_EINTERNAL;
	put32le(out->data + riff_len_at, (uint32_t)(out->len - 8));
	return 0;
}

static uint32_t crc32_png(const unsigned char *p, size_t n, uint32_t crc)
{
	size_t i;
	int k;
	crc = ~crc;
	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* PNG: an eXIf chunk right before the first IDAT. */
static int add_png(const struct enl_buf *in, const struct enl_buf *tiff, struct enl_buf *out)
{
	size_t at = 8;
	unsigned char len4[4], crc4[4];
	uint32_t crc;
	int rc;

	while (at + 8 <= in->len) {
		uint32_t clen = ((uint32_t)in->data[at] << 24) |
		                ((uint32_t)in->data[at + 1] << 16) |
		                ((uint32_t)in->data[at + 2] << 8) | in->data[at + 3];
		if (memcmp(in->data + at + 4, "IDAT", 4) == 0)
			break;
		if ((size_t)clen > in->len - at - 12)
			return ENL_EINTERNAL;
		at += 12 + (size_t)clen;
	}
	if (at + 8 > in->len)
		return ENL_EINTERNAL;
	put32be(len4, (uint32_t)tiff->len);
	crc = crc32_png((const unsigned char *)"eXIf", 4, 0);
	crc = crc32_png(tiff->data, tiff->len, crc);
	put32be(crc4, crc);
	if ((rc = enl_buf_append(out, in->data, at)) || (rc = enl_buf_append(out, len4, 4)) ||
	    (rc = enl_buf_append(out, "eXIf", 4)) ||
	    (rc = enl_buf_append(out, tiff->data, tiff->len)) ||
	    (rc = enl_buf_append(out, crc4, 4)) ||
	    (rc = enl_buf_append(out, in->data + at, in->len - at)))
		return rc;
	return 0;
}

int enl_outmeta_finish(struct enl_buf *b, enum enl_format fmt, int width, int height, int has_alpha,
                       const char *artist, const char *copyright)
{
	struct enl_buf tiff, out;
	int add = (artist && *artist) || (copyright && *copyright);
	int rc = 0;

	/* JPEG and PNG come out of libvips clean (strip works there); AVIF renders carry
	 * no metadata at all (documented). */
	if (fmt == ENL_FMT_AVIF || (!add && fmt != ENL_FMT_WEBP))
		return 0;
	enl_buf_init(&tiff, 0);
	enl_buf_init(&out, 0);
	if (add && (rc = build_tiff(artist, copyright, &tiff)))
		goto done;
	switch (fmt) {
	case ENL_FMT_JPEG: rc = add_jpeg(b, &tiff, &out); break;
	case ENL_FMT_WEBP:
		rc = rewrite_webp(b, add ? &tiff : NULL, width, height, has_alpha, &out);
		break;
	case ENL_FMT_PNG: rc = add_png(b, &tiff, &out); break;
	default: rc = ENL_EINTERNAL; break;
	}
	if (rc)
		goto done;
	enl_buf_move(b, &out);
done:
	enl_buf_free(&tiff);
	enl_buf_free(&out);
	return rc;
}
