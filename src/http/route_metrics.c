/* GET /metrics: the Prometheus text exposition (include/enlarger/metrics.h). */
#include "routes_internal.h"

#include "enlarger/metrics.h"

#define METRICS_MAX_BYTES (1024 * 1024)

static int route_metrics(struct enl_req *req, struct enl_resp *resp)
{
	struct enl_buf b;
	int rc;
	(void)req;
	enl_buf_init(&b, METRICS_MAX_BYTES);
	if ((rc = enl_metrics_render(&b))) {
		enl_buf_free(&b);
		return enl_resp_problem(resp, rc, "cannot render the metrics");
	}
	enl_resp_bytes(resp, 200, ENL_METRICS_CONTENT_TYPE, &b);
	enl_resp_header(resp, "Cache-Control", "no-store");
	enl_buf_free(&b);
	return 0;
}

int enl_route_metrics_register(struct enl_route *rt, const struct enl_config *cfg,
                               struct enl_app *app)
{
	(void)cfg;
	(void)app;
	*rt = (struct enl_route){"GET", "/metrics", route_metrics, "metrics", NULL};
	return 0;
}
