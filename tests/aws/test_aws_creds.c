/* The credentials chain against a loopback fake (tests/aws/aws_fake_server.py) playing the
 * container endpoint (FULL_URI, token and token file) and IMDSv2: rotation while threads
 * read and sign (every snapshot a consistent key/secret/token), refresh driven by
 * Expiration and not by requests, failure and recovery, bad setups refused at start, and
 * no secret in the logs. */
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "aws_fake.h"
#include "check.h"
#include "enlarger/aws.h"
#include "enlarger/log.h"

static struct fake srv;

static void set(const char *query)
{
	char path[512];
	snprintf(path, sizeof(path), "/_set?%s", query);
	json_decref(fake_control(&srv, path));
}

static void clear_env(void)
{
	const char *vars[] = {"AWS_ACCESS_KEY_ID",
	                      "AWS_SECRET_ACCESS_KEY",
	                      "AWS_SESSION_TOKEN",
	                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	                      "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	                      "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	                      "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	                      "AWS_EC2_METADATA_SERVICE_ENDPOINT",
	                      "AWS_EC2_METADATA_DISABLED"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
		unsetenv(vars[i]);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The fake rotates AKID<n>/SECRET<n>/TOKEN<n>-<n repeated>-<n>: check all four agree. */
static int consistent(const struct enl_aws_creds *c)
{
	char want[ENL_AWS_TOKEN_MAX];
	int n;
	if (sscanf(c->access_key_id, "AKID%d", &n) != 1)
		return 0;
	char s[64];
	snprintf(s, sizeof(s), "SECRET%d", n);
	if (strcmp(s, c->secret_access_key) != 0)
		return 0;
	int off = snprintf(want, sizeof(want), "TOKEN%d-", n);
	for (int i = 0; i < 300; i++)
		off += snprintf(want + off, sizeof(want) - off, "%d", n);
	snprintf(want + off, sizeof(want) - off, "-%d", n);
	return strcmp(want, c->session_token) == 0;
}

static void test_env(void)
{
	struct enl_aws_credprov *p = NULL;
	struct enl_errmsg e = {{0}};
	struct enl_aws_creds c;
	clear_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	CHECK_INT_EQ(enl_aws_credprov_new(&p, NULL, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "AWS_SECRET_ACCESS_KEY") != NULL);
	CHECK(strstr(e.text, "AKIDENV") == NULL);
	setenv("AWS_SECRET_ACCESS_KEY", "SECRETENV", 1);
	setenv("AWS_SESSION_TOKEN", "TOKENENV", 1);
	CHECK_INT_EQ(enl_aws_credprov_new(&p, NULL, &e), 0);
	REQUIRE(p);
	CHECK_STR_EQ(enl_aws_credprov_source(p), "env");
	CHECK_INT_EQ(enl_aws_credprov_get(p, &c), 0);
	CHECK_STR_EQ(c.access_key_id, "AKIDENV");
	CHECK_STR_EQ(c.secret_access_key, "SECRETENV");
	CHECK_STR_EQ(c.session_token, "TOKENENV");
	CHECK_INT_EQ(c.expiration, 0);
	enl_aws_credprov_free(p);
	clear_env();

	/* Plain http to a non-loopback host is refused (the SDKs' rule). */
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds", 1);
	CHECK_INT_EQ(enl_aws_credprov_new(&p, NULL, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL);
	clear_env();
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	CHECK_INT_EQ(enl_aws_credprov_new(&p, NULL, &e), ENL_EAUTH);
	clear_env();
}

static void full_uri(void)
{
	char u[256];
	clear_env();
	snprintf(u, sizeof(u), "%s/creds", srv.base);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", u, 1);
}

static void test_ecs_token(void)
{
	struct enl_aws_credprov *p = NULL;
	struct enl_errmsg e = {{0}};
	struct enl_aws_creds c;
	struct enl_aws_credprov_opts o = {.timeout_ms = 1000};

	set("mode=ok&exp=3600&token=Bearer%20good-token");
	full_uri();
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong-token", 1);
	CHECK_INT_EQ(enl_aws_credprov_new(&p, &o, &e), ENL_EAUTH);
	CHECK(strstr(e.text, "403") != NULL);
	CHECK(strstr(e.text, "wrong-token") == NULL);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer good-token", 1);
	CHECK_INT_EQ(enl_aws_credprov_new(&p, &o, &e), 0);
	REQUIRE(p);
	CHECK_STR_EQ(enl_aws_credprov_source(p), "ecs");
	CHECK_INT_EQ(enl_aws_credprov_get(p, &c), 0);
	CHECK(consistent(&c));
	CHECK(c.expiration > time(NULL) + 3500 && c.expiration <= time(NULL) + 3601);
	/* Long-lived credentials: a burst of reads never triggers a fetch. */
	for (int i = 0; i < 10000; i++)
		enl_aws_credprov_get(p, &c);
	sleep_ms(300);
	CHECK_INT_EQ(enl_aws_credprov_fetches(p), 1);
	enl_aws_credprov_free(p);

	set("mode=garbage");
	CHECK_INT_EQ(enl_aws_credprov_new(&p, &o, &e), ENL_EAUTH);
	/* A 5xx is a transient failure (retried, then ENL_EIO), not a refusal. */
	set("mode=fail");
	CHECK_INT_EQ(enl_aws_credprov_new(&p, &o, &e), ENL_EIO);
	set("mode=ok");
}

static void test_token_file(void)
{
	char path[] = "/tmp/enl-aws-token-XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, "file-token-1\n", 13) == 13);
	close(fd);
	set("mode=ok&exp=2&token=file-token-1");
	full_uri();
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-a-file-is-set", 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
	struct enl_aws_credprov_opts o = {.refresh_margin_ms = 1500,
	                                  .retry_min_ms = 100,
	                                  .retry_max_ms = 200,
	                                  .timeout_ms = 1000};
	struct enl_aws_credprov *p = NULL;
	struct enl_errmsg e = {{0}};
	CHECK_INT_EQ(enl_aws_credprov_new(&p, &o, &e), 0);
	REQUIRE(p);
	/* Rotate the file's token, as EKS does: the refresher re-reads it. */
	FILE *f = fopen(path, "w");
	REQUIRE(f);
	fputs("file-token-2", f);
	fclose(f);
	set("token=file-token-2");
	unsigned long before = enl_aws_credprov_fetches(p);
	sleep_ms(1500);
	CHECK(enl_aws_credprov_fetches(p) > before);
	struct enl_aws_creds c;
	CHECK_INT_EQ(enl_aws_credprov_get(p, &c), 0);
	CHECK(consistent(&c));
	enl_aws_credprov_free(p);
	unlink(path);
	set("token=");
}

/* Rotation under load: readers and signers run while the refresher swaps credentials. */
static struct enl_aws_credprov *rot;
static struct enl_aws_client *signer;
static volatile int stop_flag;
static int torn, read_errors, sign_errors, sign_mismatch;
static long reads, signs;

static void *reader(void *arg)
{
	(void)arg;
	struct enl_aws_creds c;
	while (!__atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST)) {
		if (enl_aws_credprov_get(rot, &c) != 0)
			__atomic_add_fetch(&read_errors, 1, __ATOMIC_SEQ_CST);
		else if (!consistent(&c))
			__atomic_add_fetch(&torn, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&reads, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void *sender(void *arg)
{
	(void)arg;
	char u[256];
	snprintf(u, sizeof(u), "%s/echo/rotation", srv.base);
	while (!__atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST)) {
		struct enl_aws_request rq = {
		    .method = "GET", .url = u, .service = "s3", .region = "eu-west-1"};
		struct enl_aws_response rs;
		struct enl_errmsg e;
		if (enl_aws_request(signer, &rq, &rs, &e) != 0 || rs.status != 200) {
			__atomic_add_fetch(&sign_errors, 1, __ATOMIC_SEQ_CST);
		} else {
			/* The key id in Authorization and the token sent must be one set. */
			json_t *doc = json_loadb((const char *)rs.body.data, rs.body.len, 0, NULL);
			const char *az = NULL, *tok = NULL;
			size_t i;
			json_t *h;
			json_array_foreach(json_object_get(doc, "headers"), i, h)
			{
				const char *n = json_string_value(json_array_get(h, 0));
				if (strcasecmp(n, "authorization") == 0)
					az = json_string_value(json_array_get(h, 1));
				if (strcasecmp(n, "x-amz-security-token") == 0)
					tok = json_string_value(json_array_get(h, 1));
			}
			int n1 = -1, n2 = -2;
			if (az)
				sscanf(az, "AWS4-HMAC-SHA256 Credential=AKID%d/", &n1);
			if (tok)
				sscanf(tok, "TOKEN%d-", &n2);
			if (n1 != n2)
				__atomic_add_fetch(&sign_mismatch, 1, __ATOMIC_SEQ_CST);
			json_decref(doc);
			__atomic_add_fetch(&signs, 1, __ATOMIC_SEQ_CST);
		}
		enl_aws_response_free(&rs);
	}
	return NULL;
}

static void test_rotation(void)
{
	struct enl_aws_credprov_opts o = {.refresh_margin_ms = 1700,
	                                  .retry_min_ms = 100,
	                                  .retry_max_ms = 400,
	                                  .timeout_ms = 1000};
	struct enl_errmsg e = {{0}};
	set("mode=ok&exp=2");
	full_uri();
	CHECK_INT_EQ(enl_aws_credprov_new(&rot, &o, &e), 0);
	REQUIRE(rot);
	REQUIRE(enl_aws_client_new(&signer, NULL, rot, &e) == 0);

	pthread_t t[6];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	for (int i = 4; i < 6; i++)
		pthread_create(&t[i], NULL, sender, NULL);
	sleep_ms(2000);
	__atomic_store_n(&stop_flag, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	unsigned long fetches = enl_aws_credprov_fetches(rot);
	fprintf(stderr, "rotation: %lu fetches, %ld reads, %ld signed requests\n", fetches, reads,
	        signs);
	CHECK(fetches >= 4); /* refreshed by expiry alone, several times */
	CHECK(reads > 1000);
	CHECK(signs > 10);
	CHECK_INT_EQ(torn, 0);
	CHECK_INT_EQ(read_errors, 0);
	CHECK_INT_EQ(sign_errors, 0);
	CHECK_INT_EQ(sign_mismatch, 0);

	/* The endpoint fails: old credentials serve until they expire, then ENL_EAUTH from
	 * the provider, and requests fail with ENL_EDENIED. */
	set("mode=fail");
	sleep_ms(400); /* let an in-flight refresh finish */
	unsigned long frozen = enl_aws_credprov_fetches(rot);
	struct enl_aws_creds c;
	sleep_ms(2600);
	CHECK_INT_EQ(enl_aws_credprov_fetches(rot), frozen);
	CHECK_INT_EQ(enl_aws_credprov_get(rot, &c), ENL_EAUTH);
	CHECK(c.access_key_id[0] == 0);
	struct enl_aws_request rq = {
	    .method = "GET", .url = srv.base, .service = "s3", .region = "eu-west-1"};
	struct enl_aws_response rs;
	/* The service's own credentials: a server fault (503), not the client's 401. */
	CHECK_INT_EQ(enl_aws_request(signer, &rq, &rs, &e), ENL_EDENIED);
	CHECK_INT_EQ(enl_err_info(ENL_EDENIED)->http_status, 503);
	enl_aws_response_free(&rs);
	/* ...and it recovers by itself once the endpoint is back. */
	set("mode=ok");
	sleep_ms(1000);
	CHECK(enl_aws_credprov_fetches(rot) > frozen);
	CHECK_INT_EQ(enl_aws_credprov_get(rot, &c), 0);
	CHECK(consistent(&c));

	enl_aws_client_free(signer);
	enl_aws_credprov_free(rot);
	set("exp=3600");
}

static void test_imds(void)
{
	struct enl_aws_credprov *p = NULL;
	struct enl_errmsg e = {{0}};
	struct enl_aws_creds c;
	clear_env();
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.base, 1);
	CHECK_INT_EQ(enl_aws_credprov_new(&p, NULL, &e), 0);
	REQUIRE(p);
	CHECK_STR_EQ(enl_aws_credprov_source(p), "imds");
	CHECK_INT_EQ(enl_aws_credprov_get(p, &c), 0);
	CHECK(consistent(&c));
	enl_aws_credprov_free(p);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	CHECK_INT_EQ(enl_aws_credprov_new(&p, NULL, &e), ENL_EAUTH);
	clear_env();
}

int main(void)
{
	if (fake_start(&srv) != 0) {
		fprintf(stderr, "SKIP: cannot start the python fake server\n");
		return 77;
	}
	/* Capture our own logs to prove no secret reaches them. */
	char logpath[] = "/tmp/enl-aws-log-XXXXXX";
	int logfd = mkstemp(logpath), saved = dup(2);
	REQUIRE(logfd >= 0 && saved >= 0);
	dup2(logfd, 2);
	enl_log_set_level(ENL_LOG_DEBUG);

	test_env();
	test_ecs_token();
	test_token_file();
	test_rotation();
	test_imds();

	fflush(stderr);
	dup2(saved, 2);
	FILE *lf = fopen(logpath, "r");
	char line[8192];
	int leaks = 0;
	while (lf && fgets(line, sizeof(line), lf)) {
		fputs(line, stderr);
		if (strstr(line, "SECRET") || strstr(line, "TOKEN") || strstr(line, "AKID") ||
		    strstr(line, "good-token") || strstr(line, "file-token"))
			leaks++;
	}
	if (lf)
		fclose(lf);
	unlink(logpath);
	CHECK_INT_EQ(leaks, 0);

	fake_stop(&srv);
	return check_done();
}
