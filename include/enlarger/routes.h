/* enlarger's routes: thin functions over enl_req / enl_resp that parse the request,
 * call the service (include/enlarger/service.h) and map the result to a response.
 * Every route expects req->ctx to be the struct enl_app. */
#ifndef ENLARGER_ROUTES_H
#define ENLARGER_ROUTES_H

#include <stddef.h>

#include "enlarger/http.h"

/* The route table for enl_server_opts (static, borrowed). */
const struct enl_route *enl_http_routes(size_t *n_out);

int enl_route_process(struct enl_req *req, struct enl_resp *resp); /* POST /process */
int enl_route_render(struct enl_req *req, struct enl_resp *resp);  /* GET /render/<key> */
int enl_route_healthz(struct enl_req *req, struct enl_resp *resp); /* GET /healthz */
int enl_route_readyz(struct enl_req *req, struct enl_resp *resp);  /* GET /readyz */
int enl_route_metrics(struct enl_req *req, struct enl_resp *resp); /* GET /metrics */

/* 1 when given equals expected, in time that depends on neither's content or length
 * (both are hashed, then compared with CRYPTO_memcmp). given may be NULL (0). */
int enl_http_secret_equal(const char *given, const char *expected);

#endif
