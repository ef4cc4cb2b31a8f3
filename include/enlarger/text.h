/* Small text helpers several layers share: hex digits, percent-decoding and UTF-8
 * validation. Pure functions over bytes, no allocation. */
#ifndef ENLARGER_TEXT_H
#define ENLARGER_TEXT_H

#include <stddef.h>

/* The value of one hex digit (0-9, a-f, A-F), or -1. */
int enl_hexval(int c);

/* p[0..n) as 2n lower-case hex digits and a NUL into out (2n + 1 bytes). */
void enl_hex_encode(char *out, const void *p, size_t n);

/* s[0..*n) without one pair of surrounding double quotes, the way ETags travel in
 * headers and events: returns where the value starts and shortens *n to its length. */
const char *enl_unquote(const char *s, size_t *n);

/* Flags for enl_pct_decode. */
#define ENL_PCT_PLUS_SPACE                                                                         \
	1u /* '+' is a space (form-encoded query strings, S3 notification keys) */
#define ENL_PCT_LENIENT                                                                            \
	2u /* a '%' without two hex digits stays literal and %00 decodes to                        \
	    * a NUL byte (as S3 and botocore treat a SigV4 path) */

/* Percent-decodes in[0..n) into out (outsz bytes, NUL added; out never needs more than
 * n + 1). *out_len (when not NULL) gets the decoded length. Without ENL_PCT_LENIENT a
 * bad escape or an encoded NUL is ENL_EINVAL; ENL_EINVAL too when out is too small. */
int enl_pct_decode(const char *in, size_t n, unsigned flags, char *out, size_t outsz,
                   size_t *out_len);

/* 1 when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF), else 0. */
int enl_utf8_valid(const void *s, size_t n);

#endif
