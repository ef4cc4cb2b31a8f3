/* Bucket, table and attribute naming rules (see include/enlarger/names.h). */
#include "enlarger/names.h"

#include <string.h>

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int has_suffix(const char *s, size_t n, const char *p)
{
	size_t m = strlen(p);
	return n >= m && memcmp(s + n - m, p, m) == 0;
}

/* "Bucket naming rules" (Amazon S3 User Guide, general purpose buckets): 3-63 of a-z 0-9
 * . -, a letter or digit at both ends, no two adjacent periods, not an IPv4 address, none
 * of the prefixes and suffixes S3 reserves. A period next to a hyphen is refused too (the
 * older rule for DNS-compatible names). No good name starts with '.', so no bucket folder
 * of the local store is ever its .meta or .table folder. */
const char *enl_bucket_name_problem(const char *v)
{
	static const char *const bad_prefix[] = {"xn--", "sthree-", "amzn-s3-demo-"};
	static const char *const bad_suffix[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3",
	                                         "--table-s3"};
	if (!v)
		return "is missing";
	size_t n = strnlen(v, 64);
	int dots = 0, ip_like = 1;
	if (n < 3 || n > 63)
		return "must be 3 to 63 characters";
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		int digit = c >= '0' && c <= '9';
		if (!((c >= 'a' && c <= 'z') || digit || c == '.' || c == '-'))
			return "may only hold lower-case letters, digits, '.' and '-'";
		if (c == '.' && v[i + 1] == '.')
			return "must not have two adjacent periods";
		if (c == '.' && (v[i + 1] == '-' || (i > 0 && v[i - 1] == '-')))
			return "must not have a period next to a hyphen";
		dots += c == '.';
		ip_like &= digit || c == '.';
	}
	if (v[0] == '.' || v[0] == '-' || v[n - 1] == '.' || v[n - 1] == '-')
		return "must begin and end with a letter or digit";
	if (ip_like && dots == 3)
		return "must not look like an IP address";
	for (size_t i = 0; i < sizeof(bad_prefix) / sizeof(bad_prefix[0]); i++)
		if (has_prefix(v, bad_prefix[i]))
			return "must not begin with a prefix S3 reserves (xn--, sthree-, "
			       "amzn-s3-demo-)";
	for (size_t i = 0; i < sizeof(bad_suffix) / sizeof(bad_suffix[0]); i++)
		if (has_suffix(v, n, bad_suffix[i]))
			return "must not end with a suffix S3 reserves (-s3alias, --ol-s3, .mrap, "
			       "--x-s3, --table-s3)";
	return NULL;
}

int enl_bucket_name_check(const char *name, struct enl_errmsg *e)
{
	const char *why = enl_bucket_name_problem(name);
	if (why)
		return enl_fail(e, ENL_EINVAL, "bucket name %s", why);
	return ENL_OK;
}

int enl_ident_ok(const char *s, size_t max)
{
	if (!s || !s[0] || strlen(s) > max)
		return 0;
	for (const char *p = s; *p; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		         (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-';
		if (!ok)
			return 0;
	}
	return 1;
}
