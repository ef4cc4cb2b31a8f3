/* Private to the route files (src/http/route*.c): how each route registers. */
#ifndef ENLARGER_HTTP_ROUTES_INTERNAL_H
#define ENLARGER_HTTP_ROUTES_INTERNAL_H

#include "enlarger/config.h"
#include "enlarger/http.h"
#include "enlarger/routes.h"

struct enl_app;

/* The size of a configuration field, for the settings a route copies. */
#define ENL_CFG_SIZE(field) sizeof(((struct enl_config *)0)->field)

/* Each fills *rt (method, path, handler, name) and binds what its route needs from cfg
 * and app into rt->self (malloc'd, freed by enl_routes_free; NULL for a route that
 * needs nothing). 0 or ENL_ENOMEM. */
typedef int (*enl_route_register_fn)(struct enl_route *rt, const struct enl_config *cfg,
                                     struct enl_app *app);

int enl_route_process_register(struct enl_route *rt, const struct enl_config *cfg,
                               struct enl_app *app); /* POST /process */
int enl_route_render_register(struct enl_route *rt, const struct enl_config *cfg,
                              struct enl_app *app); /* GET /render/<key> */
int enl_route_healthz_register(struct enl_route *rt, const struct enl_config *cfg,
                               struct enl_app *app); /* GET /healthz */
int enl_route_readyz_register(struct enl_route *rt, const struct enl_config *cfg,
                              struct enl_app *app); /* GET /readyz */
int enl_route_metrics_register(struct enl_route *rt, const struct enl_config *cfg,
                               struct enl_app *app); /* GET /metrics */

#endif
