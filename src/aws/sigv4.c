/* AWS Signature Version 4 signing (see include/enlarger/sigv4.h). */
#include "enlarger/sigv4.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"
#include "enlarger/text.h"

#define CANON_MAX (1u << 20) /* a canonical request past 1 MiB is a bug or an attack */

/* A string builder whose first error sticks, so the steps read in a row and are checked
 * once at the end (as curl's dynbuf users do). */
struct sb {
	struct enl_buf b;
	int err;
};

static void sb_put(struct sb *s, const void *p, size_t n)
{
	if (!s->err)
		s->err = enl_buf_append(&s->b, p, n);
}

static void sb_str(struct sb *s, const char *p)
{
	sb_put(s, p, strlen(p));
}

static void sb_enc(struct sb *s, const char *p, size_t n, int keep_slash)
{
	if (!s->err)
		s->err = enl_sigv4_uri_encode(&s->b, p, n, keep_slash);
}

/* Hands the built string to the caller (malloc'd, NUL-terminated). */
static char *sb_take(struct sb *s)
{
	if (s->err)
		return NULL;
	if (!s->b.data && enl_buf_append(&s->b, "", 1) == 0)
		s->b.len = 0; /* an empty string still needs storage */
	return enl_buf_steal(&s->b, NULL);
}

static const char hexdig_upper[] = "0123456789ABCDEF";

void enl_sigv4_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(data ? data : (const void *)"", len, md);
	enl_hex_encode(out, md, sizeof(md));
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int enl_sigv4_uri_encode(struct enl_buf *out, const char *s, size_t len, int keep_slash)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;
		if (unreserved(c) || (keep_slash && c == '/')) {
			rc = enl_buf_append(out, &c, 1);
		} else {
			char esc[3] = {'%', hexdig_upper[c >> 4], hexdig_upper[c & 15]};
			rc = enl_buf_append(out, esc, 3);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Percent-decodes s[0..n) into a malloc'd buffer (*out_len bytes, NUL added). A '%' not
 * followed by two hex digits stays literal, as S3 and botocore treat it. '+' stays '+':
 * SigV4 query strings are not form-encoded. */
static char *pct_decode(const char *s, size_t n, size_t *out_len)
{
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	/* Lenient decoding never fails, and the output is never longer than the input. */
	enl_pct_decode(s, n, ENL_PCT_LENIENT, d, n + 1, out_len);
	return d;
}

/* Canonical URI. */
static void canon_uri(struct sb *s, const char *path, enum enl_sigv4_uri_mode mode)
{
	if (!path || !*path)
		path = "/";
	size_t n = strlen(path);
	if (mode == ENL_SIGV4_URI_S3) {
		size_t dn;
		char *dec = pct_decode(path, n, &dn);
		if (!dec) {
			s->err = s->err ? s->err : ENL_ENOMEM;
			return;
		}
		if (dec[0] != '/')
			sb_put(s, "/", 1);
		sb_enc(s, dec, dn, 1);
		free(dec);
		return;
	}
	/* Generic: RFC 3986 remove_dot_segments over segments, dropping empty ones, keeping a
	 * trailing slash; then encode the result (a second encoding of the wire path). */
	const char **seg = malloc((n / 2 + 2) * sizeof(*seg));
	size_t *len = malloc((n / 2 + 2) * sizeof(*len));
	size_t nseg = 0;
	if (!seg || !len) {
		s->err = s->err ? s->err : ENL_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n;) {
		while (i < n && path[i] == '/')
			i++;
		size_t start = i;
		while (i < n && path[i] != '/')
			i++;
		size_t l = i - start;
		if (l == 0 || (l == 1 && path[start] == '.'))
			continue;
		if (l == 2 && path[start] == '.' && path[start + 1] == '.') {
			if (nseg)
				nseg--;
			continue;
		}
		seg[nseg] = path + start;
		len[nseg++] = l;
	}
	sb_put(s, "/", 1);
	for (size_t k = 0; k < nseg; k++) {
		sb_enc(s, seg[k], len[k], 0);
		if (k + 1 < nseg)
			sb_put(s, "/", 1);
	}
	if (nseg && path[n - 1] == '/')
		sb_put(s, "/", 1);
done:
	free(seg);
	free(len);
}

struct qparam {
	char *key; /* encoded, malloc'd */
	char *val; /* encoded, malloc'd */
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->val, y->val);
}

/* Decodes then re-encodes one query component, so "a b", "a%20b" and "a%2fb" all sign
 * as the one canonical form. */
static char *canon_component(const char *p, size_t n)
{
	size_t dn;
	char *dec = pct_decode(p, n, &dn);
	struct sb s = {ENL_BUF_INIT, 0};
	enl_buf_init(&s.b, CANON_MAX);
	if (!dec)
		return NULL;
	sb_enc(&s, dec, dn, 0);
	free(dec);
	char *r = sb_take(&s);
	enl_buf_free(&s.b);
	return r;
}

static void canon_query(struct sb *s, const char *query)
{
	if (!query || !*query)
		return;
	size_t n = strlen(query), cnt = 1;
	for (size_t i = 0; i < n; i++)
		cnt += query[i] == '&';
	struct qparam *q = calloc(cnt, sizeof(*q));
	size_t nq = 0;
	if (!q) {
		s->err = s->err ? s->err : ENL_ENOMEM;
		return;
	}
	for (const char *p = query; *p;) {
		const char *amp = strchr(p, '&');
		size_t l = amp ? (size_t)(amp - p) : strlen(p);
		if (l) {
			const char *eq = memchr(p, '=', l);
			size_t kl = eq ? (size_t)(eq - p) : l;
			q[nq].key = canon_component(p, kl);
			q[nq].val =
			    eq ? canon_component(eq + 1, l - kl - 1) : canon_component("", 0);
			nq++;
			if (!q[nq - 1].key || !q[nq - 1].val) {
				s->err = s->err ? s->err : ENL_ENOMEM;
				goto done;
			}
		}
		p += l;
		if (*p == '&')
			p++;
	}
	qsort(q, nq, sizeof(*q), qparam_cmp);
	for (size_t i = 0; i < nq; i++) {
		if (i)
			sb_put(s, "&", 1);
		sb_str(s, q[i].key);
		sb_put(s, "=", 1);
		sb_str(s, q[i].val);
	}
done:
	for (size_t i = 0; i < nq; i++) {
		free(q[i].key);
		free(q[i].val);
	}
	free(q);
}

struct hdr {
	char *name;      /* lower-cased, malloc'd */
	const char *val; /* borrowed from the input */
	size_t order;    /* input position: keeps repeated values in order */
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends v trimmed, with every run of spaces/tabs collapsed to one space. */
static void put_trimmed(struct sb *s, const char *v)
{
	const char *e = v + strlen(v);
	while (*v == ' ' || *v == '\t')
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (const char *p = v; p < e; p++) {
		if (*p == ' ' || *p == '\t') {
			while (p + 1 < e && (p[1] == ' ' || p[1] == '\t'))
				p++;
			sb_put(s, " ", 1);
		} else {
			sb_put(s, p, 1);
		}
	}
}

static int hmac(unsigned char out[32], const void *key, size_t klen, const void *msg, size_t mlen)
{
	unsigned int olen = 32;
	if (!HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen) || olen != 32)
		return ENL_EINTERNAL;
	return 0;
}

static int bad_text(const char *v)
{
	return strchr(v, '\r') || strchr(v, '\n');
}

int enl_sigv4_sign(struct enl_sigv4_output *out, const struct enl_sigv4_input *in,
                   const struct enl_aws_creds *creds)
{
	struct sb cr = {ENL_BUF_INIT, 0}, sh = {ENL_BUF_INIT, 0}, sts = {ENL_BUF_INIT, 0},
	          az = {ENL_BUF_INIT, 0};
	struct hdr *h = NULL;
	size_t nh = 0;
	int rc = 0, have_host = 0, have_date = 0;
	char date[9], scope[256], hash[65], sig[65];
	unsigned char k[32], k2[32];
	struct tm tm;

	memset(out, 0, sizeof(*out));
	enl_buf_init(&cr.b, CANON_MAX);
	enl_buf_init(&sh.b, CANON_MAX);
	enl_buf_init(&sts.b, CANON_MAX);
	enl_buf_init(&az.b, CANON_MAX);
	if (!in->method || !*in->method || !in->region || !*in->region || !in->service ||
	    !*in->service || !in->payload_hash || !creds) {
		rc = ENL_EINVAL;
		goto done;
	}
	if (strcmp(in->payload_hash, ENL_SIGV4_UNSIGNED_PAYLOAD) != 0) {
		size_t i;
		for (i = 0; in->payload_hash[i]; i++)
			if (!strchr("0123456789abcdef", in->payload_hash[i]))
				break;
		if (i != 64 || in->payload_hash[i]) {
			rc = ENL_EINVAL;
			goto done;
		}
	}
	if (strchr(in->region, '/') || strchr(in->service, '/') || bad_text(in->region) ||
	    bad_text(in->service)) {
		rc = ENL_EINVAL;
		goto done;
	}
	if (!gmtime_r(&in->time, &tm) ||
	    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16) {
		rc = ENL_EINVAL;
		goto done;
	}
	memcpy(date, out->amz_date, 8);
	date[8] = 0;

	h = calloc(in->n_headers + 1, sizeof(*h));
	if (!h) {
		rc = ENL_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < in->n_headers; i++) {
		const char *name = in->headers[i].name, *val = in->headers[i].value;
		if (!name || !*name || !val || bad_text(name) || bad_text(val) ||
		    strchr(name, ':')) {
			rc = ENL_EINVAL;
			goto done;
		}
		h[nh].name = strdup(name);
		if (!h[nh].name) {
			rc = ENL_ENOMEM;
			goto done;
		}
		for (char *p = h[nh].name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		h[nh].val = val;
		h[nh].order = i;
		have_host |= strcmp(h[nh].name, "host") == 0;
		have_date |= strcmp(h[nh].name, "x-amz-date") == 0;
		nh++;
	}
	if (!have_host) {
		rc = ENL_EINVAL;
		goto done;
	}
	if (!have_date) {
		h[nh].name = strdup("x-amz-date");
		if (!h[nh].name) {
			rc = ENL_ENOMEM;
			goto done;
		}
		h[nh].val = out->amz_date;
		h[nh].order = nh;
		nh++;
	}
	qsort(h, nh, sizeof(*h), hdr_cmp);

	/* Canonical request: method, URI, query, headers, blank, signed headers, hash. */
	sb_str(&cr, in->method);
	sb_put(&cr, "\n", 1);
	canon_uri(&cr, in->path, in->uri_mode);
	sb_put(&cr, "\n", 1);
	canon_query(&cr, in->query);
	sb_put(&cr, "\n", 1);
	for (size_t i = 0; i < nh; i++) {
		int repeat = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
		if (repeat) {
			sb_put(&cr, ",", 1);
		} else {
			if (i)
				sb_put(&cr, "\n", 1);
			sb_str(&cr, h[i].name);
			sb_put(&cr, ":", 1);
			if (sh.b.len)
				sb_put(&sh, ";", 1);
			sb_str(&sh, h[i].name);
		}
		put_trimmed(&cr, h[i].val);
	}
	sb_put(&cr, "\n\n", 2);
	sb_put(&cr, sh.b.data ? (const char *)sh.b.data : "", sh.b.len);
	sb_put(&cr, "\n", 1);
	sb_str(&cr, in->payload_hash);
	if ((rc = cr.err ? cr.err : sh.err))
		goto done;

	/* String to sign. */
	if ((size_t)snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, in->region,
	                     in->service) >= sizeof(scope)) {
		rc = ENL_EINVAL;
		goto done;
	}
	enl_sigv4_sha256_hex(hash, cr.b.data, cr.b.len);
	sb_str(&sts, "AWS4-HMAC-SHA256\n");
	sb_str(&sts, out->amz_date);
	sb_put(&sts, "\n", 1);
	sb_str(&sts, scope);
	sb_put(&sts, "\n", 1);
	sb_str(&sts, hash);
	if ((rc = sts.err))
		goto done;

	/* Signing key: HMAC chain over date, region, service, "aws4_request". */
	{
		char kdate[4 + ENL_AWS_SECRET_MAX];
		size_t sl = strnlen(creds->secret_access_key, ENL_AWS_SECRET_MAX);
		memcpy(kdate, "AWS4", 4);
		memcpy(kdate + 4, creds->secret_access_key, sl);
		rc = hmac(k, kdate, 4 + sl, date, 8);
		OPENSSL_cleanse(kdate, sizeof(kdate));
	}
	if (!rc)
		rc = hmac(k2, k, 32, in->region, strlen(in->region));
	if (!rc)
		rc = hmac(k, k2, 32, in->service, strlen(in->service));
	if (!rc)
		rc = hmac(k2, k, 32, "aws4_request", 12);
	if (!rc)
		rc = hmac(k, k2, 32, sts.b.data, sts.b.len);
	if (rc)
		goto done;
	enl_hex_encode(sig, k, 32);

	sb_str(&az, "AWS4-HMAC-SHA256 Credential=");
	sb_put(&az, creds->access_key_id, strnlen(creds->access_key_id, ENL_AWS_KEY_ID_MAX));
	sb_put(&az, "/", 1);
	sb_str(&az, scope);
	sb_str(&az, ", SignedHeaders=");
	sb_put(&az, sh.b.data, sh.b.len);
	sb_str(&az, ", Signature=");
	sb_str(&az, sig);
	if ((rc = az.err))
		goto done;

	out->canonical_request = sb_take(&cr);
	out->string_to_sign = sb_take(&sts);
	out->signed_headers = sb_take(&sh);
	out->authorization = sb_take(&az);
	if (!out->canonical_request || !out->string_to_sign || !out->signed_headers ||
	    !out->authorization)
		rc = ENL_ENOMEM;
done:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(k2, sizeof(k2));
	for (size_t i = 0; i < nh; i++)
		free(h[i].name);
	free(h);
	enl_buf_free(&cr.b);
	enl_buf_free(&sh.b);
	enl_buf_free(&sts.b);
	enl_buf_free(&az.b);
	if (rc)
		enl_sigv4_output_free(out);
	return rc;
}

void enl_sigv4_output_free(struct enl_sigv4_output *out)
{
	free(out->canonical_request);
	free(out->string_to_sign);
	free(out->signed_headers);
	free(out->authorization);
	out->canonical_request = out->string_to_sign = out->signed_headers = NULL;
	out->authorization = NULL;
}
