/* Private to src/table/dynamodb*.c: the photo item's attributes and their DynamoDB
 * types (docs/photo-item.md), and marshalling between flat JSON and AttributeValues. */
#ifndef ENLARGER_DYNAMODB_INTERNAL_H
#define ENLARGER_DYNAMODB_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "enlarger/err.h"

struct enl_aws_response;

enum ddb_type {
	DDB_S,    /* S */
	DDB_INT,  /* N, read back as a JSON integer */
	DDB_REAL, /* N, read back as a JSON real */
	DDB_GPS,  /* M of latitude/longitude/altitude N, read back as an object of reals */
};

/* DDB_LEGACY: a name an older version wrote; only ever removed (by complete). */
enum ddb_kind { DDB_CONTROL, DDB_RESULT, DDB_LEGACY };

struct ddb_field {
	const char *name;
	enum ddb_type type;
	enum ddb_kind kind;
};

extern const struct ddb_field ddb_fields[];
extern const size_t ddb_n_fields;

/* {"S": s} and {"N": "<v>"}: new references (NULL on allocation failure). */
json_t *ddb_av_s(const char *s);
json_t *ddb_av_int(long long v);

/* The shortest decimal that reads back as v. ENL_EINVAL for NaN/infinity or no room. */
int ddb_number(char *out, size_t cap, double v);

/* The AttributeValue of result field f from complete's fields (borrowed): *out a new
 * reference, or NULL when the field is absent (then it is removed). ENL_EINVAL naming
 * the field when its JSON type is wrong. */
int ddb_result_value(json_t **out, const struct ddb_field *f, json_t *fields, struct enl_errmsg *e);

/* A GetItem "Item" (borrowed) as the flat JSON of enl_table_get: the key and the known
 * attributes only, numbers typed by the field table. New reference, NULL on ENOMEM. */
json_t *ddb_item_to_json(json_t *item, const char *key_attr);

/* dynamodb.c: the short error name of a DynamoDB error body
 * ("ConditionalCheckFailedException" from
 * "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"), identifier
 * characters only; "" if none. */
void ddb_error_type(const struct enl_aws_response *r, char *out, size_t cap);

/* Whether key_attr is one of the item's attribute names (any case). */
int ddb_key_clashes(const char *key_attr);

#endif
