/* Routing: picks the route for a request's method and decoded path, or says 404 / 405
 * with the methods the path answers (for the Allow header). */
#include "server_internal.h"

#include <stdio.h>
#include <string.h>

static int path_matches(const struct enl_route *rt, const char *path)
{
	size_t n = strlen(rt->prefix);
	if (n && rt->prefix[n - 1] == '/')
		return strncmp(path, rt->prefix, n) == 0;
	return strcmp(path, rt->prefix) == 0;
}

static int method_matches(const struct enl_route *rt, const char *method)
{
	return strcmp(rt->method, method) == 0 ||
	       (strcmp(rt->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

int enl_http_route_find(const struct enl_route *routes, size_t n_routes, const char *method,
                        const char *path, const struct enl_route **out, char *allow, size_t cap)
{
	int path_known = 0;
	*out = NULL;
	allow[0] = 0;
	for (size_t i = 0; i < n_routes; i++) {
		const struct enl_route *rt = &routes[i];
		if (!path_matches(rt, path))
			continue;
		if (method_matches(rt, method)) {
			*out = rt;
			return 0;
		}
		path_known = 1;
		char m[32];
		snprintf(m, sizeof(m), "%s%s", rt->method,
		         strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
		if (!strstr(allow, m)) {
			size_t used = strlen(allow);
			snprintf(allow + used, cap - used, "%s%s", used ? ", " : "", m);
		}
	}
	return path_known ? 405 : 404;
}
