/* The flat photo fields a processed photo gets: the pipeline's result JSON plus the
 * derivative keys and processedAt. Shared by POST /process, the watcher and the CLI. */
#include "enlarger/service.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "enlarger/clock.h"

static const char *key_names[ENL_DERIV_COUNT][2] = {
    {"thumbnailKey", "thumbnailJpegKey"},
    {"optimizedKey", "optimizedJpegKey"},
};

static const char *size_names[ENL_DERIV_COUNT][2] = {
    {"thumbnailSize", "thumbnailJpegSize"},
    {"optimizedSize", "optimizedJpegSize"},
};

static json_t *now_iso8601(void)
{
	char stamp[32];
	enl_iso8601_ms(enl_wall_ms(), stamp);
	return json_string(stamp);
}

json_t *enl_service_fields(const struct enl_pipeline_result *res,
                           const char *keys[ENL_DERIV_COUNT][2], const char *version)
{
	/* The core's result nests "derivatives" and "exif"; the photo item is flat (one
	 * attribute per field, as DynamoDB and the gallery's Go API want it). */
	json_t *r = enl_pipeline_result_json(res); /* new reference, released here */
	json_t *f = json_object();                 /* new reference, returned */
	const char *name;
	json_t *v;

	if (!r || !f)
		goto fail;
	json_object_foreach(r, name, v)
	{
		if (strcmp(name, "derivatives") == 0)
			continue;
		if (strcmp(name, "exif") == 0)
			json_object_update(f, v);
		else
			json_object_set(f, name, v);
	}
	for (int d = 0; d < ENL_DERIV_COUNT; d++) {
		for (int k = 0; k < 2; k++) {
			if (keys && keys[d][k])
				json_object_set_new(f, key_names[d][k], json_string(keys[d][k]));
			json_object_set_new(f, size_names[d][k],
			                    json_integer((json_int_t)res->out[d][k].bytes.len));
		}
	}
	if (version)
		json_object_set_new(f, "version", json_string(version));
	json_object_set_new(f, "processedAt", now_iso8601());
	json_decref(r);
	return f;
fail:
	json_decref(r);
	json_decref(f);
	return NULL;
}
