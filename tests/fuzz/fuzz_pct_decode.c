/* Fuzz target for the server's percent-decoding (src/http/request.c): the path, and
 * the query arguments. The first byte picks '+' as a space (query) or not (path); the
 * rest, cut at its first NUL, is the text. The result is compared with an independent
 * decoder (isxdigit + strtol), which also says when the text must be refused: a '%'
 * without two hex digits, or an encoded NUL. */
#include <ctype.h>

#include "fuzz.h"
#include "server_internal.h"

/* 0 with out filled (NUL-terminated), or -1 when the text must be refused. */
static int oracle(const char *src, int plus_is_space, char *out)
{
	size_t j = 0;
	for (const char *p = src; *p; p++) {
		if (*p == '%') {
			if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
				return -1;
			char hex[3] = {p[1], p[2], 0};
			long v = strtol(hex, NULL, 16);
			if (v == 0)
				return -1;
			out[j++] = (char)v;
			p += 2;
		} else {
			out[j++] = (plus_is_space && *p == '+') ? ' ' : *p;
		}
	}
	out[j] = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	int plus = data[0] & 1;
	char *src = fuzz_cstr(data + 1, size - 1);
	char *want = malloc(strlen(src) + 1);
	FUZZ_CHECK(want != NULL);
	char *got = NULL;

	int rc = enl_http_pct_decode(src, plus, &got);
	int orc = oracle(src, plus, want);
	FUZZ_CHECK(rc == 0 || rc == ENL_EINVAL);
	FUZZ_CHECK((rc == 0) == (orc == 0));
	if (rc == 0) {
		FUZZ_CHECK(got != NULL && strcmp(got, want) == 0);
	} else {
		FUZZ_CHECK(got == NULL);
	}

	/* The same text as a query argument's name and value: decoded with '+' as a
	 * space, kept on failure so that the free path sees it. */
	struct enl_http_args args = {0};
	rc = enl_http_args_add(&args, src, plus ? src : NULL);
	orc = oracle(src, 1, want);
	FUZZ_CHECK(args.n == 1);
	FUZZ_CHECK((rc == 0) == (orc == 0));
	if (rc == 0) {
		FUZZ_CHECK(strcmp(args.v[0].name, want) == 0);
		FUZZ_CHECK(strcmp(args.v[0].value, plus ? want : "") == 0);
		FUZZ_CHECK(enl_http_args_get(&args, want) == args.v[0].value);
	}
	enl_http_args_free(&args);
	FUZZ_CHECK(args.n == 0 && args.v == NULL);

	free(got);
	free(want);
	free(src);
	return 0;
}
