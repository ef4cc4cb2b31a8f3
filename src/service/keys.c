/* Photo ids and object keys (see include/enlarger/keys.h and docs/keys.md). */
#include "enlarger/keys.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "enlarger/text.h"

static int valid_id(const char *id, struct enl_errmsg *e)
{
	const char *seg = id;
	if (!*id)
		return enl_fail(e, ENL_EINVAL, "photo id is empty");
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return enl_fail(e, ENL_EINVAL, "photo id has control characters");
	if (id[0] == '/')
		return enl_fail(e, ENL_EINVAL, "photo id must not start with '/'");
	/* The id is a key prefix of the derivatives: no segment may walk up or be empty. */
	for (;;) {
		size_t n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return enl_fail(e, ENL_EINVAL,
			                "photo id has an empty, \".\" or \"..\" path segment");
		if (seg[n] == '\0')
			break;
		seg += n + 1;
	}
	return 0;
}

int enl_photo_id(enum enl_photo_id_rule rule, const char *key, const struct enl_object_info *info,
                 char *out, size_t outsz, struct enl_errmsg *e)
{
	const char *meta = info ? enl_object_meta(info, "photo-id") : NULL;
	const char *start = key;
	size_t n;

	if (meta && *meta) {
		start = meta;
		n = strlen(meta);
	} else {
		if (rule != ENL_PHOTO_ID_KEY) {
			const char *slash = strrchr(key, '/');
			if (slash)
				start = slash + 1;
		}
		n = strlen(start);
		if (rule == ENL_PHOTO_ID_BASENAME_NOEXT) {
			const char *dot = strrchr(start, '.');
			if (dot && dot != start)
				n = (size_t)(dot - start);
		}
	}
	if (n + 1 > outsz)
		return enl_fail(e, ENL_EINVAL, "photo id is longer than %zu bytes", outsz - 1);
	memcpy(out, start, n);
	out[n] = '\0';
	return valid_id(out, e);
}

void enl_version_tag(const struct enl_object_info *info, char *out)
{
	size_t o = 0;
	for (const char *p = info->etag; *p && o < ENL_VERSION_TAG_MAX; p++)
		if (isalnum((unsigned char)*p) || *p == '-')
			out[o++] = (char)tolower((unsigned char)*p);
	out[o] = '\0';
	if (o == 0)
		snprintf(out, ENL_VERSION_TAG_MAX + 1, "s%" PRIu64 "-t%" PRId64, info->size,
		         info->last_modified);
}

int enl_derivative_key(const char *photo_id, const char *version, enum enl_derivative d,
                       enum enl_format f, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s/%s.%s", photo_id, version,
	                 d == ENL_DERIV_THUMB ? "thumb" : "optimized",
	                 f == ENL_FMT_WEBP ? "webp" : "jpg");
	return n < 0 || (size_t)n >= outsz ? ENL_ETOOBIG : 0;
}

/* seg[0..n) as a version tag into out, when it can be one. */
static int version_segment(const char *seg, size_t n, char *out)
{
	if (n == 0 || n > ENL_VERSION_TAG_MAX)
		return ENL_EINVAL;
	memcpy(out, seg, n);
	out[n] = '\0';
	return 0;
}

int enl_derivative_key_version(const char *photo_id, const char *key, char *out)
{
	static const char *const files[] = {"thumb.webp", "thumb.jpg", "optimized.webp",
	                                    "optimized.jpg"};
	size_t idn = strlen(photo_id);
	if (strncmp(key, photo_id, idn) != 0 || key[idn] != '/')
		return ENL_EINVAL;
	const char *v = key + idn + 1, *slash = strchr(v, '/');
	if (!slash)
		return ENL_EINVAL;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(slash + 1, files[i]) == 0)
			return version_segment(v, (size_t)(slash - v), out);
	return ENL_EINVAL;
}

int enl_render_cache_key_version(const char *key, char *out)
{
	const char *v = strchr(key, '/');
	if (!v)
		return ENL_EINVAL;
	v++;
	const char *slash = strchr(v, '/');
	if (!slash || !slash[1] || strchr(slash + 1, '/'))
		return ENL_EINVAL;
	return version_segment(v, (size_t)(slash - v), out);
}

void enl_key_hash(const char *key, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
	enl_hex_encode(out, md, sizeof(md));
}

int enl_render_cache_key(const char *key, const char *version, const struct enl_render_req *r,
                         char *out, size_t outsz)
{
	char hash[65];
	enl_key_hash(key, hash);
	int n = snprintf(out, outsz, "%s/%s/w%d-h%d-%s-q%d.%s", hash, version, r->width, r->height,
	                 r->fit == ENL_FIT_COVER ? "cover" : "inside", r->quality,
	                 enl_format_ext(r->format));
	return n < 0 || (size_t)n >= outsz ? ENL_ETOOBIG : 0;
}

int enl_mezzanine_key(const char *key, const char *version, char *out, size_t outsz)
{
	char hash[65];
	enl_key_hash(key, hash);
	int n = snprintf(out, outsz, "%s/%s/" ENL_MEZZANINE_NAME, hash, version);
	return n < 0 || (size_t)n >= outsz ? ENL_ETOOBIG : 0;
}
