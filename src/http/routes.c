/* The route table. "GET" routes answer HEAD too (the server drops the body). */
#include "enlarger/routes.h"

static const struct enl_route routes[] = {
    {"POST", "/process", enl_route_process, "process"},
    {"GET", "/render/", enl_route_render, "render"},
    {"GET", "/healthz", enl_route_healthz, "healthz"},
    {"GET", "/readyz", enl_route_readyz, "readyz"},
    {"GET", "/metrics", enl_route_metrics, "metrics"},
};

const struct enl_route *enl_http_routes(size_t *n_out)
{
	*n_out = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
