/* The AWS credentials chain (env, ECS container endpoint, EC2 IMDSv2), cached and refreshed
 * before Expiration by a background thread, so no request ever waits for a fetch.
 *
 * Sources, as the AWS SDKs document them ("Container credential provider" and "IMDS
 * credential provider" in the AWS SDKs and Tools Reference Guide):
 * - ECS: GET http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or GET
 *   $AWS_CONTAINER_CREDENTIALS_FULL_URI with "Authorization: <token>" from
 *   AWS_CONTAINER_AUTHORIZATION_TOKEN or the file AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
 *   JSON {AccessKeyId, SecretAccessKey, Token, Expiration}.
 * - IMDSv2: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds), then with
 *   X-aws-ec2-metadata-token: GET /latest/meta-data/iam/security-credentials/ (role name),
 *   GET .../<role> (same JSON plus "Code": "Success").
 * Never log a key id, secret or token: only the source and the expiry. */
#include "enlarger/aws.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "enlarger/clock.h"
#include "enlarger/log.h"
#include "aws_internal.h"

#define FETCH_MAX (64u << 10) /* a credentials document is < 4 KB */
#define TOKEN_FILE_MAX (16u << 10)
#define NO_EXPIRY_REFRESH_S (15 * 60) /* refresh period when a document has no Expiration */

enum source { SRC_STATIC, SRC_ENV, SRC_ECS, SRC_IMDS };

struct enl_aws_credprov {
	enum source src;
	struct enl_aws_credprov_opts o;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct enl_aws_creds cur; /* guarded by lock */
	int have;
	unsigned long fetches;
	int stop;
	int thread_started;
	pthread_t thread;
	struct enl_aws_client *http; /* unsigned client for the metadata endpoints */
	char url[1024];              /* ECS: full URL; IMDS: base URL */
	char auth_token[ENL_AWS_TOKEN_MAX];
	char auth_token_file[1024];
};

static void set_str(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

static int env_true(const char *name)
{
	const char *v = getenv(name);
	return v && strcasecmp(v, "true") == 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* "2019-09-18T22:27:06Z", with optional fractional seconds and "Z" or "+00:00". */
static int parse_iso8601(const char *s, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return ENL_EINVAL;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (!(strcmp(p, "Z") == 0 || strcmp(p, "+00:00") == 0 || *p == 0))
		return ENL_EINVAL;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? ENL_EINVAL : 0;
}

static int copy_field(char *dst, size_t cap, json_t *doc, const char *key, int required)
{
	const char *v = json_string_value(json_object_get(doc, key)); /* borrowed */
	if (!v || !*v) {
		dst[0] = 0;
		return required ? ENL_EAUTH : 0;
	}
	if (strlen(v) >= cap || strchr(v, '\n') || strchr(v, '\r'))
		return ENL_EAUTH;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int enl_aws_creds_parse(const struct enl_buf *body, struct enl_aws_creds *out, struct enl_errmsg *e,
                        const char *what)
{
	json_error_t jerr;
	json_t *doc =
	    json_loadb((const char *)body->data, body->len, JSON_REJECT_DUPLICATES, &jerr);
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc)) {
		rc = enl_fail(e, ENL_EAUTH, "%s answered something that is not JSON", what);
		goto done;
	}
	const char *code = json_string_value(json_object_get(doc, "Code"));
	if (code && strcmp(code, "Success") != 0) {
		rc = enl_fail(e, ENL_EAUTH, "%s refused: Code is not Success", what);
		goto done;
	}
	if (copy_field(out->access_key_id, sizeof(out->access_key_id), doc, "AccessKeyId", 1) ||
	    copy_field(out->secret_access_key, sizeof(out->secret_access_key), doc,
	               "SecretAccessKey", 1) ||
	    copy_field(out->session_token, sizeof(out->session_token), doc, "Token", 0)) {
		rc = enl_fail(e, ENL_EAUTH, "%s answered without a usable key, secret or token",
		              what);
		goto done;
	}
	const char *exp = json_string_value(json_object_get(doc, "Expiration"));
	if (exp && parse_iso8601(exp, &out->expiration)) {
		rc = enl_fail(e, ENL_EAUTH, "%s answered a malformed Expiration", what);
		goto done;
	}
done:
	json_decref(doc);
	if (rc)
		OPENSSL_cleanse(out, sizeof(*out));
	return rc;
}

/* One unsigned call to a metadata endpoint; 0 only for a 200. */
static int fetch(struct enl_aws_credprov *p, const char *method, const char *url,
                 const struct enl_sigv4_header *h, size_t nh, struct enl_aws_response *rs,
                 struct enl_errmsg *e, const char *what)
{
	struct enl_aws_request rq = {
	    .method = method,
	    .url = url,
	    .headers = h,
	    .n_headers = nh,
	    .max_response = FETCH_MAX,
	};
	int rc = enl_aws_request(p->http, &rq, rs, e);
	if (rc == ENL_ETIMEOUT)
		return enl_fail(e, rc, "%s timed out", what);
	if (rc)
		return enl_fail(e, rc == ENL_ETOOBIG ? ENL_EAUTH : rc, "%s failed (%s)", what,
		                enl_err_name(rc));
	if (rs->status != 200)
		return enl_fail(e, ENL_EAUTH, "%s answered HTTP %ld", what, rs->status);
	return 0;
}

static int read_token_file(const char *path, char *out, size_t cap, struct enl_errmsg *e)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return enl_fail(e, ENL_EAUTH, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	size_t n = fread(out, 1, cap - 1, f);
	int big = n == cap - 1 && fgetc(f) != EOF;
	fclose(f);
	out[n] = 0;
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = 0;
	if (big || !n || strchr(out, '\n') || strchr(out, '\r'))
		return enl_fail(e, ENL_EAUTH, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE is unusable");
	return 0;
}

static int fetch_ecs(struct enl_aws_credprov *p, struct enl_aws_creds *out, struct enl_errmsg *e)
{
	struct enl_aws_response rs;
	struct enl_sigv4_header h[1];
	size_t nh = 0;
	char token[ENL_AWS_TOKEN_MAX];
	int rc;

	memset(&rs, 0, sizeof(rs));
	if (p->auth_token_file[0]) {
		/* Re-read every time: EKS Pod Identity rotates the file. */
		if ((rc = read_token_file(p->auth_token_file, token, sizeof(token), e)))
			return rc;
		h[nh++] = (struct enl_sigv4_header){"Authorization", token};
	} else if (p->auth_token[0]) {
		h[nh++] = (struct enl_sigv4_header){"Authorization", p->auth_token};
	}
	rc = fetch(p, "GET", p->url, h, nh, &rs, e, "the container credentials endpoint");
	if (!rc)
		rc = enl_aws_creds_parse(&rs.body, out, e, "the container credentials endpoint");
	OPENSSL_cleanse(token, sizeof(token));
	if (rs.body.data)
		OPENSSL_cleanse(rs.body.data, rs.body.len);
	enl_aws_response_free(&rs);
	return rc;
}

static int fetch_imds(struct enl_aws_credprov *p, struct enl_aws_creds *out, struct enl_errmsg *e)
{
	struct enl_aws_response rs;
	char url[1400], token[1024], role[256];
	int rc;
	const char *what = "EC2 instance metadata (IMDSv2)";

	memset(&rs, 0, sizeof(rs));
	snprintf(url, sizeof(url), "%s/latest/api/token", p->url);
	struct enl_sigv4_header th[] = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
	if ((rc = fetch(p, "PUT", url, th, 1, &rs, e, what)))
		goto done;
	if (rs.body.len == 0 || rs.body.len >= sizeof(token) ||
	    memchr(rs.body.data, '\n', rs.body.len)) {
		rc = enl_fail(e, ENL_EAUTH, "%s gave an unusable token", what);
		goto done;
	}
	memcpy(token, rs.body.data, rs.body.len);
	token[rs.body.len] = 0;
	enl_aws_response_free(&rs);

	struct enl_sigv4_header gh[] = {{"X-aws-ec2-metadata-token", token}};
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", p->url);
	if ((rc = fetch(p, "GET", url, gh, 1, &rs, e, what)))
		goto done;
	size_t rl = strcspn(rs.body.data ? (const char *)rs.body.data : "", "\r\n");
	if (rl == 0 || rl >= sizeof(role)) {
		rc = enl_fail(e, ENL_EAUTH, "%s has no IAM role attached", what);
		goto done;
	}
	memcpy(role, rs.body.data, rl);
	role[rl] = 0;
	enl_aws_response_free(&rs);
	struct enl_buf enc;
	enl_buf_init(&enc, 512);
	if (enl_sigv4_uri_encode(&enc, role, rl, 0) || !enc.data) {
		enl_buf_free(&enc);
		rc = enl_fail(e, ENL_EAUTH, "%s gave an unusable role name", what);
		goto done;
	}
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", p->url,
	         (const char *)enc.data);
	enl_buf_free(&enc);
	if ((rc = fetch(p, "GET", url, gh, 1, &rs, e, what)))
		goto done;
	rc = enl_aws_creds_parse(&rs.body, out, e, what);
done:
	OPENSSL_cleanse(token, sizeof(token));
	if (rs.body.data)
		OPENSSL_cleanse(rs.body.data, rs.body.len);
	enl_aws_response_free(&rs);
	return rc;
}

static int fetch_any(struct enl_aws_credprov *p, struct enl_aws_creds *out, struct enl_errmsg *e)
{
	return p->src == SRC_ECS ? fetch_ecs(p, out, e) : fetch_imds(p, out, e);
}

static void log_fetched(const struct enl_aws_credprov *p, const struct enl_aws_creds *c)
{
	enl_log_json(ENL_LOG_INFO, "aws credentials fetched",
	             json_pack("{s:s, s:I}", "source", enl_aws_credprov_source(p), "expires",
	                       (json_int_t)c->expiration));
}

/* The refresher: sleeps until refresh_margin before Expiration, fetches, swaps the cached
 * set under the lock; on failure keeps the old set and retries with doubling delays. */
static void *refresher(void *arg)
{
	struct enl_aws_credprov *p = arg;
	long retry = p->o.retry_min_ms;
	long long next;
	int failing = 0;

	pthread_mutex_lock(&p->lock);
	long long last = enl_wall_ms();
	while (!p->stop) {
		if (failing) {
			next = enl_wall_ms() + retry;
		} else {
			long long exp = p->cur.expiration ? (long long)p->cur.expiration * 1000
			                                  : last + NO_EXPIRY_REFRESH_S * 1000LL;
			next = exp - p->o.refresh_margin_ms;
			/* Short-lived credentials must not make us spin. */
			if (next < last + p->o.retry_min_ms)
				next = last + p->o.retry_min_ms;
		}
		struct timespec ts = {(time_t)(next / 1000), (long)(next % 1000) * 1000000L};
		while (!p->stop && enl_wall_ms() < next)
			if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT)
				break;
		if (p->stop)
			break;
		if (enl_wall_ms() < next)
			continue;
		pthread_mutex_unlock(&p->lock);

		struct enl_aws_creds fresh;
		struct enl_errmsg e = {{0}};
		int rc = fetch_any(p, &fresh, &e);
		long next_retry = failing ? retry * 2 : p->o.retry_min_ms;
		if (next_retry > p->o.retry_max_ms)
			next_retry = p->o.retry_max_ms;
		if (rc) {
			enl_log_json(ENL_LOG_WARN, "aws credentials refresh failed",
			             json_pack("{s:s, s:s, s:I}", "source",
			                       enl_aws_credprov_source(p), "error", e.text,
			                       "retry_ms", (json_int_t)next_retry));
		} else {
			log_fetched(p, &fresh);
		}
		pthread_mutex_lock(&p->lock);
		last = enl_wall_ms();
		if (rc) {
			retry = next_retry;
			failing = 1;
		} else {
			p->cur = fresh;
			p->have = 1;
			p->fetches++;
			failing = 0;
			retry = p->o.retry_min_ms;
		}
		OPENSSL_cleanse(&fresh, sizeof(fresh));
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static struct enl_aws_credprov *prov_alloc(const struct enl_aws_credprov_opts *opts)
{
	struct enl_aws_credprov *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (opts)
		p->o = *opts;
	if (p->o.refresh_margin_ms <= 0)
		p->o.refresh_margin_ms = 5 * 60 * 1000;
	if (p->o.retry_min_ms <= 0)
		p->o.retry_min_ms = 1000;
	if (p->o.retry_max_ms <= 0)
		p->o.retry_max_ms = 60 * 1000;
	if (p->o.retry_max_ms < p->o.retry_min_ms)
		p->o.retry_max_ms = p->o.retry_min_ms;
	if (p->o.timeout_ms <= 0)
		p->o.timeout_ms = 2000;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	return p;
}

int enl_aws_credprov_new_static(struct enl_aws_credprov **out, const struct enl_aws_creds *creds)
{
	struct enl_aws_credprov *p = prov_alloc(NULL);
	*out = NULL;
	if (!p)
		return ENL_ENOMEM;
	p->src = SRC_STATIC;
	p->cur = *creds;
	p->have = 1;
	*out = p;
	return 0;
}

/* FULL_URI over plain http is allowed only to hosts that cannot be on the network path:
 * loopback, and the ECS / EKS Pod Identity link-local agents (as the SDKs allow). */
static int full_uri_allowed(const char *url)
{
	struct enl_aws_url u;
	if (enl_aws_url_parse(&u, url))
		return 0;
	if (u.https)
		return 1;
	char host[300];
	set_str(host, sizeof(host), u.host);
	char *colon = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');
	if (colon && host[0] == '[')
		colon[1] = 0;
	else if (colon)
		*colon = 0;
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	       strcmp(host, "[::1]") == 0 || strcmp(host, "169.254.170.2") == 0 ||
	       strcmp(host, "169.254.170.23") == 0 || strcmp(host, "[fd00:ec2::23]") == 0;
}

static int setup_source(struct enl_aws_credprov *p, struct enl_errmsg *e)
{
	const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	if (ak || sk) {
		const char *tok = env("AWS_SESSION_TOKEN");
		if (!ak || !sk)
			return enl_fail(e, ENL_EINVAL, "%s is set but %s is not",
			                ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			                ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		if (strlen(ak) >= ENL_AWS_KEY_ID_MAX || strlen(sk) >= ENL_AWS_SECRET_MAX ||
		    (tok && strlen(tok) >= ENL_AWS_TOKEN_MAX))
			return enl_fail(e, ENL_EINVAL,
			                "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or "
			                "AWS_SESSION_TOKEN is too long");
		p->src = SRC_ENV;
		set_str(p->cur.access_key_id, sizeof(p->cur.access_key_id), ak);
		set_str(p->cur.secret_access_key, sizeof(p->cur.secret_access_key), sk);
		if (tok)
			set_str(p->cur.session_token, sizeof(p->cur.session_token), tok);
		p->have = 1;
		return 0;
	}
	if (rel) {
		if (rel[0] != '/' || strlen(rel) + sizeof("http://169.254.170.2") >= sizeof(p->url))
			return enl_fail(e, ENL_EINVAL,
			                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /");
		p->src = SRC_ECS;
		snprintf(p->url, sizeof(p->url), "http://169.254.170.2%s", rel);
		return 0;
	}
	if (full) {
		const char *tok = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
		const char *tf = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
		if (strlen(full) >= sizeof(p->url) || !full_uri_allowed(full))
			return enl_fail(
			    e, ENL_EINVAL,
			    "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to "
			    "a loopback or ECS/EKS agent address");
		if (tok && (strlen(tok) >= sizeof(p->auth_token) || strchr(tok, '\n') ||
		            strchr(tok, '\r')))
			return enl_fail(e, ENL_EINVAL,
			                "AWS_CONTAINER_AUTHORIZATION_TOKEN is unusable");
		if (tf && strlen(tf) >= sizeof(p->auth_token_file))
			return enl_fail(e, ENL_EINVAL,
			                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE is too long");
		p->src = SRC_ECS;
		set_str(p->url, sizeof(p->url), full);
		if (tf) /* the file wins, as in the SDKs */
			set_str(p->auth_token_file, sizeof(p->auth_token_file), tf);
		else if (tok)
			set_str(p->auth_token, sizeof(p->auth_token), tok);
		return 0;
	}
	if (env_true("AWS_EC2_METADATA_DISABLED"))
		return enl_fail(e, ENL_EAUTH,
		                "no AWS credentials: set AWS_ACCESS_KEY_ID and "
		                "AWS_SECRET_ACCESS_KEY, or run with a task or instance role");
	const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	struct enl_aws_url u;
	if (!base)
		base = "http://169.254.169.254";
	if (strlen(base) >= sizeof(p->url) || enl_aws_url_parse(&u, base))
		return enl_fail(e, ENL_EINVAL, "AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL");
	p->src = SRC_IMDS;
	set_str(p->url, sizeof(p->url), base);
	size_t n = strlen(p->url);
	while (n && p->url[n - 1] == '/')
		p->url[--n] = 0;
	return 0;
}

int enl_aws_credprov_new(struct enl_aws_credprov **out, const struct enl_aws_credprov_opts *opts,
                         struct enl_errmsg *e)
{
	struct enl_aws_credprov *p = prov_alloc(opts);
	int rc;
	*out = NULL;
	if (!p)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	if ((rc = setup_source(p, e)))
		goto fail;
	if (p->src == SRC_ENV) {
		enl_log_json(ENL_LOG_INFO, "aws credentials", json_pack("{s:s}", "source", "env"));
		*out = p;
		return 0;
	}
	struct enl_aws_client_opts co = {
	    .connect_timeout_ms = p->o.timeout_ms < 1000 ? p->o.timeout_ms : 1000,
	    .timeout_ms = p->o.timeout_ms,
	    .max_attempts = 2,
	    .backoff_base_ms = 100,
	    .backoff_max_ms = 500,
	};
	if ((rc = enl_aws_client_new(&p->http, &co, NULL, e)))
		goto fail;
	struct enl_aws_creds first;
	if ((rc = fetch_any(p, &first, e)))
		goto fail;
	log_fetched(p, &first);
	p->cur = first;
	p->have = 1;
	p->fetches = 1;
	OPENSSL_cleanse(&first, sizeof(first));
	if (pthread_create(&p->thread, NULL, refresher, p) != 0) {
		rc = enl_fail(e, ENL_EINTERNAL, "cannot start the credentials refresh thread");
		goto fail;
	}
	p->thread_started = 1;
	*out = p;
	return 0;
fail:
	enl_aws_credprov_free(p);
	return rc;
}

int enl_aws_credprov_get(struct enl_aws_credprov *p, struct enl_aws_creds *out)
{
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	if (!p->have || (p->cur.expiration && time(NULL) >= p->cur.expiration))
		rc = ENL_EAUTH;
	else
		*out = p->cur;
	pthread_mutex_unlock(&p->lock);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

const char *enl_aws_credprov_source(const struct enl_aws_credprov *p)
{
	switch (p->src) {
	case SRC_STATIC: return "static";
	case SRC_ENV: return "env";
	case SRC_ECS: return "ecs";
	case SRC_IMDS: return "imds";
	}
	return "unknown";
}

unsigned long enl_aws_credprov_fetches(struct enl_aws_credprov *p)
{
	pthread_mutex_lock(&p->lock);
	unsigned long n = p->fetches;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void enl_aws_credprov_free(struct enl_aws_credprov *p)
{
	if (!p)
		return;
	if (p->thread_started) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	enl_aws_client_free(p->http);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}
