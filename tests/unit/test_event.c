/* Event parsing for POST /process: the three shapes, created and deleted, the one
 * URL-decoding rule of S3 event keys, control characters, sequencers, and malformed
 * bodies. */
#include <string.h>

#include "check.h"
#include "enlarger/event.h"

static int parse(const char *json, struct enl_event *ev)
{
	struct enl_errmsg e = {{0}};
	int rc = enl_event_parse(json, strlen(json), ev, &e);
	if (rc)
		fprintf(stderr, "  (parse: %s)\n", e.text);
	return rc;
}

static void eventbridge_typed(const char *type, const char *key, const char *seq, char *out,
                              size_t outsz)
{
	snprintf(out, outsz,
	         "{\"version\":\"0\",\"id\":\"x\",\"detail-type\":\"%s\","
	         "\"source\":\"aws.s3\",\"time\":\"2024-01-01T00:00:00Z\",\"region\":"
	         "\"eu-west-1\",\"resources\":[\"arn:aws:s3:::originals\"],\"detail\":{"
	         "\"version\":\"0\",\"bucket\":{\"name\":\"originals\"},\"object\":{\"key\":"
	         "\"%s\",\"size\":5,\"etag\":\"b1946ac92492d2347c6235b4d2611184\","
	         "\"version-id\":\"v\",\"sequencer\":\"%s\"},\"reason\":\"PutObject\"}}",
	         type, key, seq);
}

static void eventbridge(const char *key, const char *seq, char *out, size_t outsz)
{
	eventbridge_typed("Object Created", key, seq, out, outsz);
}

static void record_named(const char *name, const char *key, char *out, size_t outsz)
{
	snprintf(out, outsz,
	         "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\","
	         "\"eventName\":\"%s\",\"s3\":{\"bucket\":{\"name\":"
	         "\"originals\"},\"object\":{\"key\":\"%s\",\"size\":5,\"eTag\":"
	         "\"\\\"abc123\\\"\",\"sequencer\":\"0055AED6DCD90281E5\"}}}]}",
	         name, key);
}

static void record(const char *key, char *out, size_t outsz)
{
	record_named("ObjectCreated:Put", key, out, outsz);
}

int main(void)
{
	struct enl_event ev;
	char body[2048];

	/* EventBridge: the key decoded once, '+' a space (the one rule of S3 event keys). */
	eventbridge("photos/My+Trip/caf%C3%A9+100%25.jpg", "617f08299329d189", body, sizeof(body));
	REQUIRE(parse(body, &ev) == 0);
	CHECK_INT_EQ(ev.kind, ENL_EVENT_EVENTBRIDGE);
	CHECK_INT_EQ(ev.action, ENL_EVENT_CREATED);
	CHECK_STR_EQ(ev.bucket, "originals");
	CHECK_STR_EQ(ev.key, "photos/My Trip/caf\xc3\xa9 100%.jpg");
	CHECK_STR_EQ(ev.sequencer, "0000000000000000617F08299329D189");
	CHECK_STR_EQ(ev.etag, "b1946ac92492d2347c6235b4d2611184");
	CHECK(ev.has_size && ev.size == 5);

	eventbridge("plain.jpg", "01", body, sizeof(body));
	REQUIRE(parse(body, &ev) == 0);
	CHECK_STR_EQ(ev.key, "plain.jpg");
	/* "a+b.jpg" names "a b.jpg", never the key "a+b.jpg" (which arrives as a%2Bb.jpg). */
	eventbridge("a+b.jpg", "01", body, sizeof(body));
	REQUIRE(parse(body, &ev) == 0);
	CHECK_STR_EQ(ev.key, "a b.jpg");
	eventbridge("a%2Bb.jpg", "01", body, sizeof(body));
	REQUIRE(parse(body, &ev) == 0);
	CHECK_STR_EQ(ev.key, "a+b.jpg");
	/* A lone '%' is not URL-encoded text: refused, not taken literally. */
	eventbridge("50% off.jpg", "01", body, sizeof(body));
	CHECK_INT_EQ(parse(body, &ev), ENL_EINVAL);
	/* Accents sent as UTF-8 (not encoded) decode to themselves. */
	eventbridge("\xc3\xa9t\xc3\xa9.jpg", "01", body, sizeof(body));
	REQUIRE(parse(body, &ev) == 0);
	CHECK_STR_EQ(ev.key, "\xc3\xa9t\xc3\xa9.jpg");
	/* EventBridge "Object Deleted": same envelope, no ETag or size. */
	snprintf(body, sizeof(body),
	         "{\"detail-type\":\"Object Deleted\",\"source\":\"aws.s3\",\"detail\":{"
	         "\"bucket\":{\"name\":\"originals\"},\"object\":{\"key\":\"gone+now.jpg\","
	         "\"sequencer\":\"0A\"},\"deletion-type\":\"Permanently Deleted\","
	         "\"reason\":\"DeleteObject\"}}");
	REQUIRE(parse(body, &ev) == 0);
	CHECK_INT_EQ(ev.action, ENL_EVENT_DELETED);
	CHECK_STR_EQ(ev.key, "gone now.jpg");
	CHECK_STR_EQ(ev.etag, "");
	CHECK(!ev.has_size);
	CHECK_STR_EQ(ev.sequencer, "0000000000000000000000000000000A");
	eventbridge_typed("Object Deleted", "x.jpg", "0b", body, sizeof(body));
	REQUIRE(parse(body, &ev) == 0);
	CHECK_INT_EQ(ev.action, ENL_EVENT_DELETED);

	/* Classic S3 notification: the same rule. */
	record("My+Photo+%2B1.jpg", body, sizeof(body));
	REQUIRE(parse(body, &ev) == 0);
	CHECK_INT_EQ(ev.kind, ENL_EVENT_S3_RECORD);
	CHECK_INT_EQ(ev.action, ENL_EVENT_CREATED);
	CHECK_STR_EQ(ev.key, "My Photo +1.jpg");
	CHECK_STR_EQ(ev.etag, "abc123");
	CHECK_STR_EQ(ev.sequencer, "000000000000000055AED6DCD90281E5");
	record("bad%zz.jpg", body, sizeof(body));
	CHECK_INT_EQ(parse(body, &ev), ENL_EINVAL);
	record_named("ObjectRemoved:Delete", "old+one.jpg", body, sizeof(body));
	REQUIRE(parse(body, &ev) == 0);
	CHECK_INT_EQ(ev.action, ENL_EVENT_DELETED);
	CHECK_STR_EQ(ev.key, "old one.jpg");
	record_named("ObjectRemoved:DeleteMarkerCreated", "m.jpg", body, sizeof(body));
	REQUIRE(parse(body, &ev) == 0);
	CHECK_INT_EQ(ev.action, ENL_EVENT_DELETED);
	record_named("ObjectRestore:Completed", "m.jpg", body, sizeof(body));
	CHECK_INT_EQ(parse(body, &ev), ENL_EINVAL);

	/* A NUL or another control character in a key is refused in every form, encoded or
	 * not; so is a key that is not UTF-8. */
	{
		const char *ctl[] = {"a%00b.jpg", "a%01b.jpg",     "a%0Ab.jpg",     "a%7Fb.jpg",
		                     "a%1fb.jpg", "a\\u0007b.jpg", "a\\u0000b.jpg", "%E9t%E9.jpg"};
		for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
			eventbridge(ctl[i], "01", body, sizeof(body));
			CHECK_INT_EQ(parse(body, &ev), ENL_EINVAL);
			eventbridge_typed("Object Deleted", ctl[i], "01", body, sizeof(body));
			CHECK_INT_EQ(parse(body, &ev), ENL_EINVAL);
			record(ctl[i], body, sizeof(body));
			CHECK_INT_EQ(parse(body, &ev), ENL_EINVAL);
			record_named("ObjectRemoved:Delete", ctl[i], body, sizeof(body));
			CHECK_INT_EQ(parse(body, &ev), ENL_EINVAL);
		}
		const char *simple[] = {"{\"bucket\":\"originals\",\"key\":\"a\\u0001b\"}",
		                        "{\"bucket\":\"originals\",\"key\":\"a\\nb\"}",
		                        "{\"bucket\":\"originals\",\"key\":\"a\\u007fb\"}"};
		for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
			CHECK_INT_EQ(parse(simple[i], &ev), ENL_EINVAL);
	}

	/* {"bucket","key"}: literal. */
	REQUIRE(parse("{\"bucket\":\"originals\",\"key\":\"a+b %41.jpg\"}", &ev) == 0);
	CHECK_INT_EQ(ev.kind, ENL_EVENT_SIMPLE);
	CHECK_INT_EQ(ev.action, ENL_EVENT_CREATED);
	CHECK_STR_EQ(ev.key, "a+b %41.jpg");
	CHECK_STR_EQ(ev.sequencer, "");
	REQUIRE(parse("{\"bucket\":\"originals\",\"key\":\"k.jpg\",\"sequencer\":\"0a\"}", &ev) ==
	        0);
	CHECK_STR_EQ(ev.sequencer, "0000000000000000000000000000000A");

	/* Malformed bodies and events. */
	const char *bad[] = {
	    "",
	    "{",
	    "[]",
	    "null",
	    "{\"bucket\":\"originals\",\"key\":\"a\",\"key\":\"b\"}", /* duplicate member */
	    "{\"bucket\":\"originals\"}",
	    "{\"bucket\":\"originals\",\"key\":\"\"}",
	    "{\"bucket\":\"originals\",\"key\":5}",
	    "{\"bucket\":\"originals\",\"key\":\"a\\u0000b\"}",
	    "{\"key\":\"a.jpg\"}",
	    "{\"bucket\":\"originals\",\"key\":\"k\",\"sequencer\":\"xyz\"}",
	    "{\"bucket\":\"originals\",\"key\":\"k\",\"sequencer\":"
	    "\"0123456789abcdef0123456789abcdef0\"}",
	    "{\"Records\":[]}",
	    "{\"Records\":[{\"eventName\":\"ObjectRemoved:Delete\",\"s3\":{\"bucket\":{\"name\":"
	    "\"o\"},\"object\":{}}}]}",
	    "{\"detail-type\":\"Object Deleted\",\"source\":\"aws.s3\",\"detail\":{}}",
	    "{\"detail-type\":\"Object Tags Added\",\"source\":\"aws.s3\",\"detail\":{\"bucket\":"
	    "{\"name\":\"o\"},\"object\":{\"key\":\"k\"}}}",
	    "{\"detail-type\":\"Object Created\",\"source\":\"aws.s3\",\"detail\":{\"bucket\":"
	    "{\"name\":\"o\"},\"object\":{}}}",
	    "{\"hello\":\"world\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct enl_errmsg e = {{0}};
		int rc = enl_event_parse(bad[i], strlen(bad[i]), &ev, &e);
		CHECK_INT_EQ(rc, ENL_EINVAL);
		CHECK(e.text[0] != '\0');
	}
	/* A key over 1024 bytes. */
	{
		static char big[1200 + 64];
		char k[1100];
		memset(k, 'a', sizeof(k) - 1);
		k[sizeof(k) - 1] = 0;
		snprintf(big, sizeof(big), "{\"bucket\":\"originals\",\"key\":\"%s\"}", k);
		CHECK_INT_EQ(parse(big, &ev), ENL_EINVAL);
	}
	return check_done();
}
