/* The result JSON shared by `enlarger process`, POST /process and the photo table. */
#include "enlarger/pipeline.h"

static const char *const deriv_names[ENL_DERIV_COUNT] = {"thumbnail", "optimized"};

/* New reference, or NULL when out of memory. */
static json_t *output_json(const struct enl_output *o)
{
	return json_pack("{s:i, s:i, s:I, s:s}", "width", o->width, "height", o->height, "size",
	                 (json_int_t)o->bytes.len, "contentType", enl_format_mime(o->format));
}

json_t *enl_pipeline_result_json(const struct enl_pipeline_result *res)
{
	json_t *root = NULL, *derivs = NULL, *gps = NULL, *exif;
	int d, f;

	root = json_pack("{s:s, s:i, s:i, s:I}", "sourceFormat", res->source_format, "width",
	                 res->width, "height", res->height, "fileSize", (json_int_t)res->file_size);
	derivs = json_object();
	if (!root || !derivs)
		goto fail;
	for (d = 0; d < ENL_DERIV_COUNT; d++) {
		json_t *one = json_object();
		if (!one || json_object_set_new(derivs, deriv_names[d], one))
			goto fail;
		for (f = 0; f < 2; f++) {
			const struct enl_output *o = &res->out[d][f];
			if (json_object_set_new(one, enl_format_name(o->format), output_json(o)))
				goto fail;
		}
	}
	if (json_object_set_new(root, "derivatives", derivs))
		goto fail_root;
	derivs = NULL;
	exif = enl_exif_json(&res->exif);
	if (!exif)
		exif = json_object(); /* the shape always has "exif" */
	if (json_object_set_new(root, "exif", exif))
		goto fail_root;
	gps = enl_exif_gps_json(&res->exif);
	if (gps && json_object_set_new(root, "gps", gps))
		goto fail_root;
	if (json_object_set_new(root, "blurhash", json_string(res->blurhash)) ||
	    json_object_set_new(root, "dominantColor", json_string(res->dominant_color)))
		goto fail_root;
	return root;
fail:
	json_decref(derivs);
fail_root:
	json_decref(root);
	return NULL;
}
