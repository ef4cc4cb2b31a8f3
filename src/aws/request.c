/* The one libcurl request helper: sign, send, capture, time out, retry with backoff. */
#include "enlarger/aws.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "enlarger/clock.h"
#include "enlarger/log.h"
#include "aws_internal.h"

#define POOL_MAX 64                      /* idle handles kept (each holds its connections) */
#define DEFAULT_MAX_RESPONSE (16u << 20) /* when the caller sets no cap */
#define MAX_RESP_HEADERS 200
#define MAX_RESP_HEADER_BYTES (64u << 10)

struct enl_aws_client {
	struct enl_aws_client_opts o;
	struct enl_aws_credprov *creds; /* borrowed */
	/* DNS and TLS sessions are shared; connections are not, because libcurl does not
	 * support a connection cache shared by concurrent threads (CURLSHOPT_SHARE(3)).
	 * Instead idle easy handles wait in a LIFO pool, each with its keep-alive
	 * connections, so the next call takes the warmest one. */
	CURLSH *share;
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	CURL *pool[POOL_MAX];
	size_t npool;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in 7.88: do it once, before any handle exists. */
static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int enl_aws_curl_global_init(void)
{
	pthread_once(&global_once, global_init);
	return global_rc == CURLE_OK ? 0 : ENL_EINTERNAL;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access acc, void *arg)
{
	struct enl_aws_client *c = arg;
	(void)h;
	(void)acc;
	pthread_mutex_lock(&c->share_lock[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct enl_aws_client *c = arg;
	(void)h;
	pthread_mutex_unlock(&c->share_lock[data]);
}

int enl_aws_client_new(struct enl_aws_client **out, const struct enl_aws_client_opts *opts,
                       struct enl_aws_credprov *creds, struct enl_errmsg *e)
{
	struct enl_aws_client *c;
	*out = NULL;
	if (enl_aws_curl_global_init())
		return enl_fail(e, ENL_EINTERNAL, "libcurl failed to initialise");
	c = calloc(1, sizeof(*c));
	if (!c)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	if (opts)
		c->o = *opts;
	if (c->o.connect_timeout_ms <= 0)
		c->o.connect_timeout_ms = 2000;
	if (c->o.timeout_ms <= 0)
		c->o.timeout_ms = 15000;
	if (c->o.max_attempts <= 0)
		c->o.max_attempts = 4;
	if (c->o.backoff_base_ms <= 0)
		c->o.backoff_base_ms = 100;
	if (c->o.backoff_max_ms <= 0)
		c->o.backoff_max_ms = 5000;
	c->creds = creds;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_lock[i], NULL);
	pthread_mutex_init(&c->pool_lock, NULL);
	c->share = curl_share_init();
	if (!c->share || curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) ||
	    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
	    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION)) {
		enl_aws_client_free(c);
		return enl_fail(e, ENL_EINTERNAL, "libcurl share setup failed");
	}
	*out = c;
	return 0;
}

void enl_aws_client_free(struct enl_aws_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->npool; i++)
		curl_easy_cleanup(c->pool[i]);
	if (c->share)
		curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_lock[i]);
	pthread_mutex_destroy(&c->pool_lock);
	free(c);
}

static CURL *pool_take(struct enl_aws_client *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->pool_lock);
	if (c->npool)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->pool_lock);
	return h ? h : curl_easy_init();
}

static void pool_give(struct enl_aws_client *c, CURL *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&c->pool_lock);
	if (c->npool < POOL_MAX) {
		c->pool[c->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

/* ---- responses ---- */

static void resp_clear_headers(struct enl_aws_response *r)
{
	enl_aws_headers_free(r->headers, r->n_headers);
	r->headers = NULL;
	r->n_headers = 0;
	r->content_length = -1;
}

void enl_aws_response_free(struct enl_aws_response *r)
{
	if (!r)
		return;
	resp_clear_headers(r);
	enl_buf_free(&r->body);
}

const char *enl_aws_response_header(const struct enl_aws_response *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

struct xfer {
	struct enl_aws_response *r;
	size_t header_bytes;
	int too_big;
	int oom;
	int head; /* a HEAD: Content-Length describes a body that never comes */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	int rc = enl_buf_append(&x->r->body, p, size * n);
	if (rc == ENL_ETOOBIG)
		x->too_big = 1;
	else if (rc)
		x->oom = 1;
	return rc ? 0 : size * n; /* a short count makes curl abort with CURLE_WRITE_ERROR */
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct enl_aws_response *r = x->r;
	size_t len = size * n;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue, say): keep only the final one. */
		resp_clear_headers(r);
		x->header_bytes = 0;
		return len;
	}
	x->header_bytes += len;
	if (x->header_bytes > MAX_RESP_HEADER_BYTES || r->n_headers >= MAX_RESP_HEADERS)
		return len; /* keep what we have; the rest is not for us */
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return len;
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	struct enl_aws_header *nh = realloc(r->headers, (r->n_headers + 1) * sizeof(*nh));
	if (!nh) {
		x->oom = 1;
		return 0;
	}
	r->headers = nh;
	char *name = strndup(p, (size_t)(colon - p)), *value = strndup(v, (size_t)(end - v));
	if (!name || !value) {
		free(name);
		free(value);
		x->oom = 1;
		return 0;
	}
	for (char *c = name; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	nh[r->n_headers].name = name;
	nh[r->n_headers].value = value;
	r->n_headers++;
	if (strcmp(name, "content-length") == 0) {
		char *e;
		errno = 0;
		long long cl = strtoll(value, &e, 10);
		if (!errno && e != value && !*e && cl >= 0) {
			r->content_length = cl;
			/* Refuse an announced oversize body before reading any of it. */
			if (!x->head && r->body.max && (unsigned long long)cl > r->body.max) {
				x->too_big = 1;
				return 0;
			}
		}
	}
	return len;
}

/* ---- retries ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* "Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniform
 * random sleep in [0, min(max, base * 2^attempt)]. */
static long backoff_ms(const struct enl_aws_client_opts *o, int attempt)
{
	long ceiling = o->backoff_base_ms;
	for (int i = 0; i < attempt && ceiling < o->backoff_max_ms; i++)
		ceiling *= 2;
	if (ceiling > o->backoff_max_ms)
		ceiling = o->backoff_max_ms;
	uint32_t rnd;
	if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
		rnd = (uint32_t)enl_mono_ms() * 2654435761u;
	return (long)(rnd % (uint32_t)(ceiling + 1));
}

static int transient_curl_error(CURLcode cc)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR: return 1;
	default: return 0;
	}
}

static struct curl_slist *build_headers(const struct enl_aws_header *h, size_t n, int body)
{
	struct curl_slist *list = NULL, *t;
	int have_ct = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(h[i].name) + strlen(h[i].value) + 3;
		char *line = malloc(len);
		if (!line)
			goto fail;
		/* "Name;" is curl's way to send a header with an empty value. */
		if (h[i].value[0])
			snprintf(line, len, "%s: %s", h[i].name, h[i].value);
		else
			snprintf(line, len, "%s;", h[i].name);
		t = curl_slist_append(list, line);
		free(line);
		if (!t)
			goto fail;
		list = t;
		have_ct |= strcasecmp(h[i].name, "content-type") == 0;
	}
	/* No 100-continue round trip; no form Content-Type that curl would add to a body. */
	if (!(t = curl_slist_append(list, "Expect:")))
		goto fail;
	list = t;
	if (body && !have_ct) {
		if (!(t = curl_slist_append(list, "Content-Type:")))
			goto fail;
		list = t;
	}
	return list;
fail:
	curl_slist_free_all(list);
	return NULL;
}

/* One attempt. Returns 0 when a response arrived (status in r), else an enl_err, with
 * *cc set to curl's code. */
static int attempt_once(struct enl_aws_client *c, CURL *h, const struct enl_aws_request *req,
                        struct enl_aws_response *r, CURLcode *cc, struct enl_errmsg *e)
{
	struct enl_aws_creds creds;
	struct enl_aws_header *hs = NULL;
	size_t nhs = 0;
	struct curl_slist *list = NULL;
	struct xfer x = {r, 0, 0, 0, strcasecmp(req->method, "HEAD") == 0};
	int rc;
	int has_body = req->body_len || strcasecmp(req->method, "PUT") == 0 ||
	               strcasecmp(req->method, "POST") == 0;

	*cc = CURLE_OK;
	resp_clear_headers(r);
	r->body.len = 0;
	r->status = 0;
	if (req->service) {
		/* The service's own credentials: a server fault (ENL_EDENIED, a 503), never
		 * the client's 401. */
		if (!c->creds)
			return enl_fail(e, ENL_EDENIED, "no AWS credentials configured");
		if (enl_aws_credprov_get(c->creds, &creds))
			return enl_fail(e, ENL_EDENIED, "AWS credentials have expired");
	}
	rc = enl_aws_sign_request(&hs, &nhs, NULL, req, req->service ? &creds : NULL, time(NULL));
	memset(&creds, 0, sizeof(creds));
	if (rc)
		return enl_fail(e, rc, "cannot sign the request");
	list = build_headers(hs, nhs, has_body);
	enl_aws_headers_free(hs, nhs);
	if (!list)
		return enl_fail(e, ENL_ENOMEM, "out of memory");

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* S3 keys may hold "/../" */
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->o.timeout_ms);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "enlarger/" ENLARGER_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	if (strcasecmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcasecmp(req->method, "GET") == 0 && !req->body_len) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		if (has_body) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
		}
	}

	*cc = curl_easy_perform(h);
	curl_slist_free_all(list);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (x.too_big)
		return enl_fail(e, ENL_ETOOBIG, "response body is over the %zu byte limit",
		                r->body.max);
	if (x.oom)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	if (*cc == CURLE_OPERATION_TIMEDOUT)
		return enl_fail(e, ENL_ETIMEOUT, "AWS request timed out");
	if (*cc != CURLE_OK)
		return enl_fail(e, ENL_EIO, "AWS request failed: %s", curl_easy_strerror(*cc));
	return 0;
}

static long retry_after_ms(const struct enl_aws_response *r)
{
	const char *v = enl_aws_response_header(r, "retry-after");
	char *end;
	if (!v)
		return 0;
	long s = strtol(v, &end, 10);
	return (end != v && !*end && s > 0 && s < 3600) ? s * 1000 : 0;
}

int enl_aws_request(struct enl_aws_client *c, const struct enl_aws_request *req,
                    struct enl_aws_response *out, struct enl_errmsg *e)
{
	CURL *h = NULL;
	CURLcode cc;
	int rc = ENL_EIO;
	long long start = enl_mono_ms();
	struct enl_aws_url u;

	memset(out, 0, sizeof(*out));
	out->content_length = -1;
	enl_buf_init(&out->body, req->max_response ? req->max_response : DEFAULT_MAX_RESPONSE);
	if (!req->method || !req->url || enl_aws_url_parse(&u, req->url))
		return enl_fail(e, ENL_EINVAL, "malformed AWS request URL");
	h = pool_take(c);
	if (!h)
		return enl_fail(e, ENL_ENOMEM, "out of memory");

	for (int attempt = 0; attempt < c->o.max_attempts; attempt++) {
		int retry;
		out->attempts = attempt + 1;
		rc = attempt_once(c, h, req, out, &cc, e);
		if (rc == 0) {
			long s = out->status;
			retry = s >= 500 || s == 429 ||
			        (req->retry_if && req->retry_if(req->retry_arg, out));
			if (!retry)
				break;
			rc = enl_fail(e, ENL_EIO, "AWS answered %ld", s);
		} else {
			retry = (rc == ENL_ETIMEOUT || rc == ENL_EIO) && transient_curl_error(cc);
			if (!retry)
				break;
			/* A broken connection must not go back to the pool's next user. */
			curl_easy_cleanup(h);
			h = curl_easy_init();
			if (!h) {
				rc = enl_fail(e, ENL_ENOMEM, "out of memory");
				break;
			}
		}
		if (attempt + 1 >= c->o.max_attempts)
			break;
		long wait = backoff_ms(&c->o, attempt);
		long ra = out->status ? retry_after_ms(out) : 0;
		if (ra > wait)
			wait = ra < c->o.backoff_max_ms ? ra : c->o.backoff_max_ms;
		if (req->deadline_ms && enl_mono_ms() + wait - start >= req->deadline_ms)
			break;
		enl_log_json(ENL_LOG_WARN, "aws request retry",
		             json_pack("{s:s, s:s, s:i, s:i, s:s, s:i}", "host", u.host, "method",
		                       req->method, "status", (int)out->status, "attempt",
		                       attempt + 1, "error", enl_err_name(rc), "wait_ms",
		                       (int)wait));
		sleep_ms(wait);
	}
	pool_give(c, h);
	return rc;
}
