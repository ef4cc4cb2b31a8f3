/* Fuzz target for the SigV4 canonical request (src/aws/sigv4.c, sign.c) and the URL and
 * endpoint parsing in front of it (enl_aws_url_parse, enl_aws_config_from_env,
 * enl_aws_s3_url). The input is lines: a URL, then up to 8 "Name: value" headers; the
 * first byte, when it is '!', selects the generic URI mode (DynamoDB) instead of S3.
 * Checks:
 * - a parsed URL: the parts lie inside the text, the host is lower-case and holds no '/',
 *   '?', '#' or '@', the port is 1..65535, the path holds no '?' and the query no '#';
 * - the canonical request: a canonical URI that starts with '/' and holds only
 *   unreserved characters, '/' and %XX with upper-case hex (no "." or ".." segments and
 *   no "//" in the generic mode), a query of name=value pairs in byte order made of the
 *   same characters, lower-case header names in order, and it is a fixed point: signing
 *   the canonical URI (S3 mode) and query again gives them back unchanged;
 * - the URL as an endpoint (AWS_ENDPOINT_URL): accepted only without a path or query,
 *   and then the S3 URL of bucket "b" and the second line as a key signs with the
 *   canonical URI "/b/" + the key encoded once ('/' kept). */
#include <ctype.h>
#include <time.h>

#include "aws_internal.h"
#include "enlarger/aws.h"
#include "enlarger/buf.h"
#include "fuzz.h"

#define MAX_HEADERS 8

static const struct enl_aws_creds creds = {"AKIDEXAMPLE",
                                           "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", 0};

/* AWS_ENDPOINT_URL, rewritten in place for each input: glibc's setenv keeps every value
 * it was ever given. Longer URLs are past the 512-byte endpoint limit anyway. */
static char endpoint_env[1024] = "AWS_ENDPOINT_URL=";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(putenv(endpoint_env) == 0);
	setenv("AWS_REGION", "us-east-1", 1);
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
	return 0;
}

/* Unreserved, '/' when slash_ok, or %XX with upper-case hex digits. */
static int encoded_ok(const char *s, size_t n, int slash_ok)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		    (slash_ok && c == '/'))
			continue;
		if (c != '%' || i + 2 >= n || !s[i + 1] || !strchr("0123456789ABCDEF", s[i + 1]) ||
		    !s[i + 2] || !strchr("0123456789ABCDEF", s[i + 2]))
			return 0;
		i += 2;
	}
	return 1;
}

static void check_url(const char *url, const struct enl_aws_url *u)
{
	size_t n = strlen(url);
	FUZZ_CHECK(u->port >= 1 && u->port <= 65535);
	FUZZ_CHECK(u->host[0] && strcspn(u->host, "/?#@") == strlen(u->host));
	for (const char *c = u->host; *c; c++)
		FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
	FUZZ_CHECK(u->path >= url && u->path + u->path_len <= url + n);
	FUZZ_CHECK(!memchr(u->path, '?', u->path_len) && !memchr(u->path, '#', u->path_len));
	if (u->query) {
		FUZZ_CHECK(u->query > url && u->query + u->query_len == url + n);
		FUZZ_CHECK(u->query[-1] == '?' && !memchr(u->query, '#', u->query_len));
	}
}

/* The canonical request's URI and query lines (copies, caller frees), after checking its
 * shape. */
static void check_canonical(const char *cr, int s3, const char *method, char **uri, char **query)
{
	const char *l1 = strchr(cr, '\n');
	FUZZ_CHECK(l1 && (size_t)(l1 - cr) == strlen(method) &&
	           !strncmp(cr, method, strlen(method)));
	const char *l2 = strchr(l1 + 1, '\n');
	FUZZ_CHECK(l2);
	const char *l3 = strchr(l2 + 1, '\n');
	FUZZ_CHECK(l3);
	size_t ul = (size_t)(l2 - l1 - 1), ql = (size_t)(l3 - l2 - 1);
	*uri = strndup(l1 + 1, ul);
	*query = strndup(l2 + 1, ql);
	FUZZ_CHECK(*uri && *query);

	FUZZ_CHECK((*uri)[0] == '/' && encoded_ok(*uri, ul, 1));
	if (!s3) {
		FUZZ_CHECK(!strstr(*uri, "//"));
		for (const char *seg = *uri; seg; seg = strchr(seg + 1, '/')) {
			FUZZ_CHECK(strncmp(seg, "/./", 3) != 0 && strcmp(seg, "/.") != 0);
			FUZZ_CHECK(strncmp(seg, "/../", 4) != 0 && strcmp(seg, "/..") != 0);
		}
	}
	/* name=value pairs in byte order (name, then value). */
	const char *prev = NULL;
	for (const char *p = *query; *p;) {
		size_t l = strcspn(p, "&");
		const char *eq = memchr(p, '=', l);
		FUZZ_CHECK(eq);
		FUZZ_CHECK(encoded_ok(p, (size_t)(eq - p), 0));
		FUZZ_CHECK(encoded_ok(eq + 1, l - (size_t)(eq - p) - 1, 0));
		if (prev) {
			size_t pk = strcspn(prev, "="), k = (size_t)(eq - p);
			int c = memcmp(prev, p, pk < k ? pk : k);
			FUZZ_CHECK(c < 0 || (c == 0 && pk <= k));
		}
		prev = p;
		p += l;
		if (*p == '&') {
			p++;
			FUZZ_CHECK(*p); /* no empty pair */
		}
	}
	/* Headers: "name:value" lines, lower-case names in byte order, then a blank line. */
	const char *h = l3 + 1, *last = NULL;
	size_t lastl = 0;
	while (*h != '\n') {
		const char *nl = strchr(h, '\n'), *colon = strchr(h, ':');
		FUZZ_CHECK(nl && colon && colon < nl);
		for (const char *c = h; c < colon; c++)
			FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
		size_t l = (size_t)(colon - h);
		if (last) {
			int c = memcmp(last, h, lastl < l ? lastl : l);
			FUZZ_CHECK(c < 0 || (c == 0 && lastl < l)); /* repeats are joined */
		}
		last = h;
		lastl = l;
		h = nl + 1;
	}
}

/* Signs method url with the headers; the canonical request (malloc'd) or NULL with *rc. */
static char *sign(const char *url, int s3, const struct enl_sigv4_header *h, size_t nh, int *rc)
{
	struct enl_aws_request rq = {
	    .method = "GET",
	    .url = url,
	    .headers = h,
	    .n_headers = nh,
	    .service = s3 ? "s3" : "dynamodb",
	    .region = "us-east-1",
	    .unsigned_payload = 0,
	};
	struct enl_aws_header *out = NULL;
	size_t n = 0;
	char *cr = NULL;
	*rc = enl_aws_sign_request(&out, &n, &cr, &rq, &creds, (time_t)1440938160);
	enl_aws_headers_free(out, n);
	if (*rc) {
		free(cr);
		return NULL;
	}
	FUZZ_CHECK(cr != NULL);
	return cr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *text = s;
	int s3 = 1;
	if (*text == '!') {
		s3 = 0;
		text++;
	}
	char *lines[1 + MAX_HEADERS];
	int nl = fuzz_lines(text, lines, 1 + MAX_HEADERS);
	const char *url = lines[0];
	struct enl_sigv4_header h[MAX_HEADERS];
	size_t nh = 0;
	for (int i = 1; i < nl; i++) {
		char *colon = strchr(lines[i], ':');
		if (!colon || colon == lines[i])
			continue;
		*colon = 0;
		h[nh++] = (struct enl_sigv4_header){lines[i], colon + 1};
	}

	struct enl_aws_url u;
	int prc = enl_aws_url_parse(&u, url);
	FUZZ_CHECK(prc == 0 || prc == ENL_EINVAL);
	if (prc == 0)
		check_url(url, &u);

	int rc;
	char *cr = sign(url, s3, h, nh, &rc);
	if (prc)
		FUZZ_CHECK(rc == ENL_EINVAL);
	else
		FUZZ_CHECK(rc == 0 || rc == ENL_EINVAL || rc == ENL_ETOOBIG);
	if (cr) {
		char *uri, *query;
		check_canonical(cr, s3, "GET", &uri, &query);
		/* Canonical again: the same URI (S3: encoded once) and the same query. */
		struct enl_buf again = ENL_BUF_INIT;
		enl_buf_init(&again, 0);
		FUZZ_CHECK(!enl_buf_append(&again, "http://h", 8) &&
		           !enl_buf_append(&again, uri, strlen(uri)) &&
		           (!*query || (!enl_buf_append(&again, "?", 1) &&
		                        !enl_buf_append(&again, query, strlen(query)))) &&
		           !enl_buf_append(&again, "", 1));
		int rc2;
		char *cr2 = sign((const char *)again.data, s3, NULL, 0, &rc2);
		FUZZ_CHECK(cr2 != NULL);
		char *uri2, *query2;
		check_canonical(cr2, s3, "GET", &uri2, &query2);
		if (s3)
			FUZZ_CHECK(strcmp(uri, uri2) == 0);
		FUZZ_CHECK(strcmp(query, query2) == 0);
		free(uri2);
		free(query2);
		free(cr2);
		enl_buf_free(&again);
		free(uri);
		free(query);
		free(cr);
	}

	/* The URL as the S3 endpoint. */
	struct enl_aws_config cfg;
	struct enl_errmsg e = {""};
	if (snprintf(endpoint_env, sizeof(endpoint_env), "AWS_ENDPOINT_URL=%s", url) >=
	    (int)sizeof(endpoint_env))
		goto done;
	int crc = enl_aws_config_from_env(&cfg, &e);
	FUZZ_CHECK(crc == 0 || (crc == ENL_EINVAL && e.text[0]));
	if (crc == 0 && cfg.endpoint_s3[0]) {
		struct enl_aws_url eu;
		FUZZ_CHECK(enl_aws_url_parse(&eu, cfg.endpoint_s3) == 0 && !eu.query &&
		           !eu.path_len);
		const char *key = nl > 1 && lines[1][0] ? lines[1] : "k";
		char *s3url = NULL;
		FUZZ_CHECK(enl_aws_s3_url(&s3url, &cfg, "b", key, NULL) == 0);
		char *cr3 = sign(s3url, 1, NULL, 0, &rc);
		FUZZ_CHECK(cr3 != NULL);
		char *uri3, *query3;
		check_canonical(cr3, 1, "GET", &uri3, &query3);
		struct enl_buf want = ENL_BUF_INIT;
		enl_buf_init(&want, 0);
		FUZZ_CHECK(!enl_buf_append(&want, "/b/", 3) &&
		           !enl_sigv4_uri_encode(&want, key, strlen(key), 1) &&
		           !enl_buf_append(&want, "", 1));
		FUZZ_CHECK(strcmp(uri3, (const char *)want.data) == 0 && !query3[0]);
		enl_buf_free(&want);
		free(uri3);
		free(query3);
		free(cr3);
		free(s3url);
	}
done:
	free(s);
	return 0;
}
