/* The S3 store's metadata codec: user metadata values travel in x-amz-meta-* headers,
 * printable ASCII as is and anything else as one RFC 2047 encoded word (UTF-8, base64
 * "B" when we send; "B" or quoted-printable "Q" as S3 answers). See s3_internal.h. */
#include "s3_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "enlarger/base64.h"
#include "enlarger/text.h"

void enl_s3_meta_decode(char *out, size_t cap, const char *v)
{
	size_t n = strlen(v), o = 0;
	const char *pre = NULL;
	if (n > 12 && strncasecmp(v, "=?UTF-8?B?", 10) == 0 && strcmp(v + n - 2, "?=") == 0)
		pre = "B";
	else if (n > 12 && strncasecmp(v, "=?UTF-8?Q?", 10) == 0 && strcmp(v + n - 2, "?=") == 0)
		pre = "Q";
	if (!pre) {
		snprintf(out, cap, "%s", v);
		return;
	}
	const char *s = v + 10, *end = v + n - 2;
	if (*pre == 'B') {
		size_t len = (size_t)(end - s);
		if (enl_base64_decoded_len(s, len) + 1 > cap ||
		    enl_base64_decode((unsigned char *)out, &o, s, len)) {
			snprintf(out, cap, "%s", v); /* too long for out, or not base64: as is */
			return;
		}
	} else {
		for (; s < end && o + 1 < cap; s++) {
			if (*s == '_') {
				out[o++] = ' ';
			} else if (*s == '=' && s + 2 < end && enl_hexval(s[1]) >= 0 &&
			           enl_hexval(s[2]) >= 0) {
				out[o++] = (char)(enl_hexval(s[1]) * 16 + enl_hexval(s[2]));
				s += 2;
			} else {
				out[o++] = *s;
			}
		}
	}
	out[o] = '\0';
	if (!enl_utf8_valid(out, o))
		snprintf(out, cap, "%s", v); /* not what it claimed: keep the raw value */
}

int enl_s3_header_value_ok(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return 0;
	return 1;
}

int enl_s3_meta_encode(char *out, size_t cap, const char *v)
{
	if (enl_s3_header_value_ok(v)) {
		if (strlen(v) >= cap)
			return ENL_EINVAL;
		memcpy(out, v, strlen(v) + 1);
		return ENL_OK;
	}
	size_t n = strlen(v);
	if (!enl_utf8_valid(v, n))
		return ENL_EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return ENL_EINVAL;
	if (10 + enl_base64_len(n) + 3 > cap)
		return ENL_EINVAL;
	memcpy(out, "=?UTF-8?B?", 10);
	size_t m = enl_base64_encode(out + 10, v, n);
	memcpy(out + 10 + m, "?=", 3);
	return ENL_OK;
}
