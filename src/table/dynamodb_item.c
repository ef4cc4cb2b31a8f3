/* The photo item's attributes in DynamoDB's typed JSON (docs/photo-item.md): which
 * attributes exist and their types, JSON -> AttributeValue for complete, and a GetItem
 * Item -> the same flat JSON the SQLite table answers. */
#include "dynamodb_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Every attribute but the key, as in src/table/sqlite.c; gps is one M of three N. */
const struct ddb_field ddb_fields[] = {
    {"bucket", DDB_S, DDB_CONTROL},
    {"objectKey", DDB_S, DDB_CONTROL},
    {"processingStatus", DDB_S, DDB_CONTROL},
    {"processingError", DDB_S, DDB_CONTROL},
    {"sequencer", DDB_S, DDB_CONTROL},
    {"etag", DDB_S, DDB_CONTROL},
    {"attempt", DDB_S, DDB_CONTROL},
    {"leaseUntil", DDB_INT, DDB_CONTROL},
    {"updatedAt", DDB_S, DDB_CONTROL},
    {"thumbnailKey", DDB_S, DDB_RESULT},
    {"optimizedKey", DDB_S, DDB_RESULT},
    {"thumbnailJpegKey", DDB_S, DDB_RESULT},
    {"optimizedJpegKey", DDB_S, DDB_RESULT},
    {"version", DDB_S, DDB_RESULT},
    {"width", DDB_INT, DDB_RESULT},
    {"height", DDB_INT, DDB_RESULT},
    {"fileSize", DDB_INT, DDB_RESULT},
    {"thumbnailSize", DDB_INT, DDB_RESULT},
    {"optimizedSize", DDB_INT, DDB_RESULT},
    {"thumbnailJpegSize", DDB_INT, DDB_RESULT},
    {"optimizedJpegSize", DDB_INT, DDB_RESULT},
    {"cameraMake", DDB_S, DDB_RESULT},
    {"cameraModel", DDB_S, DDB_RESULT},
    {"lensModel", DDB_S, DDB_RESULT},
    {"dateTaken", DDB_S, DDB_RESULT},
    {"iso", DDB_INT, DDB_RESULT},
    {"focalLength", DDB_S, DDB_RESULT},
    {"focalLengthMm", DDB_REAL, DDB_RESULT},
    {"aperture", DDB_S, DDB_RESULT},
    {"fNumber", DDB_REAL, DDB_RESULT},
    {"shutterSpeed", DDB_S, DDB_RESULT},
    {"exposureSeconds", DDB_REAL, DDB_RESULT},
    {"orientation", DDB_INT, DDB_RESULT},
    {"software", DDB_S, DDB_RESULT},
    {"artist", DDB_S, DDB_RESULT},
    {"copyright", DDB_S, DDB_RESULT},
    {"gps", DDB_GPS, DDB_RESULT},
    {"blurhash", DDB_S, DDB_RESULT},
    {"dominantColor", DDB_S, DDB_RESULT},
    {"sourceFormat", DDB_S, DDB_RESULT},
    {"processedAt", DDB_S, DDB_RESULT},
    /* What an older version wrote under names the gallery's model does not have: never
     * written or read, removed by every complete so a reprocessed item carries only the
     * current names (focalLength, once a number, is now written as a string). */
    {"make", DDB_S, DDB_LEGACY},
    {"model", DDB_S, DDB_LEGACY},
    {"exposureTime", DDB_S, DDB_LEGACY},
};
const size_t ddb_n_fields = sizeof(ddb_fields) / sizeof(ddb_fields[0]);

static const char *const gps_members[] = {"latitude", "longitude", "altitude"};
/* The flat names SQLite also takes when no gps object is given. */
static const char *const gps_flat[] = {"gpsLatitude", "gpsLongitude", "gpsAltitude"};

int ddb_number(char *out, size_t cap, double v)
{
	if (!isfinite(v))
		return ENL_EINVAL;
	/* The shortest form that reads back as the same double, so 2.8 is stored as "2.8"
	 * (what another client shows), not "2.7999999999999998". */
	for (int prec = 15; prec <= 17; prec++) {
		int n = snprintf(out, cap, "%.*g", prec, v);
		if (n < 0 || (size_t)n >= cap)
			return ENL_EINVAL;
		if (strtod(out, NULL) == v)
			break;
	}
	return ENL_OK;
}

json_t *ddb_av_s(const char *s)
{
	return json_pack("{s:s}", "S", s);
}

json_t *ddb_av_int(long long v)
{
	char n[32];
	snprintf(n, sizeof(n), "%lld", v);
	return json_pack("{s:s}", "N", n);
}

static json_t *av_real(double v)
{
	char n[40];
	if (ddb_number(n, sizeof(n), v))
		return NULL;
	return json_pack("{s:s}", "N", n);
}

/* A JSON number as an integer: integers, and reals with no fraction. */
static int as_int(json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 1;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d >= -9.0e18 && d <= 9.0e18 && d == (double)(long long)d) {
			*out = (long long)d;
			return 1;
		}
	}
	return 0;
}

int ddb_result_value(json_t **out, const struct ddb_field *f, json_t *fields, struct enl_errmsg *e)
{
	*out = NULL;
	if (f->type == DDB_GPS) {
		json_t *gps = json_object_get(fields, "gps"), *m = json_object();
		if (!m)
			return enl_fail(e, ENL_ENOMEM, "out of memory");
		int nested = json_is_object(gps);
		if (gps && !nested && !json_is_null(gps)) {
			json_decref(m);
			return enl_fail(e, ENL_EINVAL, "field gps must be an object");
		}
		for (size_t i = 0; i < 3; i++) {
			json_t *v = nested ? json_object_get(gps, gps_members[i])
			                   : json_object_get(fields, gps_flat[i]);
			if (!v || json_is_null(v))
				continue;
			json_t *av = json_is_number(v) ? av_real(json_number_value(v)) : NULL;
			if (!av) {
				json_decref(m);
				return enl_fail(e, ENL_EINVAL, "field gps.%s must be a number",
				                gps_members[i]);
			}
			json_object_set_new(m, gps_members[i], av);
		}
		if (json_object_size(m) == 0) {
			json_decref(m);
			return ENL_OK;
		}
		*out = json_pack("{s:o}", "M", m);
		return *out ? ENL_OK : enl_fail(e, ENL_ENOMEM, "out of memory");
	}
	json_t *v = json_object_get(fields, f->name);
	if (!v || json_is_null(v))
		return ENL_OK;
	long long iv;
	switch (f->type) {
	case DDB_S:
		if (!json_is_string(v))
			return enl_fail(e, ENL_EINVAL, "field %s must be a string", f->name);
		/* DynamoDB allows empty strings in non-key attributes; an empty result
		 * value means "none" here, as a NULL column does in SQLite. */
		if (json_string_length(v) == 0)
			return ENL_OK;
		*out = ddb_av_s(json_string_value(v));
		break;
	case DDB_INT:
		if (!as_int(v, &iv))
			return enl_fail(e, ENL_EINVAL, "field %s must be an integer", f->name);
		*out = ddb_av_int(iv);
		break;
	case DDB_REAL:
		if (!json_is_number(v) || !(*out = av_real(json_number_value(v))))
			return enl_fail(e, ENL_EINVAL, "field %s must be a number", f->name);
		break;
	case DDB_GPS: break;
	}
	return *out ? ENL_OK : enl_fail(e, ENL_ENOMEM, "out of memory");
}

/* An N value as JSON: an integer for integer attributes, a real for real ones. */
static json_t *n_to_json(const char *n, enum ddb_type t)
{
	char *end;
	errno = 0;
	if (t == DDB_INT && !strpbrk(n, ".eE")) {
		long long v = strtoll(n, &end, 10);
		if (!errno && end != n && !*end)
			return json_integer(v);
	}
	double d = strtod(n, &end);
	if (end == n || *end || !isfinite(d))
		return NULL;
	if (t == DDB_INT && d >= -9.0e18 && d <= 9.0e18 && d == (double)(long long)d)
		return json_integer((long long)d);
	return json_real(d);
}

json_t *ddb_item_to_json(json_t *item, const char *key_attr)
{
	json_t *out = json_object();
	if (!out)
		return NULL;
	const char *key = json_string_value(json_object_get(json_object_get(item, key_attr), "S"));
	if (key)
		json_object_set_new(out, key_attr, json_string(key));
	for (size_t i = 0; i < ddb_n_fields; i++) {
		const struct ddb_field *f = &ddb_fields[i];
		json_t *av = json_object_get(item, f->name), *v = NULL;
		if (!json_is_object(av) || f->kind == DDB_LEGACY)
			continue;
		if (f->type == DDB_GPS) {
			json_t *m = json_object_get(av, "M");
			if (!json_is_object(m))
				continue;
			v = json_object();
			for (size_t k = 0; v && k < 3; k++) {
				const char *n = json_string_value(
				    json_object_get(json_object_get(m, gps_members[k]), "N"));
				json_t *num = n ? n_to_json(n, DDB_REAL) : NULL;
				if (num)
					json_object_set_new(v, gps_members[k], num);
			}
			if (v && json_object_size(v) == 0) {
				json_decref(v);
				v = NULL;
			}
		} else if (f->type == DDB_S) {
			json_t *s = json_object_get(av, "S");
			if (json_is_string(s))
				v = json_stringn(json_string_value(s), json_string_length(s));
		} else {
			const char *n = json_string_value(json_object_get(av, "N"));
			if (n)
				v = n_to_json(n, f->type);
		}
		if (v)
			json_object_set_new(out, f->name, v);
	}
	return out;
}

int ddb_key_clashes(const char *key_attr)
{
	for (size_t i = 0; i < ddb_n_fields; i++)
		if (strcasecmp(key_attr, ddb_fields[i].name) == 0)
			return 1;
	for (size_t i = 0; i < 3; i++)
		if (strcasecmp(key_attr, gps_flat[i]) == 0)
			return 1;
	return 0;
}
