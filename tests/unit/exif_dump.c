/* Test driver: prints what enl_exif_* make of an image's EXIF as one JSON object,
 * {"exif":{...},"gps":{...}|null,"blob":{"len":N,"head":"hex"}}, for tests/unit/exif_oracle.py.
 *   exif_dump IMAGE        the "exif-data" blob libvips hands over (as the pipeline does)
 *   exif_dump --raw FILE   the file's bytes are the EXIF block itself
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "enlarger/exif.h"

static int read_all(const char *path, unsigned char **out, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = -1;

	if (!f)
		goto done;
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			unsigned char *n = realloc(buf, ncap);
			if (!n)
				goto done;
			buf = n;
			cap = ncap;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto done;
	*out = buf;
	*len_out = len;
	buf = NULL;
	rc = 0;
done:
	if (f)
		fclose(f);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	VipsImage *im = NULL;
	unsigned char *raw = NULL;
	const void *blob = NULL;
	size_t len = 0;
	json_t *root = NULL;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--raw") == 0) {
		if (read_all(argv[2], &raw, &len)) {
			fprintf(stderr, "cannot read %s\n", argv[2]);
			goto done;
		}
		blob = raw;
	} else if (argc == 2) {
		if (VIPS_INIT(argv[0]))
			goto done;
		im = vips_image_new_from_file(argv[1], NULL);
		if (!im) {
			fprintf(stderr, "%s\n", vips_error_buffer());
			goto done;
		}
		if (vips_image_get_typeof(im, VIPS_META_EXIF_NAME) &&
		    vips_image_get_blob(im, VIPS_META_EXIF_NAME, &blob, &len))
			goto done;
	} else {
		fprintf(stderr, "usage: %s IMAGE | --raw EXIFBLOCK\n", argv[0]);
		return 2;
	}

	struct enl_exif x;
	enl_exif_parse(blob, len, &x);

	char head[33] = "";
	for (size_t i = 0; i < len && i < 16; i++)
		snprintf(head + 2 * i, sizeof(head) - 2 * i, "%02x",
		         ((const unsigned char *)blob)[i]);
	json_t *gps = enl_exif_gps_json(&x);
	root = json_pack("{s:o, s:o, s:{s:I, s:s}}", "exif", enl_exif_json(&x), "gps",
	                 gps ? gps : json_null(), "blob", "len", (json_int_t)len, "head", head);
	if (!root)
		goto done;
	char *s = json_dumps(root, JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	if (!s)
		goto done;
	puts(s);
	free(s);
	rc = 0;
done:
	json_decref(root);
	if (im)
		g_object_unref(im);
	free(raw);
	return rc;
}
