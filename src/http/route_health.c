/* GET /healthz (the process answers: the ALB's and ECS's check) and GET /readyz (the store
 * and the table answer too, enl_service_ready: for people and monitors, never a load
 * balancer, so an S3 or DynamoDB outage does not replace every task; docs/deploy.md). */
#include "routes_internal.h"

#include <stdlib.h>

#include "enlarger/service.h"

static int route_healthz(struct enl_req *req, struct enl_resp *resp)
{
	(void)req;
	enl_resp_header(resp, "Cache-Control", "no-store");
	return enl_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

/* What GET /readyz binds when it is registered. */
struct readyz_route {
	struct enl_app *app;
	int retry_after_s;
	/* The secrets left empty on a reachable address (ENLARGER_ALLOW_OPEN=1), said on
	 * every answer so an open deployment does not go unnoticed. */
	const char *open[2];
	int n_open;
};

static int route_readyz(struct enl_req *req, struct enl_resp *resp)
{
	const struct readyz_route *self = req->self;
	struct enl_readiness r;
	struct enl_errmsg e = {{0}};
	int rc;

	enl_resp_header(resp, "Cache-Control", "no-store");
	if ((rc = enl_service_ready(self->app, &r, &e))) {
		rc = enl_resp_problem_status(resp, 503, rc,
		                             r.down == ENL_DOWN_STORE
		                                 ? "the object store is not reachable"
		                                 : "the photo table is not reachable");
		enl_resp_retry_after(resp, self->retry_after_s, 0);
		return rc;
	}
	json_t *body =
	    json_pack("{s:s, s:s, s:s}", "status", "ready", "store", r.store, "table", r.table);
	if (body && self->n_open) {
		json_t *w = json_array();
		for (int i = 0; i < self->n_open; i++)
			json_array_append_new(
			    w, json_sprintf("open: %s is empty on a non-loopback address "
			                    "(ENLARGER_ALLOW_OPEN=1)",
			                    self->open[i]));
		json_object_set_new(body, "warnings", w);
	}
	return enl_resp_json(resp, 200, body);
}

int enl_route_healthz_register(struct enl_route *rt, const struct enl_config *cfg,
                               struct enl_app *app)
{
	(void)cfg;
	(void)app;
	*rt = (struct enl_route){"GET", "/healthz", route_healthz, "healthz", NULL};
	return 0;
}

int enl_route_readyz_register(struct enl_route *rt, const struct enl_config *cfg,
                              struct enl_app *app)
{
	struct readyz_route *self = calloc(1, sizeof(*self));
	if (!self)
		return ENL_ENOMEM;
	self->app = app;
	self->retry_after_s = cfg->retry_after_s;
	if (cfg->listening)
		self->n_open = enl_config_open_doors(cfg, self->open);
	*rt = (struct enl_route){"GET", "/readyz", route_readyz, "readyz", self};
	return 0;
}
