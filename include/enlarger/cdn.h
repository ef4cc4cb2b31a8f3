/* CDN invalidation: after a photo is deleted or replaced, the edge copies of its paths
 * are dropped, so viewers stop getting the old bytes before their TTL runs out. Opt-in
 * (ENLARGER_CDN_DISTRIBUTION_ID). One implementation: CloudFront (src/cdn/cloudfront.c). */
#ifndef ENLARGER_CDN_H
#define ENLARGER_CDN_H

#include <stddef.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"

/* At most this many paths per invalidation (one photo needs three). */
#define ENL_CDN_MAX_PATHS 8
/* CloudFront's CallerReference is at most 128 characters. */
#define ENL_CDN_CALLER_REF_MAX 128

struct enl_cdn;

struct enl_cdn_ops {
	int (*invalidate)(struct enl_cdn *c, const char *const *paths, size_t n,
	                  const char *caller_ref, struct enl_errmsg *e);
	void (*destroy)(struct enl_cdn *c);
};

struct enl_cdn {
	const struct enl_cdn_ops *ops;
	const char *name; /* "cloudfront" */
};

/* One invalidation of paths[0..n) (1..ENL_CDN_MAX_PATHS, each starting with '/', printable
 * ASCII without spaces, '*' only at the end), named by caller_ref (1..128 printable
 * characters; the same reference for a retry of the same invalidation, so a request that
 * did arrive is not made twice). Checked here before dispatch. 0; ENL_EBUSY or ENL_EIO or
 * ENL_ETIMEOUT when a later try may work (throttled, too many in progress, 5xx);
 * ENL_EDENIED (no permission) and ENL_EINVAL (a bad request or distribution) when not. */
int enl_cdn_invalidate(struct enl_cdn *c, const char *const *paths, size_t n,
                       const char *caller_ref, struct enl_errmsg *e);
void enl_cdn_destroy(struct enl_cdn *c);

/* Appends s percent-encoded as a viewer's URL path has it: RFC 3986 unreserved characters
 * and '/' as they are, every other byte %XX (so a '*' in a key is never a wildcard).
 * 0 or the buffer's error. */
int enl_cdn_path_encode(struct enl_buf *out, const char *s);

struct enl_aws_config;
struct enl_aws_client;

/* CloudFront distribution_id (its letters and digits) over client (borrowed), at
 * cfg->endpoint_cloudfront or https://cloudfront.amazonaws.com, signed with SigV4 for the
 * service "cloudfront" in us-east-1 (CloudFront's one region). Needs
 * cloudfront:CreateInvalidation on that distribution only. */
int enl_cdn_cloudfront_open(const struct enl_aws_config *cfg, struct enl_aws_client *client,
                            const char *distribution_id, struct enl_cdn **out,
                            struct enl_errmsg *e);

#endif
