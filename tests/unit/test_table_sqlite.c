/* The SQLite photo table: the shared contract, then what only SQLite has (the file
 * itself, read back with plain SQL as an oracle; schema migration; names). */
#include <errno.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "table_contract.h"

struct where {
	char path[256];
	const char *table;
	const char *key;
};

static struct enl_table *open_sqlite(void *ud)
{
	struct where *w = ud;
	struct enl_table *t = NULL;
	struct enl_errmsg e = {""};
	if (enl_table_sqlite_open(w->path, w->table, w->key, &t, &e) != ENL_OK) {
		fprintf(stderr, "open: %s\n", e.text);
		return NULL;
	}
	return t;
}

/* One value read straight from the file with sqlite3, as text, and its type. */
static int sql_value(const char *path, const char *sql, const char *arg, char *out, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int type = -1;
	out[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (arg)
			sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			type = sqlite3_column_type(st, 0);
			const unsigned char *v = sqlite3_column_text(st, 0);
			snprintf(out, cap, "%s", v ? (const char *)v : "");
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return type;
}

static void test_file(struct where *w)
{
	struct enl_table *t = open_sqlite(w);
	REQUIRE(t != NULL);
	CHECK_STR_EQ(t->name, "sqlite");
	struct enl_claim_req r = table_contract_req("file-1", "a1", "etag", "att", 1000);
	enum enl_claim_result res;
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_table_claim(t, &r, &res, &e), ENL_OK);
	CHECK_INT_EQ(res, ENL_CLAIM_OK);
	json_t *f = json_pack("{s:i, s:f, s:{s:f, s:f}, s:s}", "width", 640, "fNumber", 1.8, "gps",
	                      "latitude", 1.5, "longitude", -2.25, "cameraMake", "Nikon");
	CHECK_INT_EQ(enl_table_complete(t, "file-1", "att", f, &e), ENL_OK);
	json_decref(f);

	char v[256], sql[256];
	CHECK_INT_EQ(sql_value(w->path, "PRAGMA journal_mode", NULL, v, sizeof(v)), SQLITE_TEXT);
	CHECK_STR_EQ(v, "wal");
	snprintf(sql, sizeof(sql), "SELECT width FROM \"%s\" WHERE \"%s\" = ?", w->table, w->key);
	CHECK_INT_EQ(sql_value(w->path, sql, "file-1", v, sizeof(v)), SQLITE_INTEGER);
	CHECK_STR_EQ(v, "640");
	snprintf(sql, sizeof(sql), "SELECT fNumber FROM \"%s\" WHERE \"%s\" = ?", w->table, w->key);
	CHECK_INT_EQ(sql_value(w->path, sql, "file-1", v, sizeof(v)), SQLITE_FLOAT);
	CHECK_STR_EQ(v, "1.8");
	snprintf(sql, sizeof(sql), "SELECT gpsLongitude FROM \"%s\" WHERE \"%s\" = ?", w->table,
	         w->key);
	CHECK_INT_EQ(sql_value(w->path, sql, "file-1", v, sizeof(v)), SQLITE_FLOAT);
	CHECK_STR_EQ(v, "-2.25");
	snprintf(sql, sizeof(sql), "SELECT processingStatus FROM \"%s\" WHERE \"%s\" = ?", w->table,
	         w->key);
	CHECK_INT_EQ(sql_value(w->path, sql, "file-1", v, sizeof(v)), SQLITE_TEXT);
	CHECK_STR_EQ(v, "completed");
	snprintf(sql, sizeof(sql), "SELECT gpsAltitude FROM \"%s\" WHERE \"%s\" = ?", w->table,
	         w->key);
	CHECK_INT_EQ(sql_value(w->path, sql, "file-1", v, sizeof(v)), SQLITE_NULL);

	/* Wrong types are refused, and leave the row as it was. */
	r.sequencer = "a2";
	r.etag = "etag2";
	r.attempt = "att2";
	r.now_ms = 2000;
	CHECK_INT_EQ(enl_table_claim(t, &r, &res, &e), ENL_OK);
	f = json_pack("{s:s}", "width", "wide");
	CHECK_INT_EQ(enl_table_complete(t, "file-1", "att2", f, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "width") != NULL);
	json_decref(f);
	f = json_pack("{s:f}", "iso", 100.5);
	CHECK_INT_EQ(enl_table_complete(t, "file-1", "att2", f, &e), ENL_EINVAL);
	json_decref(f);
	f = json_pack("{s:f}", "iso", 100.0); /* an integral real is fine */
	CHECK_INT_EQ(enl_table_complete(t, "file-1", "att2", f, &e), ENL_OK);
	json_decref(f);

	enl_table_destroy(t);
}

static void test_names(const char *dir)
{
	struct enl_table *t = NULL;
	struct enl_errmsg e = {""};
	char path[300];
	snprintf(path, sizeof(path), "%s/names.db", dir);
	CHECK_INT_EQ(enl_table_sqlite_open(path, "photos; DROP TABLE x", "photoId", &t, &e),
	             ENL_EINVAL);
	CHECK_INT_EQ(enl_table_sqlite_open(path, "photos", "photo\"Id", &t, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_table_sqlite_open(path, "photos", "width", &t, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_table_sqlite_open(path, "photos", "", &t, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_table_sqlite_open(path, "sqlite_master", "photoId", &t, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_table_sqlite_open(path, "photos", "photo id", &t, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_table_sqlite_open(":memory:", "photos", "photoId", &t, &e), ENL_EINVAL);
	CHECK(t == NULL);
	snprintf(path, sizeof(path), "%s/no-such-dir/x.db", dir);
	CHECK_INT_EQ(enl_table_sqlite_open(path, "photos", "photoId", &t, &e), ENL_EIO);
	CHECK(strstr(e.text, dir) == NULL); /* no path in client text */
}

/* A table an older version made (sql) at dir/name, opened by this one. */
static struct enl_table *open_old(const char *dir, const char *name, const char *sql)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	sqlite3 *db = NULL;
	REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
	REQUIRE(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	struct enl_table *t = NULL;
	struct enl_errmsg e = {""};
	REQUIRE(enl_table_sqlite_open(path, "photos", "photoId", &t, &e) == ENL_OK);
	return t;
}

/* A table made by an older version (fewer columns) gains the missing ones. */
static void test_migration(const char *dir)
{
	struct enl_table *t = open_old(dir, "old.db",
	                               "CREATE TABLE photos (photoId TEXT PRIMARY KEY NOT NULL, "
	                               "processingStatus TEXT, width INTEGER);"
	                               "INSERT INTO photos VALUES ('legacy', 'completed', 99);");
	struct enl_errmsg e = {""};
	json_t *it = NULL;
	CHECK_INT_EQ(enl_table_get(t, "legacy", &it, &e), ENL_OK);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "width")), 99);
	json_decref(it);
	struct enl_claim_req r = table_contract_req("legacy", "1", "e", "a", 1000);
	enum enl_claim_result res;
	CHECK_INT_EQ(enl_table_claim(t, &r, &res, &e), ENL_OK);
	CHECK_INT_EQ(res, ENL_CLAIM_OK);
	json_t *f = json_pack("{s:s}", "blurhash", "L00000");
	CHECK_INT_EQ(enl_table_complete(t, "legacy", "a", f, &e), ENL_OK);
	json_decref(f);
	CHECK_INT_EQ(enl_table_get(t, "legacy", &it, &e), ENL_OK);
	CHECK_STR_EQ(json_string_value(json_object_get(it, "blurhash")), "L00000");
	json_decref(it);
	enl_table_destroy(t);
}

/* A table of the version before the gallery's names: make, model, exposureTime and a REAL
 * focalLength. Its values move to cameraMake, cameraModel, shutterSpeed and focalLengthMm,
 * and the gallery's strings aperture and focalLength are filled from the numbers. */
static void test_migration_names(const char *dir)
{
	static const char old[] =
	    "CREATE TABLE photos (photoId TEXT PRIMARY KEY NOT NULL, processingStatus TEXT, "
	    "make TEXT, model TEXT, focalLength REAL, fNumber REAL, exposureTime TEXT);"
	    "INSERT INTO photos VALUES ('p1', 'completed', 'NIKON', 'Z 9', 24.0, 2.0, '1/250');"
	    "INSERT INTO photos VALUES ('p2', 'completed', NULL, NULL, 5.9, 0.95, '2.5');"
	    "INSERT INTO photos VALUES ('p3', 'completed', NULL, NULL, NULL, NULL, NULL);";
	struct enl_table *t = open_old(dir, "names-old.db", old);
	struct enl_errmsg e = {""};
	json_t *it = NULL;
	CHECK_INT_EQ(enl_table_get(t, "p1", &it, &e), ENL_OK);
	CHECK_STR_EQ(json_string_value(json_object_get(it, "cameraMake")), "NIKON");
	CHECK_STR_EQ(json_string_value(json_object_get(it, "cameraModel")), "Z 9");
	CHECK_STR_EQ(json_string_value(json_object_get(it, "shutterSpeed")), "1/250");
	CHECK_NEAR(json_number_value(json_object_get(it, "focalLengthMm")), 24.0, 1e-12);
	CHECK_STR_EQ(json_string_value(json_object_get(it, "focalLength")), "24");
	CHECK_STR_EQ(json_string_value(json_object_get(it, "aperture")), "2");
	CHECK(json_object_get(it, "make") == NULL && json_object_get(it, "exposureTime") == NULL);
	json_decref(it);
	CHECK_INT_EQ(enl_table_get(t, "p2", &it, &e), ENL_OK);
	CHECK_STR_EQ(json_string_value(json_object_get(it, "focalLength")), "5.9");
	CHECK_STR_EQ(json_string_value(json_object_get(it, "aperture")), "0.95");
	json_decref(it);
	CHECK_INT_EQ(enl_table_get(t, "p3", &it, &e), ENL_OK);
	CHECK(json_object_get(it, "aperture") == NULL &&
	      json_object_get(it, "focalLength") == NULL);
	json_decref(it);
	enl_table_destroy(t);
	/* Opening it again changes nothing more. */
	t = open_old(dir, "names-old.db", "SELECT 1");
	CHECK_INT_EQ(enl_table_get(t, "p1", &it, &e), ENL_OK);
	CHECK_STR_EQ(json_string_value(json_object_get(it, "focalLength")), "24");
	json_decref(it);
	enl_table_destroy(t);
}

int main(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "/tmp/enl-table-sqlite-%ld", (long)getpid());
	REQUIRE(mkdir(dir, 0755) == 0 || errno == EEXIST);

	struct where w1 = {"", "photos", "photoId"};
	snprintf(w1.path, sizeof(w1.path), "%s/photos.db", dir);
	struct table_contract c1 = {open_sqlite, &w1, "photoId"};
	int failures = table_contract_run(&c1);
	/* The same contract with a configured table and key name. */
	struct where w2 = {"", "gallery-items.v2", "id"};
	snprintf(w2.path, sizeof(w2.path), "%s/custom.db", dir);
	struct table_contract c2 = {open_sqlite, &w2, "id"};
	failures += table_contract_run(&c2);

	test_file(&w1);
	test_file(&w2);
	test_names(dir);
	test_migration(dir);
	test_migration_names(dir);

	int rc = check_done();
	if (!failures && !rc) {
		const char *files[] = {"photos.db",    "photos.db-wal",    "photos.db-shm",
		                       "custom.db",    "custom.db-wal",    "custom.db-shm",
		                       "old.db",       "old.db-wal",       "old.db-shm",
		                       "names-old.db", "names-old.db-wal", "names-old.db-shm"};
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char p[300];
			snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
			unlink(p);
		}
		rmdir(dir);
	}
	return (failures || rc) ? 1 : 0;
}
