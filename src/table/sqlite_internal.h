/* Private to src/table/sqlite*.c: the SQLite photo table's state, its connection pool
 * (sqlite_pool.c) and its columns (sqlite_schema.c). */
#ifndef ENLARGER_TABLE_SQLITE_INTERNAL_H
#define ENLARGER_TABLE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "enlarger/table.h"

#define SQLITE_POOL_MAX 16

struct sqlite_table {
	struct enl_table base; /* first: the dispatch casts */
	char *path;
	char *key_attr;
	/* SQL built once at open, with the configured (validated, quoted) names. */
	char *sql_select_claim;
	char *sql_upsert_claim;
	char *sql_complete;
	char *sql_fail;
	char *sql_release;
	char *sql_renew;
	char *sql_select_delete;
	char *sql_mark_deleted;
	char *sql_get;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *conns[SQLITE_POOL_MAX];
	int in_use[SQLITE_POOL_MAX];
	int n_conns;
};

/* ---- sqlite_pool.c: connections ---- */

/* Takes an idle connection, opening one when all are busy (up to the pool size). */
int enl_sqlite_conn_get(struct sqlite_table *t, sqlite3 **out, struct enl_errmsg *e);
/* Gives a connection back (db may be NULL). */
void enl_sqlite_conn_put(struct sqlite_table *t, sqlite3 *db);
/* A table error for the client (SQLite's generic text, never a path) and the
 * connection's detailed message for the log. ENL_ETIMEOUT when busy, else ENL_EIO. */
int enl_sqlite_db_fail(sqlite3 *db, int src, const char *what, struct enl_errmsg *e);

/* ---- sqlite_schema.c: the columns, the schema and the SQL ---- */

/* Table and attribute names as DynamoDB allows them ([A-Za-z0-9_.-]). */
int enl_sqlite_ident_ok(const char *s);
/* Whether key_attr is (in any case) a field name or "gps". */
int enl_sqlite_key_clashes(const char *key_attr);
/* Creates the table, and adds the columns an older version of it lacks. */
int enl_sqlite_schema_ensure(sqlite3 *db, const char *table, const char *key, struct enl_errmsg *e);
/* Builds t's statements for table and key (validated names). ENL_OK or ENL_ENOMEM. */
int enl_sqlite_build_sql(struct sqlite_table *t, sqlite3 *db, const char *table, const char *key);
/* Binds every result column of sql_complete from fieldsobj (borrowed; NULL = all
 * absent), from parameter 1 on; *next receives the first parameter after them.
 * ENL_EINVAL naming a field of the wrong JSON type. */
int enl_sqlite_bind_results(sqlite3_stmt *st, json_t *fieldsobj, int64_t now, int *next,
                            struct enl_errmsg *e);
/* The row of sql_get at st as the flat JSON of enl_table_get, with key_attr set to
 * photo_id. New reference, NULL on ENOMEM. */
json_t *enl_sqlite_row_json(sqlite3_stmt *st, const char *key_attr, const char *photo_id);

#endif
