/* GET/HEAD /render/<key>?w=&h=&fit=&fmt=&q=&v=&sig=: a CloudFront origin. The query is
 * read as sent and only in canonical form; with a signing key every URL must be signed
 * (403). A URL naming the original's current version (v) is cached for a year, one
 * without v for ENLARGER_RENDER_UNVERSIONED_MAX_AGE with its ETag, and one naming another
 * version is sent to the current one (302). fmt=auto varies with Accept, and
 * If-None-Match revalidates with 304. */
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
	char origin_secret_previous[ENL_CFG_SIZE(origin_secret_previous)];
	char origin_secret_header[ENL_CFG_SIZE(origin_secret_header)];
	int retry_after_s;
	int unversioned_max_age;
	/* Empty: URLs are not signed. */
	char signing_key[ENL_CFG_SIZE(render_signing_key)];
	char signing_key_previous[ENL_CFG_SIZE(render_signing_key_previous)];
	/* The settings enl_render_params_parse reads (widths, qualities, default quality),
	 * borrowed: the configuration outlives the routes. */
	const struct enl_config *params;
};

/* 302 to the URL of the current version: signed when URLs are, cached briefly. */
static int redirect(const struct render_route *self, const struct enl_req *req, const char *version,
                    struct enl_resp *resp)
{
	char *url = NULL;
	if (enl_render_url_at(req->raw_path, req->raw_query, version, self->signing_key, &url))
		return enl_resp_problem(resp, ENL_ENOMEM, "out of memory");
	/* A path too long for a header (keys of up to 1024 bytes, escaped) goes as a relative
	 * reference of the query alone, which resolves against the same path (RFC 3986
	 * 5.2.2). */
	int rc = enl_resp_header(resp, "Location", "%s", url);
	if (rc)
		rc = enl_resp_header(resp, "Location", "%s", strchr(url, '?'));
	free(url);
	if (rc)
		return enl_resp_problem(resp, ENL_EINTERNAL, "the URL is too long to redirect");
	resp->status = 302;
	enl_resp_header(resp, "Cache-Control", ENL_CACHE_REDIRECT);
	return 0;
}

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
	    !enl_http_secret_accepted(req->header(req, self->origin_secret_header),
	                              self->origin_secret, self->origin_secret_previous))
		return enl_resp_problem(resp, ENL_EAUTH, "requests must come through the CDN");
	snprintf(resp->log_key, sizeof(resp->log_key), "%.*s", (int)sizeof(resp->log_key) - 1, key);
	if (!*key)
		return enl_resp_problem(resp, ENL_EINVAL,
		                        "the path must name a key: /render/<key>");

	if ((rc = enl_render_params_parse(self->params, req->raw_query, req->header(req, "Accept"),
	                                  &p, &e)))
		return enl_resp_problem(resp, rc, e.text);
	/* Before any read: a URL nobody signed costs nothing. */
	if (self->signing_key[0] && !p.sig[0])
		return enl_resp_problem(resp, ENL_EFORBIDDEN, "this URL must be signed (sig)");
	if (self->signing_key[0] &&
	    !enl_render_sig_ok(self->signing_key, self->signing_key_previous, req->raw_path,
	                       req->raw_query, p.sig))
		return enl_resp_problem(resp, ENL_EFORBIDDEN, "the signature (sig) does not match");

	rc = enl_service_render(self->app, key, &p, req->header(req, "If-None-Match"), &out, &e);
	if (rc) {
		rc = enl_resp_problem(resp, rc, e.text);
		enl_resp_retry_after(resp, self->retry_after_s, 0);
		enl_render_result_free(&out);
		return rc;
	}
	if (out.redirect) {
		rc = redirect(self, req, out.version, resp);
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
	/* The current version's bytes never change under its URL; without v the bytes
	 * change when the photo is replaced, so caches revalidate (ETag) after a while. */
	if (p.version[0])
		enl_resp_header(resp, "Cache-Control", ENL_CACHE_FOREVER);
	else
		enl_resp_header(resp, "Cache-Control", "public, max-age=%d",
		                self->unversioned_max_age);
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
	memcpy(self->origin_secret_previous, cfg->origin_secret_previous,
	       sizeof(self->origin_secret_previous));
	memcpy(self->origin_secret_header, cfg->origin_secret_header,
	       sizeof(self->origin_secret_header));
	self->retry_after_s = cfg->retry_after_s;
	self->unversioned_max_age = cfg->render_unversioned_max_age;
	memcpy(self->signing_key, cfg->render_signing_key, sizeof(self->signing_key));
	memcpy(self->signing_key_previous, cfg->render_signing_key_previous,
	       sizeof(self->signing_key_previous));
	self->params = cfg;
	*rt = (struct enl_route){"GET", PREFIX, route_render, "render", self};
	return 0;
}
