/* Base64 encoding and strict decoding (see include/enlarger/base64.h). */
#include "enlarger/base64.h"

#include "enlarger/err.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t enl_base64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t enl_base64_encode(char *out, const void *in, size_t n)
{
	const unsigned char *p = in;
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = 0;
	return o;
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t enl_base64_decoded_len(const char *in, size_t n)
{
	if (n == 0 || n % 4)
		return 0;
	return n / 4 * 3 - (in[n - 1] == '=') - (in[n - 1] == '=' && in[n - 2] == '=');
}

int enl_base64_decode(unsigned char *out, size_t *out_len, const char *in, size_t n)
{
	size_t o = 0;
	*out_len = 0;
	if (n % 4)
		return ENL_EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		int last = i + 4 == n;
		/* '=' only as the last one or two characters of the last quad. */
		int pad = last && in[i + 3] == '=' ? (in[i + 2] == '=' ? 2 : 1) : 0;
		int s[4];
		for (int k = 0; k < 4 - pad; k++)
			if ((s[k] = sextet(in[i + k])) < 0)
				return ENL_EINVAL;
		for (int k = 4 - pad; k < 4; k++)
			s[k] = 0;
		unsigned v = (unsigned)s[0] << 18 | (unsigned)s[1] << 12 | (unsigned)s[2] << 6 |
		             (unsigned)s[3];
		out[o++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)v;
	}
	out[o] = 0;
	*out_len = o;
	return 0;
}
