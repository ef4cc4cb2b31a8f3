/* Readiness: whether the object store and the photo table the app runs on answer
 * (GET /readyz, for load balancers and ECS). */
#include "enlarger/service.h"

#include <string.h>

int enl_service_ready(struct enl_app *app, struct enl_readiness *out, struct enl_errmsg *e)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->store = app->store->name;
	out->table = app->table->name;
	/* The originals bucket: the one every use case reads first. */
	if ((rc = enl_store_ping(app->store, app->cfg->originals_bucket, e))) {
		out->down = ENL_DOWN_STORE;
		return rc;
	}
	if ((rc = enl_table_ping(app->table, e))) {
		out->down = ENL_DOWN_TABLE;
		return rc;
	}
	return 0;
}
