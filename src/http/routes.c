/* The route table: built once, each route registering with its own settings. "GET"
 * routes answer HEAD too (the server drops the body). */
#include "routes_internal.h"

#include <stdlib.h>

/* In matching order. */
static const enl_route_register_fn registrations[] = {
    enl_route_process_register, enl_route_render_register,  enl_route_healthz_register,
    enl_route_readyz_register,  enl_route_metrics_register,
};

#define N_ROUTES (sizeof(registrations) / sizeof(registrations[0]))

struct enl_routes {
	struct enl_route table[N_ROUTES];
	size_t n;
};

int enl_routes_new(const struct enl_config *cfg, struct enl_app *app, struct enl_routes **out,
                   struct enl_errmsg *e)
{
	struct enl_routes *r = calloc(1, sizeof(*r));
	int rc = ENL_ENOMEM;

	*out = NULL;
	if (!r)
		goto done;
	for (; r->n < N_ROUTES; r->n++)
		if ((rc = registrations[r->n](&r->table[r->n], cfg, app)))
			goto done;
	*out = r;
	r = NULL;
	rc = 0;
done:
	enl_routes_free(r);
	return rc ? enl_fail(e, rc, "cannot build the route table") : 0;
}

const struct enl_route *enl_routes_table(const struct enl_routes *r, size_t *n_out)
{
	*n_out = r->n;
	return r->table;
}

void enl_routes_free(struct enl_routes *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < N_ROUTES; i++)
		free(r->table[i].self);
	free(r);
}
