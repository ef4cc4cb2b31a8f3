/* SQLite photo table (the embedded default): the operations. One row per photo, one
 * column per field of docs/photo-item.md (sqlite_schema.c), claims decided in one
 * BEGIN IMMEDIATE transaction.
 *
 * Threads: a small pool of connections (one per concurrent caller, up to
 * SQLITE_POOL_MAX), each used by one thread at a time, in WAL mode with a busy
 * timeout, so readers never block the writer and writers queue on SQLite's lock.
 * synchronous=NORMAL: in WAL mode the database cannot be corrupted by a power cut;
 * the last transactions before it may be lost, and a lost claim or result is
 * redone by the event's retry. */
#include "claim_internal.h"
#include "enlarger/clock.h"
#include "sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* One decision and its write in a single BEGIN IMMEDIATE transaction, as the claim and
 * the delete need: select (?1 = photo_id) reads the row, decide (given the row's statement,
 * or NULL when there is none) returns 1 to write and 0 to leave it, bind binds write's
 * parameters. What = the operation, for errors. */
struct decided {
	const char *what;
	const char *select, *write;
	int (*decide)(void *ud, sqlite3_stmt *row);
	void (*bind)(void *ud, sqlite3_stmt *write);
	void *ud;
};

static int decided_write(struct sqlite_table *t, const char *photo_id, const struct decided *d,
                         struct enl_errmsg *e)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int in_tx = 0, src, do_write;
	int rc = enl_sqlite_conn_get(t, &db, e);
	if (rc)
		return rc;
	src = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (src != SQLITE_OK)
		goto db_fail;
	in_tx = 1;
	src = sqlite3_prepare_v2(db, d->select, -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_bind_text(st, 1, photo_id, -1, SQLITE_TRANSIENT);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		goto db_fail;
	do_write = d->decide(d->ud, src == SQLITE_ROW ? st : NULL);
	sqlite3_finalize(st);
	st = NULL;
	if (do_write) {
		src = sqlite3_prepare_v2(db, d->write, -1, &st, NULL);
		if (src == SQLITE_OK) {
			d->bind(d->ud, st);
			src = sqlite3_step(st);
		}
		if (src != SQLITE_DONE)
			goto db_fail;
		sqlite3_finalize(st);
		st = NULL;
	}
	src = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (src != SQLITE_OK)
		goto db_fail;
	in_tx = 0;
	rc = ENL_OK;
	goto done;
db_fail:
	rc = enl_sqlite_db_fail(db, src, d->what, e);
done:
	sqlite3_finalize(st);
	if (in_tx)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	enl_sqlite_conn_put(t, db);
	return rc;
}

/* ---- claim ---- */

struct claim_ctx {
	const struct enl_claim_req *req;
	enum enl_claim_result res;
	char when[32];
};

static int claim_decide(void *ud, sqlite3_stmt *row)
{
	struct claim_ctx *c = ud;
	const struct enl_claim_req *req = c->req;
	c->res = enl_table_claim_decide(
	    row != NULL, row ? (const char *)sqlite3_column_text(row, 0) : NULL,
	    row ? (const char *)sqlite3_column_text(row, 1) : NULL,
	    row ? (const char *)sqlite3_column_text(row, 2) : NULL,
	    row ? sqlite3_column_int64(row, 3) : 0, req->sequencer, req->etag, req->now_ms);
	return c->res == ENL_CLAIM_OK;
}

static void claim_bind(void *ud, sqlite3_stmt *st)
{
	struct claim_ctx *c = ud;
	const struct enl_claim_req *req = c->req;
	enl_iso8601_ms(req->now_ms, c->when);
	sqlite3_bind_text(st, 1, req->photo_id, -1, SQLITE_TRANSIENT);
	bind_text(st, 2, req->bucket);
	bind_text(st, 3, req->key);
	bind_text(st, 4, req->sequencer);
	bind_text(st, 5, req->etag);
	bind_text(st, 6, req->attempt);
	sqlite3_bind_int64(st, 7, req->now_ms + req->lease_ms);
	bind_text(st, 8, c->when);
}

static int sqlite_claim(struct enl_table *tb, const struct enl_claim_req *req,
                        enum enl_claim_result *out, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	struct claim_ctx c = {.req = req};
	struct decided d = {"claim",      t->sql_select_claim, t->sql_upsert_claim,
	                    claim_decide, claim_bind,          &c};
	int rc = decided_write(t, req->photo_id, &d, e);
	if (!rc)
		*out = c.res;
	return rc;
}

/* ---- complete / fail / release ---- */

static int run_owned_update(struct sqlite_table *t, sqlite3 *db, sqlite3_stmt *st, const char *what,
                            struct enl_errmsg *e)
{
	(void)t;
	int src = sqlite3_step(st);
	if (src != SQLITE_DONE)
		return enl_sqlite_db_fail(db, src, what, e);
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
	int64_t now = enl_wall_ms();
	int rc = enl_sqlite_conn_get(t, &db, e);
	if (rc)
		return rc;
	int src = sqlite3_prepare_v2(db, t->sql_complete, -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = enl_sqlite_db_fail(db, src, "complete", e);
		goto done;
	}
	/* Parameters: one per result column in order, then updatedAt, key, attempt. */
	int i = 1;
	rc = enl_sqlite_bind_results(st, fieldsobj, now, &i, e);
	if (rc)
		goto done;
	enl_iso8601_ms(now, when);
	sqlite3_bind_text(st, i++, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, photo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, attempt, -1, SQLITE_TRANSIENT);
	rc = run_owned_update(t, db, st, "complete", e);
done:
	sqlite3_finalize(st);
	enl_sqlite_conn_put(t, db);
	return rc;
}

/* fail, release and renew: one owned UPDATE (sql: ?1 the reason, or for renew the new
 * leaseUntil; ?2 updatedAt, which renew leaves alone: a heartbeat changes nothing a reader
 * cares about; ?3 key, ?4 attempt). */
static int owned_update(struct sqlite_table *t, const char *sql, const char *what,
                        const char *photo_id, const char *attempt, const char *reason,
                        int64_t lease_until_ms, struct enl_errmsg *e)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char when[32];
	enl_iso8601_ms(enl_wall_ms(), when);
	int rc = enl_sqlite_conn_get(t, &db, e);
	if (rc)
		return rc;
	int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = enl_sqlite_db_fail(db, src, what, e);
		goto done;
	}
	if (reason)
		sqlite3_bind_text(st, 1, reason, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(st, 1, lease_until_ms);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, photo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, attempt, -1, SQLITE_TRANSIENT);
	rc = run_owned_update(t, db, st, what, e);
done:
	sqlite3_finalize(st);
	enl_sqlite_conn_put(t, db);
	return rc;
}

static int sqlite_fail(struct enl_table *tb, const char *photo_id, const char *attempt,
                       const char *reason, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	return owned_update(t, t->sql_fail, "fail", photo_id, attempt, reason, 0, e);
}

static int sqlite_release(struct enl_table *tb, const char *photo_id, const char *attempt,
                          const char *reason, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	return owned_update(t, t->sql_release, "release", photo_id, attempt, reason, 0, e);
}

static int sqlite_renew(struct enl_table *tb, const char *photo_id, const char *attempt,
                        int64_t lease_until_ms, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	return owned_update(t, t->sql_renew, "renew", photo_id, attempt, NULL, lease_until_ms, e);
}

/* ---- delete ---- */

struct delete_ctx {
	const struct enl_delete_req *req;
	enum enl_delete_result res;
	char when[32];
};

static int delete_decide(void *ud, sqlite3_stmt *row)
{
	struct delete_ctx *c = ud;
	c->res = enl_table_delete_decide(
	    row != NULL, row ? (const char *)sqlite3_column_text(row, 0) : NULL,
	    row ? (const char *)sqlite3_column_text(row, 1) : NULL,
	    row ? (const char *)sqlite3_column_text(row, 2) : NULL, c->req->sequencer, c->req->key);
	return c->res == ENL_DELETE_OK;
}

static void delete_bind(void *ud, sqlite3_stmt *st)
{
	struct delete_ctx *c = ud;
	enl_iso8601_ms(c->req->now_ms, c->when);
	bind_text(st, 1, c->req->sequencer);
	bind_text(st, 2, c->when);
	sqlite3_bind_text(st, 3, c->req->photo_id, -1, SQLITE_TRANSIENT);
}

/* The delete table's decision and its write in one transaction, as the claim's. */
static int sqlite_mark_deleted(struct enl_table *tb, const struct enl_delete_req *req,
                               enum enl_delete_result *out, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	struct delete_ctx c = {.req = req};
	struct decided d = {"delete",      t->sql_select_delete, t->sql_mark_deleted,
	                    delete_decide, delete_bind,          &c};
	int rc = decided_write(t, req->photo_id, &d, e);
	if (!rc)
		*out = c.res;
	return rc;
}

/* ---- get ---- */

static int sqlite_get(struct enl_table *tb, const char *photo_id, json_t **out,
                      struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = enl_sqlite_conn_get(t, &db, e);
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
		rc = enl_sqlite_db_fail(db, src, "get", e);
		goto done;
	}
	*out = enl_sqlite_row_json(st, t->key_attr, photo_id);
	rc = *out ? ENL_OK : enl_fail(e, ENL_ENOMEM, "out of memory");
done:
	sqlite3_finalize(st);
	enl_sqlite_conn_put(t, db);
	return rc;
}

static int sqlite_ping(struct enl_table *tb, struct enl_errmsg *e)
{
	struct sqlite_table *t = (struct sqlite_table *)tb;
	sqlite3 *db = NULL;
	int rc = enl_sqlite_conn_get(t, &db, e);
	if (rc)
		return rc;
	int src = sqlite3_exec(db, "SELECT 1", NULL, NULL, NULL);
	if (src != SQLITE_OK)
		rc = enl_sqlite_db_fail(db, src, "ping", e);
	enl_sqlite_conn_put(t, db);
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
	sqlite3_free(t->sql_release);
	sqlite3_free(t->sql_renew);
	sqlite3_free(t->sql_select_delete);
	sqlite3_free(t->sql_mark_deleted);
	sqlite3_free(t->sql_get);
	free(t);
}

static const struct enl_table_ops sqlite_ops = {
    .claim = sqlite_claim,
    .complete = sqlite_complete,
    .fail = sqlite_fail,
    .release = sqlite_release,
    .renew = sqlite_renew,
    .mark_deleted = sqlite_mark_deleted,
    .get = sqlite_get,
    .ping = sqlite_ping,
    .destroy = sqlite_destroy,
};

int enl_table_sqlite_open(const char *path, const char *table, const char *key_attr,
                          struct enl_table **out, struct enl_errmsg *e)
{
	*out = NULL;
	if (!path || !path[0] || strcmp(path, ":memory:") == 0)
		return enl_fail(e, ENL_EINVAL, "sqlite table: needs a file path");
	if (!enl_sqlite_ident_ok(table))
		return enl_fail(e, ENL_EINVAL,
		                "sqlite table: table name must be 1-255 of A-Z a-z 0-9 _ . -");
	if (!enl_sqlite_ident_ok(key_attr))
		return enl_fail(e, ENL_EINVAL,
		                "sqlite table: key attribute must be 1-255 of A-Z a-z 0-9 _ . -");
	if (enl_sqlite_key_clashes(key_attr))
		return enl_fail(e, ENL_EINVAL, "sqlite table: key attribute clashes with a field");

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
		rc = enl_sqlite_conn_get(t, &db, e);
	if (!rc)
		rc = enl_sqlite_schema_ensure(db, table, key_attr, e);
	if (!rc && enl_sqlite_build_sql(t, db, table, key_attr) != ENL_OK)
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
	if (db)
		enl_sqlite_conn_put(t, db);
	if (rc) {
		sqlite_destroy(&t->base);
		return rc;
	}
	*out = &t->base;
	return ENL_OK;
}
