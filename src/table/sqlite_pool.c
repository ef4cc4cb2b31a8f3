/* The connection pool of the SQLite photo table: one connection per concurrent caller,
 * up to SQLITE_POOL_MAX, each in WAL mode with a busy timeout. */
#include "sqlite_internal.h"

#include "enlarger/log.h"

#define SQLITE_BUSY_MS 5000

/* A table error for the client (SQLite's generic text, never a path) and the
 * connection's detailed message for the log. */
int enl_sqlite_db_fail(sqlite3 *db, int src, const char *what, struct enl_errmsg *e)
{
	enl_logf(ENL_LOG_WARN, "sqlite table: %s: %s", what, db ? sqlite3_errmsg(db) : "");
	int code = (src == SQLITE_BUSY || src == SQLITE_LOCKED) ? ENL_ETIMEOUT : ENL_EIO;
	return enl_fail(e, code, "photo table: %s failed: %s", what, sqlite3_errstr(src));
}

static int conn_open(struct sqlite_table *t, sqlite3 **out, struct enl_errmsg *e)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
	    t->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int r = enl_sqlite_db_fail(db, rc, "open", e);
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, SQLITE_BUSY_MS);
	rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
	                  NULL);
	if (rc != SQLITE_OK) {
		int r = enl_sqlite_db_fail(db, rc, "open", e);
		sqlite3_close(db);
		return r;
	}
	*out = db;
	return ENL_OK;
}

/* Takes an idle connection, opening one when all are busy (up to the pool size). */
int enl_sqlite_conn_get(struct sqlite_table *t, sqlite3 **out, struct enl_errmsg *e)
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

void enl_sqlite_conn_put(struct sqlite_table *t, sqlite3 *db)
{
	pthread_mutex_lock(&t->mu);
	for (int i = 0; i < t->n_conns; i++)
		if (t->conns[i] == db)
			t->in_use[i] = 0;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}
