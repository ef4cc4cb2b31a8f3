/* What the local store accepts: bucket names (S3's rules), keys, listing prefixes and
 * PUT options. Pure string checks, no file system. */
#include "local_internal.h"

#include <string.h>

#include "enlarger/text.h"

/* Checks one '/'-separated segment of a key or prefix directory. */
static int segment_check(const char *s, size_t n, struct enl_errmsg *e)
{
	if (n == 0)
		return enl_fail(e, ENL_EINVAL, "key has an empty path segment");
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return enl_fail(e, ENL_EINVAL, "key has a '.' or '..' path segment");
	if (n >= strlen(LOCAL_TMP_PREFIX) && memcmp(s, LOCAL_TMP_PREFIX, 5) == 0)
		return enl_fail(e, ENL_EINVAL, "key segments starting with .tmp- are reserved");
	if (n > LOCAL_SEGMENT_MAX)
		return enl_fail(e, ENL_EINVAL, "key has a path segment over %d bytes",
		                LOCAL_SEGMENT_MAX);
	return ENL_OK;
}

/* Characters no key or prefix may hold. */
static int chars_check(const char *k, size_t n, struct enl_errmsg *e)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c < 0x20 || c == 0x7f)
			return enl_fail(e, ENL_EINVAL, "key has a control character");
		if (c == '\\')
			return enl_fail(e, ENL_EINVAL, "key has a backslash");
	}
	if (!enl_utf8_valid(k, n))
		return enl_fail(e, ENL_EINVAL, "key is not valid UTF-8");
	return ENL_OK;
}

int enl_local_key_check(const char *k, struct enl_errmsg *e)
{
	if (!k)
		return enl_fail(e, ENL_EINVAL, "missing key");
	size_t n = strnlen(k, LOCAL_KEY_MAX + 1);
	if (n == 0)
		return enl_fail(e, ENL_EINVAL, "empty key");
	if (n > LOCAL_KEY_MAX)
		return enl_fail(e, ENL_EINVAL, "key longer than %d bytes", LOCAL_KEY_MAX);
	if (k[0] == '/')
		return enl_fail(e, ENL_EINVAL, "key must not start with '/'");
	int rc = chars_check(k, n, e);
	if (rc)
		return rc;
	const char *seg = k;
	for (;;) {
		const char *slash = memchr(seg, '/', (size_t)(k + n - seg));
		size_t len = slash ? (size_t)(slash - seg) : (size_t)(k + n - seg);
		rc = segment_check(seg, len, e);
		if (rc)
			return rc;
		if (!slash)
			break;
		seg = slash + 1;
	}
	return ENL_OK;
}

int enl_local_prefix_check(const char *prefix, size_t *dirlen_out, struct enl_errmsg *e)
{
	*dirlen_out = 0;
	size_t prelen = strnlen(prefix, LOCAL_KEY_MAX + 1);
	if (prelen > LOCAL_KEY_MAX)
		return enl_fail(e, ENL_EINVAL, "prefix longer than %d bytes", LOCAL_KEY_MAX);
	if (prefix[0] == '/')
		return enl_fail(e, ENL_EINVAL, "prefix must not start with '/'");
	int rc = chars_check(prefix, prelen, e);
	if (rc)
		return rc;
	/* The folder part of the prefix must be a proper path; the rest is matched by name. */
	const char *slash = strrchr(prefix, '/');
	size_t dirlen = slash ? (size_t)(slash - prefix) : 0;
	for (size_t i = 0; i < dirlen;) {
		const char *s2 = memchr(prefix + i, '/', dirlen - i);
		size_t l = s2 ? (size_t)(s2 - (prefix + i)) : dirlen - i;
		rc = segment_check(prefix + i, l, e);
		if (rc)
			return rc;
		i += l + 1;
	}
	*dirlen_out = dirlen;
	return ENL_OK;
}

static int text_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return enl_utf8_valid(s, n);
}

int enl_local_opts_check(const struct enl_put_opts *o, struct enl_errmsg *e)
{
	if (!o)
		return ENL_OK;
	if (o->content_type &&
	    !text_ok(o->content_type, sizeof(((struct enl_object_info *)0)->content_type)))
		return enl_fail(e, ENL_EINVAL, "content type too long or has control characters");
	if (o->cache_control &&
	    !text_ok(o->cache_control, sizeof(((struct enl_object_info *)0)->cache_control)))
		return enl_fail(e, ENL_EINVAL, "cache control too long or has control characters");
	if (o->n_meta < 0 || o->n_meta > ENL_META_MAX || (o->n_meta && !o->meta))
		return enl_fail(e, ENL_EINVAL, "at most %d user metadata pairs", ENL_META_MAX);
	for (int i = 0; i < o->n_meta; i++) {
		const struct enl_meta_pair *m = &o->meta[i];
		size_t n = strnlen(m->name, sizeof(m->name));
		if (n == 0 || n == sizeof(m->name))
			return enl_fail(e, ENL_EINVAL, "bad user metadata name");
		for (size_t k = 0; k < n; k++) {
			char c = m->name[k];
			int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
			if (!ok)
				return enl_fail(e, ENL_EINVAL, "bad user metadata name");
		}
		if (!text_ok(m->value, sizeof(m->value)))
			return enl_fail(e, ENL_EINVAL, "bad user metadata value");
	}
	return ENL_OK;
}
