/* Signed /render URLs (docs/signing.md): `sig` is base64url without padding of
 * HMAC-SHA256, keyed with ENLARGER_RENDER_SIGNING_KEY's bytes as written, over the path
 * as sent, '?', and the query's other pairs sorted by name and '&'-joined, as sent. The
 * server checks it, `enlarger sign` makes it, and the gallery's backend makes the same in a
 * dozen lines (docs/signing.md, run against this code by tests/integration). */
#include "enlarger/service.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

struct pair {
	const char *s; /* "name=value" as sent */
	size_t len, name_len;
	size_t order; /* position in the query: equal names keep it */
};

static int by_name(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->s, y->s, n);
	if (c == 0 && x->name_len != y->name_len)
		c = x->name_len < y->name_len ? -1 : 1;
	if (c == 0)
		c = x->order < y->order ? -1 : 1;
	return c;
}

static int is_sig(const char *s, size_t len)
{
	return len >= 4 && memcmp(s, "sig=", 4) == 0;
}

int enl_render_sign_query(const char *raw_query, char **out)
{
	const char *q = raw_query ? raw_query : "";
	size_t n = 0, cap = 1, total = strlen(q) + 1;
	struct pair *pairs = NULL;
	char *msg = NULL;
	int rc = 0;

	*out = NULL;
	for (const char *p = q; *p; p++)
		cap += *p == '&';
	pairs = calloc(cap, sizeof(*pairs));
	msg = malloc(total);
	if (!pairs || !msg) {
		rc = ENL_ENOMEM;
		goto done;
	}
	for (const char *p = q; *p;) {
		size_t len = strcspn(p, "&");
		if (len && !is_sig(p, len)) {
			pairs[n] = (struct pair){p, len, strcspn(p, "=&"), n};
			if (pairs[n].name_len > len)
				pairs[n].name_len = len;
			n++;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	qsort(pairs, n, sizeof(*pairs), by_name);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			msg[o++] = '&';
		memcpy(msg + o, pairs[i].s, pairs[i].len);
		o += pairs[i].len;
	}
	msg[o] = '\0';
	*out = msg;
	msg = NULL;
done:
	free(pairs);
	free(msg);
	return rc;
}

int enl_render_sign(const char *key, const char *raw_path, const char *raw_query,
                    char out[ENL_RENDER_SIG_LEN + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	unsigned char b64[48];
	char *sorted = NULL, *msg = NULL;
	int rc;

	out[0] = '\0';
	if ((rc = enl_render_sign_query(raw_query, &sorted)))
		return rc;
	size_t pl = strlen(raw_path), ql = strlen(sorted);
	msg = malloc(pl + ql + 2);
	if (!msg) {
		free(sorted);
		return ENL_ENOMEM;
	}
	memcpy(msg, raw_path, pl);
	msg[pl] = '?';
	memcpy(msg + pl + 1, sorted, ql + 1);
	if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, pl + ql + 1, mac,
	          &mac_len) ||
	    mac_len != 32) {
		rc = ENL_EINTERNAL;
		goto done;
	}
	/* 32 bytes are 44 base64 characters, the last one '=' padding. */
	EVP_EncodeBlock(b64, mac, (int)mac_len);
	for (int i = 0; i < ENL_RENDER_SIG_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[ENL_RENDER_SIG_LEN] = '\0';
done:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(msg);
	free(sorted);
	return rc;
}

int enl_render_sig_ok(const char *key, const char *previous, const char *raw_path,
                      const char *raw_query, const char *sig)
{
	const char *keys[2] = {key, previous};
	int ok = 0;
	if (!sig || strlen(sig) != ENL_RENDER_SIG_LEN)
		return 0;
	for (int i = 0; i < 2; i++) {
		char want[ENL_RENDER_SIG_LEN + 1];
		if (!keys[i] || !keys[i][0])
			continue;
		if (enl_render_sign(keys[i], raw_path, raw_query, want) == 0)
			ok |= CRYPTO_memcmp(want, sig, ENL_RENDER_SIG_LEN) == 0;
	}
	return ok;
}

int enl_render_url_at(const char *raw_path, const char *raw_query, const char *version,
                      const char *key, char **out)
{
	const char *q = raw_query ? raw_query : "";
	size_t cap = strlen(q) + strlen(version) + 4;
	char *query = malloc(cap), *sorted = NULL, *url = NULL;
	char sig[ENL_RENDER_SIG_LEN + 1];
	size_t o = 0;
	int rc;

	*out = NULL;
	if (!query)
		return ENL_ENOMEM;
	for (const char *p = q; *p;) {
		size_t n = strcspn(p, "&");
		if (n && !is_sig(p, n) && !(n >= 2 && memcmp(p, "v=", 2) == 0)) {
			memcpy(query + o, p, n);
			o += n;
			query[o++] = '&';
		}
		p += n;
		if (*p == '&')
			p++;
	}
	snprintf(query + o, cap - o, "v=%s", version);
	if ((rc = enl_render_sign_query(query, &sorted)))
		goto done;
	if (key && key[0] && (rc = enl_render_sign(key, raw_path, sorted, sig)))
		goto done;
	size_t n = strlen(raw_path) + strlen(sorted) + ENL_RENDER_SIG_LEN + 8;
	if (!(url = malloc(n))) {
		rc = ENL_ENOMEM;
		goto done;
	}
	if (key && key[0])
		snprintf(url, n, "%s?%s&sig=%s", raw_path, sorted, sig);
	else
		snprintf(url, n, "%s?%s", raw_path, sorted);
	*out = url;
done:
	free(query);
	free(sorted);
	return rc;
}
