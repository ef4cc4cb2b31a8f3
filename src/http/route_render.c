/* GET/HEAD /render/<key>?w=&h=&fit=&fmt=&q=: a CloudFront origin. Variants are cached
 * for a year (their cache key names the original's version), fmt=auto varies with
 * Accept, and If-None-Match revalidates with 304. */
#include "enlarger/routes.h"

#include <stdio.h>
#include <string.h>

#include "enlarger/service.h"

#define CACHE_FOREVER "public, max-age=31536000, immutable"

int enl_route_render(struct enl_req *req, struct enl_resp *resp)
{
	struct enl_app *app = req->ctx;
	const struct enl_config *cfg = app->cfg;
	const char *key = req->path + strlen("/render/");
	struct enl_render_query q;
	struct enl_render_params p;
	struct enl_render_result out;
	struct enl_errmsg e = {{0}};
	int rc;

	/* CloudFront adds the secret header; anyone else reaching the origin is refused. */
	if (cfg->origin_secret[0] &&
	    !enl_http_secret_equal(req->header(req, cfg->origin_secret_header), cfg->origin_secret))
		return enl_resp_problem(resp, ENL_EAUTH, "requests must come through the CDN");
	snprintf(resp->log_key, sizeof(resp->log_key), "%.*s", (int)sizeof(resp->log_key) - 1, key);
	if (!*key)
		return enl_resp_problem(resp, ENL_EINVAL,
		                        "the path must name a key: /render/<key>");

	q.w = req->query(req, "w");
	q.h = req->query(req, "h");
	q.fit = req->query(req, "fit");
	q.fmt = req->query(req, "fmt");
	q.q = req->query(req, "q");
	q.accept = req->header(req, "Accept");
	if ((rc = enl_render_params_parse(cfg, &q, &p, &e)))
		return enl_resp_problem(resp, rc, e.text);

	rc = enl_service_render(app, key, &p, req->header(req, "If-None-Match"), &out, &e);
	if (rc) {
		rc = enl_resp_problem(resp, rc, e.text);
		if (resp->status == 503 || resp->status == 504)
			enl_resp_header(resp, "Retry-After", "%d", cfg->retry_after_s);
		enl_render_result_free(&out);
		return rc;
	}
	if (out.not_modified) {
		resp->status = 304;
	} else {
		enl_resp_bytes(resp, 200, out.content_type, &out.bytes);
		enl_resp_header(resp, "X-Cache", "%s", out.cache_hit ? "hit" : "miss");
	}
	enl_resp_header(resp, "ETag", "%s", out.etag);
	enl_resp_header(resp, "Cache-Control", CACHE_FOREVER);
	enl_resp_header(resp, "X-Content-Type-Options", "nosniff");
	if (p.fmt_auto)
		enl_resp_header(resp, "Vary", "Accept");
	enl_render_result_free(&out);
	return 0;
}
