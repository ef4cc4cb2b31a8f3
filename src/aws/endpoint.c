/* Region and endpoints from the standard AWS variables, and S3/DynamoDB URLs. */
#include "enlarger/aws.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws_internal.h"

static int env_copy(char *dst, size_t cap, const char *var, const char *fallback_var,
                    struct enl_errmsg *e, const char **which)
{
	const char *v = getenv(var);
	*which = var;
	if ((!v || !*v) && fallback_var) {
		v = getenv(fallback_var);
		*which = fallback_var;
	}
	dst[0] = 0;
	if (!v || !*v)
		return 0;
	if (strlen(v) >= cap)
		return enl_fail(e, ENL_EINVAL, "%s is too long", *which);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int check_endpoint(char *ep, const char *var, struct enl_errmsg *e)
{
	struct enl_aws_url u;
	size_t n = strlen(ep);
	if (!n)
		return 0;
	while (n && ep[n - 1] == '/')
		ep[--n] = 0;
	if (enl_aws_url_parse(&u, ep) || u.query || u.path_len)
		return enl_fail(e, ENL_EINVAL,
		                "%s must be an http:// or https:// URL without a path or query",
		                var);
	return 0;
}

int enl_aws_config_from_env(struct enl_aws_config *out, struct enl_errmsg *e)
{
	const char *which;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = env_copy(out->region, sizeof(out->region), "AWS_REGION", "AWS_DEFAULT_REGION", e,
	                   &which)))
		return rc;
	for (const char *p = out->region; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return enl_fail(e, ENL_EINVAL, "%s is not a region name", which);
	if ((rc = env_copy(out->endpoint_s3, sizeof(out->endpoint_s3), "AWS_ENDPOINT_URL_S3",
	                   "AWS_ENDPOINT_URL", e, &which)) ||
	    (rc = check_endpoint(out->endpoint_s3, which, e)))
		return rc;
	if ((rc = env_copy(out->endpoint_dynamodb, sizeof(out->endpoint_dynamodb),
	                   "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", e, &which)) ||
	    (rc = check_endpoint(out->endpoint_dynamodb, which, e)))
		return rc;
	if ((rc = env_copy(out->endpoint_cloudfront, sizeof(out->endpoint_cloudfront),
	                   "AWS_ENDPOINT_URL_CLOUDFRONT", "AWS_ENDPOINT_URL", e, &which)) ||
	    (rc = check_endpoint(out->endpoint_cloudfront, which, e)))
		return rc;
	if (!out->region[0]) {
		if (!out->endpoint_s3[0] || !out->endpoint_dynamodb[0])
			return enl_fail(e, ENL_EINVAL, "AWS_REGION is not set");
		memcpy(out->region, "us-east-1", sizeof("us-east-1"));
	}
	return 0;
}

/* Virtual-hosted style needs the bucket to be one DNS label (no dots, or the
 * *.s3.region.amazonaws.com certificate does not match), lower-case, 3-63 chars. */
static int dns_label(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
			return 0;
	return 1;
}

int enl_aws_s3_url(char **out, const struct enl_aws_config *cfg, const char *bucket,
                   const char *key, const char *query)
{
	struct enl_buf b;
	int rc = 0;
	*out = NULL;
	if (!bucket || !*bucket || strchr(bucket, '/'))
		return ENL_EINVAL;
	enl_buf_init(&b, 0);
#define PUT(s) (rc = rc ? rc : enl_buf_append(&b, (s), strlen(s)))
	if (cfg->endpoint_s3[0]) {
		PUT(cfg->endpoint_s3);
		PUT("/");
		if (!rc)
			rc = enl_sigv4_uri_encode(&b, bucket, strlen(bucket), 0);
	} else if (dns_label(bucket)) {
		PUT("https://");
		PUT(bucket);
		PUT(".s3.");
		PUT(cfg->region);
		PUT(".amazonaws.com");
	} else {
		PUT("https://s3.");
		PUT(cfg->region);
		PUT(".amazonaws.com/");
		if (!rc)
			rc = enl_sigv4_uri_encode(&b, bucket, strlen(bucket), 0);
	}
	PUT("/");
	if (key && !rc)
		rc = enl_sigv4_uri_encode(&b, key, strlen(key), 1);
	if (query && *query) {
		PUT("?");
		PUT(query);
	}
#undef PUT
	if (rc) {
		enl_buf_free(&b);
		return rc;
	}
	*out = enl_buf_steal(&b, NULL);
	return 0;
}

int enl_aws_dynamodb_url(char **out, const struct enl_aws_config *cfg)
{
	struct enl_buf b;
	int rc = 0;
	*out = NULL;
	enl_buf_init(&b, 0);
	if (cfg->endpoint_dynamodb[0]) {
		rc = enl_buf_append(&b, cfg->endpoint_dynamodb, strlen(cfg->endpoint_dynamodb));
	} else {
		const char *p = "https://dynamodb.";
		rc = enl_buf_append(&b, p, strlen(p));
		if (!rc)
			rc = enl_buf_append(&b, cfg->region, strlen(cfg->region));
		if (!rc)
			rc = enl_buf_append(&b, ".amazonaws.com", 14);
	}
	if (!rc)
		rc = enl_buf_append(&b, "/", 1);
	if (rc) {
		enl_buf_free(&b);
		return rc;
	}
	*out = enl_buf_steal(&b, NULL);
	return 0;
}
