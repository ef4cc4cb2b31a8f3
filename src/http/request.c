/* Request building that needs no libmicrohttpd: percent-decoding of the path and the
 * query, the decoded query arguments, and request ids. */
#include "server_internal.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "enlarger/text.h"

/* Percent-decodes src into a new string (*out, free()). With plus_is_space, '+' is a
 * space (query strings). ENL_EINVAL for a bad escape or a NUL byte, encoded or not. */
int enl_http_pct_decode(const char *src, int plus_is_space, char **out)
{
	*out = NULL;
	size_t n = strlen(src);
	char *d = malloc(n + 1);
	if (!d)
		return ENL_ENOMEM;
	int rc = enl_pct_decode(src, n, plus_is_space ? ENL_PCT_PLUS_SPACE : 0, d, n + 1, NULL);
	if (rc) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int enl_http_args_add(struct enl_http_args *a, const char *name, const char *value)
{
	struct enl_http_arg *grown = realloc(a->v, (a->n + 1) * sizeof(*a->v));
	if (!grown)
		return ENL_ENOMEM;
	a->v = grown;
	struct enl_http_arg *q = &a->v[a->n];
	q->name = q->value = NULL;
	int rc = enl_http_pct_decode(name ? name : "", 1, &q->name);
	if (rc == 0)
		rc = enl_http_pct_decode(value ? value : "", 1, &q->value);
	a->n++; /* counted even when half-filled, so the free path sees it */
	return rc;
}

const char *enl_http_args_get(const struct enl_http_args *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			return a->v[i].value;
	return NULL;
}

void enl_http_args_free(struct enl_http_args *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].value);
	}
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* A caller's X-Request-Id is kept when it is short and made of safe characters, so
 * a request can be followed through CloudFront or EventBridge logs into ours. */
int enl_http_request_id_ok(const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n == 0 || n >= sizeof(((struct enl_req *)0)->request_id))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return 0;
	}
	return 1;
}

void enl_http_request_id_new(char *out, size_t cap)
{
	static atomic_uint_fast64_t fallback;
	unsigned char r[8];
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		uint64_t v = atomic_fetch_add(&fallback, 1) ^ (uint64_t)time(NULL) << 20;
		memcpy(r, &v, sizeof(r));
	}
	char hex[2 * sizeof(r) + 1];
	enl_hex_encode(hex, r, sizeof(r));
	snprintf(out, cap, "%s", hex);
}
