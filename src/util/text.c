/* Hex digits, percent-decoding and UTF-8 validation (see include/enlarger/text.h). */
#include "enlarger/text.h"

#include "enlarger/err.h"

int enl_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void enl_hex_encode(char *out, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

const char *enl_unquote(const char *s, size_t *n)
{
	if (*n >= 2 && s[0] == '"' && s[*n - 1] == '"') {
		*n -= 2;
		return s + 1;
	}
	return s;
}

int enl_pct_decode(const char *in, size_t n, unsigned flags, char *out, size_t outsz,
                   size_t *out_len)
{
	size_t o = 0;
	if (out_len)
		*out_len = 0;
	if (outsz == 0)
		return ENL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];
		if (c == '%') {
			int hi = i + 1 < n ? enl_hexval((unsigned char)in[i + 1]) : -1;
			int lo = i + 2 < n ? enl_hexval((unsigned char)in[i + 2]) : -1;
			if (hi >= 0 && lo >= 0 && (hi || lo || (flags & ENL_PCT_LENIENT))) {
				c = hi * 16 + lo;
				i += 2;
			} else if (!(flags & ENL_PCT_LENIENT)) {
				return ENL_EINVAL;
			}
		} else if (c == '+' && (flags & ENL_PCT_PLUS_SPACE)) {
			c = ' ';
		}
		if (o + 1 >= outsz)
			return ENL_EINVAL;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return 0;
}

int enl_utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, c &= 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}
