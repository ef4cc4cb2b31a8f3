/* Turns an enl_aws_request into the exact header set to send, signed with SigV4. */
#include "enlarger/aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws_internal.h"

void enl_aws_headers_free(struct enl_aws_header *h, size_t n)
{
	if (!h)
		return;
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

int enl_aws_url_parse(struct enl_aws_url *u, const char *url)
{
	const char *p;
	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8) == 0) {
		u->https = 1;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		return ENL_EINVAL;
	}
	size_t alen = strcspn(p, "/?#");
	if (alen == 0 || alen >= sizeof(u->host) || memchr(p, '@', alen))
		return ENL_EINVAL;
	/* Printable ASCII only: the host goes into the Host header, which the signer refuses
	 * with a control character in it, and curl takes no raw IDN. */
	for (size_t i = 0; i < alen; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return ENL_EINVAL;
	/* host[:port], or [v6]:port; the Host header drops a default port, as botocore and
	 * curl do, and is lower-cased (DNS names are case-insensitive). */
	const char *colon = NULL;
	if (p[0] == '[') {
		const char *rb = memchr(p, ']', alen);
		if (!rb)
			return ENL_EINVAL;
		if ((size_t)(rb - p) + 1 < alen) {
			if (rb[1] != ':')
				return ENL_EINVAL;
			colon = rb + 1;
		}
	} else {
		colon = memchr(p, ':', alen);
	}
	size_t hlen = colon ? (size_t)(colon - p) : alen;
	if (hlen == 0 || (p[0] == '[' && hlen <= 2)) /* "http://:80", "http://[]" */
		return ENL_EINVAL;
	long port = u->https ? 443 : 80;
	if (colon) {
		char *end;
		port = strtol(colon + 1, &end, 10);
		if (end != p + alen || port <= 0 || port > 65535)
			return ENL_EINVAL;
	}
	memcpy(u->host, p, hlen);
	u->host[hlen] = 0;
	for (char *c = u->host; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (port != (u->https ? 443 : 80)) {
		size_t n = strlen(u->host);
		if ((size_t)snprintf(u->host + n, sizeof(u->host) - n, ":%ld", port) >=
		    sizeof(u->host) - n)
			return ENL_EINVAL;
	}
	u->port = port;
	p += alen;
	if (*p == '#')
		return ENL_EINVAL;
	size_t plen = strcspn(p, "?#");
	u->path = p;
	u->path_len = plen;
	p += plen;
	if (*p == '?') {
		u->query = p + 1;
		u->query_len = strcspn(p + 1, "#");
		if (p[1 + u->query_len] == '#')
			return ENL_EINVAL;
	} else if (*p == '#') {
		return ENL_EINVAL;
	}
	return 0;
}

static const char *const reserved_headers[] = {
    "host", "authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
};

static int push(struct enl_aws_header *h, size_t *n, const char *name, const char *value)
{
	h[*n].name = strdup(name);
	h[*n].value = strdup(value);
	(*n)++;
	return h[*n - 1].name && h[*n - 1].value ? 0 : ENL_ENOMEM;
}

int enl_aws_sign_request(struct enl_aws_header **out, size_t *n_out, char **canonical_request,
                         const struct enl_aws_request *req, const struct enl_aws_creds *creds,
                         time_t now)
{
	struct enl_aws_url u;
	struct enl_aws_header *h = NULL;
	struct enl_sigv4_header *sh = NULL;
	struct enl_sigv4_output so = {0};
	char *path = NULL, *query = NULL;
	size_t n = 0;
	int rc, s3 = req->service && strcmp(req->service, "s3") == 0;
	char hash[65];

	*out = NULL;
	*n_out = 0;
	if (canonical_request)
		*canonical_request = NULL;
	if (!req->method || !req->url || (req->n_headers && !req->headers))
		return ENL_EINVAL;
	if ((rc = enl_aws_url_parse(&u, req->url)))
		return rc;
	for (size_t i = 0; i < req->n_headers; i++) {
		if (!req->headers[i].name || !req->headers[i].value)
			return ENL_EINVAL;
		/* Unsigned requests (metadata endpoints) may send their own Authorization. */
		size_t nres =
		    req->service ? sizeof(reserved_headers) / sizeof(*reserved_headers) : 1;
		for (size_t k = 0; k < nres; k++)
			if (strcasecmp(req->headers[i].name, reserved_headers[k]) == 0)
				return ENL_EINVAL;
	}

	h = calloc(req->n_headers + 6, sizeof(*h));
	sh = calloc(req->n_headers + 6, sizeof(*sh));
	path = strndup(u.path, u.path_len);
	query = strndup(u.query ? u.query : "", u.query_len);
	if (!h || !sh || !path || !query) {
		rc = ENL_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < req->n_headers; i++)
		if ((rc = push(h, &n, req->headers[i].name, req->headers[i].value)))
			goto done;
	if ((rc = push(h, &n, "Host", u.host)))
		goto done;
	if (!req->service) { /* unsigned: just the caller's headers and Host */
		*out = h;
		*n_out = n;
		h = NULL;
		goto done;
	}
	if (!creds || !req->region) {
		rc = creds ? ENL_EINVAL : ENL_EAUTH;
		goto done;
	}
	if (s3 && req->unsigned_payload)
		memcpy(hash, ENL_SIGV4_UNSIGNED_PAYLOAD, sizeof(ENL_SIGV4_UNSIGNED_PAYLOAD));
	else
		enl_sigv4_sha256_hex(hash, req->body, req->body_len);
	if (s3 && (rc = push(h, &n, "X-Amz-Content-Sha256", hash)))
		goto done;
	if (creds->session_token[0] &&
	    (rc = push(h, &n, "X-Amz-Security-Token", creds->session_token)))
		goto done;
	for (size_t i = 0; i < n; i++) {
		sh[i].name = h[i].name;
		sh[i].value = h[i].value;
	}
	struct enl_sigv4_input in = {
	    .method = req->method,
	    .path = path,
	    .query = query,
	    .headers = sh,
	    .n_headers = n,
	    .payload_hash = hash,
	    .region = req->region,
	    .service = req->service,
	    .time = now,
	    .uri_mode = s3 ? ENL_SIGV4_URI_S3 : ENL_SIGV4_URI_GENERIC,
	};
	if ((rc = enl_sigv4_sign(&so, &in, creds)))
		goto done;
	if ((rc = push(h, &n, "X-Amz-Date", so.amz_date)) ||
	    (rc = push(h, &n, "Authorization", so.authorization)))
		goto done;
	if (canonical_request) {
		*canonical_request = so.canonical_request;
		so.canonical_request = NULL;
	}
	*out = h;
	*n_out = n;
	h = NULL;
done:
	enl_sigv4_output_free(&so);
	enl_aws_headers_free(h, n);
	free(sh);
	free(path);
	free(query);
	return rc;
}
