/* The S3 store: the shared contract against s3rver (started by tests/aws/standins.py,
 * which passes AWS_ENDPOINT_URL_S3 and the S3RVER key pair), then what only S3 has:
 * RFC 2047 metadata, a missing bucket, listings longer than one page, and, against the
 * scripted loopback server (tests/aws/aws_fake_server.py), SlowDown / RequestTimeout
 * retries, errors that must not be retried, an endpoint that accepts connections and
 * never answers, and object tags as signed x-amz-tagging headers. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "enlarger/aws.h"
#include "aws_standin.h"
#include "aws_fake.h"
#include "store_contract.h"

#define BUCKET "enl-test"

static struct enl_aws_config cfg;
static struct enl_aws_credprov *creds;
static struct enl_aws_client *client;

static struct enl_store *open_s3(void *ud)
{
	(void)ud;
	struct enl_store *s = NULL;
	struct enl_errmsg e = {""};
	if (enl_store_s3_open(&cfg, client, 5000, &s, &e) != ENL_OK) {
		fprintf(stderr, "open: %s\n", e.text);
		return NULL;
	}
	return s;
}

static int count_cb(void *ud, const char *key)
{
	(void)key;
	(*(int *)ud)++;
	return 0;
}

struct ordered {
	char last[1100];
	const char *want; /* a key that must be listed */
	int n, out_of_order, found;
};

static int order_cb(void *ud, const char *key)
{
	struct ordered *o = ud;
	if (o->n && strcmp(o->last, key) >= 0)
		o->out_of_order++;
	snprintf(o->last, sizeof(o->last), "%s", key);
	o->found += strcmp(key, o->want) == 0;
	o->n++;
	return 0;
}

static void test_s3_only(struct enl_store *s)
{
	struct enl_errmsg e = {""};
	struct enl_object_info info;
	char run[64], key[256];
	snprintf(run, sizeof(run), "s3only-%ld-%ld", (long)getpid(), (long)time(NULL));

	/* Non-ASCII metadata goes out RFC 2047 encoded and comes back as it was. */
	struct enl_meta_pair m[2] = {{"photo-id", "caf\xc3\xa9/\xc3\xa9t\xc3\xa9 1"},
	                             {"plain", "a=b; c"}};
	struct enl_put_opts o = {.content_type = "image/webp",
	                         .cache_control = "public, max-age=31536000, immutable",
	                         .n_meta = 2,
	                         .meta = m};
	snprintf(key, sizeof(key), "%s/meta.webp", run);
	CHECK_INT_EQ(enl_store_put(s, BUCKET, key, "abc", 3, &o, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_head(s, BUCKET, key, &info, &e), ENL_OK);
	CHECK_STR_EQ(enl_object_meta(&info, "photo-id"), "caf\xc3\xa9/\xc3\xa9t\xc3\xa9 1");
	CHECK_STR_EQ(enl_object_meta(&info, "plain"), "a=b; c");
	/* Values that could split a header are refused. */
	struct enl_meta_pair bad[1] = {{"x", "a\r\nx-amz-acl: public-read"}};
	struct enl_put_opts ob = {.n_meta = 1, .meta = bad};
	CHECK_INT_EQ(enl_store_put(s, BUCKET, key, "abc", 3, &ob, &e), ENL_EINVAL);
	struct enl_put_opts oc = {.content_type = "text/plain\r\nX-Evil: 1"};
	CHECK_INT_EQ(enl_store_put(s, BUCKET, key, "abc", 3, &oc, &e), ENL_EINVAL);

	/* A bucket that does not exist. */
	int n = 0;
	CHECK_INT_EQ(enl_store_ping(s, "no-such-bucket-here", &e), ENL_ENOTFOUND);
	CHECK_INT_EQ(enl_store_list(s, "no-such-bucket-here", "", count_cb, &n, &e), ENL_ENOTFOUND);
	CHECK_INT_EQ(enl_store_head(s, "no-such-bucket-here", "k", &info, &e), ENL_ENOTFOUND);
	CHECK_INT_EQ(enl_store_put(s, "Bad_Bucket", "k", "x", 1, NULL, &e), ENL_EINVAL);

	/* A listing longer than one page (1000 keys) follows the continuation token, in
	 * byte order. Keys with XML-special characters come back unescaped. */
	char pfx[128];
	snprintf(pfx, sizeof(pfx), "%s/page/", run);
	for (int i = 0; i < 1003; i++) {
		snprintf(key, sizeof(key), "%s%04d%s", pfx, i, i % 100 == 0 ? "<&>'\"" : "");
		if (enl_store_put(s, BUCKET, key, "x", 1, NULL, &e) != ENL_OK) {
			CHECK(!"put for the listing");
			fprintf(stderr, "  %s\n", e.text);
			break;
		}
	}
	snprintf(key, sizeof(key), "%s1000<&>'\"", pfx);
	struct ordered ord = {"", key, 0, 0, 0};
	CHECK_INT_EQ(enl_store_list(s, BUCKET, pfx, order_cb, &ord, &e), ENL_OK);
	CHECK_INT_EQ(ord.n, 1003);
	CHECK_INT_EQ(ord.out_of_order, 0);
	CHECK_INT_EQ(ord.found, 1);
	snprintf(key, sizeof(key), "%s1002", pfx);
	CHECK_STR_EQ(ord.last, key);
}

/* Concurrent PUTs of one key on s3rver, which rewrites the object file in place and
 * its metadata after it (real S3 swaps whole objects): a GET may fail (ENL_EIO, the
 * body's MD5 is not the ETag it came with), but one that succeeds holds one writer's
 * complete bytes, never a mix or a truncation. */
#define RW_WRITERS 4
#define RW_ROUNDS 20
#define RW_SIZE (96 * 1024)

struct rw {
	struct enl_store *s;
	const char *key;
	int id;
	atomic_int *stop;
	int ok_reads, empty_reads, eio_reads, bad_reads, failures;
};

static void *rw_writer(void *arg)
{
	struct rw *w = arg;
	static unsigned char data[RW_WRITERS + 1][RW_SIZE];
	memset(data[w->id], 'a' + w->id, RW_SIZE);
	for (int r = 0; r < RW_ROUNDS; r++) {
		struct enl_errmsg e = {""};
		if (enl_store_put(w->s, BUCKET, w->key, data[w->id], RW_SIZE, NULL, &e) != ENL_OK)
			w->failures++;
	}
	return NULL;
}

static void *rw_reader(void *arg)
{
	struct rw *w = arg;
	while (!atomic_load(w->stop)) {
		struct enl_buf b = ENL_BUF_INIT;
		struct enl_object_info info;
		struct enl_errmsg e = {""};
		int rc = enl_store_get(w->s, BUCKET, w->key, 1 << 20, &b, &info, &e);
		if (rc == ENL_OK) {
			/* s3rver truncates before it writes, writes in 64 KiB pieces, and
			 * hashes the file as it finds it: an empty or short object (one
			 * writer's bytes), consistently labelled, is what S3 would call an
			 * earlier version. What must never come back is a body that is not
			 * the one its size and ETag describe, or one of mixed writers. */
			char md5[33];
			store_contract_md5hex(b.data, b.len, md5);
			int ok =
			    b.len <= RW_SIZE && info.size == b.len && strcmp(info.etag, md5) == 0;
			for (size_t i = 1; ok && i < b.len; i++)
				ok = b.data[i] == b.data[0];
			w->ok_reads += ok && b.len;
			w->empty_reads += ok && !b.len;
			w->bad_reads += !ok;
			if (!ok)
				fprintf(stderr, "  torn body: %zu bytes, size %llu, etag %s\n",
				        b.len, (unsigned long long)info.size, info.etag);
		} else if (rc == ENL_EIO) {
			w->eio_reads++;
		} else if (rc != ENL_ENOTFOUND) {
			w->bad_reads++;
			fprintf(stderr, "  read failed: %s: %s\n", enl_err_name(rc), e.text);
		}
		enl_buf_free(&b);
	}
	return NULL;
}

static void test_torn_reads(struct enl_store *s)
{
	char key[128];
	snprintf(key, sizeof(key), "torn-%ld-%ld/same key.bin", (long)getpid(), (long)time(NULL));
	pthread_t th[RW_WRITERS + 1];
	struct rw w[RW_WRITERS + 1];
	atomic_int stop = 0;
	for (int i = 0; i <= RW_WRITERS; i++)
		w[i] = (struct rw){s, key, i, &stop, 0, 0, 0, 0, 0};
	REQUIRE(pthread_create(&th[0], NULL, rw_reader, &w[0]) == 0);
	for (int i = 1; i <= RW_WRITERS; i++)
		REQUIRE(pthread_create(&th[i], NULL, rw_writer, &w[i]) == 0);
	for (int i = 1; i <= RW_WRITERS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT_EQ(w[i].failures, 0);
	}
	atomic_store(&stop, 1);
	pthread_join(th[0], NULL);
	CHECK_INT_EQ(w[0].bad_reads, 0);
	fprintf(stderr, "  torn reads: %d whole, %d empty, %d refused as changed\n", w[0].ok_reads,
	        w[0].empty_reads, w[0].eio_reads);
}

/* ---- a scripted S3 on loopback (tests/aws/aws_fake_server.py) ---- */

static struct fake srv;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs one GET against the fake answering with script (letters of aws_fake_server.py's
 * s3 flavour: O the object, S SlowDown, T RequestTimeout, D AccessDenied, H never
 * answer); returns the store's result. */
static int scripted_get(const char *script, int *hits, double *secs, struct enl_errmsg *e)
{
	fake_script(&srv, "s3", script);
	struct enl_aws_config fc = cfg;
	snprintf(fc.endpoint_s3, sizeof(fc.endpoint_s3), "%s", srv.base);
	struct enl_aws_client *fcl = fake_client(creds, 600);
	struct enl_store *s = NULL;
	REQUIRE(enl_store_s3_open(&fc, fcl, 0, &s, e) == ENL_OK);
	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	double t0 = now_s();
	int rc = enl_store_get(s, "fake-bucket", "a b+c.jpg", 1000, &b, &info, e);
	*secs = now_s() - t0;
	if (rc == ENL_OK) {
		CHECK(b.len == 5 && memcmp(b.data, "hello", 5) == 0);
		CHECK_STR_EQ(info.etag, "5d41402abc4b2a76b9719d911017c592");
	} else {
		CHECK(b.data == NULL);
	}
	enl_buf_free(&b);
	enl_store_destroy(s);
	enl_aws_client_free(fcl);
	*hits = (int)fake_scripted(&srv);
	return rc;
}

static void test_retries(void)
{
	struct enl_errmsg e = {""};
	int hits;
	double secs;
	REQUIRE(fake_start(&srv) == 0);
	/* SlowDown (503) twice, then the object. */
	CHECK_INT_EQ(scripted_get("SSO", &hits, &secs, &e), ENL_OK);
	CHECK_INT_EQ(hits, 3);
	/* RequestTimeout comes as a 400 and is retried too. */
	CHECK_INT_EQ(scripted_get("TO", &hits, &secs, &e), ENL_OK);
	CHECK_INT_EQ(hits, 2);
	/* SlowDown every time: the attempts run out (4), a retryable error. */
	CHECK_INT_EQ(scripted_get("SSSSSS", &hits, &secs, &e), ENL_EIO);
	CHECK_INT_EQ(hits, 4);
	CHECK(strstr(e.text, "object store") != NULL && strstr(e.text, "SlowDown") == NULL &&
	      strstr(e.text, "503") == NULL);
	/* AccessDenied is final: one request, and a server fault (503), not the client's
	 * 401. The client's text names neither S3's code, nor its status, nor the endpoint
	 * (those are logged). */
	CHECK_INT_EQ(scripted_get("DO", &hits, &secs, &e), ENL_EDENIED);
	CHECK_INT_EQ(hits, 1);
	CHECK(strstr(e.text, "AccessDenied") == NULL && strstr(e.text, "403") == NULL &&
	      strstr(e.text, "127.0.0.1") == NULL);
	CHECK(strstr(e.text, "object store") != NULL);
	/* Accepts, never answers: each attempt times out (600 ms), then the next works. */
	CHECK_INT_EQ(scripted_get("HO", &hits, &secs, &e), ENL_OK);
	CHECK_INT_EQ(hits, 2);
	CHECK(secs >= 0.55 && secs < 3.0);
	/* Never answers at all: ENL_ETIMEOUT after the attempts, within the bound. */
	CHECK_INT_EQ(scripted_get("HHHH", &hits, &secs, &e), ENL_ETIMEOUT);
	CHECK_INT_EQ(hits, 4);
	CHECK(secs >= 4 * 0.55 && secs < 6.0);
	fprintf(stderr, "  hang x4 gave up after %.2f s: %s\n", secs, e.text);
	fake_stop(&srv);
}

/* One PUT of "abc" with tagging to the scripted fake, signed with a static key whose
 * secret the fake is given (or not: a wrong one, so the check is seen to fail); the fake's
 * record of it, or NULL when the PUT failed. */
static json_t *tagged_put(const char *tagging, const char *fake_secret, int *rc)
{
	struct enl_aws_creds k = {.access_key_id = "AKIDTAGTEST"};
	snprintf(k.secret_access_key, sizeof(k.secret_access_key), "%s", "tag-secret-1");
	struct enl_aws_credprov *cp = NULL;
	REQUIRE(enl_aws_credprov_new_static(&cp, &k) == ENL_OK);
	char set[128];
	snprintf(set, sizeof(set), "/_set?secret=%s", fake_secret);
	json_decref(fake_control(&srv, set));
	fake_script(&srv, "s3", "O");
	struct enl_aws_config fc = cfg;
	snprintf(fc.endpoint_s3, sizeof(fc.endpoint_s3), "%s", srv.base);
	struct enl_aws_client *fcl = fake_client(cp, 2000);
	struct enl_store *s = NULL;
	struct enl_errmsg e = {""};
	REQUIRE(enl_store_s3_open(&fc, fcl, 0, &s, &e) == ENL_OK);
	struct enl_put_opts o = {.content_type = "image/webp",
	                         .cache_control = "public, max-age=31536000, immutable",
	                         .tagging = tagging};
	*rc = enl_store_put(s, "fake-bucket", "ab12/v1/w64-h0-contain-q80.webp", "abc", 3, &o, &e);
	enl_store_destroy(s);
	enl_aws_client_free(fcl);
	enl_aws_credprov_free(cp);
	return *rc == ENL_OK ? fake_control(&srv, "/_last") : NULL;
}

static int has_string(json_t *arr, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x)
	{
		if (json_is_string(x) && strcmp(json_string_value(x), v) == 0)
			return 1;
	}
	return 0;
}

/* Object tags go out as x-amz-tagging, among the signed headers, under a signature the
 * fake recomputes with the secret (SigV4 as S3 checks it); a PUT without tags sends none.
 * s3rver ignores the header, so only here can a test see what S3 would receive. */
static void test_tagging(void)
{
	int rc;
	REQUIRE(fake_start(&srv) == 0);
	json_t *last = tagged_put("enlarger-cache=variant", "tag-secret-1", &rc);
	CHECK_INT_EQ(rc, ENL_OK);
	REQUIRE(last != NULL);
	json_t *h = json_object_get(last, "headers");
	CHECK_STR_EQ(json_string_value(json_object_get(last, "method")), "PUT");
	CHECK_STR_EQ(json_string_value(json_object_get(h, "x-amz-tagging")),
	             "enlarger-cache=variant");
	CHECK(has_string(json_object_get(last, "signed_headers"), "x-amz-tagging"));
	CHECK_INT_EQ(json_array_size(json_object_get(last, "unsigned_amz")), 0);
	CHECK(json_is_true(json_object_get(last, "signature_ok")));
	json_decref(last);

	/* The fake's check can fail: the same request under a secret it does not expect. */
	last = tagged_put("enlarger-cache=variant", "another-secret", &rc);
	REQUIRE(last != NULL);
	CHECK(json_is_false(json_object_get(last, "signature_ok")));
	json_decref(last);

	last = tagged_put(NULL, "tag-secret-1", &rc);
	REQUIRE(last != NULL);
	CHECK(json_object_get(json_object_get(last, "headers"), "x-amz-tagging") == NULL);
	CHECK(json_is_true(json_object_get(last, "signature_ok")));
	json_decref(last);

	/* A value that could split a header is refused before anything is sent. */
	CHECK(tagged_put("a=b\r\nx-amz-acl: public-read", "tag-secret-1", &rc) == NULL);
	CHECK_INT_EQ(rc, ENL_EINVAL);
	fake_stop(&srv);
}

int main(void)
{
	int rc = aws_standin_connect("AWS_ENDPOINT_URL_S3", "s3rver", &cfg, &creds, &client);
	if (rc)
		return rc;

	struct store_contract c = {open_s3, NULL, BUCKET};
	store_contract_skip_concurrent_puts("s3rver rewrites objects in place; see "
	                                    "test_torn_reads");
	int contract_failures = store_contract_run(&c);

	struct enl_store *s = open_s3(NULL);
	REQUIRE(s != NULL);
	CHECK_STR_EQ(s->name, "s3");
	test_s3_only(s);
	test_torn_reads(s);
	enl_store_destroy(s);
	test_retries();
	test_tagging();

	enl_aws_client_free(client);
	enl_aws_credprov_free(creds);
	rc = check_done();
	return (contract_failures || rc) ? 1 : 0;
}
