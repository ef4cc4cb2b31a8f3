/* The SQLite photo table's columns: one per field of docs/photo-item.md. The field
 * table, the schema (create, add missing columns), the statements built at open, and
 * the mapping between the item's JSON fields and the columns. */
#include "sqlite_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "enlarger/clock.h"
#include "enlarger/names.h"

#define SQLITE_IDENT_MAX 255

enum ftype { F_TEXT, F_INT, F_REAL };

/* Control columns are written by claim/complete/fail only; result columns by
 * complete, which replaces all of them (absent = NULL), so a reprocessed photo
 * never keeps a previous version's GPS or EXIF. */
enum fkind { K_CONTROL, K_RESULT };

struct field {
	const char *name;
	enum ftype type;
	enum fkind kind;
	const char *gps; /* member of the nested "gps" object, or NULL */
};

/* Column order = the order get() writes them. */
static const struct field fields[] = {
    {"bucket", F_TEXT, K_CONTROL, NULL},
    {"objectKey", F_TEXT, K_CONTROL, NULL},
    {"processingStatus", F_TEXT, K_CONTROL, NULL},
    {"processingError", F_TEXT, K_CONTROL, NULL},
    {"sequencer", F_TEXT, K_CONTROL, NULL},
    {"etag", F_TEXT, K_CONTROL, NULL},
    {"attempt", F_TEXT, K_CONTROL, NULL},
    {"leaseUntil", F_INT, K_CONTROL, NULL},
    {"thumbnailKey", F_TEXT, K_RESULT, NULL},
    {"optimizedKey", F_TEXT, K_RESULT, NULL},
    {"thumbnailJpegKey", F_TEXT, K_RESULT, NULL},
    {"optimizedJpegKey", F_TEXT, K_RESULT, NULL},
    {"version", F_TEXT, K_RESULT, NULL},
    {"width", F_INT, K_RESULT, NULL},
    {"height", F_INT, K_RESULT, NULL},
    {"fileSize", F_INT, K_RESULT, NULL},
    {"thumbnailSize", F_INT, K_RESULT, NULL},
    {"optimizedSize", F_INT, K_RESULT, NULL},
    {"thumbnailJpegSize", F_INT, K_RESULT, NULL},
    {"optimizedJpegSize", F_INT, K_RESULT, NULL},
    {"cameraMake", F_TEXT, K_RESULT, NULL},
    {"cameraModel", F_TEXT, K_RESULT, NULL},
    {"lensModel", F_TEXT, K_RESULT, NULL},
    {"dateTaken", F_TEXT, K_RESULT, NULL},
    {"iso", F_INT, K_RESULT, NULL},
    {"focalLength", F_TEXT, K_RESULT, NULL},
    {"focalLengthMm", F_REAL, K_RESULT, NULL},
    {"aperture", F_TEXT, K_RESULT, NULL},
    {"fNumber", F_REAL, K_RESULT, NULL},
    {"shutterSpeed", F_TEXT, K_RESULT, NULL},
    {"exposureSeconds", F_REAL, K_RESULT, NULL},
    {"orientation", F_INT, K_RESULT, NULL},
    {"software", F_TEXT, K_RESULT, NULL},
    {"artist", F_TEXT, K_RESULT, NULL},
    {"copyright", F_TEXT, K_RESULT, NULL},
    {"gpsLatitude", F_REAL, K_RESULT, "latitude"},
    {"gpsLongitude", F_REAL, K_RESULT, "longitude"},
    {"gpsAltitude", F_REAL, K_RESULT, "altitude"},
    {"blurhash", F_TEXT, K_RESULT, NULL},
    {"dominantColor", F_TEXT, K_RESULT, NULL},
    {"sourceFormat", F_TEXT, K_RESULT, NULL},
    {"processedAt", F_TEXT, K_RESULT, NULL},
    {"updatedAt", F_TEXT, K_CONTROL, NULL},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* Table and attribute names as DynamoDB allows them ([A-Za-z0-9_.-]), so one
 * configuration serves both backends. They are also quoted in SQL ("%w"). */
int enl_sqlite_ident_ok(const char *s)
{
	return enl_ident_ok(s, SQLITE_IDENT_MAX) && strncasecmp(s, "sqlite_", 7) != 0;
}

int enl_sqlite_key_clashes(const char *key_attr)
{
	for (size_t k = 0; k < N_FIELDS; k++)
		if (strcasecmp(key_attr, fields[k].name) == 0 || strcasecmp(key_attr, "gps") == 0)
			return 1;
	return 0;
}

/* ---- schema and SQL ---- */

static const char *sql_type(enum ftype t)
{
	return t == F_INT ? "INTEGER" : t == F_REAL ? "REAL" : "TEXT";
}

/* Columns an older version named otherwise, renamed in place so their values stay:
 * the gallery's Photo model names (cameraMake, cameraModel, shutterSpeed), and the
 * numeric focal length, whose old name is now the gallery's string (only while that
 * column is still REAL). */
static const struct {
	const char *from, *to, *only_type;
} renames[] = {
    {"make", "cameraMake", NULL},
    {"model", "cameraModel", NULL},
    {"exposureTime", "shutterSpeed", NULL},
    {"focalLength", "focalLengthMm", "REAL"},
};

/* 1 and its declared type in type[cap] when the table has column name, 0 when not, or
 * a negative enl_err. */
static int column_type(sqlite3 *db, const char *table, const char *name, char *type, size_t cap,
                       struct enl_errmsg *e)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_mprintf("SELECT type FROM pragma_table_info('%q') WHERE name = '%q'",
	                            table, name);
	if (!sql)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (src != SQLITE_OK)
		return enl_sqlite_db_fail(db, src, "inspect table", e);
	src = sqlite3_step(st);
	int found = src == SQLITE_ROW;
	if (found && type)
		snprintf(type, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return enl_sqlite_db_fail(db, src, "inspect table", e);
	return found;
}

static int exec_fmt(sqlite3 *db, const char *what, struct enl_errmsg *e, char *sql)
{
	if (!sql)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	int src = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	return src == SQLITE_OK ? ENL_OK : enl_sqlite_db_fail(db, src, what, e);
}

static int rename_old_columns(sqlite3 *db, const char *table, struct enl_errmsg *e)
{
	for (size_t i = 0; i < sizeof(renames) / sizeof(renames[0]); i++) {
		char type[32] = "";
		int has_from = column_type(db, table, renames[i].from, type, sizeof(type), e);
		if (has_from < 0)
			return has_from;
		int has_to = column_type(db, table, renames[i].to, NULL, 0, e);
		if (has_to < 0)
			return has_to;
		if (!has_from || has_to ||
		    (renames[i].only_type && strcasecmp(type, renames[i].only_type) != 0))
			continue;
		int rc =
		    exec_fmt(db, "migrate table", e,
		             sqlite3_mprintf("ALTER TABLE \"%w\" RENAME COLUMN \"%w\" TO \"%w\"",
		                             table, renames[i].from, renames[i].to));
		if (rc)
			return rc;
	}
	return ENL_OK;
}

/* Rows written before the gallery's strings existed get them from their numeric twins,
 * by the rule of src/core/exif.c (one decimal for an aperture, two below f/1; two for a
 * focal length; no trailing zeros), so the gallery shows them without a reprocess. */
static int backfill_strings(sqlite3 *db, const char *table, struct enl_errmsg *e)
{
	return exec_fmt(
	    db, "migrate table", e,
	    sqlite3_mprintf(
	        "UPDATE \"%w\" SET aperture = CASE WHEN fNumber IS NULL THEN NULL ELSE "
	        "rtrim(rtrim(printf(CASE WHEN fNumber < 1 THEN '%%.2f' ELSE '%%.1f' END, "
	        "fNumber), '0'), '.') END, focalLength = CASE WHEN focalLengthMm IS NULL THEN "
	        "NULL ELSE rtrim(rtrim(printf('%%.2f', focalLengthMm), '0'), '.') END "
	        "WHERE aperture IS NULL AND focalLength IS NULL",
	        table));
}

/* Creates the table, and adds the columns an older version of it lacks (renaming the
 * ones an older version named otherwise first). */
int enl_sqlite_schema_ensure(sqlite3 *db, const char *table, const char *key, struct enl_errmsg *e)
{
	int rc = ENL_OK;
	sqlite3_str *s = sqlite3_str_new(db);
	sqlite3_str_appendf(
	    s, "CREATE TABLE IF NOT EXISTS \"%w\" (\"%w\" TEXT PRIMARY KEY NOT NULL", table, key);
	for (size_t k = 0; k < N_FIELDS; k++)
		sqlite3_str_appendf(s, ", \"%w\" %s", fields[k].name, sql_type(fields[k].type));
	sqlite3_str_appendf(s, ")");
	if ((rc = exec_fmt(db, "create table", e, sqlite3_str_finish(s))))
		return rc;
	if ((rc = rename_old_columns(db, table, e)))
		return rc;

	int added_strings = 0;
	for (size_t k = 0; k < N_FIELDS; k++) {
		int has = column_type(db, table, fields[k].name, NULL, 0, e);
		if (has < 0)
			return has;
		if (has)
			continue;
		rc = exec_fmt(db, "migrate table", e,
		              sqlite3_mprintf("ALTER TABLE \"%w\" ADD COLUMN \"%w\" %s", table,
		                              fields[k].name, sql_type(fields[k].type)));
		if (rc)
			return rc;
		added_strings |= strcmp(fields[k].name, "aperture") == 0;
	}
	return added_strings ? backfill_strings(db, table, e) : ENL_OK;
}

/* "UPDATE <table> SET <set>, <every result column> = <value><where>", where has one "%w"
 * for the key column: complete sets the result, a delete clears it. sqlite3_free it. */
static char *results_update(sqlite3 *db, const char *table, const char *key, const char *set,
                            const char *value, const char *where)
{
	sqlite3_str *s = sqlite3_str_new(db);
	sqlite3_str_appendf(s, "UPDATE \"%w\" SET %s", table, set);
	for (size_t k = 0; k < N_FIELDS; k++)
		if (fields[k].kind == K_RESULT)
			sqlite3_str_appendf(s, ", \"%w\" = %s", fields[k].name, value);
	sqlite3_str_appendf(s, where, key);
	return sqlite3_str_finish(s);
}

int enl_sqlite_build_sql(struct sqlite_table *t, sqlite3 *db, const char *table, const char *key)
{
	t->sql_select_claim = sqlite3_mprintf(
	    "SELECT sequencer, etag, processingStatus, leaseUntil FROM \"%w\" WHERE \"%w\" = ?1",
	    table, key);
	t->sql_upsert_claim = sqlite3_mprintf(
	    "INSERT INTO \"%w\" (\"%w\", bucket, objectKey, processingStatus, processingError, "
	    "sequencer, etag, attempt, leaseUntil, updatedAt) "
	    "VALUES (?1, ?2, ?3, 'processing', NULL, ?4, ?5, ?6, ?7, ?8) "
	    "ON CONFLICT(\"%w\") DO UPDATE SET bucket = COALESCE(excluded.bucket, bucket), "
	    "objectKey = COALESCE(excluded.objectKey, objectKey), processingStatus = 'processing', "
	    "processingError = NULL, sequencer = COALESCE(excluded.sequencer, sequencer), "
	    "etag = excluded.etag, attempt = excluded.attempt, leaseUntil = excluded.leaseUntil, "
	    "updatedAt = excluded.updatedAt",
	    table, key, key);
	t->sql_complete = results_update(db, table, key,
	                                 "processingStatus = 'completed', processingError = NULL, "
	                                 "leaseUntil = NULL",
	                                 "?", ", updatedAt = ? WHERE \"%w\" = ? AND attempt = ?");
	t->sql_fail = sqlite3_mprintf("UPDATE \"%w\" SET processingStatus = 'failed', "
	                              "processingError = ?1, leaseUntil = NULL, updatedAt = ?2 "
	                              "WHERE \"%w\" = ?3 AND attempt = ?4",
	                              table, key);
	/* Only a live claim of this attempt goes back to pending (never a result), and then
	 * no attempt owns it. */
	t->sql_release = sqlite3_mprintf("UPDATE \"%w\" SET processingStatus = 'pending', "
	                                 "processingError = ?1, leaseUntil = NULL, attempt = NULL, "
	                                 "updatedAt = ?2 WHERE \"%w\" = ?3 AND attempt = ?4 AND "
	                                 "processingStatus = 'processing'",
	                                 table, key);
	/* The heartbeat: only the lease of a live claim of this attempt moves (?2, the
	 * others' updatedAt, is left unused). */
	t->sql_renew = sqlite3_mprintf("UPDATE \"%w\" SET leaseUntil = ?1 WHERE \"%w\" = ?3 AND "
	                               "attempt = ?4 AND processingStatus = 'processing'",
	                               table, key);
	t->sql_select_delete = sqlite3_mprintf(
	    "SELECT sequencer, objectKey, processingStatus FROM \"%w\" WHERE \"%w\" = ?1", table,
	    key);
	/* A delete keeps where the original was (bucket, objectKey) and forgets the rest of
	 * it: every result column, and the version and owner (?1 sequencer or NULL to keep,
	 * ?2 updatedAt, ?3 key). */
	t->sql_mark_deleted = results_update(
	    db, table, key,
	    "processingStatus = 'deleted', sequencer = COALESCE(?1, sequencer), updatedAt = ?2, "
	    "processingError = NULL, etag = NULL, attempt = NULL, leaseUntil = NULL",
	    "NULL", " WHERE \"%w\" = ?3");
	sqlite3_str *s = sqlite3_str_new(db);
	sqlite3_str_appendf(s, "SELECT \"%w\"", key);
	for (size_t k = 0; k < N_FIELDS; k++)
		sqlite3_str_appendf(s, ", \"%w\"", fields[k].name);
	sqlite3_str_appendf(s, " FROM \"%w\" WHERE \"%w\" = ?1", table, key);
	t->sql_get = sqlite3_str_finish(s);
	return (t->sql_select_claim && t->sql_upsert_claim && t->sql_complete && t->sql_fail &&
	        t->sql_release && t->sql_renew && t->sql_select_delete && t->sql_mark_deleted &&
	        t->sql_get)
	           ? ENL_OK
	           : ENL_ENOMEM;
}

/* ---- JSON fields and columns ---- */

/* Binds the value for result column f from fields (borrowed) at index i. */
static int bind_result(sqlite3_stmt *st, int i, const struct field *f, json_t *fieldsobj,
                       int64_t now, struct enl_errmsg *e)
{
	json_t *v;
	if (f->gps) {
		json_t *gps = json_object_get(fieldsobj, "gps");
		v = json_is_object(gps) ? json_object_get(gps, f->gps)
		                        : json_object_get(fieldsobj, f->name);
	} else {
		v = json_object_get(fieldsobj, f->name);
	}
	if (!v || json_is_null(v)) {
		if (strcmp(f->name, "processedAt") == 0) {
			char when[32];
			enl_iso8601_ms(now, when);
			return sqlite3_bind_text(st, i, when, -1, SQLITE_TRANSIENT) == SQLITE_OK
			           ? ENL_OK
			           : ENL_ENOMEM;
		}
		sqlite3_bind_null(st, i);
		return ENL_OK;
	}
	switch (f->type) {
	case F_TEXT:
		if (!json_is_string(v))
			return enl_fail(e, ENL_EINVAL, "field %s must be a string", f->name);
		sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v),
		                  SQLITE_TRANSIENT);
		return ENL_OK;
	case F_INT:
		if (json_is_integer(v)) {
			sqlite3_bind_int64(st, i, json_integer_value(v));
			return ENL_OK;
		}
		if (json_is_real(v) && json_real_value(v) >= -9.0e18 &&
		    json_real_value(v) <= 9.0e18 &&
		    json_real_value(v) == (double)(int64_t)json_real_value(v)) {
			sqlite3_bind_int64(st, i, (int64_t)json_real_value(v));
			return ENL_OK;
		}
		return enl_fail(e, ENL_EINVAL, "field %s must be an integer", f->name);
	case F_REAL:
		if (!json_is_number(v))
			return enl_fail(e, ENL_EINVAL, "field %s must be a number", f->name);
		sqlite3_bind_double(st, i, json_number_value(v));
		return ENL_OK;
	}
	return ENL_EINTERNAL;
}

int enl_sqlite_bind_results(sqlite3_stmt *st, json_t *fieldsobj, int64_t now, int *next,
                            struct enl_errmsg *e)
{
	int i = 1;
	for (size_t k = 0; k < N_FIELDS; k++) {
		if (fields[k].kind != K_RESULT)
			continue;
		int rc = bind_result(st, i++, &fields[k], fieldsobj, now, e);
		if (rc)
			return rc;
	}
	*next = i;
	return ENL_OK;
}

json_t *enl_sqlite_row_json(sqlite3_stmt *st, const char *key_attr, const char *photo_id)
{
	json_t *item = json_object(), *gps = json_object();
	json_t *out = NULL;
	if (!item || !gps)
		goto done;
	json_object_set_new(item, key_attr, json_string(photo_id));
	for (size_t k = 0; k < N_FIELDS; k++) {
		int col = (int)k + 1;
		if (sqlite3_column_type(st, col) == SQLITE_NULL)
			continue;
		json_t *v = NULL;
		switch (fields[k].type) {
		case F_TEXT:
			v = json_stringn((const char *)sqlite3_column_text(st, col),
			                 (size_t)sqlite3_column_bytes(st, col));
			break;
		case F_INT: v = json_integer(sqlite3_column_int64(st, col)); break;
		case F_REAL: v = json_real(sqlite3_column_double(st, col)); break;
		}
		if (!v)
			goto done;
		json_object_set_new(fields[k].gps ? gps : item,
		                    fields[k].gps ? fields[k].gps : fields[k].name, v);
	}
	if (json_object_size(gps) > 0)
		json_object_set(item, "gps", gps);
	out = item;
	item = NULL;
done:
	json_decref(item);
	json_decref(gps);
	return out;
}
