/* CDN dispatch: the contract of enl_cdn_invalidate checked once before the
 * implementation, and the viewer-path encoding every implementation shares. */
#include "enlarger/cdn.h"

#include <string.h>

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int enl_cdn_path_encode(struct enl_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
		int rc = unreserved(*p) || *p == '/' ? enl_buf_append(out, p, 1)
		                                     : enl_buf_append(out, esc, 3);
		if (rc)
			return rc;
	}
	return 0;
}

static int path_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || p[0] != '/' || n > 4096)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f || (c == '*' && i != n - 1))
			return 0;
	}
	return 1;
}

int enl_cdn_invalidate(struct enl_cdn *c, const char *const *paths, size_t n,
                       const char *caller_ref, struct enl_errmsg *e)
{
	if (!c || !c->ops || !c->ops->invalidate)
		return enl_fail(e, ENL_EINTERNAL, "no CDN configured");
	if (n == 0 || n > ENL_CDN_MAX_PATHS)
		return enl_fail(e, ENL_EINVAL, "an invalidation has 1 to %d paths",
		                ENL_CDN_MAX_PATHS);
	for (size_t i = 0; i < n; i++)
		if (!paths[i] || !path_ok(paths[i]))
			return enl_fail(e, ENL_EINVAL, "invalidation path %zu is not a URL path",
			                i);
	size_t rl = caller_ref ? strlen(caller_ref) : 0;
	if (rl == 0 || rl > ENL_CDN_CALLER_REF_MAX)
		return enl_fail(e, ENL_EINVAL, "a caller reference has 1 to %d characters",
		                ENL_CDN_CALLER_REF_MAX);
	for (size_t i = 0; i < rl; i++)
		if ((unsigned char)caller_ref[i] <= 0x20 || (unsigned char)caller_ref[i] >= 0x7f)
			return enl_fail(e, ENL_EINVAL, "a caller reference is printable ASCII");
	return c->ops->invalidate(c, paths, n, caller_ref, e);
}

void enl_cdn_destroy(struct enl_cdn *c)
{
	if (c && c->ops && c->ops->destroy)
		c->ops->destroy(c);
}
