/* GET/HEAD /render/<key>?w=&h=&fit=&fmt=&q=: a CloudFront origin. Variants are cached
 * for a year (their cache key names the original's version), fmt=auto varies with
 * Accept, and If-None-Match revalidates with 304. */
#include "routes_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/keys.h"
#include "enlarger/service.h"

#define PREFIX "/render/"

/* What GET /render binds when it is registered. */
struct render_route {
	struct enl_app *app;
	char origin_secret[ENL_CFG_SIZE(origin_secret)]; /* empty: /render is open */
	char origin_secret_header[ENL_CFG_SIZE(origin_secret_header)];
	int retry_after_s;
	/* The settings enl_render_params_parse reads (widths, default quality), borrowed:
	 * the configuration outlives the routes. */
	const struct enl_config *params;
};

static int route_render(struct enl_req *req, struct enl_resp *resp)
{
	const struct render_route *self = req->self;
	const char *key = req->path + strlen(PREFIX);
	struct enl_render_params p;
	struct enl_render_result out;
	struct enl_errmsg e = {{0}};
	int rc;

	/* CloudFront adds the secret header; anyone else reaching the origin is refused. */
	if (self->origin_secret[0] &&
	    !enl_http_secret_equal(req->header(req, self->origin_secret_header),
	                           self->origin_secret))
		return enl_resp_problem(resp, ENL_EAUTH, "requests must come through the CDN");
	snprintf(resp->log_key, sizeof(resp->log_key), "%.*s", (int)sizeof(resp->log_key) - 1, key);
	if (!*key)
		return enl_resp_problem(resp, ENL_EINVAL,
		                        "the path must name a key: /render/<key>");

	if ((rc = enl_render_params_parse(self->params, req->raw_query, req->header(req, "Accept"),
	                                  &p, &e)))
		return enl_resp_problem(resp, rc, e.text);

	rc = enl_service_render(self->app, key, &p, req->header(req, "If-None-Match"), &out, &e);
	if (rc) {
		rc = enl_resp_problem(resp, rc, e.text);
		enl_resp_retry_after(resp, self->retry_after_s);
		enl_render_result_free(&out);
		return rc;
	}
	if (out.not_modified) {
		resp->status = 304;
	} else {
		enl_resp_body(resp, 200, out.content_type, &out.body);
		enl_resp_header(resp, "X-Cache", "%s", out.cache_hit ? "hit" : "miss");
	}
	enl_resp_header(resp, "ETag", "%s", out.etag);
	enl_resp_header(resp, "Cache-Control", ENL_CACHE_FOREVER);
	enl_resp_header(resp, "X-Content-Type-Options", "nosniff");
	if (p.fmt_auto)
		enl_resp_header(resp, "Vary", "Accept");
	enl_render_result_free(&out);
	return 0;
}

int enl_route_render_register(struct enl_route *rt, const struct enl_config *cfg,
                              struct enl_app *app)
{
	struct render_route *self = calloc(1, sizeof(*self));
	if (!self)
		return ENL_ENOMEM;
	self->app = app;
	memcpy(self->origin_secret, cfg->origin_secret, sizeof(self->origin_secret));
	memcpy(self->origin_secret_header, cfg->origin_secret_header,
	       sizeof(self->origin_secret_header));
	self->retry_after_s = cfg->retry_after_s;
	self->params = cfg;
	*rt = (struct enl_route){"GET", PREFIX, route_render, "render", self};
	return 0;
}
