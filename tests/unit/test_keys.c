/* Photo ids and object keys (docs/keys.md). */
#include <string.h>

#include "check.h"
#include "enlarger/keys.h"

int main(void)
{
	struct enl_object_info info;
	struct enl_errmsg e = {{0}};
	char id[256], key[512], v[ENL_VERSION_TAG_MAX + 1];

	memset(&info, 0, sizeof(info));
	CHECK(enl_photo_id(ENL_PHOTO_ID_KEY, "a/b c/IMG_1.JPG", &info, id, sizeof(id), &e) == 0);
	CHECK_STR_EQ(id, "a/b c/IMG_1.JPG");
	CHECK(enl_photo_id(ENL_PHOTO_ID_BASENAME, "a/b/IMG_1.JPG", &info, id, sizeof(id), &e) == 0);
	CHECK_STR_EQ(id, "IMG_1.JPG");
	CHECK(enl_photo_id(ENL_PHOTO_ID_BASENAME_NOEXT, "a/b/IMG_1.x.JPG", NULL, id, sizeof(id),
	                   &e) == 0);
	CHECK_STR_EQ(id, "IMG_1.x");
	CHECK(enl_photo_id(ENL_PHOTO_ID_BASENAME_NOEXT, ".hidden", NULL, id, sizeof(id), &e) == 0);
	CHECK_STR_EQ(id, ".hidden");
	/* The user metadata wins. */
	info.n_meta = 1;
	snprintf(info.meta[0].name, sizeof(info.meta[0].name), "photo-id");
	snprintf(info.meta[0].value, sizeof(info.meta[0].value), "7f3a-uuid");
	CHECK(enl_photo_id(ENL_PHOTO_ID_KEY, "x.jpg", &info, id, sizeof(id), &e) == 0);
	CHECK_STR_EQ(id, "7f3a-uuid");
	snprintf(info.meta[0].value, sizeof(info.meta[0].value), "../escape");
	CHECK_INT_EQ(enl_photo_id(ENL_PHOTO_ID_KEY, "x.jpg", &info, id, sizeof(id), &e),
	             ENL_EINVAL);
	info.n_meta = 0;
	CHECK_INT_EQ(enl_photo_id(ENL_PHOTO_ID_KEY, "a//b", NULL, id, sizeof(id), &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_photo_id(ENL_PHOTO_ID_KEY, "/abs", NULL, id, sizeof(id), &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_photo_id(ENL_PHOTO_ID_KEY, "a/./b", NULL, id, sizeof(id), &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_photo_id(ENL_PHOTO_ID_KEY, "a\nb", NULL, id, sizeof(id), &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_photo_id(ENL_PHOTO_ID_BASENAME, "dir/", NULL, id, sizeof(id), &e),
	             ENL_EINVAL);
	CHECK_INT_EQ(enl_photo_id(ENL_PHOTO_ID_KEY, "abcdef", NULL, id, 4, &e), ENL_EINVAL);

	/* Version tags: the ETag's safe characters, or size and time without one. */
	snprintf(info.etag, sizeof(info.etag), "\"D41D8CD98F00B204E9800998ECF8427E-3\"");
	enl_version_tag(&info, v);
	CHECK_STR_EQ(v, "d41d8cd98f00b204e9800998ecf8427e-3");
	info.etag[0] = 0;
	info.size = 123;
	info.last_modified = 456;
	enl_version_tag(&info, v);
	CHECK_STR_EQ(v, "s123-t456");

	CHECK(enl_derivative_key("p 1", "abc", ENL_DERIV_THUMB, ENL_FMT_WEBP, key, sizeof(key)) ==
	      0);
	CHECK_STR_EQ(key, "p 1/abc/thumb.webp");
	CHECK(enl_derivative_key("p", "abc", ENL_DERIV_OPTIMIZED, ENL_FMT_JPEG, key, sizeof(key)) ==
	      0);
	CHECK_STR_EQ(key, "p/abc/optimized.jpg");
	CHECK_INT_EQ(enl_derivative_key("p", "abc", ENL_DERIV_THUMB, ENL_FMT_JPEG, key, 8),
	             ENL_ETOOBIG);

	/* sha256("abc"), the FIPS 180-2 example. */
	enl_key_hash("abc", key);
	CHECK_STR_EQ(key, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	struct enl_render_req r = {
	    .width = 400, .fit = ENL_FIT_INSIDE, .format = ENL_FMT_WEBP, .quality = 80};
	CHECK(enl_render_cache_key("abc", "v1", &r, key, sizeof(key)) == 0);
	CHECK_STR_EQ(key, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad/v1/"
	                  "w400-h0-inside-q80.webp");
	/* Every byte-changing parameter changes the key. */
	char k2[512];
	struct enl_render_req variants[] = {
	    {401, 0, ENL_FIT_INSIDE, ENL_FMT_WEBP, 80, 0, 0, 0},
	    {400, 1, ENL_FIT_INSIDE, ENL_FMT_WEBP, 80, 0, 0, 0},
	    {400, 0, ENL_FIT_COVER, ENL_FMT_WEBP, 80, 0, 0, 0},
	    {400, 0, ENL_FIT_INSIDE, ENL_FMT_JPEG, 80, 0, 0, 0},
	    {400, 0, ENL_FIT_INSIDE, ENL_FMT_WEBP, 81, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		CHECK(enl_render_cache_key("abc", "v1", &variants[i], k2, sizeof(k2)) == 0);
		CHECK(strcmp(k2, key) != 0);
	}
	CHECK(enl_render_cache_key("abc", "v2", &r, k2, sizeof(k2)) == 0);
	CHECK(strcmp(k2, key) != 0);

	/* The versions the keys name, read back (what the cleanup sweeps by). */
	char ver[ENL_VERSION_TAG_MAX + 1];
	CHECK_INT_EQ(enl_render_cache_key_version(key, ver), 0);
	CHECK_STR_EQ(ver, "v1");
	CHECK_INT_EQ(enl_render_cache_key_version("abc/v1", ver), ENL_EINVAL);
	CHECK_INT_EQ(enl_render_cache_key_version("abc/v1/x/y", ver), ENL_EINVAL);
	CHECK_INT_EQ(enl_render_cache_key_version("abc//x", ver), ENL_EINVAL);

	/* The mezzanine: under the version's prefix (the sweep of old versions reads its
	 * version like a variant's), and no variant's name, whatever the request. */
	char mk[512];
	CHECK(enl_mezzanine_key("abc", "v1", mk, sizeof(mk)) == 0);
	CHECK_STR_EQ(mk, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad/v1/"
	                 "mezzanine.jpg");
	CHECK_INT_EQ(enl_render_cache_key_version(mk, ver), 0);
	CHECK_STR_EQ(ver, "v1");
	CHECK_INT_EQ(enl_mezzanine_key("abc", "v1", mk, 70), ENL_ETOOBIG);
	CHECK(enl_mezzanine_key("abc", "v1", mk, sizeof(mk)) == 0);
	for (int w = 0; w <= 8192; w += 97)
		for (int f = 0; f < ENL_FMT_COUNT; f++)
			for (int fit = 0; fit < 2; fit++) {
				struct enl_render_req q = {
				    w, w / 2, (enum enl_fit)fit, (enum enl_format)f, w % 101, 0,
				    0, 0};
				REQUIRE(enl_render_cache_key("abc", "v1", &q, k2, sizeof(k2)) == 0);
				CHECK(strcmp(k2, mk) != 0 &&
				      strcmp(strrchr(k2, '/') + 1, ENL_MEZZANINE_NAME) != 0);
			}
	for (int d = 0; d < ENL_DERIV_COUNT; d++)
		for (int f = 0; f < 2; f++) {
			enum enl_format fmt = f ? ENL_FMT_JPEG : ENL_FMT_WEBP;
			REQUIRE(enl_derivative_key("a/b c", "0f3e-2", (enum enl_derivative)d, fmt,
			                           k2, sizeof(k2)) == 0);
			CHECK_INT_EQ(enl_derivative_key_version("a/b c", k2, ver), 0);
			CHECK_STR_EQ(ver, "0f3e-2");
			/* Photo "a"'s prefix also lists photo "a/b c"'s keys: never taken for its.
			 */
			CHECK_INT_EQ(enl_derivative_key_version("a", k2, ver), ENL_EINVAL);
			CHECK_INT_EQ(enl_derivative_key_version("a/b", k2, ver), ENL_EINVAL);
		}
	CHECK_INT_EQ(enl_derivative_key_version("p", "p/v1/other.webp", ver), ENL_EINVAL);
	CHECK_INT_EQ(enl_derivative_key_version("p", "p//thumb.webp", ver), ENL_EINVAL);
	CHECK_INT_EQ(enl_derivative_key_version("p", "pq/v1/thumb.webp", ver), ENL_EINVAL);
	return check_done();
}
