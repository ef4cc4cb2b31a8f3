/* Fuzz target for If-None-Match on GET /render (enl_etag_matches, src/service/etag.c).
 * The input's first line is the variant's ETag (quoted as ours are when it has no quote),
 * the rest the header. Checks against an independent reading of RFC 9110's list
 * (elements split at ',', optional white space around them, "*" or an entity tag whose
 * weak "W/" prefix is ignored), and the properties a client relies on: the ETag itself,
 * its weak form and any list that holds either, or "*", match. */
#include "etag.h"
#include "fuzz.h"

/* Element [s, s + n) trimmed of spaces and tabs. */
static int element_matches(const char *s, size_t n, const char *etag)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n && *s == '*')
		return 1; /* "*", leniently also "*junk" */
	if (n >= 2 && s[0] == 'W' && s[1] == '/')
		s += 2, n -= 2;
	return n == strlen(etag) && memcmp(s, etag, n) == 0;
}

static int oracle(const char *inm, const char *etag)
{
	for (const char *p = inm;;) {
		size_t n = strcspn(p, ",");
		if (element_matches(p, n, etag))
			return 1;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

static void check_list(const char *a, const char *b, const char *etag)
{
	size_t n = strlen(a) + strlen(b) + 3;
	char *l = malloc(n);
	FUZZ_CHECK(l != NULL);
	snprintf(l, n, "%s, %s", a, b);
	FUZZ_CHECK(enl_etag_matches(l, etag) == 1);
	free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *nl = strchr(s, '\n');
	const char *inm = nl ? nl + 1 : "";
	if (nl)
		*nl = 0;
	/* Ours are quoted hex; any text without a comma or outer white space stands in. */
	char *etag = malloc(strlen(s) + 3);
	FUZZ_CHECK(etag != NULL);
	snprintf(etag, strlen(s) + 3, strchr(s, '"') ? "%s" : "\"%s\"", s);
	int usable = !strpbrk(etag, ", \t") && etag[0] != '*' && strncmp(etag, "W/", 2) != 0;

	int got = enl_etag_matches(inm, etag);
	FUZZ_CHECK(got == 0 || got == 1);
	if (usable) {
		FUZZ_CHECK(got == oracle(inm, etag));
		char weak[4096];
		snprintf(weak, sizeof(weak), "W/%s", etag);
		FUZZ_CHECK(enl_etag_matches(etag, etag) == 1);
		if (strlen(etag) + 3 <= sizeof(weak))
			FUZZ_CHECK(enl_etag_matches(weak, etag) == 1);
		check_list(inm, etag, etag);
		check_list(etag, inm, etag);
		check_list(inm, "*", etag);
	}
	free(etag);
	free(s);
	return 0;
}
