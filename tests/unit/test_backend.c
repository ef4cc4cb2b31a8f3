/* enl_backends_open: the local pair, the AWS pair against the stand-ins (run through
 * tests/aws/standins.py), and bad AWS settings failing at start-up naming the variable. */
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "enlarger/backend.h"
#include "enlarger/config.h"

/* The configuration as `enlarger serve` loads it (from the environment), with its
 * files in a private folder. */
static int load_config(struct enl_config *c, enum enl_backend which, struct enl_errmsg *e)
{
	int rc = enl_config_load(c, NULL, NULL, e);
	snprintf(c->data_dir, sizeof(c->data_dir), "/tmp/enl-backend-%ld", (long)getpid());
	mkdir(c->data_dir, 0755);
	snprintf(c->sqlite_path, sizeof(c->sqlite_path), "%s/photos.db", c->data_dir);
	c->backend = which;
	return rc;
}

static struct enl_config base_config(enum enl_backend which)
{
	struct enl_config c;
	struct enl_errmsg e = {""};
	if (load_config(&c, which, &e) != ENL_OK)
		fprintf(stderr, "config: %s\n", e.text);
	return c;
}

/* A bad ENLARGER_AWS_* value stops the configuration load, naming the variable. */
static void bad_limit(const char *var, const char *value)
{
	struct enl_config c;
	struct enl_errmsg e = {""};
	setenv(var, value, 1);
	CHECK_INT_EQ(load_config(&c, ENL_BACKEND_AWS, &e), ENL_EINVAL);
	CHECK(strstr(e.text, var) != NULL);
	unsetenv(var);
}

/* Opening with one variable set to value fails, naming want. */
static void bad(const char *var, const char *value, int code, const char *want)
{
	char *old = getenv(var) ? strdup(getenv(var)) : NULL;
	if (value)
		setenv(var, value, 1);
	else
		unsetenv(var);
	struct enl_config c = base_config(ENL_BACKEND_AWS);
	struct enl_backends b;
	struct enl_errmsg e = {""};
	int rc = enl_backends_open(&b, &c, &e);
	CHECK_INT_EQ(rc, code);
	CHECK(strstr(e.text, want) != NULL);
	if (!strstr(e.text, want))
		fprintf(stderr, "  %s=%s: \"%s\"\n", var, value ? value : "(unset)", e.text);
	CHECK(b.store == NULL && b.table == NULL && b.client == NULL && b.creds == NULL);
	if (old)
		setenv(var, old, 1);
	else
		unsetenv(var);
	free(old);
}

int main(void)
{
	struct enl_errmsg e = {""};
	struct enl_backends b;

	/* local: a directory store and SQLite. */
	struct enl_config c = base_config(ENL_BACKEND_LOCAL);
	REQUIRE(enl_backends_open(&b, &c, &e) == ENL_OK);
	CHECK_STR_EQ(b.store->name, "local");
	CHECK_STR_EQ(b.table->name, "sqlite");
	CHECK(b.client == NULL);
	enl_backends_close(&b);
	enl_backends_close(&b); /* twice is fine */
	unlink(c.sqlite_path);

	if (!getenv("AWS_ENDPOINT_URL_S3")) {
		fprintf(stderr, "run through tests/aws/standins.py for the aws part\n");
		return 2;
	}
	/* aws against the stand-ins: both answer. */
	c = base_config(ENL_BACKEND_AWS);
	REQUIRE(enl_backends_open(&b, &c, &e) == ENL_OK);
	CHECK_STR_EQ(b.store->name, "s3");
	CHECK_STR_EQ(b.table->name, "dynamodb");
	CHECK_INT_EQ(b.limits.timeout_ms, 3000);
	CHECK_INT_EQ(b.limits.deadline_ms, 2500);
	CHECK_INT_EQ(enl_store_ping(b.store, "originals", &e), ENL_OK);
	CHECK_INT_EQ(enl_table_ping(b.table, &e), ENL_OK);
	enl_backends_close(&b);

	bad("AWS_ENDPOINT_URL_S3", "ftp://127.0.0.1:1", ENL_EINVAL, "AWS_ENDPOINT_URL_S3");
	bad("AWS_ENDPOINT_URL_DYNAMODB", "http://h/path", ENL_EINVAL, "AWS_ENDPOINT_URL_DYNAMODB");
	bad("AWS_REGION", "eu west 1", ENL_EINVAL, "AWS_REGION");
	bad_limit("ENLARGER_AWS_TIMEOUT_MS", "fast");
	bad_limit("ENLARGER_AWS_MAX_ATTEMPTS", "0");
	bad_limit("ENLARGER_AWS_CONNECT_TIMEOUT_MS", "10");
	bad_limit("ENLARGER_AWS_RETRY_DEADLINE_MS", "-1");
	/* The limits reach the client. */
	setenv("ENLARGER_AWS_TIMEOUT_MS", "1234", 1);
	c = base_config(ENL_BACKEND_AWS);
	unsetenv("ENLARGER_AWS_TIMEOUT_MS");
	REQUIRE(enl_backends_open(&b, &c, &e) == ENL_OK);
	CHECK_INT_EQ(b.limits.timeout_ms, 1234);
	enl_backends_close(&b);
	/* Half a key pair, and no credentials anywhere (IMDS disabled by the launcher). */
	bad("AWS_SECRET_ACCESS_KEY", NULL, ENL_EINVAL, "AWS_SECRET_ACCESS_KEY");
	{
		char *id = strdup(getenv("AWS_ACCESS_KEY_ID"));
		unsetenv("AWS_ACCESS_KEY_ID");
		bad("AWS_SECRET_ACCESS_KEY", NULL, ENL_EAUTH, "credentials");
		setenv("AWS_ACCESS_KEY_ID", id, 1);
		free(id);
	}
	c = base_config(ENL_BACKEND_AWS);
	snprintf(c.table, sizeof(c.table), "x");
	REQUIRE(enl_backends_open(&b, &c, &e) == ENL_EINVAL);
	CHECK(strstr(e.text, "ENLARGER_TABLE") != NULL);
	rmdir(c.data_dir);
	return check_done();
}
