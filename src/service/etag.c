/* If-None-Match matching for GET /render (RFC 9110, section 13.1.2). */
#include "etag.h"

#include <string.h>

int enl_etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		size_t n = strcspn(p, ",");
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == el && strncmp(p, etag, el) == 0)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}
