/* SQLite photo table (the embedded default): one row per photo, one column per
 * field of docs/photo-item.md, claims decided in one BEGIN IMMEDIATE transaction.
 *
 * Threads: a small pool of connections (one per concurrent caller, up to
 * SQLITE_POOL_MAX), each used by one thread at a time, in WAL mode with a busy
 * timeout, so readers never block the writer and writers queue on SQLite's lock.
 * synchronous=NORMAL: in WAL mode the database cannot be corrupted by a power cut;
 * the last transactions before it may be lost, and a lost claim or result is
 * redone by the event's retry. */
#include "enlarger/table.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "enlarger/log.h"

#define SQLITE_POOL_MAX 16
#define SQLITE_BUSY_MS 5000
#define SQLITE_IDENT_MAX 255
#define SQLITE_REASON_MAX 1000

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
    {"width", F_INT, K_RESULT, NULL},
    {"height", F_INT, K_RESULT, NULL},
    {"fileSize", F_INT, K_RESULT, NULL},
    {"thumbnailSize", F_INT, K_RESULT, NULL},
    {"optimizedSize", F_INT, K_RESULT, NULL},
    {"thumbnailJpegSize", F_INT, K_RESULT, NULL},
    {"optimizedJpegSize", F_INT, K_RESULT, NULL},
    {"make", F_TEXT, K_RESULT, NULL},
    {"model", F_TEXT, K_RESULT, NULL},
    {"lensModel", F_TEXT, K_RESULT, NULL},
    {"dateTaken", F_TEXT, K_RESULT, NULL},
    {"iso", F_INT, K_RESULT, NULL},
    {"focalLength", F_REAL, K_RESULT, NULL},
    {"fNumber", F_REAL, K_RESULT, NULL},
    {"exposureTime", F_TEXT, K_RESULT, NULL},
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

struct sqlite_table {
	struct enl_table base; /* first: the dispatch casts */
	char *path;
	char *key_attr;
	/* SQL built once at open, with the configured (validated, quoted) names. */
	char *sql_select_claim;
	char *sql_upsert_claim;
	char *sql_complete;
	char *sql_fail;
	char *sql_get;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *conns[SQLITE_POOL_MAX];
	int in_use[SQLITE_POOL_MAX];
	int n_conns;
};

/* Table and attribute names as DynamoDB allows them ([A-Za-z0-9_.-]), so one
 * configuration serves both backends. They are also quoted in SQL ("%w"). */
static int ident_ok(const char *s)
{
	if (!s || !s[0] || strlen(s) > SQLITE_IDENT_MAX || strncasecmp(s, "sqlite_", 7) == 0)
		return 0;
	for (const char *p = s; *p; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		         (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-';
		if (!ok)
			return 0;
	}
	return 1;
}

/* A table error for the client (SQLite's generic text, never a path) and the
 * connection's detailed message for the log. */
static int db_fail(sqlite3 *db, int src, const char *what, struct enl_errmsg *e)
{
	enl_logf(ENL_LOG_WARN, "sqlite table: %s: %s", what, db ? sqlite3_errmsg(db) : "");
	int code = (src == SQLITE_BUSY || src == SQLITE_LOCKED) ? ENL_ETIMEOUT : ENL_EIO;
	return enl_fail(e, code, "photo table: %s failed: %s", what, sqlite3_errstr(src));
}

static void iso_time(int64_t ms, char out[32])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connections ---- */

static int conn_open(struct sqlite_table *t, sqlite3 **out, struct enl_errmsg *e)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
	    t->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int r = db_fail(db, rc, "open", e);
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, SQLITE_BUSY_MS);
	rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
	                  NULL);
	if (rc != SQLITE_OK) {
		int r = db_fail(db, rc, "open", e);
		sqlite3_close(db);
		return r;
	}
	*out = db;
	return ENL_OK;
}

/* Takes an idle connection, opening one when all are busy (up to the pool size). */
static int conn_get(struct sqlite_table *t, sqlite3 **out, struct enl_errmsg *e)
{
	int rc = ENL_OK;
	pthread_mutex_lock(&t->mu);
	for (;;) {
		for (int i = 0; i < t->n_conns; i++) {
			if (!t->in_use[i]) {
				t->in_use[i] = 1;
				*out = t->conns[i];
				goto done;
			}
		}
		if (t->n_conns < SQLITE_POOL_MAX) {
			rc = conn_open(t, out, e);
			if (rc == ENL_OK) {
				t->conns[t->n_conns] = *out;
				t->in_use[t->n_conns] = 1;
				t->n_conns++;
			}
			goto done;
		}
		pthread_cond_wait(&t->cv, &t->mu);
	}
done:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static void conn_put(struct sqlite_table *t, sqlite3 *db)
{
	pthread_mutex_lock(&t->mu);
	for (int i = 0; i < t->n_conns; i++)
		if (t->conns[i] == db)
			t->in_use[i] = 0;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* ---- claim ---- */

static const char *strip_quotes(const char *etag, char *buf, size_t cap)
{
	if (!etag)
		return NULL;
	size_t n = strlen(etag);
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		snprintf(buf, cap, "%.*s", (int)(n - 2), etag + 1);
		return buf;
	}
	return etag;
}

/* The claim rules (docs/photo-item.md), given the stored row (has_row 0: none). */
static enum enl_claim_result claim_decide(int has_row, const char *st_seq, const char *st_etag,
                                          const char *status, int64_t lease_until, const char *seq,
                                          const char *etag, int64_t now)
{
	if (!has_row)
		return ENL_CLAIM_OK;
	int done = status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0);
	int live = status && strcmp(status, "processing") == 0 && lease_until > now;
	if (seq && st_seq && st_seq[0]) {
		int c = strcmp(st_seq, seq);
		if (c < 0)
			return ENL_CLAIM_OK; /* newer: take over, even from a live older attempt */
		if (c > 0)
			return ENL_CLAIM_STALE;
		return done ? ENL_CLAIM_DUPLICATE : live ? ENL_CLAIM_BUSY : ENL_CLAIM_OK;
	}
	/* No sequencer on one side (a curl request, or a row a curl request made): the
	 * ETag says whether it is the same object. */
	if (etag && st_etag && strcmp(etag, st_etag) == 0)
		return done ? ENL_CLAIM_DUPLICATE : live ? ENL_CLAIM_BUSY : ENL_CLAIM_OK;
	return ENL_CLAIM_OK;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static int sqlite_claim(struct enl_table *tb, const struct enl_claim_req *req,
                        enum enl_claim_result *out, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int in_tx = 0, src;
	char seq[ENL_SEQ_WIDTH + 1], etagbuf[128], when[32];
	const char *seqp = NULL;
	const char *etag = strip_quotes(req->etag, etagbuf, sizeof(etagbuf));

	if (req->sequencer) {
		if (enl_seq_pad(req->sequencer, seq) != ENL_OK)
			return enl_fail(e, ENL_EINVAL,
			                "sequencer is not a hex string of at most %d",
			                ENL_SEQ_WIDTH);
		seqp = seq;
	}
	int rc = conn_get(t, &db, e);
	if (rc)
		return rc;
	src = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (src != SQLITE_OK) {
		rc = db_fail(db, src, "claim", e);
		goto done;
	}
	in_tx = 1;

	src = sqlite3_prepare_v2(db, t->sql_select_claim, -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_bind_text(st, 1, req->photo_id, -1, SQLITE_TRANSIENT);
	if (src != SQLITE_OK) {
		rc = db_fail(db, src, "claim", e);
		goto done;
	}
	src = sqlite3_step(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = db_fail(db, src, "claim", e);
		goto done;
	}
	enum enl_claim_result res = claim_decide(
	    src == SQLITE_ROW, (const char *)sqlite3_column_text(st, 0),
	    (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
	    sqlite3_column_int64(st, 3), seqp, etag, req->now_ms);
	sqlite3_finalize(st);
	st = NULL;

	if (res == ENL_CLAIM_OK) {
		iso_time(req->now_ms, when);
		src = sqlite3_prepare_v2(db, t->sql_upsert_claim, -1, &st, NULL);
		if (src == SQLITE_OK) {
			sqlite3_bind_text(st, 1, req->photo_id, -1, SQLITE_TRANSIENT);
			bind_text(st, 2, req->bucket);
			bind_text(st, 3, req->key);
			bind_text(st, 4, seqp);
			bind_text(st, 5, etag);
			bind_text(st, 6, req->attempt);
			sqlite3_bind_int64(st, 7, req->now_ms + req->lease_ms);
			bind_text(st, 8, when);
			src = sqlite3_step(st);
		}
		if (src != SQLITE_DONE) {
			rc = db_fail(db, src, "claim", e);
			goto done;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	src = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (src != SQLITE_OK) {
		rc = db_fail(db, src, "claim", e);
		goto done;
	}
	in_tx = 0;
	*out = res;
	rc = ENL_OK;
done:
	sqlite3_finalize(st);
	if (in_tx)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	conn_put(t, db);
	return rc;
}

/* ---- complete / fail ---- */

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
			iso_time(now, when);
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

static int run_owned_update(struct sqlite_table *t, sqlite3 *db, sqlite3_stmt *st, const char *what,
                            struct enl_errmsg *e)
{
	(void)t;
	int src = sqlite3_step(st);
	if (src != SQLITE_DONE)
		return db_fail(db, src, what, e);
	if (sqlite3_changes(db) == 0)
		return enl_fail(e, ENL_ECONFLICT, "a newer attempt owns this photo");
	return ENL_OK;
}

static int sqlite_complete(struct enl_table *tb, const char *photo_id, const char *attempt,
                           json_t *fieldsobj, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char when[32];
	int64_t now = now_ms();
	if (fieldsobj && !json_is_object(fieldsobj))
		return enl_fail(e, ENL_EINVAL, "result fields must be an object");
	int rc = conn_get(t, &db, e);
	if (rc)
		return rc;
	int src = sqlite3_prepare_v2(db, t->sql_complete, -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = db_fail(db, src, "complete", e);
		goto done;
	}
	/* Parameters: one per result column in order, then updatedAt, key, attempt. */
	int i = 1;
	for (size_t k = 0; k < N_FIELDS; k++) {
		if (fields[k].kind != K_RESULT)
			continue;
		rc = bind_result(st, i++, &fields[k], fieldsobj, now, e);
		if (rc)
			goto done;
	}
	iso_time(now, when);
	sqlite3_bind_text(st, i++, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, photo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, attempt, -1, SQLITE_TRANSIENT);
	rc = run_owned_update(t, db, st, "complete", e);
done:
	sqlite3_finalize(st);
	conn_put(t, db);
	return rc;
}

static int sqlite_fail(struct enl_table *tb, const char *photo_id, const char *attempt,
                       const char *reason, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char when[32];
	iso_time(now_ms(), when);
	/* Cap the reason, cutting on a UTF-8 character boundary. */
	size_t n = strnlen(reason, SQLITE_REASON_MAX + 1);
	if (n > SQLITE_REASON_MAX) {
		n = SQLITE_REASON_MAX;
		while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
			n--;
	}
	int rc = conn_get(t, &db, e);
	if (rc)
		return rc;
	int src = sqlite3_prepare_v2(db, t->sql_fail, -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = db_fail(db, src, "fail", e);
		goto done;
	}
	sqlite3_bind_text(st, 1, reason, (int)n, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, photo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, attempt, -1, SQLITE_TRANSIENT);
	rc = run_owned_update(t, db, st, "fail", e);
done:
	sqlite3_finalize(st);
	conn_put(t, db);
	return rc;
}

/* ---- get ---- */

static int sqlite_get(struct enl_table *tb, const char *photo_id, json_t **out,
                      struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *item = NULL, *gps = NULL;
	int rc = conn_get(t, &db, e);
	if (rc)
		return rc;
	int src = sqlite3_prepare_v2(db, t->sql_get, -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_bind_text(st, 1, photo_id, -1, SQLITE_TRANSIENT);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = enl_fail(e, ENL_ENOTFOUND, "no such photo");
		goto done;
	}
	if (src != SQLITE_ROW) {
		rc = db_fail(db, src, "get", e);
		goto done;
	}
	item = json_object();
	gps = json_object();
	if (!item || !gps) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	json_object_set_new(item, t->key_attr, json_string(photo_id));
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
		if (!v) {
			rc = enl_fail(e, ENL_ENOMEM, "out of memory");
			goto done;
		}
		json_object_set_new(fields[k].gps ? gps : item,
		                    fields[k].gps ? fields[k].gps : fields[k].name, v);
	}
	if (json_object_size(gps) > 0)
		json_object_set(item, "gps", gps);
	*out = item;
	item = NULL;
	rc = ENL_OK;
done:
	json_decref(item);
	json_decref(gps);
	sqlite3_finalize(st);
	conn_put(t, db);
	return rc;
}

static int sqlite_ping(struct enl_table *tb, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	sqlite3 *db = NULL;
	int rc = conn_get(t, &db, e);
	if (rc)
		return rc;
	int src = sqlite3_exec(db, "SELECT 1", NULL, NULL, NULL);
	if (src != SQLITE_OK)
		rc = db_fail(db, src, "ping", e);
	conn_put(t, db);
	return rc;
}

static void sqlite_destroy(struct enl_table *tb)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	if (!t)
		return;
	for (int i = 0; i < t->n_conns; i++)
		sqlite3_close(t->conns[i]);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t->path);
	free(t->key_attr);
	sqlite3_free(t->sql_select_claim);
	sqlite3_free(t->sql_upsert_claim);
	sqlite3_free(t->sql_complete);
	sqlite3_free(t->sql_fail);
	sqlite3_free(t->sql_get);
	free(t);
}

static const struct enl_table_ops sqlite_ops = {
    .claim = sqlite_claim,
    .complete = sqlite_complete,
    .fail = sqlite_fail,
    .get = sqlite_get,
    .ping = sqlite_ping,
    .destroy = sqlite_destroy,
};

/* ---- schema and SQL ---- */

static const char *sql_type(enum ftype t)
{
	return t == F_INT ? "INTEGER" : t == F_REAL ? "REAL" : "TEXT";
}

/* Creates the table, and adds the columns an older version of it lacks. */
static int schema_ensure(sqlite3 *db, const char *table, const char *key, struct enl_errmsg *e)
{
	int rc = ENL_OK;
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	sqlite3_str *s = sqlite3_str_new(db);
	sqlite3_str_appendf(
	    s, "CREATE TABLE IF NOT EXISTS \"%w\" (\"%w\" TEXT PRIMARY KEY NOT NULL", table, key);
	for (size_t k = 0; k < N_FIELDS; k++)
		sqlite3_str_appendf(s, ", \"%w\" %s", fields[k].name, sql_type(fields[k].type));
	sqlite3_str_appendf(s, ")");
	sql = sqlite3_str_finish(s);
	if (!sql)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	int src = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	if (src != SQLITE_OK)
		return db_fail(db, src, "create table", e);

	for (size_t k = 0; k < N_FIELDS; k++) {
		sql = sqlite3_mprintf("SELECT 1 FROM pragma_table_info('%q') WHERE name = '%q'",
		                      table, fields[k].name);
		if (!sql)
			return enl_fail(e, ENL_ENOMEM, "out of memory");
		src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
		sqlite3_free(sql);
		if (src != SQLITE_OK)
			return db_fail(db, src, "inspect table", e);
		src = sqlite3_step(st);
		sqlite3_finalize(st);
		if (src == SQLITE_ROW)
			continue;
		sql = sqlite3_mprintf("ALTER TABLE \"%w\" ADD COLUMN \"%w\" %s", table,
		                      fields[k].name, sql_type(fields[k].type));
		if (!sql)
			return enl_fail(e, ENL_ENOMEM, "out of memory");
		src = sqlite3_exec(db, sql, NULL, NULL, NULL);
		sqlite3_free(sql);
		if (src != SQLITE_OK)
			return db_fail(db, src, "migrate table", e);
	}
	return rc;
}

static int build_sql(struct sqlite_table *t, sqlite3 *db, const char *table, const char *key)
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
	sqlite3_str *s = sqlite3_str_new(db);
	sqlite3_str_appendf(s,
	                    "UPDATE \"%w\" SET processingStatus = 'completed', "
	                    "processingError = NULL, leaseUntil = NULL",
	                    table);
	for (size_t k = 0; k < N_FIELDS; k++)
		if (fields[k].kind == K_RESULT)
			sqlite3_str_appendf(s, ", \"%w\" = ?", fields[k].name);
	sqlite3_str_appendf(s, ", updatedAt = ? WHERE \"%w\" = ? AND attempt = ?", key);
	t->sql_complete = sqlite3_str_finish(s);
	t->sql_fail = sqlite3_mprintf("UPDATE \"%w\" SET processingStatus = 'failed', "
	                              "processingError = ?1, leaseUntil = NULL, updatedAt = ?2 "
	                              "WHERE \"%w\" = ?3 AND attempt = ?4",
	                              table, key);
	s = sqlite3_str_new(db);
	sqlite3_str_appendf(s, "SELECT \"%w\"", key);
	for (size_t k = 0; k < N_FIELDS; k++)
		sqlite3_str_appendf(s, ", \"%w\"", fields[k].name);
	sqlite3_str_appendf(s, " FROM \"%w\" WHERE \"%w\" = ?1", table, key);
	t->sql_get = sqlite3_str_finish(s);
	return (t->sql_select_claim && t->sql_upsert_claim && t->sql_complete && t->sql_fail &&
	        t->sql_get)
	           ? ENL_OK
	           : ENL_ENOMEM;
}

int enl_table_sqlite_open(const char *path, const char *table, const char *key_attr,
                          struct enl_table **out, struct enl_errmsg *e)
{
	*out = NULL;
	if (!path || !path[0] || strcmp(path, ":memory:") == 0)
		return enl_fail(e, ENL_EINVAL, "sqlite table: needs a file path");
	if (!ident_ok(table))
		return enl_fail(e, ENL_EINVAL,
		                "sqlite table: table name must be 1-255 of A-Z a-z 0-9 _ . -");
	if (!ident_ok(key_attr))
		return enl_fail(e, ENL_EINVAL,
		                "sqlite table: key attribute must be 1-255 of A-Z a-z 0-9 _ . -");
	for (size_t k = 0; k < N_FIELDS; k++)
		if (strcasecmp(key_attr, fields[k].name) == 0 || strcasecmp(key_attr, "gps") == 0)
			return enl_fail(e, ENL_EINVAL,
			                "sqlite table: key attribute clashes with a field");

	struct sqlite_table *t = calloc(1, sizeof(*t));
	if (!t)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->base.ops = &sqlite_ops;
	t->base.name = "sqlite";
	t->path = strdup(path);
	t->key_attr = strdup(key_attr);
	int rc = (t->path && t->key_attr) ? ENL_OK : enl_fail(e, ENL_ENOMEM, "out of memory");
	sqlite3 *db = NULL;
	if (!rc)
		rc = conn_get(t, &db, e);
	if (!rc)
		rc = schema_ensure(db, table, key_attr, e);
	if (!rc && build_sql(t, db, table, key_attr) != ENL_OK)
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
	if (db)
		conn_put(t, db);
	if (rc) {
		sqlite_destroy(&t->base);
		return rc;
	}
	*out = &t->base;
	return ENL_OK;
}
