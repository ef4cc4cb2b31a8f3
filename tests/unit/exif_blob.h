/* Test helper: builds EXIF blocks (TIFF header, IFD0, EXIF IFD, GPS IFD) byte by byte, in
 * either byte order, with values that may lie about their type, count or offset. Shared by
 * tests/unit/test_exif_malformed.c and tests/unit/test_exif_mutate.c. */
#ifndef ENLARGER_TEST_EXIF_BLOB_H
#define ENLARGER_TEST_EXIF_BLOB_H

#include <stdint.h>
#include <string.h>

enum {
	T_BYTE = 1,
	T_ASCII = 2,
	T_SHORT = 3,
	T_LONG = 4,
	T_RATIONAL = 5,
	T_UNDEF = 7,
	T_SLONG = 9,
	T_SRATIONAL = 10,
	T_FLOAT = 11,
	T_DOUBLE = 12
};

/* One IFD entry. Numbers go in v[] (a rational takes two: numerator, denominator); text
 * or raw bytes in s/slen. count 0 means "what the values need". raw != 0 writes raw_off
 * as the value/offset field and no data (for offsets that point anywhere). */
struct tent {
	uint16_t tag, type;
	uint32_t count;
	const char *s;
	size_t slen;
	uint32_t v[8];
	int nv;
	int raw;
	uint32_t raw_off;
};

#define TSTR(tag_, str_)                                                                           \
	{                                                                                          \
		.tag = (tag_), .type = T_ASCII, .s = (str_), .slen = sizeof(str_)                  \
	}
#define TSHORT(tag_, a)                                                                            \
	{                                                                                          \
		.tag = (tag_), .type = T_SHORT, .v = {(a)}, .nv = 1                                \
	}
#define TLONG(tag_, a)                                                                             \
	{                                                                                          \
		.tag = (tag_), .type = T_LONG, .v = {(a)}, .nv = 1                                 \
	}
#define TRAT(tag_, n, d)                                                                           \
	{                                                                                          \
		.tag = (tag_), .type = T_RATIONAL, .v = {(n), (d)}, .nv = 2                        \
	}
#define TRAT3(tag_, a, b, c, d, e, f)                                                              \
	{                                                                                          \
		.tag = (tag_), .type = T_RATIONAL, .v = {(a), (b), (c), (d), (e), (f)}, .nv = 6    \
	}

struct tblob {
	unsigned char d[8192];
	size_t len;
	int be;
};

static void tb_put(struct tblob *b, size_t at, uint32_t v, int n)
{
	for (int i = 0; i < n; i++) {
		int shift = b->be ? 8 * (n - 1 - i) : 8 * i;
		b->d[at + (size_t)i] = (unsigned char)(v >> shift);
	}
}

static size_t tent_width(uint16_t type)
{
	switch (type) {
	case T_SHORT: return 2;
	case T_LONG:
	case T_SLONG:
	case T_FLOAT: return 4;
	case T_RATIONAL:
	case T_SRATIONAL:
	case T_DOUBLE: return 8;
	default: return 1;
	}
}

static size_t tent_bytes(const struct tent *e)
{
	if (e->raw)
		return 0;
	if (e->s)
		return e->slen;
	size_t w = tent_width(e->type);
	return (e->type == T_RATIONAL || e->type == T_SRATIONAL) ? w * (size_t)(e->nv / 2)
	                                                         : w * (size_t)e->nv;
}

static size_t tifd_size(const struct tent *e, int n)
{
	size_t s = 2 + 12 * (size_t)n + 4;
	for (int i = 0; i < n; i++) {
		size_t b = tent_bytes(&e[i]);
		if (b > 4)
			s += (b + 1) & ~(size_t)1;
	}
	return s;
}

static void tent_value(struct tblob *b, size_t at, const struct tent *e)
{
	if (e->s) {
		memcpy(b->d + at, e->s, e->slen);
		return;
	}
	size_t w = tent_width(e->type);
	if (e->type == T_RATIONAL || e->type == T_SRATIONAL) {
		for (int i = 0; i < e->nv; i++)
			tb_put(b, at + 4 * (size_t)i, e->v[i], 4);
		return;
	}
	for (int i = 0; i < e->nv; i++)
		tb_put(b, at + w * (size_t)i, e->v[i], (int)w);
}

/* Writes an IFD at `at`; its out-of-line data follows it. Returns the end offset. */
static size_t tifd_write(struct tblob *b, size_t at, const struct tent *e, int n, uint32_t next)
{
	size_t data = at + 2 + 12 * (size_t)n + 4;
	tb_put(b, at, (uint32_t)n, 2);
	for (int i = 0; i < n; i++) {
		size_t p = at + 2 + 12 * (size_t)i, bytes = tent_bytes(&e[i]);
		uint32_t count = e[i].count;
		if (!count)
			count =
			    e[i].s
			        ? (uint32_t)e[i].slen
			        : (uint32_t)((e[i].type == T_RATIONAL || e[i].type == T_SRATIONAL)
			                         ? e[i].nv / 2
			                         : e[i].nv);
		tb_put(b, p, e[i].tag, 2);
		tb_put(b, p + 2, e[i].type, 2);
		tb_put(b, p + 4, count, 4);
		memset(b->d + p + 8, 0, 4);
		if (e[i].raw) {
			tb_put(b, p + 8, e[i].raw_off, 4);
		} else if (bytes <= 4) {
			tent_value(b, p + 8, &e[i]);
		} else {
			tb_put(b, p + 8, (uint32_t)data, 4);
			tent_value(b, data, &e[i]);
			data += (bytes + 1) & ~(size_t)1;
		}
	}
	tb_put(b, at + 2 + 12 * (size_t)n, next, 4);
	return data;
}

/* "Exif\0\0" (when exif_header) + TIFF header + IFD0 (+ pointers) + EXIF IFD + GPS IFD.
 * exif_ptr / gps_ptr: 0 = where the IFD really is, else that (bogus) offset. */
static void tblob_build(struct tblob *b, int be, int exif_header, const struct tent *ifd0, int n0,
                        const struct tent *exif, int ne, const struct tent *gps, int ng,
                        uint32_t exif_ptr, uint32_t gps_ptr)
{
	struct tblob t;
	struct tent all0[40];
	int n = 0;

	memset(&t, 0, sizeof(t));
	t.be = be;
	for (int i = 0; i < n0 && n < 38; i++)
		all0[n++] = ifd0[i];
	size_t size0 = tifd_size(ifd0, n0) + 12 * (size_t)((ne > 0) + (ng > 0));
	size_t exif_at = 8 + size0;
	size_t gps_at = exif_at + (ne ? tifd_size(exif, ne) : 0);
	if (ne) {
		struct tent p = {.tag = 0x8769, .type = T_LONG, .count = 1, .raw = 1};
		p.raw_off = exif_ptr ? exif_ptr : (uint32_t)exif_at;
		all0[n++] = p;
	}
	if (ng) {
		struct tent p = {.tag = 0x8825, .type = T_LONG, .count = 1, .raw = 1};
		p.raw_off = gps_ptr ? gps_ptr : (uint32_t)gps_at;
		all0[n++] = p;
	}
	t.d[0] = t.d[1] = be ? 'M' : 'I';
	tb_put(&t, 2, 42, 2);
	tb_put(&t, 4, 8, 4);
	tifd_write(&t, 8, all0, n, 0);
	size_t end = gps_at;
	if (ne)
		tifd_write(&t, exif_at, exif, ne, 0);
	if (ng)
		end = tifd_write(&t, gps_at, gps, ng, 0);
	t.len = end;

	memset(b, 0, sizeof(*b));
	b->be = be;
	if (exif_header) {
		memcpy(b->d, "Exif\0\0", 6);
		b->len = 6;
	}
	memcpy(b->d + b->len, t.d, t.len);
	b->len += t.len;
}

#endif
