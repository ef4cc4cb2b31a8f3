/* Private to src/aws/: URL parsing shared by sign.c, request.c and credentials.c, and the
 * credentials document reader (for tests/fuzz). */
#ifndef ENLARGER_AWS_INTERNAL_H
#define ENLARGER_AWS_INTERNAL_H

#include <stddef.h>

struct enl_aws_url {
	int https;
	long port;
	char host[300];   /* Host header value: lower-case host, ":port" unless default */
	const char *path; /* into the URL; path_len may be 0 (means "/") */
	size_t path_len;
	const char *query; /* into the URL, after '?'; NULL when none */
	size_t query_len;
};

/* Splits an http(s) URL. Refuses userinfo, fragments and other schemes (ENL_EINVAL). */
int enl_aws_url_parse(struct enl_aws_url *u, const char *url);

struct enl_aws_creds;
struct enl_buf;
struct enl_errmsg;

/* credentials.c: a credentials document of the ECS endpoint or IMDS ({AccessKeyId,
 * SecretAccessKey, Token, Expiration as ISO 8601 UTC, Code}) into *out. 0, or ENL_EAUTH
 * with e naming `what` (never a secret), and *out wiped. */
int enl_aws_creds_parse(const struct enl_buf *body, struct enl_aws_creds *out, struct enl_errmsg *e,
                        const char *what);

/* curl_global_init, once per process (pthread_once). 0 or ENL_EINTERNAL. */
int enl_aws_curl_global_init(void);

#endif
