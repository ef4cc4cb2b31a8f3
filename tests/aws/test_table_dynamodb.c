/* The DynamoDB photo table: the shared contract against dynalite (started by
 * tests/aws/standins.py with the tables "photos" (photoId) and "gallery-items.v2" (id)),
 * then the stored item read back with botocore (tests/aws/ddb_item.py) as the oracle
 * for the attribute types, and, against the scripted loopback server
 * (tests/aws/aws_fake_server.py), which errors are retried (throttling, 5xx) and which
 * are not (conditional check, validation). */
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "enlarger/aws.h"
#include "aws_standin.h"
#include "aws_fake.h"
#include "table_contract.h"

static struct enl_aws_config cfg;
static struct enl_aws_credprov *creds;
static struct enl_aws_client *client;

struct where {
	const char *table;
	const char *key;
};

static struct enl_table *open_ddb(void *ud)
{
	struct where *w = ud;
	struct enl_table *t = NULL;
	struct enl_errmsg e = {""};
	if (enl_table_dynamodb_open(&cfg, client, 5000, w->table, w->key, &t, &e) != ENL_OK) {
		fprintf(stderr, "open: %s\n", e.text);
		return NULL;
	}
	return t;
}

/* The item as botocore reads it (typed JSON), or NULL. New reference. */
static json_t *oracle_item(const char *table, const char *key_attr, const char *id)
{
	const char *py = getenv("ENL_PYTHON"), *src = getenv("ENL_SOURCE_DIR");
	char cmd[2048], out[65536];
	snprintf(cmd, sizeof(cmd), "'%s' '%s/tests/aws/ddb_item.py' '%s' '%s' '%s'",
	         py ? py : "python3", src ? src : "../..", table, key_attr, id);
	FILE *p = popen(cmd, "r");
	REQUIRE(p != NULL);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	CHECK_INT_EQ(st, 0);
	return json_loads(out, 0, NULL);
}

static const char *typed(json_t *item, const char *name, const char *type)
{
	return json_string_value(json_object_get(json_object_get(item, name), type));
}

static void test_types(struct where *w)
{
	struct enl_table *t = open_ddb(w);
	REQUIRE(t != NULL);
	CHECK_STR_EQ(t->name, "dynamodb");
	char id[96];
	snprintf(id, sizeof(id), "types-%ld-%ld", (long)getpid(), (long)time(NULL));
	struct enl_claim_req r = table_contract_req(id, "a1", "\"etag\"", "att", 1000);
	r.key = "caf\xc3\xa9 a+b.jpg";
	r.lease_ms = 5000;
	enum enl_claim_result res;
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_table_claim(t, &r, &res, &e), ENL_OK);
	CHECK_INT_EQ(res, ENL_CLAIM_OK);

	json_t *it = oracle_item(w->table, w->key, id);
	REQUIRE(it != NULL);
	CHECK_STR_EQ(typed(it, w->key, "S"), id);
	CHECK_STR_EQ(typed(it, "processingStatus", "S"), "processing");
	CHECK_STR_EQ(typed(it, "sequencer", "S"), "000000000000000000000000000000A1");
	CHECK_STR_EQ(typed(it, "etag", "S"), "etag");
	CHECK_STR_EQ(typed(it, "objectKey", "S"), "caf\xc3\xa9 a+b.jpg");
	CHECK_STR_EQ(typed(it, "leaseUntil", "N"), "6000");
	json_decref(it);

	json_t *f = json_pack("{s:i, s:f, s:s, s:f, s:s, s:{s:f, s:f}, s:s, s:I}", "width", 640,
	                      "fNumber", 2.8, "aperture", "2.8", "focalLengthMm", 50.0,
	                      "focalLength", "50", "gps", "latitude", 48.858222, "longitude", -2.25,
	                      "cameraMake", "Nikon", "fileSize", (json_int_t)25123456789LL);
	CHECK_INT_EQ(enl_table_complete(t, id, "att", f, &e), ENL_OK);
	json_decref(f);
	it = oracle_item(w->table, w->key, id);
	REQUIRE(it != NULL);
	CHECK_STR_EQ(typed(it, "width", "N"), "640");
	CHECK_STR_EQ(typed(it, "fNumber", "N"), "2.8");
	/* The gallery's Go model: strings where it has strings, numbers where numbers. */
	CHECK_STR_EQ(typed(it, "focalLengthMm", "N"), "50");
	CHECK_STR_EQ(typed(it, "focalLength", "S"), "50");
	CHECK_STR_EQ(typed(it, "aperture", "S"), "2.8");
	CHECK_STR_EQ(typed(it, "fileSize", "N"), "25123456789");
	CHECK_STR_EQ(typed(it, "cameraMake", "S"), "Nikon");
	CHECK_STR_EQ(typed(it, "processingStatus", "S"), "completed");
	json_t *gps = json_object_get(json_object_get(it, "gps"), "M");
	CHECK(json_is_object(gps));
	CHECK_STR_EQ(typed(gps, "latitude", "N"), "48.858222");
	CHECK_STR_EQ(typed(gps, "longitude", "N"), "-2.25");
	CHECK(json_object_get(gps, "altitude") == NULL);
	CHECK(json_object_get(it, "leaseUntil") == NULL);
	CHECK(json_object_get(it, "gpsLatitude") == NULL);
	CHECK(typed(it, "processedAt", "S") != NULL);
	json_decref(it);

	/* Read back through the table: integers stay integers, reals reals, as SQLite. */
	CHECK_INT_EQ(enl_table_get(t, id, &it, &e), ENL_OK);
	CHECK(json_is_integer(json_object_get(it, "width")));
	CHECK(json_is_real(json_object_get(it, "focalLengthMm")));
	CHECK(json_is_string(json_object_get(it, "focalLength")));
	CHECK(json_is_integer(json_object_get(it, "fileSize")));
	json_decref(it);

	/* Wrong types and non-finite numbers are refused before any write. */
	f = json_pack("{s:s}", "width", "wide");
	CHECK_INT_EQ(enl_table_complete(t, id, "att", f, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "width") != NULL);
	json_decref(f);
	f = json_pack("{s:f}", "iso", 100.5);
	CHECK_INT_EQ(enl_table_complete(t, id, "att", f, &e), ENL_EINVAL);
	json_decref(f);
	f = json_pack("{s:{s:s}}", "gps", "latitude", "north");
	CHECK_INT_EQ(enl_table_complete(t, id, "att", f, &e), ENL_EINVAL);
	json_decref(f);

	/* A claim without a location keeps the stored one. */
	r = table_contract_req(id, "a2", "e2", "att2", 2000);
	r.bucket = r.key = NULL;
	CHECK_INT_EQ(enl_table_claim(t, &r, &res, &e), ENL_OK);
	CHECK_INT_EQ(enl_table_fail(t, id, "att2", "corrupt", &e), ENL_OK);
	it = oracle_item(w->table, w->key, id);
	CHECK_STR_EQ(typed(it, "processingError", "S"), "corrupt");
	CHECK_STR_EQ(typed(it, "bucket", "S"), "originals");
	json_decref(it);
	CHECK_INT_EQ(enl_table_ping(t, &e), ENL_OK);
	enl_table_destroy(t);
}

static void test_names(void)
{
	struct enl_table *t = NULL;
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_table_dynamodb_open(&cfg, client, 0, "photos; x", "photoId", &t, &e),
	             ENL_EINVAL);
	CHECK_INT_EQ(enl_table_dynamodb_open(&cfg, client, 0, "ab", "photoId", &t, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_table_dynamodb_open(&cfg, client, 0, "photos", "width", &t, &e),
	             ENL_EINVAL);
	CHECK_INT_EQ(enl_table_dynamodb_open(&cfg, client, 0, "photos", "gps", &t, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_table_dynamodb_open(&cfg, client, 0, "photos", "", &t, &e), ENL_EINVAL);
	CHECK(t == NULL);
	/* A table that does not exist: ping fails, as at start-up. */
	CHECK_INT_EQ(enl_table_dynamodb_open(&cfg, client, 0, "no-such-table", "photoId", &t, &e),
	             ENL_OK);
	CHECK_INT_EQ(enl_table_ping(t, &e), ENL_EIO);
	/* DynamoDB's error type and endpoint go to the log, never into the client's text. */
	CHECK(strstr(e.text, "ResourceNotFoundException") == NULL &&
	      strstr(e.text, "http") == NULL);
	CHECK(strstr(e.text, "photo table") != NULL);
	enl_table_destroy(t);
}

/* ---- a scripted DynamoDB on loopback (tests/aws/aws_fake_server.py) ---- */

static struct fake srv;

/* One complete (an UpdateItem) against the fake answering with script (letters of
 * aws_fake_server.py's dynamodb flavour: O {}, T P R three kinds of throttling, U 503,
 * I 500, C conditional check failed, V validation, A access denied, X expired token);
 * returns the table's result. */
static int scripted_complete(const char *script, int *hits)
{
	fake_script(&srv, "dynamodb", script);
	struct enl_aws_config fc = cfg;
	snprintf(fc.endpoint_dynamodb, sizeof(fc.endpoint_dynamodb), "%s", srv.base);
	struct enl_aws_client *fcl = fake_client(creds, 1000);
	struct enl_errmsg e = {""};
	struct enl_table *t = NULL;
	REQUIRE(enl_table_dynamodb_open(&fc, fcl, 0, "photos", "photoId", &t, &e) == ENL_OK);
	/* complete: one UpdateItem, conditional on the attempt. */
	int rc = enl_table_complete(t, "p", "a", NULL, &e);
	enl_table_destroy(t);
	enl_aws_client_free(fcl);
	*hits = (int)fake_scripted(&srv);
	return rc;
}

static void test_retries(void)
{
	int hits;
	REQUIRE(fake_start(&srv) == 0);
	CHECK_INT_EQ(scripted_complete("TPRO", &hits), ENL_OK); /* three kinds of throttling */
	CHECK_INT_EQ(hits, 4);
	CHECK_INT_EQ(scripted_complete("UIO", &hits), ENL_OK); /* 503, 500 */
	CHECK_INT_EQ(hits, 3);
	CHECK_INT_EQ(scripted_complete("TTTTTT", &hits), ENL_EIO); /* attempts run out */
	CHECK_INT_EQ(hits, 4);
	CHECK_INT_EQ(scripted_complete("CO", &hits), ENL_ECONFLICT); /* never retried */
	CHECK_INT_EQ(hits, 1);
	/* A request DynamoDB calls malformed is ours (or the table's schema): a 500 that
	 * EventBridge retries, never the client's 400; never retried here. */
	CHECK_INT_EQ(scripted_complete("VO", &hits), ENL_EINTERNAL);
	CHECK_INT_EQ(hits, 1);
	/* The service's role or credentials refused: a 503 (ENL_EDENIED), not a 401. */
	CHECK_INT_EQ(scripted_complete("AO", &hits), ENL_EDENIED);
	CHECK_INT_EQ(hits, 1);
	CHECK_INT_EQ(scripted_complete("XO", &hits), ENL_EDENIED);
	CHECK_INT_EQ(hits, 1);
	fake_stop(&srv);
}

int main(void)
{
	int rc =
	    aws_standin_connect("AWS_ENDPOINT_URL_DYNAMODB", "dynalite", &cfg, &creds, &client);
	if (rc)
		return rc;

	struct where w1 = {"photos", "photoId"};
	struct table_contract c1 = {open_ddb, &w1, "photoId"};
	int failures = table_contract_run(&c1);
	struct where w2 = {"gallery-items.v2", "id"};
	struct table_contract c2 = {open_ddb, &w2, "id"};
	failures += table_contract_run(&c2);

	test_types(&w1);
	test_types(&w2);
	test_names();
	test_retries();

	enl_aws_client_free(client);
	enl_aws_credprov_free(creds);
	rc = check_done();
	return (failures || rc) ? 1 : 0;
}
