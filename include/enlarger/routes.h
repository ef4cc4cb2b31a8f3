/* enlarger's routes: thin functions over enl_req / enl_resp that parse the request,
 * call the service (include/enlarger/service.h) and map the result to a response.
 * The table is built once from the configuration, each route's settings bound as it is
 * registered (h2o's handler->self): on the request path a route reads only its settings
 * (req->self) and the request, never the configuration. The HTTP server dispatches the
 * table; a door without sockets (and the in-process tests) uses enl_http_dispatch. */
#ifndef ENLARGER_ROUTES_H
#define ENLARGER_ROUTES_H

#include <stddef.h>

#include "enlarger/config.h"
#include "enlarger/err.h"
#include "enlarger/http.h"

struct enl_app;
struct enl_routes;

/* Builds the route table over app (borrowed: outlives the table), with each route's
 * settings copied from cfg now. *out is the caller's: enl_routes_free. 0 or
 * ENL_ENOMEM. */
int enl_routes_new(const struct enl_config *cfg, struct enl_app *app, struct enl_routes **out,
                   struct enl_errmsg *e);
/* The table, for enl_server_opts or enl_http_dispatch (borrowed from r). */
const struct enl_route *enl_routes_table(const struct enl_routes *r, size_t *n_out);
void enl_routes_free(struct enl_routes *r);

/* 1 when given equals expected, in time that depends on neither's content or length
 * (both are hashed, then compared with CRYPTO_memcmp). given may be NULL (0). */
int enl_http_secret_equal(const char *given, const char *expected);
/* 1 when given equals current, or previous when that is not empty (a rotation: the
 * sender may still have the old one). Both are compared, whichever matches. */
int enl_http_secret_accepted(const char *given, const char *current, const char *previous);

#endif
