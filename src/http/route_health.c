/* GET /healthz (the process answers) and GET /readyz (the store and the table answer
 * too, enl_service_ready): for load balancers and ECS health checks. */
#include "enlarger/routes.h"

#include "enlarger/service.h"

int enl_route_healthz(struct enl_req *req, struct enl_resp *resp)
{
	(void)req;
	enl_resp_header(resp, "Cache-Control", "no-store");
	return enl_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

int enl_route_readyz(struct enl_req *req, struct enl_resp *resp)
{
	struct enl_app *app = req->ctx;
	struct enl_readiness r;
	struct enl_errmsg e = {{0}};
	int rc;

	enl_resp_header(resp, "Cache-Control", "no-store");
	if ((rc = enl_service_ready(app, &r, &e)))
		return enl_resp_problem_status(resp, 503, rc,
		                               r.down == ENL_DOWN_STORE
		                                   ? "the object store is not reachable"
		                                   : "the photo table is not reachable");
	return enl_resp_json(
	    resp, 200,
	    json_pack("{s:s, s:s, s:s}", "status", "ready", "store", r.store, "table", r.table));
}
