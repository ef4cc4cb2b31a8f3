/* Fixtures for tests that run the service over a local store (test_routes,
 * test_server_concurrent, fuzz_http_request): settings from a NULL-terminated
 * {name, value, ...} array, a fake request's header lookup, and a noisy original made
 * by libvips. Header-only. */
#ifndef ENLARGER_TEST_APP_FIXTURE_H
#define ENLARGER_TEST_APP_FIXTURE_H

#include <string.h>
#include <strings.h>

#include <vips/vips.h>

#include "enlarger/store.h"

/* An enl_config_getenv_fn over ud, a NULL-terminated array of name, value pairs. */
static inline const char *fixture_env(void *ud, const char *name)
{
	const char *const *kv = ud;
	for (; kv[0]; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

/* The value of header name (any case) among n names and values, or NULL: a fake
 * enl_req's header accessor. */
static inline const char *fixture_header(const char *const *names, const char *const *values, int n,
                                         const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(names[i], name) == 0)
			return values[i];
	return NULL;
}

/* Puts a w x h noise image as bucket/key in store, encoded by libvips as suffix (".jpg",
 * ".png", with options as libvips takes them), with EXIF orientation when orientation > 1.
 * 0, or -1 when libvips or the store failed. */
static inline int fixture_put_noise(struct enl_store *store, const char *bucket, const char *key,
                                    int w, int h, const char *suffix, int orientation)
{
	VipsImage *noise = NULL, *img = NULL;
	void *buf = NULL;
	size_t len = 0;
	struct enl_errmsg e = {{0}};
	int rc = -1;
	if (vips_gaussnoise(&noise, w, h, "mean", 128.0, "sigma", 40.0, NULL) ||
	    vips_cast_uchar(noise, &img, NULL))
		goto done;
	if (orientation > 1)
		vips_image_set_int(img, VIPS_META_ORIENTATION, orientation);
	if (vips_image_write_to_buffer(img, suffix, &buf, &len, NULL) == 0 &&
	    enl_store_put(store, bucket, key, buf, len, NULL, &e) == 0)
		rc = 0;
done:
	g_free(buf);
	if (img)
		g_object_unref(img);
	if (noise)
		g_object_unref(noise);
	return rc;
}

#endif
