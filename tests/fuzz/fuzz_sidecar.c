/* Fuzz target for the local store's metadata sidecar (src/store/local_sidecar.c): the
 * JSON beside each object that names the data file (inode, size, mtime) and holds its
 * ETag, content type, cache control and user metadata. The input is the sidecar's
 * bytes. Checks: a sidecar parses only as a JSON object; the object info read from it
 * has every string terminated within its field, at most ENL_META_MAX pairs, each the
 * document's own string where it fits; it matches exactly the file its "file" member
 * names; and a sidecar written back from that info (enl_local_sidecar_new, as a PUT
 * does) reads back as the same info. */
#include <sys/stat.h>

#include "fuzz.h"
#include "local_internal.h"

static void check_fits(const char *got, size_t cap, const char *want)
{
	FUZZ_CHECK(memchr(got, 0, cap) != NULL);
	if (want && strlen(want) < cap)
		FUZZ_CHECK(strcmp(got, want) == 0);
}

static int fits_utf8(const char *s, size_t cap)
{
	return strlen(s) + 1 < cap; /* not cut: a cut may split a UTF-8 sequence */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *sc = enl_local_sidecar_parse(data, size);
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	FUZZ_CHECK(!sc == !json_is_object(doc));
	json_decref(doc);
	if (!sc)
		return 0;

	struct enl_object_info info;
	memset(&info, 0x5a, sizeof(info));
	enl_local_sidecar_info(sc, &info);
	check_fits(info.etag, sizeof(info.etag), json_string_value(json_object_get(sc, "etag")));
	check_fits(info.content_type, sizeof(info.content_type),
	           json_string_value(json_object_get(sc, "contentType")));
	check_fits(info.cache_control, sizeof(info.cache_control),
	           json_string_value(json_object_get(sc, "cacheControl")));
	FUZZ_CHECK(info.n_meta >= 0 && info.n_meta <= ENL_META_MAX);
	for (int i = 0; i < info.n_meta; i++) {
		check_fits(info.meta[i].name, sizeof(info.meta[i].name), NULL);
		/* A name cut to its field may be another member's name: compare whole ones. */
		json_t *v = fits_utf8(info.meta[i].name, sizeof(info.meta[i].name))
		                ? json_object_get(json_object_get(sc, "meta"), info.meta[i].name)
		                : NULL;
		check_fits(info.meta[i].value, sizeof(info.meta[i].value), json_string_value(v));
	}

	/* The file the sidecar names, and one that differs in each field. */
	json_t *id = json_object_get(sc, "file");
	struct stat sb;
	memset(&sb, 0, sizeof(sb));
	sb.st_ino = (ino_t)json_integer_value(json_object_get(id, "ino"));
	sb.st_size = (off_t)json_integer_value(json_object_get(id, "size"));
	sb.st_mtim.tv_sec = (time_t)json_integer_value(json_object_get(id, "mtimeSec"));
	sb.st_mtim.tv_nsec = (long)json_integer_value(json_object_get(id, "mtimeNsec"));
	int exact =
	    json_is_object(id) && json_is_integer(json_object_get(id, "ino")) &&
	    json_is_integer(json_object_get(id, "size")) &&
	    json_is_integer(json_object_get(id, "mtimeSec")) &&
	    json_is_integer(json_object_get(id, "mtimeNsec")) &&
	    json_integer_value(json_object_get(id, "ino")) == (json_int_t)sb.st_ino &&
	    json_integer_value(json_object_get(id, "mtimeNsec")) == (json_int_t)sb.st_mtim.tv_nsec;
	if (exact) {
		FUZZ_CHECK(enl_local_sidecar_matches(sc, &sb) == 1);
		struct stat other = sb;
		other.st_size ^= 1;
		FUZZ_CHECK(enl_local_sidecar_matches(sc, &other) == 0);
		other = sb;
		other.st_mtim.tv_nsec ^= 1;
		FUZZ_CHECK(enl_local_sidecar_matches(sc, &other) == 0);
	} else if (!json_is_object(id)) {
		FUZZ_CHECK(enl_local_sidecar_matches(sc, &sb) == 0);
	}

	/* Written back as a PUT writes it, it reads back the same (names lower-cased, so
	 * only when they are, and when no string was cut). */
	int clean = fits_utf8(info.etag, sizeof(info.etag)) &&
	            fits_utf8(info.content_type, sizeof(info.content_type)) &&
	            fits_utf8(info.cache_control, sizeof(info.cache_control));
	for (int i = 0; i < info.n_meta; i++) {
		clean &= fits_utf8(info.meta[i].name, sizeof(info.meta[i].name)) &&
		         fits_utf8(info.meta[i].value, sizeof(info.meta[i].value));
		for (const char *c = info.meta[i].name; *c; c++)
			clean &= !(*c >= 'A' && *c <= 'Z');
	}
	if (clean) {
		struct enl_put_opts o = {.content_type = info.content_type,
		                         .cache_control = info.cache_control,
		                         .n_meta = info.n_meta,
		                         .meta = info.meta};
		json_t *again = enl_local_sidecar_new(&sb, info.etag, &o);
		FUZZ_CHECK(again != NULL);
		char *text = json_dumps(again, JSON_COMPACT);
		FUZZ_CHECK(text != NULL);
		json_t *back = enl_local_sidecar_parse(text, strlen(text));
		FUZZ_CHECK(back != NULL);
		struct enl_object_info info2;
		memset(&info2, 0, sizeof(info2));
		enl_local_sidecar_info(back, &info2);
		FUZZ_CHECK(strcmp(info.etag, info2.etag) == 0 &&
		           strcmp(info.content_type, info2.content_type) == 0 &&
		           strcmp(info.cache_control, info2.cache_control) == 0);
		FUZZ_CHECK(info2.n_meta == info.n_meta);
		for (int i = 0; i < info.n_meta; i++) {
			const char *v = enl_object_meta(&info2, info.meta[i].name);
			FUZZ_CHECK(v && strcmp(v, info.meta[i].value) == 0);
		}
		FUZZ_CHECK(enl_local_sidecar_matches(back, &sb) == 1);
		json_decref(back);
		free(text);
		json_decref(again);
	}
	json_decref(sc);
	return 0;
}
