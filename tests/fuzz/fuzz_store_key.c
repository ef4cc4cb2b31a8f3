/* Fuzz target for the local store's name checks (src/store/local_check.c): keys,
 * listing prefixes and bucket names. The input, cut at its first NUL, is the name.
 * The key check is compared both ways with an independent statement of the rules
 * (include/enlarger/store.h, src/store/local.c): UTF-8 by the byte ranges of Unicode's
 * table 3-7 rather than by decoding. A key that passes must also pass as a prefix;
 * an accepted prefix and bucket must have the properties their rules promise. */
#include <stddef.h>

#include "fuzz.h"
#include "local_internal.h"

/* Well-formed UTF-8 (The Unicode Standard, table 3-7). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char b = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t more;
		if (b <= 0x7f)
			more = 0;
		else if (b >= 0xc2 && b <= 0xdf)
			more = 1;
		else if (b == 0xe0)
			more = 2, lo = 0xa0;
		else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
			more = 2;
		else if (b == 0xed)
			more = 2, hi = 0x9f;
		else if (b == 0xf0)
			more = 3, lo = 0x90;
		else if (b >= 0xf1 && b <= 0xf3)
			more = 3;
		else if (b == 0xf4)
			more = 3, hi = 0x8f;
		else
			return 0;
		if (n - i - 1 < more)
			return 0;
		for (size_t k = 1; k <= more; k++) {
			unsigned char c = s[i + k];
			unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xbf;
			if (c < l || c > h)
				return 0;
		}
		i += more + 1;
	}
	return 1;
}

static int chars_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
	}
	return utf8_ok((const unsigned char *)s, n);
}

static int segment_ok(const char *s, size_t n)
{
	if (n == 0 || n > LOCAL_SEGMENT_MAX)
		return 0;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	return !(n >= 5 && strncmp(s, ".tmp-", 5) == 0);
}

/* Every '/'-separated segment of s[0..n), the last one included. */
static int segments_ok(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (!segment_ok(s + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

static int key_ok(const char *k)
{
	size_t n = strlen(k);
	return n >= 1 && n <= LOCAL_KEY_MAX && k[0] != '/' && chars_ok(k, n) && segments_ok(k, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	size_t n = strlen(s);
	struct enl_errmsg e = {""};

	int key_rc = enl_local_key_check(s, &e);
	FUZZ_CHECK(key_rc == ENL_OK || key_rc == ENL_EINVAL);
	FUZZ_CHECK((key_rc == ENL_OK) == key_ok(s));
	FUZZ_CHECK(key_rc == ENL_OK || e.text[0] != 0);
	FUZZ_CHECK(enl_local_key_check(s, NULL) == key_rc);

	size_t dirlen = 12345;
	int pre_rc = enl_local_prefix_check(s, &dirlen, NULL);
	FUZZ_CHECK(pre_rc == ENL_OK || pre_rc == ENL_EINVAL);
	if (key_rc == ENL_OK)
		FUZZ_CHECK(pre_rc == ENL_OK);
	if (pre_rc == ENL_OK) {
		const char *slash = strrchr(s, '/');
		FUZZ_CHECK(n <= LOCAL_KEY_MAX && (n == 0 || s[0] != '/') && chars_ok(s, n));
		FUZZ_CHECK(dirlen == (slash ? (size_t)(slash - s) : 0));
		/* The folder part is opened segment by segment: none may be "." or "..". */
		for (size_t i = 0, start = 0; i <= dirlen; i++) {
			if (i < dirlen && s[i] != '/')
				continue;
			size_t len = i - start;
			FUZZ_CHECK(!(len == 1 && s[start] == '.'));
			FUZZ_CHECK(!(len == 2 && s[start] == '.' && s[start + 1] == '.'));
			FUZZ_CHECK(len <= LOCAL_SEGMENT_MAX);
			start = i + 1;
		}
	} else {
		FUZZ_CHECK(dirlen == 0);
	}

	if (enl_bucket_name_check(s, NULL) == ENL_OK) {
		FUZZ_CHECK(n >= 3 && n <= 63);
		FUZZ_CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n);
		FUZZ_CHECK(s[0] != '.' && s[0] != '-' && s[n - 1] != '.' && s[n - 1] != '-');
		FUZZ_CHECK(strstr(s, "..") == NULL && strncmp(s, "xn--", 4) != 0);
		/* Never the metadata folder or a temporary: they start with '.'. */
		FUZZ_CHECK(strcmp(s, LOCAL_META_DIR) != 0);
	}
	free(s);
	return 0;
}
