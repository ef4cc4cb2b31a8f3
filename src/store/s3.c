/* S3 object store over the REST API, without the SDK: every call is one enl_aws_request
 * (src/aws/request.c), which signs it (SigV4, x-amz-content-sha256 = the body's hash),
 * reuses keep-alive connections, times out and retries 5xx/429/timeouts with full-jitter
 * backoff. Path-style URLs on a custom endpoint (AWS_ENDPOINT_URL_S3), virtual-hosted on
 * AWS (enl_aws_s3_url).
 *
 * References (Amazon S3 API Reference): GetObject, HeadObject, PutObject, DeleteObject,
 * ListObjectsV2, HeadBucket; "Error responses" for the <Code> values (SlowDown 503,
 * RequestTimeout 400 are retryable); "Working with object metadata" for user metadata
 * (x-amz-meta-*, names lower-cased, non-ASCII values RFC 2047 encoded: s3_meta.c);
 * PutObject's x-amz-tagging for object tags (what lifecycle rules select by).
 * The ListObjectsV2 pages are read by s3_list.c. */
#include "enlarger/store.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "enlarger/aws.h"
#include "enlarger/log.h"
#include "enlarger/names.h"
#include "enlarger/text.h"
#include "s3_internal.h"

#define S3_META_PREFIX "x-amz-meta-"
#define S3_LIST_PAGE_MAX (4u << 20) /* one ListObjectsV2 page: 1000 keys of <= 1 KiB, escaped */
#define S3_ERROR_BODY_MAX (64u << 10)
#define S3_PUT_HEADERS (3 + ENL_META_MAX) /* type, cache control, tagging, metadata */
#define S3_GET_TRIES 3                    /* reads that saw the object change while it arrived */

struct s3_store {
	struct enl_store base; /* first: the dispatch casts */
	struct enl_aws_config cfg;
	struct enl_aws_client *client; /* borrowed */
	long deadline_ms;
};

/* ---- names ---- */

/* Keys (and list prefixes, which may be empty): at most 1024 bytes of UTF-8 without
 * control characters. S3 itself takes any UTF-8, but a control character in a key is
 * unreadable in XML listings and in logs. */
static int text_check(const char *k, int allow_empty, const char *what, struct enl_errmsg *e)
{
	if (!k)
		return enl_fail(e, ENL_EINVAL, "missing %s", what);
	size_t n = strnlen(k, S3_KEY_MAX + 1);
	if (n == 0 && !allow_empty)
		return enl_fail(e, ENL_EINVAL, "empty %s", what);
	if (n > S3_KEY_MAX)
		return enl_fail(e, ENL_EINVAL, "%s longer than %d bytes", what, S3_KEY_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c < 0x20 || c == 0x7f)
			return enl_fail(e, ENL_EINVAL, "%s has a control character", what);
	}
	if (!enl_utf8_valid(k, n))
		return enl_fail(e, ENL_EINVAL, "%s is not valid UTF-8", what);
	return ENL_OK;
}

static int names_check(const char *bucket, const char *key, struct enl_errmsg *e)
{
	int rc = enl_bucket_name_check(bucket, e);
	return rc ? rc : text_check(key, 0, "key", e);
}

/* ---- errors ---- */

/* S3 answers some retryable errors with a 4xx: SlowDown comes as 503 (retried by the
 * helper anyway) but also appears as 400 behind some proxies; RequestTimeout (400) means
 * our upload stalled. */
static int s3_retry_if(void *arg, const struct enl_aws_response *r)
{
	(void)arg;
	if (r->status < 400 || r->status >= 500)
		return 0;
	char code[64];
	enl_aws_xml_error_code(r, code, sizeof(code));
	return strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
	       strcmp(code, "RequestTimeTooSkewed") == 0;
}

#define S3_WHAT "the object store"

/* The endpoint for the log: the custom one, or "aws". */
static const char *endpoint_name(const struct s3_store *s)
{
	return s->cfg.endpoint_s3[0] ? s->cfg.endpoint_s3 : "aws";
}

/* S3 answers an expired or bad session token with 400 (ExpiredToken, TokenRefreshRequired,
 * InvalidToken): the service's credentials, not the request. A HEAD's 400 has no body to
 * tell which; a request the service built and S3 finds bad is not the client's fault
 * either, so it counts as one of these too (retried, never dropped). */
static int credentials_code(const struct enl_aws_response *r, const char *code)
{
	return r->status == 400 &&
	       (!code[0] || strcmp(code, "ExpiredToken") == 0 ||
	        strcmp(code, "TokenRefreshRequired") == 0 || strcmp(code, "InvalidToken") == 0);
}

/* Maps a final S3 status other than success to an enl_err. The operation, bucket,
 * status, S3's error code and the endpoint go to the log (with the request id); the
 * client's text says only what kind of failure it was (enl_fail_backend). 401 and 403
 * (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch), and the 400s about the
 * session token, are the service's own credentials or role: ENL_EDENIED, a 503
 * EventBridge retries, never a 400 that drops the event. */
static int status_fail(const struct s3_store *s, const char *op, const char *bucket,
                       const struct enl_aws_response *r, struct enl_errmsg *e)
{
	char code[64];
	enl_aws_xml_error_code(r, code, sizeof(code));
	int rc;
	if (r->status == 404)
		rc = ENL_ENOTFOUND;
	else if (r->status == 401 || r->status == 403 || credentials_code(r, code))
		rc = ENL_EDENIED;
	else if (r->status == 400 || r->status == 411 || r->status == 414)
		rc = ENL_EINVAL;
	else
		rc = ENL_EIO;
	if (rc == ENL_ENOTFOUND)
		return enl_fail(e, rc, "%s",
		                strcmp(code, "NoSuchBucket") == 0 ? "no such bucket"
		                                                  : "no such object");
	enl_log_json(rc == ENL_EDENIED ? ENL_LOG_ERROR : ENL_LOG_WARN, "s3 request failed",
	             json_pack("{s:s, s:s, s:i, s:s, s:s}", "op", op, "bucket", bucket, "status",
	                       (int)r->status, "code", code, "endpoint", endpoint_name(s)));
	return enl_fail_backend(e, rc, S3_WHAT);
}

/* A transport failure from enl_aws_request (timeout, connection refused, retries
 * exhausted, credentials expired): logged here with the bucket, operation, endpoint and
 * the helper's own text; the client's text says only what kind of failure it was. */
static int transport_fail(const struct s3_store *s, int rc, const char *op, const char *bucket,
                          struct enl_errmsg *e)
{
	enl_log_json(rc == ENL_EDENIED ? ENL_LOG_ERROR : ENL_LOG_WARN, "s3 request failed",
	             json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", op, "bucket", bucket, "error",
	                       enl_err_name(rc), "detail", e ? e->text : "", "endpoint",
	                       endpoint_name(s)));
	return enl_fail_backend(e, rc, S3_WHAT);
}

/* ---- headers into object info ---- */

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int64_t enl_s3_http_date(const char *v)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!v)
		return 0;
	/* RFC 7231 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
	const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S", &tm);
	if (!end)
		return 0;
	return (int64_t)timegm(&tm);
}

void enl_s3_info_from_headers(struct enl_object_info *info, const struct enl_aws_response *r)
{
	memset(info, 0, sizeof(*info));
	if (r->content_length >= 0)
		info->size = (uint64_t)r->content_length;
	const char *etag = enl_aws_response_header(r, "etag");
	if (etag) {
		size_t n = strlen(etag);
		etag = enl_unquote(etag, &n);
		snprintf(info->etag, sizeof(info->etag), "%.*s", (int)n, etag);
	}
	copy_str(info->content_type, sizeof(info->content_type),
	         enl_aws_response_header(r, "content-type"));
	copy_str(info->cache_control, sizeof(info->cache_control),
	         enl_aws_response_header(r, "cache-control"));
	info->last_modified = enl_s3_http_date(enl_aws_response_header(r, "last-modified"));
	for (size_t i = 0; i < r->n_headers && info->n_meta < ENL_META_MAX; i++) {
		const char *name = r->headers[i].name; /* lower-cased by the helper */
		if (strncmp(name, S3_META_PREFIX, strlen(S3_META_PREFIX)) != 0)
			continue;
		struct enl_meta_pair *m = &info->meta[info->n_meta++];
		copy_str(m->name, sizeof(m->name), name + strlen(S3_META_PREFIX));
		enl_s3_meta_decode(m->value, sizeof(m->value), r->headers[i].value);
	}
}

/* ---- requests ---- */

/* The request every call starts from; object_send sets the URL. */
static struct enl_aws_request base_request(struct s3_store *s, const char *method)
{
	struct enl_aws_request rq = {
	    .method = method,
	    .service = "s3",
	    .region = s->cfg.region,
	    .max_response = S3_ERROR_BODY_MAX,
	    .deadline_ms = s->deadline_ms,
	    .retry_if = s3_retry_if,
	};
	return rq;
}

static int object_url(char **out, struct s3_store *s, const char *bucket, const char *key,
                      const char *query, struct enl_errmsg *e)
{
	int rc = enl_aws_s3_url(out, &s->cfg, bucket, key, query);
	if (rc == ENL_ENOMEM)
		return enl_fail(e, rc, "out of memory");
	if (rc)
		return enl_fail(e, rc, "cannot build the S3 URL");
	return ENL_OK;
}

/* The steps every call shares: checks the names (key NULL: the bucket alone, for a
 * listing or HeadBucket), builds the URL (query: NULL or a list query) into rq->url for
 * this call only, sends rq into r and maps a transport failure with transport_fail, so
 * its log line and text name op and the bucket. With own_too_big, ENL_ETOOBIG comes back
 * as is: for GET the cap is the caller's object limit, which it words itself, not a
 * transport fault worth a warning. The caller owns r (zeroed or freed before the call)
 * and frees it whatever this returns. */
static int object_send(struct s3_store *s, const char *op, const char *bucket, const char *key,
                       const char *query, int own_too_big, struct enl_aws_request *rq,
                       struct enl_aws_response *r, struct enl_errmsg *e)
{
	char *url = NULL;
	int rc = key ? names_check(bucket, key, e) : enl_bucket_name_check(bucket, e);
	if (rc)
		goto done;
	if ((rc = object_url(&url, s, bucket, key, query, e)))
		goto done;
	rq->url = url;
	rc = enl_aws_request(s->client, rq, r, e);
	if (rc && !(own_too_big && rc == ENL_ETOOBIG))
		rc = transport_fail(s, rc, op, bucket, e);
done:
	rq->url = NULL; /* freed below: no dangling pointer left in the caller's request */
	free(url);
	return rc;
}

/* Whether the body is the object the headers describe: the announced length, and the
 * MD5 where the ETag is one (a single-part upload without SSE-KMS or SSE-C; multipart
 * ETags carry a '-'). S3 itself never mixes two versions in one response, but a
 * truncated transfer or a stand-in that writes objects in place (s3rver) can. */
static int body_consistent(const struct enl_aws_response *r)
{
	if (r->content_length >= 0 && (uint64_t)r->content_length != r->body.len)
		return 0;
	const char *etag = enl_aws_response_header(r, "etag");
	const char *sse = enl_aws_response_header(r, "x-amz-server-side-encryption");
	if (!etag || (sse && strncmp(sse, "aws:kms", 7) == 0) ||
	    enl_aws_response_header(r, "x-amz-server-side-encryption-customer-algorithm"))
		return 1;
	size_t n = strlen(etag);
	etag = enl_unquote(etag, &n);
	if (n == 0)
		return 0; /* S3 always names a version; an empty ETag is a stand-in mid-write */
	if (n != 32)
		return 1;
	for (size_t i = 0; i < 32; i++)
		if (enl_hexval(etag[i]) < 0)
			return 1;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	if (EVP_Digest(r->body.data ? (const void *)r->body.data : "", r->body.len, d, &dl,
	               EVP_md5(), NULL) != 1 ||
	    dl != 16)
		return 1; /* cannot tell: do not refuse the object for it */
	for (size_t i = 0; i < 16; i++)
		if (enl_hexval(etag[2 * i]) != d[i] >> 4 ||
		    enl_hexval(etag[2 * i + 1]) != (d[i] & 15))
			return 0;
	return 1;
}

static int s3_get(struct enl_store *st, const char *bucket, const char *key, size_t max_bytes,
                  struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e)
{
	struct s3_store *s = (struct s3_store *)st;
	struct enl_aws_response r;
	int rc;
	memset(&r, 0, sizeof(r));
	struct enl_aws_request rq = base_request(s, "GET");
	/* The cap goes to the transfer itself, so a body past it is cut off while it
	 * arrives (or refused from its Content-Length before any of it). Error bodies
	 * (a 404's XML) may be longer than a tiny cap: allow S3_ERROR_BODY_MAX and check
	 * max_bytes on the object itself below. */
	size_t cap = max_bytes ? max_bytes : SIZE_MAX / 2;
	rq.max_response = cap < S3_ERROR_BODY_MAX ? S3_ERROR_BODY_MAX : cap;
	for (int tries = 1;; tries++) {
		rc = object_send(s, "GET", bucket, key, NULL, 1, &rq, &r, e);
		if (rc == ENL_ETOOBIG) {
			rc = enl_fail(e, ENL_ETOOBIG, "object is over the %zu byte limit",
			              max_bytes);
			goto done;
		}
		if (rc)
			goto done;
		if (r.status != 200) {
			rc = status_fail(s, "GET", bucket, &r, e);
			goto done;
		}
		if (max_bytes && r.body.len > max_bytes) {
			rc = enl_fail(e, ENL_ETOOBIG, "object is over the %zu byte limit",
			              max_bytes);
			goto done;
		}
		if (body_consistent(&r))
			break;
		enl_log_json(ENL_LOG_WARN, "s3 object changed while it was read",
		             json_pack("{s:s, s:i}", "bucket", bucket, "try", tries));
		if (tries >= S3_GET_TRIES) {
			rc = enl_fail(e, ENL_EIO, "S3 GET: the object changed while it was read");
			goto done;
		}
		enl_aws_response_free(&r);
		struct timespec ts = {0, 20 * 1000000L * tries};
		nanosleep(&ts, NULL);
	}
	if (info) {
		enl_s3_info_from_headers(info, &r);
		info->size = r.body.len;
	}
	if (!r.body.data) {
		/* An empty object: hand back an empty, allocated buffer like the local store. */
		void *empty = malloc(1);
		if (!empty) {
			rc = enl_fail(e, ENL_ENOMEM, "out of memory");
			goto done;
		}
		enl_buf_adopt(out, empty, 0, free);
	} else {
		enl_buf_move(out, &r.body);
	}
	rc = ENL_OK;
done:
	if (rc)
		enl_buf_free(out);
	enl_aws_response_free(&r);
	return rc;
}

/* HEAD of an object, or of the bucket when key is NULL: 0 with the answer in r (the
 * caller's, freed by it whatever this returns), or the failure mapped for op. */
static int head_call(struct s3_store *s, const char *op, const char *bucket, const char *key,
                     struct enl_aws_response *r, struct enl_errmsg *e)
{
	struct enl_aws_request rq = base_request(s, "HEAD");
	int rc = object_send(s, op, bucket, key, NULL, 0, &rq, r, e);
	if (!rc && r->status != 200)
		rc = status_fail(s, op, bucket, r, e);
	return rc;
}

static int s3_head(struct enl_store *st, const char *bucket, const char *key,
                   struct enl_object_info *info, struct enl_errmsg *e)
{
	struct enl_aws_response r;
	memset(&r, 0, sizeof(r));
	int rc = head_call((struct s3_store *)st, "HEAD", bucket, key, &r, e);
	if (!rc && info)
		enl_s3_info_from_headers(info, &r);
	enl_aws_response_free(&r);
	return rc;
}

/* Metadata names: lower-case tokens (S3 lower-cases them anyway), without the prefix. */
static int meta_name_ok(const char *n)
{
	if (!n[0])
		return 0;
	for (const char *p = n; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

static int s3_put(struct enl_store *st, const char *bucket, const char *key, const void *data,
                  size_t len, const struct enl_put_opts *opts, struct enl_errmsg *e)
{
	struct s3_store *s = (struct s3_store *)st;
	struct enl_aws_response r;
	struct enl_sigv4_header h[S3_PUT_HEADERS];
	char names[ENL_META_MAX][sizeof(S3_META_PREFIX) + 64];
	char values[ENL_META_MAX][sizeof(((struct enl_meta_pair *)0)->value) * 4 / 3 + 16];
	size_t nh = 0;
	/* Checked here as well as in object_send: a bad name is reported before a bad
	 * header, whichever the caller got wrong first. */
	int rc = names_check(bucket, key, e);
	memset(&r, 0, sizeof(r));
	if (rc)
		goto done;
	if (opts && opts->content_type && opts->content_type[0]) {
		if (!enl_s3_header_value_ok(opts->content_type)) {
			rc = enl_fail(e, ENL_EINVAL, "content type must be printable ASCII");
			goto done;
		}
		h[nh++] = (struct enl_sigv4_header){"Content-Type", opts->content_type};
	}
	if (opts && opts->cache_control && opts->cache_control[0]) {
		if (!enl_s3_header_value_ok(opts->cache_control)) {
			rc = enl_fail(e, ENL_EINVAL, "cache control must be printable ASCII");
			goto done;
		}
		h[nh++] = (struct enl_sigv4_header){"Cache-Control", opts->cache_control};
	}
	/* An x-amz-* header, so the request's signature covers it (src/aws/sign.c signs
	 * every header it is given). */
	if (opts && opts->tagging && opts->tagging[0]) {
		if (!enl_s3_header_value_ok(opts->tagging)) {
			rc = enl_fail(e, ENL_EINVAL, "tagging must be printable ASCII");
			goto done;
		}
		h[nh++] = (struct enl_sigv4_header){"x-amz-tagging", opts->tagging};
	}
	if (opts && (opts->n_meta < 0 || opts->n_meta > ENL_META_MAX)) {
		rc = enl_fail(e, ENL_EINVAL, "at most %d metadata pairs", ENL_META_MAX);
		goto done;
	}
	for (int i = 0; opts && i < opts->n_meta; i++) {
		const struct enl_meta_pair *m = &opts->meta[i];
		if (!meta_name_ok(m->name) ||
		    enl_s3_meta_encode(values[i], sizeof(values[i]), m->value) != ENL_OK) {
			rc = enl_fail(e, ENL_EINVAL, "metadata %s: bad name or value", m->name);
			goto done;
		}
		snprintf(names[i], sizeof(names[i]), S3_META_PREFIX "%s", m->name);
		for (char *c = names[i]; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		h[nh++] = (struct enl_sigv4_header){names[i], values[i]};
	}
	struct enl_aws_request rq = base_request(s, "PUT");
	rq.headers = h;
	rq.n_headers = nh;
	rq.body = len ? data : NULL;
	rq.body_len = len;
	if ((rc = object_send(s, "PUT", bucket, key, NULL, 0, &rq, &r, e)))
		goto done;
	if (r.status != 200) {
		rc = status_fail(s, "PUT", bucket, &r, e);
		goto done;
	}
done:
	enl_aws_response_free(&r);
	return rc;
}

static int s3_del(struct enl_store *st, const char *bucket, const char *key, struct enl_errmsg *e)
{
	struct s3_store *s = (struct s3_store *)st;
	struct enl_aws_response r;
	memset(&r, 0, sizeof(r));
	struct enl_aws_request rq = base_request(s, "DELETE");
	int rc = object_send(s, "DELETE", bucket, key, NULL, 0, &rq, &r, e);
	if (rc)
		goto done;
	/* S3 answers 204 whether or not the key existed; some stand-ins say 404 for a
	 * missing key, which is the same outcome. A missing bucket is an error. */
	if (r.status == 200 || r.status == 204) {
		rc = ENL_OK;
	} else if (r.status == 404) {
		char code[64];
		enl_aws_xml_error_code(&r, code, sizeof(code));
		rc = strcmp(code, "NoSuchBucket") == 0 ? status_fail(s, "DELETE", bucket, &r, e)
		                                       : ENL_OK;
	} else {
		rc = status_fail(s, "DELETE", bucket, &r, e);
	}
done:
	enl_aws_response_free(&r);
	return rc;
}

/* ---- list (ListObjectsV2) ---- */

/* "list-type=2&prefix=..&continuation-token=..", names in sorted order as SigV4's
 * canonical query wants them (the signer sorts anyway). */
static int list_query(struct enl_buf *q, const char *prefix, const char *token)
{
	int rc = 0;
	if (token) {
		rc = enl_buf_append(q, "continuation-token=", 19);
		if (!rc)
			rc = enl_sigv4_uri_encode(q, token, strlen(token), 0);
		if (!rc)
			rc = enl_buf_append(q, "&", 1);
	}
	if (!rc)
		rc = enl_buf_append(q, "list-type=2&max-keys=1000&prefix=", 33);
	if (!rc && prefix[0])
		rc = enl_sigv4_uri_encode(q, prefix, strlen(prefix), 0);
	return rc;
}

static int s3_list(struct enl_store *st, const char *bucket, const char *prefix,
                   enl_store_list_cb cb, void *ud, struct enl_errmsg *e)
{
	struct s3_store *s = (struct s3_store *)st;
	struct enl_keylist l = {.max = S3_LIST_KEYS_MAX};
	char *token = NULL;
	int rc = enl_bucket_name_check(bucket, e);
	if (!rc)
		rc = text_check(prefix, 1, "prefix", e);
	for (int page = 0; !rc; page++) {
		struct enl_aws_response r;
		struct enl_buf q = ENL_BUF_INIT;
		char *next = NULL;
		memset(&r, 0, sizeof(r));
		enl_buf_init(&q, 0);
		if (list_query(&q, prefix, token) || !q.data) {
			enl_buf_free(&q);
			rc = enl_fail(e, ENL_ENOMEM, "out of memory");
			break;
		}
		struct enl_aws_request rq = base_request(s, "GET");
		rq.max_response = S3_LIST_PAGE_MAX;
		rc = object_send(s, "LIST", bucket, NULL, (const char *)q.data, 0, &rq, &r, e);
		enl_buf_free(&q);
		if (!rc && r.status != 200)
			rc = status_fail(s, "LIST", bucket, &r, e);
		else if (!rc)
			rc = enl_s3_list_page((const char *)r.body.data, r.body.len, &l, &next, e);
		enl_aws_response_free(&r);
		free(token);
		token = next;
		if (!token)
			break;
	}
	free(token);
	/* In byte order whatever order the server used (S3 sends UTF-8 binary order;
	 * stand-ins such as s3rver walk their folders instead). */
	if (!rc)
		rc = enl_keylist_emit(&l, cb, ud);
	enl_keylist_free(&l);
	return rc;
}

static int s3_ping(struct enl_store *st, const char *bucket, struct enl_errmsg *e)
{
	struct enl_aws_response r;
	memset(&r, 0, sizeof(r));
	int rc = head_call((struct s3_store *)st, "HEAD bucket", bucket, NULL, &r, e);
	if (rc == ENL_ENOTFOUND) /* a HEAD's 404 has no body to name the bucket */
		rc = enl_fail(e, ENL_ENOTFOUND, "no such bucket");
	enl_aws_response_free(&r);
	return rc;
}

static void s3_destroy(struct enl_store *st)
{
	free(st);
}

static const struct enl_store_ops s3_ops = {
    .get = s3_get,
    .head = s3_head,
    .put = s3_put,
    .del = s3_del,
    .list = s3_list,
    .ping = s3_ping,
    .destroy = s3_destroy,
};

int enl_store_s3_open(const struct enl_aws_config *cfg, struct enl_aws_client *client,
                      long deadline_ms, struct enl_store **out, struct enl_errmsg *e)
{
	*out = NULL;
	if (!cfg || !client)
		return enl_fail(e, ENL_EINVAL, "S3 store needs an AWS configuration and client");
	struct s3_store *s = calloc(1, sizeof(*s));
	if (!s)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	s->base.ops = &s3_ops;
	s->base.name = "s3";
	s->cfg = *cfg;
	s->client = client;
	s->deadline_ms = deadline_ms > 0 ? deadline_ms : 0;
	*out = &s->base;
	return ENL_OK;
}
