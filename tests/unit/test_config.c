/* Configuration table: defaults, every kind of value, and bad values naming the variable. */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "enlarger/config.h"

struct env {
	const char *names[16];
	const char *values[16];
	int n;
};

static const char *get(void *ud, const char *name)
{
	struct env *v = ud;
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->names[i], name) == 0)
			return v->values[i];
	return NULL;
}

/* Loads with one variable set; returns the error code and the message in e. */
static int load1(const char *name, const char *value, struct enl_config *c, struct enl_errmsg *e)
{
	struct env v = {{name}, {value}, 1};
	memset(e, 0, sizeof(*e));
	return enl_config_load(c, get, &v, e);
}

int main(void)
{
	struct enl_config c;
	struct enl_errmsg e = {{0}};
	struct env none = {{0}, {0}, 0};

	REQUIRE(enl_config_load(&c, get, &none, &e) == 0);
	CHECK_STR_EQ(c.listen, "127.0.0.1:8080");
	CHECK_STR_EQ(c.data_dir, "./data");
	CHECK_STR_EQ(c.originals_bucket, "originals");
	CHECK_STR_EQ(c.thumbnails_bucket, "thumbnails");
	CHECK_STR_EQ(c.optimized_bucket, "optimized");
	CHECK_STR_EQ(c.render_bucket, "renders");
	CHECK_STR_EQ(c.table, "photos");
	CHECK_STR_EQ(c.table_key, "photoId");
	CHECK_STR_EQ(c.process_api_key_header, "x-api-key");
	CHECK_INT_EQ(c.backend, ENL_BACKEND_LOCAL);
	/* one more than the cores (src/util/config.c) */
	CHECK_INT_EQ(c.jobs, sysconf(_SC_NPROCESSORS_ONLN) + 1);
	CHECK_INT_EQ(c.max_input_pixels, 120000000);
	CHECK_INT_EQ(c.max_input_bytes, 200 * 1024 * 1024);
	CHECK_INT_EQ(c.thumb_size, 200);
	CHECK_INT_EQ(c.optimized_width, 1920);
	CHECK_INT_EQ(c.optimized_height, 1080);
	CHECK_INT_EQ(c.webp_quality, 80);
	CHECK_INT_EQ(c.jpeg_quality, 82);
	CHECK_INT_EQ(c.watch, 1);
	CHECK_INT_EQ(c.photo_id_rule, ENL_PHOTO_ID_KEY);
	/* The measured default widths (docs/keys.md), no q, unsigned. */
	CHECK_INT_EQ(c.render_widths.n, 14);
	CHECK_INT_EQ(c.render_widths.any, 0);
	CHECK_INT_EQ(c.render_widths.v[0], 64);
	CHECK_INT_EQ(c.render_widths.v[13], 3840);
	CHECK_INT_EQ(c.render_qualities.n, 0);
	CHECK_INT_EQ(c.render_unversioned_max_age, 300);
	CHECK_INT_EQ(c.render_signing_key[0], 0);
	CHECK_INT_EQ(c.process_api_key[0], 0);
	/* The SQLite file lives outside every bucket folder. */
	CHECK_STR_EQ(c.sqlite_path, "./data/.table/photos.db");

	{
		struct env v = {
		    {"ENLARGER_DATA_DIR", "ENLARGER_TABLE"}, {"/srv/x", "Gallery_Photos-2"}, 2};
		REQUIRE(enl_config_load(&c, get, &v, &e) == 0);
		CHECK_STR_EQ(c.sqlite_path, "/srv/x/.table/Gallery_Photos-2.db");
	}
	CHECK(load1("ENLARGER_SQLITE_PATH", "/var/lib/enlarger/t.db", &c, &e) == 0);
	CHECK_STR_EQ(c.sqlite_path, "/var/lib/enlarger/t.db");

	/* S3's bucket naming rules: these are good names. */
	static const char *good_buckets[] = {
	    "abc", "my.photos-2024", "a1-b2.c3",
	    "x23456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof(good_buckets) / sizeof(good_buckets[0]); i++) {
		int rc = load1("ENLARGER_THUMBNAILS_BUCKET", good_buckets[i], &c, &e);
		CHECK_INT_EQ(rc, 0);
		if (rc)
			fprintf(stderr, "good bucket %s refused: %s\n", good_buckets[i], e.text);
	}

	CHECK(load1("ENLARGER_BACKEND", "aws", &c, &e) == 0);
	CHECK_INT_EQ(c.backend, ENL_BACKEND_AWS);
	CHECK(load1("ENLARGER_JOBS", "3", &c, &e) == 0);
	CHECK_INT_EQ(c.jobs, 3);
	CHECK(load1("ENLARGER_PHOTO_ID_RULE", "basename-noext", &c, &e) == 0);
	CHECK_INT_EQ(c.photo_id_rule, ENL_PHOTO_ID_BASENAME_NOEXT);
	CHECK(load1("ENLARGER_LOG_LEVEL", "debug", &c, &e) == 0);
	CHECK_INT_EQ(c.log_level, 0);
	CHECK(load1("ENLARGER_LISTEN", "0.0.0.0:0", &c, &e) == 0);
	CHECK(load1("ENLARGER_LISTEN", "[::1]:8080", &c, &e) == 0);

	CHECK(load1("ENLARGER_MAX_RENDER_WIDTH", "8192", &c, &e) == 0);
	CHECK_INT_EQ(c.max_render_width, 8192);

	/* The allow-list is sorted and deduplicated. */
	CHECK(load1("ENLARGER_RENDER_WIDTHS", "800, 320,640,320", &c, &e) == 0);
	CHECK_INT_EQ(c.render_widths.n, 3);
	CHECK_INT_EQ(c.render_widths.v[0], 320);
	CHECK_INT_EQ(c.render_widths.v[1], 640);
	CHECK_INT_EQ(c.render_widths.v[2], 800);

	/* Bad values: ENL_EINVAL and the variable's name in the message. */
	struct {
		const char *name, *value;
	} bad[] = {
	    {"ENLARGER_JOBS", "0"},
	    {"ENLARGER_JOBS", "two"},
	    {"ENLARGER_JOBS", "2x"},
	    {"ENLARGER_JOBS", ""},
	    {"ENLARGER_JOBS", "99999999999999999999999"},
	    {"ENLARGER_QUEUE_DEPTH", "-1"},
	    {"ENLARGER_MAX_BODY_BYTES", "12"},
	    {"ENLARGER_BACKEND", "gcs"},
	    {"ENLARGER_LISTEN", "8080"},
	    {"ENLARGER_LISTEN", "127.0.0.1:70000"},
	    {"ENLARGER_ORIGINALS_BUCKET", "../etc"},
	    {"ENLARGER_ORIGINALS_BUCKET", ""},
	    /* S3's bucket naming rules, which the local store enforces too. */
	    {"ENLARGER_ORIGINALS_BUCKET", "Originals"},
	    {"ENLARGER_THUMBNAILS_BUCKET", "my_thumbs"},
	    {"ENLARGER_OPTIMIZED_BUCKET", "ab"},
	    {"ENLARGER_RENDER_BUCKET",
	     "x234567890123456789012345678901234567890123456789012345678901234"},
	    {"ENLARGER_RENDER_BUCKET", "-renders"},
	    {"ENLARGER_RENDER_BUCKET", "renders-"},
	    {"ENLARGER_RENDER_BUCKET", ".table"},
	    {"ENLARGER_RENDER_BUCKET", "my..renders"},
	    {"ENLARGER_RENDER_BUCKET", "192.168.5.4"},
	    {"ENLARGER_RENDER_BUCKET", "xn--renders"},
	    {"ENLARGER_RENDER_BUCKET", "sthree-renders"},
	    {"ENLARGER_RENDER_BUCKET", "renders-s3alias"},
	    {"ENLARGER_RENDER_BUCKET", "renders--ol-s3"},
	    {"ENLARGER_RENDER_BUCKET", "ren ders"},
	    {"ENLARGER_RENDER_BUCKET", "originals"}, /* the originals bucket */
	    {"ENLARGER_TABLE", "ph"},
	    {"ENLARGER_TABLE", "photos/x"},
	    {"ENLARGER_SQLITE_PATH", ""},
	    {"ENLARGER_PROCESS_API_KEY_HEADER", "x api key"},
	    {"ENLARGER_RENDER_WIDTHS", "100,abc"},
	    {"ENLARGER_RENDER_WIDTHS", "100,,200"},
	    {"ENLARGER_RENDER_WIDTHS", "5000"}, /* over the default max render width 4096 */
	    {"ENLARGER_RENDER_WIDTHS", ""},     /* nothing would be allowed */
	    {"ENLARGER_RENDER_WIDTHS", "any"},  /* unsigned: the list bounds the variants */
	    {"ENLARGER_RENDER_QUALITIES", "0"},
	    {"ENLARGER_RENDER_QUALITIES", "80,101"},
	    {"ENLARGER_RENDER_QUALITIES", "any"},
	    {"ENLARGER_RENDER_UNVERSIONED_MAX_AGE", "-1"},
	    {"ENLARGER_RENDER_SIGNING_KEY", "short"},
	    {"ENLARGER_RENDER_SIGNING_KEY_PREVIOUS", "0123456789abcdef0123456789abcdef"},
	    /* Past the largest side the core renders (ENL_RENDER_MAX_SIDE). */
	    {"ENLARGER_MAX_RENDER_WIDTH", "8193"},
	    {"ENLARGER_PHOTO_ID_RULE", "uuid"},
	    {"ENLARGER_WATCH", "yes"},
	    {"ENLARGER_WEBP_QUALITY", "101"},
	    {"ENLARGER_LEASE_MS", "10"},
	    {"ENLARGER_CLEANUP_JOBS", "0"},
	    {"ENLARGER_CLEANUP_QUEUE_DEPTH", "0"},
	    {"ENLARGER_CDN_DISTRIBUTION_ID", "E2-BAD/ID"},
	    /* CloudFront is called with the AWS credentials: not on the local backend. */
	    {"ENLARGER_CDN_DISTRIBUTION_ID", "E2TESTDIST"},
	    /* Secrets of fewer than ENL_SECRET_MIN_BYTES bytes; a previous one alone. */
	    {"ENLARGER_PROCESS_API_KEY", "s3cret"},
	    {"ENLARGER_ORIGIN_SECRET", "0123456789abcde"},
	    {"ENLARGER_PROCESS_API_KEY_PREVIOUS", "short"},
	    {"ENLARGER_PROCESS_API_KEY_PREVIOUS", "0123456789abcdef"},
	    {"ENLARGER_ORIGIN_SECRET_PREVIOUS", "0123456789abcdef"},
	    {"ENLARGER_ALLOW_OPEN", "2"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = load1(bad[i].name, bad[i].value, &c, &e);
		CHECK_INT_EQ(rc, ENL_EINVAL);
		if (!strstr(e.text, bad[i].name)) {
			check_failures++;
			fprintf(stderr, "message for %s=%s does not name it: %s\n", bad[i].name,
			        bad[i].value, e.text);
		}
	}

	{
		struct env v = {
		    {"ENLARGER_BACKEND", "ENLARGER_CDN_DISTRIBUTION_ID"}, {"aws", "E2TESTDIST"}, 2};
		CHECK(enl_config_load(&c, get, &v, &e) == 0);
		CHECK_STR_EQ(c.cdn_distribution_id, "E2TESTDIST");
	}
	CHECK_INT_EQ(c.cleanup_jobs, 2);
	CHECK_INT_EQ(c.cleanup_queue_depth, 1000);

	/* A short secret's message does not echo it. */
	CHECK(load1("ENLARGER_ORIGIN_SECRET", "s3cret-s3cret", &c, &e) == ENL_EINVAL);
	CHECK(strstr(e.text, "s3cret") == NULL && strstr(e.text, "16 bytes") != NULL);
	CHECK(load1("ENLARGER_PROCESS_API_KEY", "0123456789abcdef", &c, &e) == 0);
	CHECK_STR_EQ(c.process_api_key, "0123456789abcdef");
	{
		struct env v = {{"ENLARGER_PROCESS_API_KEY", "ENLARGER_PROCESS_API_KEY_PREVIOUS",
		                 "ENLARGER_ORIGIN_SECRET", "ENLARGER_ORIGIN_SECRET_PREVIOUS"},
		                {"new-key-0123456789", "old-key-0123456789",
		                 "new-origin-0123456789", "old-origin-0123456789"},
		                4};
		CHECK(enl_config_load(&c, get, &v, &e) == 0);
		CHECK_STR_EQ(c.process_api_key_previous, "old-key-0123456789");
		CHECK_STR_EQ(c.origin_secret_previous, "old-origin-0123456789");
	}

	/* Closed by default: which secrets a listen address leaves open. */
	static const struct {
		const char *listen;
		int loopback;
	} addrs[] = {
	    {"127.0.0.1:8080", 1}, {"127.1.2.3:0", 1},      {"localhost:80", 1},
	    {"LocalHost:80", 1},   {"[::1]:8080", 1},       {"[::ffff:127.0.0.1]:1", 1},
	    {"0.0.0.0:8080", 0},   {"[::]:8080", 0},        {"10.0.0.5:8080", 0},
	    {"128.0.0.1:80", 0},   {"example.com:8080", 0}, {"localhost.evil.com:80", 0},
	};
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		if (enl_config_listen_is_loopback(addrs[i].listen) != addrs[i].loopback) {
			check_failures++;
			fprintf(stderr, "%s: loopback should be %d\n", addrs[i].listen,
			        addrs[i].loopback);
		}
	}
	{
		const char *open[2] = {NULL, NULL};
		CHECK(load1("ENLARGER_LISTEN", "0.0.0.0:8080", &c, &e) == 0);
		CHECK_INT_EQ(enl_config_open_doors(&c, open), 2);
		CHECK_STR_EQ(open[0], "ENLARGER_PROCESS_API_KEY");
		CHECK_STR_EQ(open[1], "ENLARGER_ORIGIN_SECRET");
		struct env v = {{"ENLARGER_LISTEN", "ENLARGER_PROCESS_API_KEY"},
		                {"[::]:8080", "0123456789abcdef"},
		                2};
		CHECK(enl_config_load(&c, get, &v, &e) == 0);
		CHECK_INT_EQ(enl_config_open_doors(&c, open), 1);
		CHECK_STR_EQ(open[0], "ENLARGER_ORIGIN_SECRET");
		CHECK(load1("ENLARGER_LISTEN", "127.0.0.1:8080", &c, &e) == 0);
		CHECK_INT_EQ(enl_config_open_doors(&c, open), 0);
		CHECK_INT_EQ(c.allow_open, 0);
	}

	/* q values, sorted; widths "any" once URLs are signed; a short key's message never
	 * shows the key. */
	CHECK(load1("ENLARGER_RENDER_QUALITIES", "90,50", &c, &e) == 0);
	CHECK_INT_EQ(c.render_qualities.n, 2);
	CHECK_INT_EQ(c.render_qualities.v[0], 50);
	CHECK_INT_EQ(c.render_qualities.v[1], 90);
	{
		const char *k = "an HMAC key of 32 characters....";
		struct env v = {
		    {"ENLARGER_RENDER_SIGNING_KEY", "ENLARGER_RENDER_WIDTHS"}, {k, "any"}, 2};
		REQUIRE(enl_config_load(&c, get, &v, &e) == 0);
		CHECK_INT_EQ(c.render_widths.any, 1);
		CHECK_STR_EQ(c.render_signing_key, k);
		json_t *vals = enl_config_values(&c);
		CHECK_STR_EQ(
		    json_string_value(json_object_get(vals, "ENLARGER_RENDER_SIGNING_KEY")),
		    "(set)");
		CHECK_STR_EQ(json_string_value(json_object_get(vals, "ENLARGER_RENDER_WIDTHS")),
		             "any");
		json_decref(vals);
		CHECK(load1("ENLARGER_RENDER_SIGNING_KEY", "short-secret-key", &c, &e) ==
		      ENL_EINVAL);
		CHECK(strstr(e.text, "short-secret-key") == NULL);
	}
	return check_done();
}
