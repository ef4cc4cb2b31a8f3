/* Talking to AWS without the SDK: endpoint configuration, the credentials chain, and one
 * libcurl request helper that signs (sigv4.h), reuses connections, times out and retries.
 *
 * Typical use (the S3 store and the DynamoDB table are built this way):
 *
 *	struct enl_aws_config cfg;                 // once, at start-up
 *	struct enl_aws_credprov *creds = NULL;
 *	struct enl_aws_client *client = NULL;
 *	if (enl_aws_config_from_env(&cfg, &e) ||
 *	    enl_aws_credprov_new(&creds, NULL, &e) ||
 *	    enl_aws_client_new(&client, NULL, creds, &e))
 *		fail("...%s", e.text);             // e names the variable at fault
 *
 *	char *url = NULL;                          // per request
 *	enl_aws_s3_url(&url, &cfg, "bucket", "my photo+1.jpg", NULL);
 *	struct enl_aws_request rq = {.method = "GET", .url = url, .service = "s3",
 *	                             .region = cfg.region, .max_response = limit};
 *	struct enl_aws_response rs;
 *	int rc = enl_aws_request(client, &rq, &rs, &e);
 *	// rc == 0: rs.status is the final HTTP status (200, 404, 412, 400 ...), rs.body holds it
 *	enl_aws_response_free(&rs);                // always, whatever rc
 *	free(url);
 *
 *	enl_aws_client_free(client);               // at shutdown, client before creds
 *	enl_aws_credprov_free(creds);
 *
 * Thread safety: a client and a credprov are shared by all threads; every function here
 * may be called concurrently, except the _new and _free functions. */
#ifndef ENLARGER_AWS_H
#define ENLARGER_AWS_H

#include <stddef.h>
#include <time.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"
#include "enlarger/sigv4.h"

/* ---- Endpoints and region (src/aws/endpoint.c) ---------------------------------------- */

struct enl_aws_config {
	char region[64];       /* AWS_REGION, else AWS_DEFAULT_REGION */
	char endpoint_s3[512]; /* AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; "" = AWS */
	char
	    endpoint_dynamodb[512]; /* AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL; "" = AWS */
	/* AWS_ENDPOINT_URL_CLOUDFRONT, else AWS_ENDPOINT_URL; "" = AWS (the CDN, cdn.h) */
	char endpoint_cloudfront[512];
};

/* Reads the variables above. Endpoints must be http:// or https:// URLs (a trailing '/'
 * is dropped). The region may be left out only when both endpoints are custom (then
 * "us-east-1", what the stand-ins expect). Errors: ENL_EINVAL with e naming the variable. */
int enl_aws_config_from_env(struct enl_aws_config *out, struct enl_errmsg *e);

/* Builds the URL of an S3 object (key != NULL) or of a bucket (key == NULL, for listing),
 * with query appended after '?' as given (already encoded; NULL for none). Custom endpoint:
 * path style "<endpoint>/<bucket>/<key>". AWS: virtual-hosted style
 * "https://<bucket>.s3.<region>.amazonaws.com/<key>", or path style on
 * "https://s3.<region>.amazonaws.com" for bucket names with dots (TLS wildcard) or that are
 * not DNS labels. The key is URI-encoded exactly once with '/' kept (enl_sigv4_uri_encode),
 * which is the form the signer's S3 mode expects. *out is malloc'd: the caller frees it.
 * Returns 0, ENL_EINVAL (empty bucket) or ENL_ENOMEM. */
int enl_aws_s3_url(char **out, const struct enl_aws_config *cfg, const char *bucket,
                   const char *key, const char *query);

/* The DynamoDB endpoint URL ("https://dynamodb.<region>.amazonaws.com/" or the custom
 * endpoint + "/"). *out is malloc'd: the caller frees it. */
int enl_aws_dynamodb_url(char **out, const struct enl_aws_config *cfg);

/* ---- Credentials (src/aws/credentials.c) --------------------------------------------- */

/* The chain, in order, decided once at enl_aws_credprov_new:
 * 1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN): static.
 * 2. ECS task role: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (from http://169.254.170.2), or
 *    AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback or the ECS/EKS
 *    link-local hosts) with an Authorization header from AWS_CONTAINER_AUTHORIZATION_TOKEN
 *    or the file AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read at every fetch).
 * 3. EC2 IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254):
 *    PUT a token, GET the role name, GET the role's credentials. Skipped when
 *    AWS_EC2_METADATA_DISABLED=true.
 * Sources 2 and 3 return an Expiration; a background thread fetches again refresh_margin
 * before it (and retries a failed fetch with backoff, keeping the old credentials while they
 * are valid), so a request never waits for a fetch. Secrets are never logged. */
struct enl_aws_credprov;

struct enl_aws_credprov_opts {
	long refresh_margin_ms; /* fetch this long before Expiration; default 5 min */
	long retry_min_ms;      /* first retry after a failed refresh; default 1 s (doubles) */
	long retry_max_ms;      /* default 60 s */
	long timeout_ms;        /* per HTTP attempt to the credentials endpoint; default 2 s */
};

/* Picks the source and fetches the first credentials now (so a bad setup fails at start-up).
 * opts may be NULL (defaults). *out is freed with enl_aws_credprov_free. Errors: ENL_EAUTH
 * (no source, or the source refused or answered garbage), ENL_ETIMEOUT, ENL_EIO,
 * ENL_EINVAL (a malformed variable), each with e naming the source, never a secret. */
int enl_aws_credprov_new(struct enl_aws_credprov **out, const struct enl_aws_credprov_opts *opts,
                         struct enl_errmsg *e);

/* A provider that always hands out *creds (copied), for tests and tools. */
int enl_aws_credprov_new_static(struct enl_aws_credprov **out, const struct enl_aws_creds *creds);

/* Copies the current credentials into *out (a consistent key/secret/token triple; no
 * allocation, nothing to free; wipe it with OPENSSL_cleanse or memset when done if you
 * like). ENL_EAUTH when they have expired and no refresh has succeeded. Never blocks on I/O. */
int enl_aws_credprov_get(struct enl_aws_credprov *p, struct enl_aws_creds *out);

/* "env", "ecs", "imds" or "static": for logs and tests. Borrowed, static. */
const char *enl_aws_credprov_source(const struct enl_aws_credprov *p);

/* Counts successful fetches (1 after _new for ecs/imds): for tests and metrics. */
unsigned long enl_aws_credprov_fetches(struct enl_aws_credprov *p);

/* Stops the refresh thread and frees. NULL is fine. */
void enl_aws_credprov_free(struct enl_aws_credprov *p);

/* ---- Requests (src/aws/request.c, src/aws/sign.c) ------------------------------------- */

struct enl_aws_client;

struct enl_aws_client_opts {
	long connect_timeout_ms; /* per attempt; default 2000 */
	long timeout_ms;         /* whole attempt (connect + transfer); default 15000 */
	int max_attempts;        /* 1 = no retries; default 4 */
	long backoff_base_ms;    /* full jitter: sleep random(0, min(max, base * 2^n)); 100 */
	long backoff_max_ms;     /* default 5000 */
};

/* opts may be NULL (defaults). creds is borrowed (must outlive the client) and may be NULL
 * for unsigned requests. *out is freed with enl_aws_client_free. Connections are kept in a
 * pool of curl handles sharing one connection cache, so sequential calls reuse a keep-alive
 * connection. Returns 0 or ENL_ENOMEM / ENL_EINTERNAL. */
int enl_aws_client_new(struct enl_aws_client **out, const struct enl_aws_client_opts *opts,
                       struct enl_aws_credprov *creds, struct enl_errmsg *e);
void enl_aws_client_free(struct enl_aws_client *c);

struct enl_aws_response;

/* Decides whether a final response (not 5xx or 429, which are always retried) is a
 * retryable service error, e.g. S3 "SlowDown" or DynamoDB "ThrottlingException" in a 400
 * body. Return nonzero to retry. Called with the response of this attempt (borrowed). */
typedef int (*enl_aws_retry_fn)(void *arg, const struct enl_aws_response *r);

struct enl_aws_request {
	const char *method; /* GET HEAD PUT POST DELETE */
	const char *url;    /* full URL with the path percent-encoded (enl_aws_s3_url) */
	/* Extra headers, signed and sent (Content-Type, Cache-Control, x-amz-meta-*,
	 * X-Amz-Target ...). Borrowed. Do not pass Host, Authorization, X-Amz-Date,
	 * X-Amz-Content-Sha256 or X-Amz-Security-Token: the helper sets those (ENL_EINVAL).
	 * Unsigned requests (service NULL) may pass any header but Host. */
	const struct enl_sigv4_header *headers;
	size_t n_headers;
	const void *body; /* borrowed; sent as is (PUT/POST); NULL with body_len 0 for none */
	size_t body_len;
	/* Signing: service NULL sends the request unsigned. service "s3" selects the S3 URI
	 * mode and adds x-amz-content-sha256; unsigned_payload signs S3 bodies as
	 * UNSIGNED-PAYLOAD instead of hashing them. */
	const char *service;
	const char *region;
	int unsigned_payload;
	size_t max_response; /* cap on the response body (0 = 16 MiB); past it ENL_ETOOBIG */
	long deadline_ms;    /* 0 = none; else no new attempt starts after this many ms */
	enl_aws_retry_fn retry_if;
	void *retry_arg;
};

/* One captured response header: name lower-cased. Both strings malloc'd, owned by the
 * response (freed by enl_aws_response_free). */
struct enl_aws_header {
	char *name;
	char *value;
};

struct enl_aws_response {
	long status;         /* final HTTP status; 0 when no response arrived */
	struct enl_buf body; /* owned: steal it with enl_buf_steal, or let _free release it */
	struct enl_aws_header *headers; /* every header of the final response, in order */
	size_t n_headers;
	long long content_length; /* -1 when absent */
	int attempts;             /* how many attempts were made */
};

/* The <Code> of r's XML error body ("" when none) into out (at most cap - 1 characters,
 * letters and digits only, so a code is never more than an identifier). */
void enl_aws_xml_error_code(const struct enl_aws_response *r, char *out, size_t cap);

/* Sends the request, signed with a fresh snapshot of the client's credentials at each
 * attempt. Always initialises *out first: call enl_aws_response_free(out) after, whatever
 * the result.
 * Retries (up to max_attempts, full-jitter backoff, Retry-After honoured up to backoff_max)
 * on: connection errors, timeouts, 5xx, 429, and responses req->retry_if accepts.
 * Returns:
 *  0             an HTTP response arrived that is not to be retried, any status
 *                (2xx, 304, 400, 403, 404, 409, 412 ...): look at out->status;
 *  ENL_EIO       retries exhausted on 5xx/429/retry_if (out holds the last response),
 *                or the connection failed;
 *  ENL_ETIMEOUT  the last attempt timed out (connect or total);
 *  ENL_ETOOBIG   the body passed req->max_response (not retried);
 *  ENL_EDENIED   no valid credentials (none, or expired and not refreshed);
 *  ENL_EINVAL    a malformed request or URL.
 * e gets a short safe text (status, curl's error name, never a header or a body). */
int enl_aws_request(struct enl_aws_client *c, const struct enl_aws_request *req,
                    struct enl_aws_response *out, struct enl_errmsg *e);

/* The value of the first response header called name (any case), or NULL. Borrowed from r. */
const char *enl_aws_response_header(const struct enl_aws_response *r, const char *name);

void enl_aws_response_free(struct enl_aws_response *r);

/* The header set enl_aws_request sends for req at time now with creds: the caller's headers,
 * then Host, X-Amz-Date, X-Amz-Content-Sha256 (s3), X-Amz-Security-Token (if any) and
 * Authorization. Exposed so tests compare it with an SDK signer. *out is a malloc'd array
 * of *n_out entries with malloc'd strings: free with enl_aws_headers_free(*out, *n_out).
 * canonical_request (may be NULL) gets a malloc'd copy of the canonical request. */
int enl_aws_sign_request(struct enl_aws_header **out, size_t *n_out, char **canonical_request,
                         const struct enl_aws_request *req, const struct enl_aws_creds *creds,
                         time_t now);
void enl_aws_headers_free(struct enl_aws_header *h, size_t n);

#endif
