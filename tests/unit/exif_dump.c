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
#include "enlarger/text.h"
#include "files.h"

int main(int argc, char **argv)
{
	VipsImage *im = NULL;
	unsigned char *raw = NULL;
	const void *blob = NULL;
	size_t len = 0;
	json_t *root = NULL;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--raw") == 0) {
		if (!(raw = read_file(argv[2], &len))) {
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

	char head[33];
	enl_hex_encode(head, blob, len < 16 ? len : 16);
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
