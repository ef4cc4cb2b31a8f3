/* Object keys and photo ids: pure functions, documented in docs/keys.md.
 *   photo id        user metadata `photo-id`, else ENLARGER_PHOTO_ID_RULE over the key
 *   derivatives     <photoId>/<etag>/thumb.webp, thumb.jpg (thumbnails bucket)
 *                   <photoId>/<etag>/optimized.webp, optimized.jpg (optimized bucket)
 *   render cache    <sha256(key)>/<version>/w<W>-h<H>-<fit>-q<Q>.<ext> (render bucket)
 *   mezzanine       <sha256(key)>/<version>/mezzanine.jpg (render bucket, never served)
 * The original's ETag is part of every key, so a replaced original never collides with
 * what was made from the old bytes and no reader is pointed at a half-written set. */
#ifndef ENLARGER_KEYS_H
#define ENLARGER_KEYS_H

#include <stddef.h>

#include "enlarger/config.h"
#include "enlarger/pipeline.h"
#include "enlarger/store.h"

#define ENL_PHOTO_ID_MAX 1024
#define ENL_VERSION_TAG_MAX 48

/* Cache-Control of the derivatives and render variants, stored and served: their keys
 * name the original's version, so the bytes under a key never change. */
#define ENL_CACHE_FOREVER "public, max-age=31536000, immutable"
/* The object tag of every cached render variant (enl_put_opts.tagging): the render
 * bucket's lifecycle rule expires objects carrying it (infrastructure/lib/gallery-parts.ts),
 * and only those, so the bucket's other objects live until the photo's sweep. */
#define ENL_VARIANT_TAG "enlarger-cache=variant"
/* Cache-Control of /render's 302 from an older version's URL to the current one: short,
 * since the photo may be replaced again. */
#define ENL_CACHE_REDIRECT "public, max-age=60"

/* The photo id for key: the `photo-id` user metadata in info (may be NULL) when
 * present, else rule over key. ENL_EINVAL (e says why) when the result is empty, has
 * control characters, "." / ".." segments or does not fit outsz. */
int enl_photo_id(enum enl_photo_id_rule rule, const char *key, const struct enl_object_info *info,
                 char *out, size_t outsz, struct enl_errmsg *e);

/* A short tag naming one version of an original, safe in a key: the ETag's
 * alphanumerics and '-' (at most ENL_VERSION_TAG_MAX), or "s<size>-t<mtime>" when the
 * store gave no ETag. out must hold ENL_VERSION_TAG_MAX + 1 bytes. */
void enl_version_tag(const struct enl_object_info *info, char *out);

/* <photo_id>/<version>/<thumb|optimized>.<webp|jpg>. ENL_ETOOBIG when it does not fit. */
int enl_derivative_key(const char *photo_id, const char *version, enum enl_derivative d,
                       enum enl_format f, char *out, size_t outsz);

/* The version a derivative key of photo_id names (the inverse of enl_derivative_key),
 * into out[ENL_VERSION_TAG_MAX + 1]. 0, or ENL_EINVAL when key is not a derivative key of
 * that photo: "<photo_id>/<version>/<thumb|optimized>.<webp|jpg>" exactly, so a key of
 * the photo "a/b" is never taken for one of the photo "a". */
int enl_derivative_key_version(const char *photo_id, const char *key, char *out);

/* Lowercase hex SHA-256 of key into out[65]. */
void enl_key_hash(const char *key, char out[65]);

/* Render cache key for the original key at version with r, the canonical request
 * (enl_render_canonical: quality is the encoder's, 0 only for PNG). The prefix
 * "<sha256(key)>/" is shared by every variant of key, "<sha256(key)>/<version>/" by
 * those of one version. */
int enl_render_cache_key(const char *key, const char *version, const struct enl_render_req *r,
                         char *out, size_t outsz);

/* The file name of a version's mezzanine under its render prefix: no variant name (always
 * "w<digits>-...") can be it. */
#define ENL_MEZZANINE_NAME "mezzanine.jpg"

/* The mezzanine of key at version (written by /process, read by render misses):
 * "<sha256(key)>/<version>/mezzanine.jpg", under the prefix of that version's variants, so
 * the cleanups that delete an old version's variants delete it too. ENL_ETOOBIG when it does
 * not fit outsz. */
int enl_mezzanine_key(const char *key, const char *version, char *out, size_t outsz);

/* The version a render cache key or mezzanine key names ("<hash>/<version>/<name>"), into
 * out[ENL_VERSION_TAG_MAX + 1]. 0, or ENL_EINVAL when key does not have that shape. */
int enl_render_cache_key_version(const char *key, char *out);

#endif
