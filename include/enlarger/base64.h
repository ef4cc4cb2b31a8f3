/* Base64 (RFC 4648, the standard alphabet with '=' padding), as Lambda carries binary
 * bodies in JSON. Pure functions over bytes. */
#ifndef ENLARGER_BASE64_H
#define ENLARGER_BASE64_H

#include <stddef.h>

/* The length of the encoding of n bytes (without a NUL). */
size_t enl_base64_len(size_t n);

/* Encodes in[0..n) into out, which holds enl_base64_len(n) + 1 bytes (a NUL is added).
 * Returns the length written. */
size_t enl_base64_encode(char *out, const void *in, size_t n);

/* The length in[0..n) decodes to when it is valid: n / 4 * 3 less its '=' padding (0
 * when n is not a multiple of 4). */
size_t enl_base64_decoded_len(const char *in, size_t n);

/* Decodes in[0..n) into out (at least enl_base64_decoded_len(in, n) + 1 bytes; a NUL is
 * added after the bytes, which may themselves hold NULs) and sets *out_len. ENL_EINVAL
 * for a length that is not a multiple of 4, a character outside the alphabet or
 * misplaced padding. */
int enl_base64_decode(unsigned char *out, size_t *out_len, const char *in, size_t n);

#endif
