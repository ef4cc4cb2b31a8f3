/* Fuzz target for what the DynamoDB table reads from DynamoDB's answers
 * (src/table/dynamodb.c, dynamodb_item.c): the error type of an error body, a GetItem
 * Item as the flat JSON enl_table_get answers, and the numbers in both directions. The
 * input is the response body (its "Item" member, or the whole object, is the item).
 * Checks:
 * - the error type holds identifier characters only;
 * - the flat JSON holds the key and known attributes only, each of its declared JSON
 *   type (strings, integers for integer attributes, gps an object of up to three
 *   numbers), and a value that is there is the item's own value;
 * - result attributes go back to AttributeValues (ddb_result_value) and read back the
 *   same: the stored form of every number is one strtod reads as the same double;
 * - ddb_number of the input's first 8 bytes, as a double, reads back exactly. */
#include <math.h>

#include "dynamodb_internal.h"
#include "enlarger/aws.h"
#include "fuzz.h"

#define KEY_ATTR "photoId"

static const struct ddb_field *field_named(const char *name)
{
	for (size_t i = 0; i < ddb_n_fields; i++)
		if (strcmp(ddb_fields[i].name, name) == 0)
			return &ddb_fields[i];
	return NULL;
}

static void check_types(json_t *flat)
{
	const char *name;
	json_t *v;
	FUZZ_CHECK(json_is_object(flat));
	json_object_foreach(flat, name, v)
	{
		if (strcmp(name, KEY_ATTR) == 0) {
			FUZZ_CHECK(json_is_string(v));
			continue;
		}
		const struct ddb_field *f = field_named(name);
		FUZZ_CHECK(f != NULL);
		switch (f->type) {
		case DDB_S: FUZZ_CHECK(json_is_string(v)); break;
		case DDB_INT: FUZZ_CHECK(json_is_number(v)); break;
		case DDB_REAL: FUZZ_CHECK(json_is_real(v)); break;
		case DDB_GPS: {
			const char *m;
			json_t *mv;
			FUZZ_CHECK(json_is_object(v) && json_object_size(v) >= 1 &&
			           json_object_size(v) <= 3);
			json_object_foreach(v, m, mv)
			{
				FUZZ_CHECK(!strcmp(m, "latitude") || !strcmp(m, "longitude") ||
				           !strcmp(m, "altitude"));
				FUZZ_CHECK(json_is_real(mv) && isfinite(json_real_value(mv)));
			}
			break;
		}
		}
	}
}

/* The flat value of f in flat written as an AttributeValue and read back must be
 * equal to itself. */
static void check_round_trip(json_t *flat)
{
	for (size_t i = 0; i < ddb_n_fields; i++) {
		const struct ddb_field *f = &ddb_fields[i];
		json_t *v = json_object_get(flat, f->type == DDB_GPS ? "gps" : f->name);
		if (f->kind != DDB_RESULT || !v)
			continue;
		/* An integer attribute stored as a fraction reads back as a real, which the
		 * writer refuses: the item is not one we wrote. */
		if (f->type == DDB_INT && !json_is_integer(v))
			continue;
		/* An empty string is "none" for a result: not written. Results are C strings
		 * (EXIF text, keys): one with a NUL inside is not one we wrote either. */
		if (f->type == DDB_S && (json_string_length(v) == 0 ||
		                         strlen(json_string_value(v)) != json_string_length(v)))
			continue;
		json_t *av = NULL;
		struct enl_errmsg e = {""};
		FUZZ_CHECK(ddb_result_value(&av, f, flat, &e) == 0 && av != NULL);
		json_t *item = json_object(), *back;
		FUZZ_CHECK(item && json_object_set_new(item, f->name, av) == 0);
		back = ddb_item_to_json(item, KEY_ATTR);
		FUZZ_CHECK(back != NULL);
		json_t *w = json_object_get(back, f->type == DDB_GPS ? "gps" : f->name);
		FUZZ_CHECK(w && json_equal(v, w));
		json_decref(back);
		json_decref(item);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enl_aws_response r;
	memset(&r, 0, sizeof(r));
	enl_buf_init(&r.body, 0);
	if (size)
		FUZZ_CHECK(enl_buf_append(&r.body, data, size) == 0);
	r.status = 400;

	char type[96];
	memset(type, 'x', sizeof(type));
	ddb_error_type(&r, type, sizeof(type));
	FUZZ_CHECK(memchr(type, 0, sizeof(type)));
	for (const char *c = type; *c; c++)
		FUZZ_CHECK((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		           (*c >= '0' && *c <= '9'));

	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	json_t *item = json_object_get(doc, "Item");
	if (!json_is_object(item))
		item = doc;
	if (json_is_object(item)) {
		json_t *flat = ddb_item_to_json(item, KEY_ATTR);
		FUZZ_CHECK(flat != NULL);
		check_types(flat);
		/* A string attribute is the item's own string. */
		const char *name;
		json_t *v;
		json_object_foreach(flat, name, v)
		{
			const struct ddb_field *f = field_named(name);
			if (f && f->type == DDB_S)
				FUZZ_CHECK(json_equal(
				    v, json_object_get(json_object_get(item, name), "S")));
		}
		check_round_trip(flat);
		json_decref(flat);
	}
	json_decref(doc);

	if (size >= 8) {
		double d;
		char out[40];
		memcpy(&d, data, sizeof(d));
		int rc = ddb_number(out, sizeof(out), d);
		FUZZ_CHECK(isfinite(d) ? rc == 0 : rc == ENL_EINVAL);
		if (rc == 0)
			FUZZ_CHECK(strtod(out, NULL) == d);
	}
	enl_buf_free(&r.body);
	return 0;
}
