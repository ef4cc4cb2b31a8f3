/* Fuzz target for what the S3 store reads from S3's answers (src/store/s3.c): the error
 * XML's <Code>, a ListObjectsV2 page, and the object headers (ETag, Content-Type,
 * Last-Modified as an HTTP date, x-amz-meta-* with RFC 2047 encoded words). The input is
 * a response: header lines "name: value", a blank line, then the body (without a blank
 * line it is all body). Checks:
 * - the error code holds identifier characters only;
 * - a page that parses gives keys that, written back as XML (escaped, in a fresh page),
 *   parse to the same keys, and a continuation token only when IsTruncated is true;
 * - object info strings fit their fields, each x-amz-meta-* header is one pair;
 * - RFC 2047: a value the encoder accepts decodes back to itself, and a decoded value is
 *   UTF-8 or the raw value;
 * - HTTP dates: what the parser reads, printed as an IMF-fixdate, reads back the same. */
#include <time.h>

#include "enlarger/log.h"
#include "enlarger/text.h"
#include "fuzz.h"
#include "s3_internal.h"

#define MAX_HEADERS 16

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	enl_log_set_level(ENL_LOG_ERROR);
	return 0;
}

static void put(struct enl_buf *b, const void *s, size_t n)
{
	FUZZ_CHECK(enl_buf_append(b, s, n) == 0);
}

/* Appends s XML-escaped (the three characters that matter in text, and a numeric
 * reference for the quote, so both decoder paths run). */
static void put_escaped(struct enl_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': put(b, "&amp;", 5); break;
		case '<': put(b, "&lt;", 4); break;
		case '>': put(b, "&gt;", 4); break;
		case '"': put(b, "&#34;", 5); break;
		default: put(b, s, 1);
		}
	}
}

struct keys {
	char **v;
	size_t n;
};

static int collect(void *ud, const char *key)
{
	struct keys *k = ud;
	k->v = realloc(k->v, (k->n + 1) * sizeof(*k->v));
	FUZZ_CHECK(k->v != NULL);
	k->v[k->n] = strdup(key);
	FUZZ_CHECK(k->v[k->n] != NULL);
	k->n++;
	return 0;
}

static void keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}

/* Parses body as one page: 0 with the keys in byte order (distinct) and *token, or the
 * error. */
static int page(const void *body, size_t len, struct keys *out, char **token)
{
	struct enl_keylist l = {.max = 1000};
	struct enl_errmsg e = {""};
	/* Exactly the body's bytes, so that a read past them is caught. */
	char *b = len ? malloc(len) : NULL;
	FUZZ_CHECK(!len || b);
	if (len)
		memcpy(b, body, len);
	memset(out, 0, sizeof(*out));
	int rc = enl_s3_list_page(b, len, &l, token, &e);
	FUZZ_CHECK(rc == 0 || rc == ENL_EIO || rc == ENL_ETOOBIG);
	if (rc)
		FUZZ_CHECK(e.text[0] && *token == NULL);
	else
		FUZZ_CHECK(enl_keylist_emit(&l, collect, out) == 0);
	enl_keylist_free(&l);
	free(b);
	return rc;
}

static void check_listing(const void *body, size_t len)
{
	struct keys k, k2;
	char *token = NULL, *token2 = NULL;
	if (page(body, len, &k, &token) != 0)
		return;
	/* Every entry named a key: none's first <Key> is empty. */
	const char *at = body, *end = at + len;
	for (const char *c; (c = memmem(at, (size_t)(end - at), "<Contents>", 10)) != NULL;) {
		const char *ce = memmem(c, (size_t)(end - c), "</Contents>", 11);
		if (!ce)
			break;
		const char *key = memmem(c, (size_t)(ce - c), "<Key>", 5);
		FUZZ_CHECK(!key || memcmp(key + 5, "</Key>", 6) != 0);
		at = ce + 11;
	}
	if (token)
		FUZZ_CHECK(memmem(body, len, "<IsTruncated>true</IsTruncated>", 31) != NULL);
	/* Written back as a fresh page, the keys and the token read back the same. */
	struct enl_buf x;
	enl_buf_init(&x, 0);
	const char *head = "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>";
	put(&x, head, strlen(head));
	put(&x, token ? "true" : "false", token ? 4 : 5);
	put(&x, "</IsTruncated>", 14);
	for (size_t i = 0; i < k.n; i++) {
		put(&x, "<Contents><Key>", 15);
		put_escaped(&x, k.v[i]);
		put(&x, "</Key><Size>1</Size></Contents>", 31);
	}
	if (token) {
		put(&x, "<NextContinuationToken>", 23);
		put_escaped(&x, token);
		put(&x, "</NextContinuationToken>", 24);
	}
	put(&x, "</ListBucketResult>", 19);
	int rc = page(x.data, x.len, &k2, &token2);
	if (rc == 0) {
		FUZZ_CHECK(k2.n == k.n);
		for (size_t i = 0; i < k.n; i++)
			FUZZ_CHECK(strcmp(k.v[i], k2.v[i]) == 0);
		FUZZ_CHECK(!token == !token2 && (!token || strcmp(token, token2) == 0));
		keys_free(&k2);
	} else {
		/* Only an empty key or token cannot be written back. */
		int empty = !!(token && !*token);
		for (size_t i = 0; i < k.n; i++)
			empty |= !k.v[i][0];
		FUZZ_CHECK(empty);
	}
	free(token2);
	enl_buf_free(&x);
	keys_free(&k);
	free(token);
}

static void check_meta_codec(const char *v)
{
	char enc[1024], dec[512];
	enl_s3_meta_decode(dec, sizeof(dec), v);
	FUZZ_CHECK(memchr(dec, 0, sizeof(dec)));
	size_t dl = strlen(dec);
	FUZZ_CHECK(enl_utf8_valid(dec, dl) || strncmp(dec, v, dl) == 0);
	if (enl_s3_meta_encode(enc, sizeof(enc), v) == 0 && strlen(v) < sizeof(dec)) {
		FUZZ_CHECK(memchr(enc, 0, sizeof(enc)));
		for (const char *c = enc; *c; c++)
			FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
		enl_s3_meta_decode(dec, sizeof(dec), enc);
		/* Printable ASCII goes as is, so "=?UTF-8?Q?...?=" typed by a user comes back
		 * decoded: the one case that is not a round trip. */
		if (strcmp(enc, v) != 0 || strncasecmp(v, "=?UTF-8?", 8) != 0)
			FUZZ_CHECK(strcmp(dec, v) == 0);
	}
}

static void check_date(const char *v)
{
	int64_t t = enl_s3_http_date(v);
	if (t == 0)
		return;
	char again[64];
	struct tm tm;
	time_t tt = (time_t)t;
	FUZZ_CHECK(gmtime_r(&tt, &tm) != NULL);
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return;
	FUZZ_CHECK(strftime(again, sizeof(again), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
	FUZZ_CHECK(enl_s3_http_date(again) == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enl_aws_response r;
	struct enl_aws_header h[MAX_HEADERS];
	memset(&r, 0, sizeof(r));
	r.status = 404;
	r.content_length = -1;

	/* Headers, when the input has a blank line. */
	const uint8_t *body = data;
	size_t blen = size;
	const uint8_t *blank = memmem(data, size, "\n\n", 2);
	char *head = NULL;
	if (blank) {
		head = fuzz_cstr(data, (size_t)(blank - data));
		body = blank + 2;
		blen = size - (size_t)(body - data);
		char *lines[MAX_HEADERS];
		int nl = fuzz_lines(head, lines, MAX_HEADERS);
		for (int i = 0; i < nl; i++) {
			char *colon = strchr(lines[i], ':');
			if (!colon)
				continue;
			*colon = 0;
			for (char *c = lines[i]; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c - 'A' + 'a');
			char *v = colon + 1;
			while (*v == ' ')
				v++;
			h[r.n_headers++] = (struct enl_aws_header){lines[i], v};
			check_meta_codec(v);
			check_date(v);
		}
		r.headers = h;
	}
	enl_buf_init(&r.body, 0);
	if (blen)
		put(&r.body, body, blen);

	char code[64];
	memset(code, 'x', sizeof(code));
	enl_aws_xml_error_code(&r, code, sizeof(code));
	FUZZ_CHECK(memchr(code, 0, sizeof(code)));
	for (const char *c = code; *c; c++)
		FUZZ_CHECK((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		           (*c >= '0' && *c <= '9'));

	struct enl_object_info info;
	enl_s3_info_from_headers(&info, &r);
	FUZZ_CHECK(memchr(info.etag, 0, sizeof(info.etag)) &&
	           memchr(info.content_type, 0, sizeof(info.content_type)) &&
	           memchr(info.cache_control, 0, sizeof(info.cache_control)));
	int metas = 0;
	for (size_t i = 0; i < r.n_headers; i++)
		metas += strncmp(r.headers[i].name, "x-amz-meta-", 11) == 0;
	FUZZ_CHECK(info.n_meta == (metas < ENL_META_MAX ? metas : ENL_META_MAX));
	for (int i = 0; i < info.n_meta; i++)
		FUZZ_CHECK(memchr(info.meta[i].name, 0, sizeof(info.meta[i].name)) &&
		           memchr(info.meta[i].value, 0, sizeof(info.meta[i].value)));

	check_listing(body, blen);
	char *text = fuzz_cstr(body, blen);
	check_meta_codec(text);
	check_date(text);
	free(text);

	enl_buf_free(&r.body);
	free(head);
	return 0;
}
