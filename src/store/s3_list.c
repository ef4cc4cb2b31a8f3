/* The S3 store's reader of ListObjectsV2 pages: the keys of the <Contents> elements and
 * the continuation token, with XML entities and character references decoded. Just
 * enough XML for S3's answer (no attributes, no CDATA); see s3_internal.h. */
#include "s3_internal.h"

#include <stdio.h>
#include <string.h>

#include "enlarger/text.h"

/* Appends the XML text s[0..n) to out with the five predefined entities and numeric
 * character references decoded. ENL_EINVAL on a malformed reference. */
static int xml_unescape(struct enl_buf *out, const char *s, size_t n)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	size_t i = 0;
	while (i < n) {
		const char *amp = memchr(s + i, '&', n - i);
		size_t run = amp ? (size_t)(amp - (s + i)) : n - i;
		int rc = enl_buf_append(out, s + i, run);
		if (rc)
			return rc;
		i += run;
		if (i >= n)
			break;
		i++; /* past '&' */
		int done = 0;
		for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]) && !done; k++) {
			size_t el = strlen(ents[k].ent);
			if (n - i >= el && memcmp(s + i, ents[k].ent, el) == 0) {
				if ((rc = enl_buf_append(out, &ents[k].c, 1)))
					return rc;
				i += el;
				done = 1;
			}
		}
		if (done)
			continue;
		if (i < n && s[i] == '#') {
			unsigned long cp = 0;
			int hex = i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X');
			size_t j = i + 1 + (size_t)hex, digits = 0;
			for (; j < n && s[j] != ';' && digits < 8; j++, digits++) {
				int d = hex ? enl_hexval(s[j])
				            : (s[j] >= '0' && s[j] <= '9' ? s[j] - '0' : -1);
				if (d < 0)
					return ENL_EINVAL;
				cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			}
			if (j >= n || s[j] != ';' || !digits || cp == 0 || cp > 0x10ffff ||
			    (cp >= 0xd800 && cp <= 0xdfff))
				return ENL_EINVAL;
			unsigned char u[4];
			size_t ul;
			if (cp < 0x80) {
				u[0] = (unsigned char)cp, ul = 1;
			} else if (cp < 0x800) {
				u[0] = (unsigned char)(0xc0 | (cp >> 6));
				u[1] = (unsigned char)(0x80 | (cp & 0x3f)), ul = 2;
			} else if (cp < 0x10000) {
				u[0] = (unsigned char)(0xe0 | (cp >> 12));
				u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
				u[2] = (unsigned char)(0x80 | (cp & 0x3f)), ul = 3;
			} else {
				u[0] = (unsigned char)(0xf0 | (cp >> 18));
				u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
				u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
				u[3] = (unsigned char)(0x80 | (cp & 0x3f)), ul = 4;
			}
			if ((rc = enl_buf_append(out, u, ul)))
				return rc;
			i = j + 1;
			continue;
		}
		return ENL_EINVAL;
	}
	return ENL_OK;
}

/* The text of the first <tag>...</tag> in [p, end), or NULL. *n_out gets its length. */
static const char *xml_find(const char *p, const char *end, const char *tag, size_t *n_out)
{
	char open[64], close[64];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	size_t ol = strlen(open), cl = strlen(close);
	for (const char *s = p; s + ol <= end; s++) {
		if (memcmp(s, open, ol) != 0)
			continue;
		const char *v = s + ol;
		for (const char *t = v; t + cl <= end; t++) {
			if (*t == '<') {
				if (memcmp(t, close, cl) != 0)
					return NULL; /* nested element: not a text node */
				*n_out = (size_t)(t - v);
				return v;
			}
		}
		return NULL;
	}
	return NULL;
}

/* Finds the next <Contents> element from *pos, and its end. */
static const char *next_contents(const char *pos, const char *end, const char **el_end)
{
	static const char open[] = "<Contents>", close[] = "</Contents>";
	const char *s = memmem(pos, (size_t)(end - pos), open, sizeof(open) - 1);
	if (!s)
		return NULL;
	const char *c = memmem(s, (size_t)(end - s), close, sizeof(close) - 1);
	if (!c)
		return NULL;
	*el_end = c + sizeof(close) - 1;
	return s;
}

int enl_s3_list_page(const char *b, size_t len, struct enl_keylist *l, char **token,
                     struct enl_errmsg *e)
{
	const char *end = b ? b + len : NULL;
	struct enl_buf key = ENL_BUF_INIT;
	int rc = ENL_OK;
	*token = NULL;
	if (!b || !memmem(b, len, "<ListBucketResult", 17))
		return enl_fail(e, ENL_EIO, "S3 list answered something that is not a listing");
	enl_buf_init(&key, S3_KEY_MAX * 6);
	const char *el_end = NULL;
	for (const char *c = next_contents(b, end, &el_end); c;
	     c = next_contents(el_end, end, &el_end)) {
		size_t n = 0;
		const char *k = xml_find(c, el_end, "Key", &n);
		if (!k) {
			rc = enl_fail(e, ENL_EIO, "S3 listing entry without a key");
			goto done;
		}
		/* An empty <Key/> is refused before the buffer is reused: it would read as
		 * the previous key still in it. */
		key.len = 0;
		if (!n || xml_unescape(&key, k, n) || !key.data ||
		    memchr(key.data, '\0', key.len)) {
			rc = enl_fail(e, ENL_EIO, "S3 listing has a malformed key");
			goto done;
		}
		if ((rc = enl_keylist_add(l, (const char *)key.data))) {
			rc = rc == ENL_ETOOBIG
			         ? enl_fail(e, rc, "S3 listing has over %d keys", S3_LIST_KEYS_MAX)
			         : enl_fail(e, rc, "out of memory");
			goto done;
		}
	}
	size_t n = 0;
	const char *trunc = xml_find(b, end, "IsTruncated", &n);
	if (trunc && n == 4 && memcmp(trunc, "true", 4) == 0) {
		const char *t = xml_find(b, end, "NextContinuationToken", &n);
		struct enl_buf tb = ENL_BUF_INIT;
		enl_buf_init(&tb, 4096);
		if (!t || !n || xml_unescape(&tb, t, n) || !tb.data) {
			enl_buf_free(&tb);
			rc = enl_fail(e, ENL_EIO, "S3 listing is truncated without a token");
			goto done;
		}
		*token = enl_buf_steal(&tb, NULL);
	}
done:
	enl_buf_free(&key);
	return rc;
}
