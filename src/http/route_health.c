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
	return enl_resp_json(
	    resp, 200,
	    json_pack("{s:s, s:s, s:s}", "status", "ready", "store", r.store, "table", r.table));
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
	*rt = (struct enl_route){"GET", "/readyz", route_readyz, "readyz", self};
	return 0;
}
