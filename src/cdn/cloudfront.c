/* CloudFront invalidations over the REST API, without the SDK: one CreateInvalidation,
 * `POST /2020-05-31/distribution/{Id}/invalidation` with an XML InvalidationBatch, signed
 * by enl_aws_request (SigV4, service "cloudfront", region us-east-1: CloudFront is a
 * global service signed in us-east-1).
 *
 * References (Amazon CloudFront API Reference): CreateInvalidation (201 Created with the
 * invalidation; the same CallerReference with the same batch answers the existing one,
 * so a retry of a request that did arrive makes no second invalidation); "Common Errors"
 * and the operation's errors: Throttling and TooManyInvalidationsInProgress (400) are worth
 * another try later, AccessDenied (403), NoSuchDistribution (404), InvalidArgument,
 * InconsistentQuantities and BatchTooLarge are not. Developer Guide, "Invalidating files":
 * a path ending in '*' is a wildcard and counts as one path; the first 1,000 paths a month
 * are free, then $0.005 each. */
#include "enlarger/cdn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/aws.h"
#include "enlarger/log.h"

#define CF_DEFAULT_ENDPOINT "https://cloudfront.amazonaws.com"
#define CF_REGION "us-east-1"
#define CF_API "2020-05-31"
#define CF_RESPONSE_MAX (64u << 10)
#define CF_WHAT "the CDN"

struct cf_cdn {
	struct enl_cdn base;           /* first: the dispatch casts */
	struct enl_aws_client *client; /* borrowed */
	char *url;
	char id[128];
};

static int cf_retry_if(void *arg, const struct enl_aws_response *r)
{
	(void)arg;
	char code[64];
	if (r->status != 400)
		return 0;
	enl_aws_xml_error_code(r, code, sizeof(code));
	return strcmp(code, "Throttling") == 0 ||
	       strcmp(code, "TooManyInvalidationsInProgress") == 0;
}

/* s XML-escaped (the paths are percent-encoded ASCII already; this is the belt). */
static int xml_text(struct enl_buf *b, const char *s)
{
	int rc = 0;
	for (; *s && !rc; s++) {
		switch (*s) {
		case '&': rc = enl_buf_append(b, "&amp;", 5); break;
		case '<': rc = enl_buf_append(b, "&lt;", 4); break;
		case '>': rc = enl_buf_append(b, "&gt;", 4); break;
		default: rc = enl_buf_append(b, s, 1);
		}
	}
	return rc;
}

static int batch_xml(struct enl_buf *b, const char *const *paths, size_t n, const char *ref)
{
	char q[64];
	snprintf(q, sizeof(q), "<Paths><Quantity>%zu</Quantity><Items>", n);
	static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                           "<InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/"
	                           "doc/" CF_API "/\">";
	int rc = enl_buf_append(b, head, sizeof(head) - 1);
	if (!rc)
		rc = enl_buf_append(b, q, strlen(q));
	for (size_t i = 0; !rc && i < n; i++) {
		rc = enl_buf_append(b, "<Path>", 6);
		if (!rc)
			rc = xml_text(b, paths[i]);
		if (!rc)
			rc = enl_buf_append(b, "</Path>", 7);
	}
	if (!rc)
		rc = enl_buf_append(b, "</Items></Paths><CallerReference>", 33);
	if (!rc)
		rc = xml_text(b, ref);
	if (!rc)
		rc = enl_buf_append(b, "</CallerReference></InvalidationBatch>", 38);
	return rc;
}

static int cf_invalidate(struct enl_cdn *cdn, const char *const *paths, size_t n,
                         const char *caller_ref, struct enl_errmsg *e)
{
	struct cf_cdn *c = (struct cf_cdn *)cdn;
	struct enl_buf body = ENL_BUF_INIT;
	struct enl_aws_response r;
	char code[64] = "";
	int rc;

	memset(&r, 0, sizeof(r));
	enl_buf_init(&body, 64u << 10);
	if (batch_xml(&body, paths, n, caller_ref)) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	struct enl_sigv4_header h[1] = {{"Content-Type", "application/xml"}};
	struct enl_aws_request rq = {
	    .method = "POST",
	    .url = c->url,
	    .headers = h,
	    .n_headers = 1,
	    .body = body.data,
	    .body_len = body.len,
	    .service = "cloudfront",
	    .region = CF_REGION,
	    .max_response = CF_RESPONSE_MAX,
	    .retry_if = cf_retry_if,
	};
	rc = enl_aws_request(c->client, &rq, &r, e);
	if (rc == 0 && r.status == 201)
		goto done;
	enl_aws_xml_error_code(&r, code, sizeof(code));
	if (rc == ENL_EIO && (strcmp(code, "Throttling") == 0 ||
	                      strcmp(code, "TooManyInvalidationsInProgress") == 0))
		rc = ENL_EBUSY; /* retries ran out: later, with a longer wait */
	else if (rc == 0)
		rc = r.status == 401 || r.status == 403 ? ENL_EDENIED
		     : r.status >= 500                  ? ENL_EIO
		                                        : ENL_EINVAL;
	enl_log_json(rc == ENL_EINVAL || rc == ENL_EDENIED ? ENL_LOG_ERROR : ENL_LOG_WARN,
	             "cloudfront invalidation failed",
	             json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "distribution", c->id, "error",
	                       enl_err_name(rc), "status", (int)r.status, "code", code, "detail",
	                       e ? e->text : "", "endpoint", c->url));
	rc = enl_fail_backend(e, rc, CF_WHAT);
done:
	enl_aws_response_free(&r);
	enl_buf_free(&body);
	return rc;
}

static void cf_destroy(struct enl_cdn *cdn)
{
	struct cf_cdn *c = (struct cf_cdn *)cdn;
	if (!c)
		return;
	free(c->url);
	free(c);
}

static const struct enl_cdn_ops cf_ops = {
    .invalidate = cf_invalidate,
    .destroy = cf_destroy,
};

int enl_cdn_cloudfront_open(const struct enl_aws_config *cfg, struct enl_aws_client *client,
                            const char *distribution_id, struct enl_cdn **out, struct enl_errmsg *e)
{
	*out = NULL;
	if (!cfg || !client)
		return enl_fail(e, ENL_EINVAL, "CloudFront needs an AWS configuration and client");
	size_t n = distribution_id ? strlen(distribution_id) : 0;
	if (n == 0 || n >= sizeof(((struct cf_cdn *)0)->id))
		return enl_fail(e, ENL_EINVAL,
		                "a CloudFront distribution id is 1 to 127 characters");
	for (size_t i = 0; i < n; i++) {
		char ch = distribution_id[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9')))
			return enl_fail(e, ENL_EINVAL,
			                "a CloudFront distribution id has letters and digits only");
	}
	struct cf_cdn *c = calloc(1, sizeof(*c));
	if (!c)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	c->base.ops = &cf_ops;
	c->base.name = "cloudfront";
	c->client = client;
	snprintf(c->id, sizeof(c->id), "%s", distribution_id);
	const char *ep =
	    cfg->endpoint_cloudfront[0] ? cfg->endpoint_cloudfront : CF_DEFAULT_ENDPOINT;
	size_t cap = strlen(ep) + n + 64;
	c->url = malloc(cap);
	if (!c->url) {
		cf_destroy(&c->base);
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	}
	snprintf(c->url, cap, "%s/" CF_API "/distribution/%s/invalidation", ep, c->id);
	*out = &c->base;
	return ENL_OK;
}
