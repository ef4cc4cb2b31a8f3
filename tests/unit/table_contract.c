/* The photo table contract suite (see table_contract.h): every claim transition
 * of docs/photo-item.md, ownership of complete/fail, the item's round trip, and
 * concurrent claims. Times are the caller's (now_ms), so leases are exact. */
#include "table_contract.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define LEASE 60000

static const struct table_contract *C;
static char run[64];

static struct enl_table *open_table(void)
{
	struct enl_table *t = C->open(C->ud);
	REQUIRE(t != NULL);
	return t;
}

static void pid(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s-%s", run, name);
}

struct enl_claim_req table_contract_req(const char *id, const char *seq, const char *etag,
                                        const char *attempt, int64_t now)
{
	struct enl_claim_req r = {.photo_id = id,
	                          .sequencer = seq,
	                          .etag = etag,
	                          .attempt = attempt,
	                          .bucket = "originals",
	                          .key = "photos/a b.jpg",
	                          .now_ms = now,
	                          .lease_ms = LEASE};
	return r;
}

static int claim(struct enl_table *t, const char *id, const char *seq, const char *etag,
                 const char *attempt, int64_t now)
{
	struct enl_claim_req r = table_contract_req(id, seq, etag, attempt, now);
	enum enl_claim_result res = (enum enl_claim_result) - 1;
	struct enl_errmsg e = {""};
	int rc = enl_table_claim(t, &r, &res, &e);
	if (rc != ENL_OK) {
		fprintf(stderr, "  claim %s: %s\n", id, e.text);
		return -100 + rc;
	}
	return (int)res;
}

static json_t *get(struct enl_table *t, const char *id)
{
	json_t *item = NULL;
	struct enl_errmsg e = {""};
	int rc = enl_table_get(t, id, &item, &e);
	CHECK_INT_EQ(rc, ENL_OK);
	return item;
}

static const char *sfield(json_t *item, const char *name)
{
	return json_string_value(json_object_get(item, name));
}

static int complete(struct enl_table *t, const char *id, const char *attempt, json_t *fields)
{
	struct enl_errmsg e = {""};
	return enl_table_complete(t, id, attempt, fields, &e);
}

static int fail(struct enl_table *t, const char *id, const char *attempt, const char *why)
{
	struct enl_errmsg e = {""};
	return enl_table_fail(t, id, attempt, why, &e);
}

static int release(struct enl_table *t, const char *id, const char *attempt, const char *why)
{
	struct enl_errmsg e = {""};
	return enl_table_release(t, id, attempt, why, &e);
}

static void test_seq_pad(void)
{
	char out[ENL_SEQ_WIDTH + 1];
	CHECK_INT_EQ(enl_seq_pad("617f08299329d189", out), ENL_OK);
	CHECK_STR_EQ(out, "0000000000000000617F08299329D189");
	CHECK_INT_EQ(strlen(out), ENL_SEQ_WIDTH);
	CHECK_INT_EQ(enl_seq_pad("0055AED6DCD90281E5", out), ENL_OK);
	CHECK_STR_EQ(out, "000000000000000055AED6DCD90281E5");
	CHECK_INT_EQ(enl_seq_pad("", out), ENL_EINVAL);
	CHECK_INT_EQ(enl_seq_pad("12g4", out), ENL_EINVAL);
	CHECK_INT_EQ(enl_seq_pad("0x12", out), ENL_EINVAL);
	CHECK_INT_EQ(enl_seq_pad("123456789012345678901234567890123", out), ENL_EINVAL);
	CHECK_INT_EQ(enl_seq_pad("12345678901234567890123456789012", out), ENL_OK);
	/* Padding makes numeric order and byte order agree: ff < 100. */
	char a[ENL_SEQ_WIDTH + 1], b[ENL_SEQ_WIDTH + 1];
	enl_seq_pad("ff", a);
	enl_seq_pad("100", b);
	CHECK(strcmp(a, b) < 0);
}

static void test_new_and_busy(struct enl_table *t)
{
	char id[128];
	pid(id, sizeof(id), "new");
	CHECK_INT_EQ(claim(t, id, "1a", "etag-1", "att-1", 1000), ENL_CLAIM_OK);
	json_t *it = get(t, id);
	CHECK_STR_EQ(sfield(it, C->key_attr), id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "processing");
	CHECK_STR_EQ(sfield(it, "attempt"), "att-1");
	CHECK_STR_EQ(sfield(it, "sequencer"), "0000000000000000000000000000001A");
	CHECK_STR_EQ(sfield(it, "etag"), "etag-1");
	CHECK_STR_EQ(sfield(it, "bucket"), "originals");
	CHECK_STR_EQ(sfield(it, "objectKey"), "photos/a b.jpg");
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "leaseUntil")), 1000 + LEASE);
	CHECK(json_object_get(it, "processingError") == NULL);
	CHECK(json_object_get(it, "updatedAt") != NULL);
	json_decref(it);

	/* Same sequencer while the lease is live: busy, and nothing changes. */
	CHECK_INT_EQ(claim(t, id, "1a", "etag-1", "att-2", 2000), ENL_CLAIM_BUSY);
	CHECK_INT_EQ(claim(t, id, "1A", "etag-1", "att-2", 1000 + LEASE - 1), ENL_CLAIM_BUSY);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "attempt"), "att-1");
	json_decref(it);

	/* Lease over: the retry takes over; the old attempt's result is refused. */
	CHECK_INT_EQ(claim(t, id, "1a", "etag-1", "att-3", 1000 + LEASE), ENL_CLAIM_OK);
	json_t *f = json_pack("{s:i}", "width", 10);
	CHECK_INT_EQ(complete(t, id, "att-1", f), ENL_ECONFLICT);
	CHECK_INT_EQ(fail(t, id, "att-1", "late"), ENL_ECONFLICT);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "processing");
	CHECK_STR_EQ(sfield(it, "attempt"), "att-3");
	CHECK(json_object_get(it, "width") == NULL);
	json_decref(it);
	CHECK_INT_EQ(complete(t, id, "att-3", f), ENL_OK);
	json_decref(f);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "completed");
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "width")), 10);
	CHECK(sfield(it, "processedAt") != NULL);
	json_decref(it);

	/* Done: the same sequencer again is a duplicate (even with a lease long over). */
	CHECK_INT_EQ(claim(t, id, "1a", "etag-1", "att-4", 5000000), ENL_CLAIM_DUPLICATE);
	CHECK_INT_EQ(claim(t, id, "01A", NULL, "att-4", 5000000), ENL_CLAIM_DUPLICATE);
	/* Older: stale. Newer: ok. */
	CHECK_INT_EQ(claim(t, id, "19", "etag-0", "att-5", 5000000), ENL_CLAIM_STALE);
	CHECK_INT_EQ(claim(t, id, "1b", "etag-2", "att-6", 5000000), ENL_CLAIM_OK);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "sequencer"), "0000000000000000000000000000001B");
	CHECK_STR_EQ(sfield(it, "etag"), "etag-2");
	CHECK(sfield(it, "processedAt") != NULL); /* the last result stays until replaced */
	json_decref(it);
	/* Padding decides order: 100 (hex) is newer than ff. */
	CHECK_INT_EQ(claim(t, id, "ff", "etag-3", "att-7", 5000001), ENL_CLAIM_OK);
	CHECK_INT_EQ(claim(t, id, "100", "etag-4", "att-8", 5000002), ENL_CLAIM_OK);
	CHECK_INT_EQ(claim(t, id, "ff", "etag-3", "att-9", 5000003), ENL_CLAIM_STALE);
}

static void test_takeover_in_flight(struct enl_table *t)
{
	char id[128];
	pid(id, sizeof(id), "inflight");
	CHECK_INT_EQ(claim(t, id, "10", "e1", "old", 1000), ENL_CLAIM_OK);
	/* A newer event takes over even while the older attempt's lease is live. */
	CHECK_INT_EQ(claim(t, id, "11", "e2", "new", 2000), ENL_CLAIM_OK);
	CHECK_INT_EQ(complete(t, id, "old", NULL), ENL_ECONFLICT);
	CHECK_INT_EQ(fail(t, id, "old", "x"), ENL_ECONFLICT);
	CHECK_INT_EQ(fail(t, id, "new", "corrupt JPEG"), ENL_OK);
	json_t *it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "failed");
	CHECK_STR_EQ(sfield(it, "processingError"), "corrupt JPEG");
	CHECK_STR_EQ(sfield(it, "etag"), "e2");
	json_decref(it);
	/* Failed counts as done for duplicates. */
	CHECK_INT_EQ(claim(t, id, "11", "e2", "again", 3000), ENL_CLAIM_DUPLICATE);
	CHECK_INT_EQ(claim(t, id, "10", "e1", "older", 3000), ENL_CLAIM_STALE);
	/* A newer event clears the error. */
	CHECK_INT_EQ(claim(t, id, "12", "e3", "newest", 3000), ENL_CLAIM_OK);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "processing");
	CHECK(json_object_get(it, "processingError") == NULL);
	json_decref(it);
	/* Completing a photo that was never claimed is a conflict. */
	char none[128];
	pid(none, sizeof(none), "never-claimed");
	CHECK_INT_EQ(complete(t, none, "a", NULL), ENL_ECONFLICT);
	CHECK_INT_EQ(fail(t, none, "a", "x"), ENL_ECONFLICT);
}

static void test_no_sequencer(struct enl_table *t)
{
	char id[128];
	pid(id, sizeof(id), "curl");
	/* curl requests: the ETag decides. */
	CHECK_INT_EQ(claim(t, id, NULL, "e1", "c1", 1000), ENL_CLAIM_OK);
	CHECK_INT_EQ(claim(t, id, NULL, "e1", "c2", 2000), ENL_CLAIM_BUSY);
	CHECK_INT_EQ(claim(t, id, NULL, "\"e1\"", "c2", 2000), ENL_CLAIM_BUSY); /* quoted */
	CHECK_INT_EQ(complete(t, id, "c1", NULL), ENL_OK);
	CHECK_INT_EQ(claim(t, id, NULL, "e1", "c3", 3000), ENL_CLAIM_DUPLICATE);
	CHECK_INT_EQ(claim(t, id, NULL, "e2", "c4", 3000), ENL_CLAIM_OK);
	json_t *it = get(t, id);
	CHECK(json_object_get(it, "sequencer") == NULL);
	CHECK_STR_EQ(sfield(it, "etag"), "e2");
	json_decref(it);
	/* A different object (ETag) takes over even a live claim; the same one waits. */
	CHECK_INT_EQ(claim(t, id, NULL, "e3", "c5", 3001), ENL_CLAIM_OK);
	CHECK_INT_EQ(complete(t, id, "c4", NULL), ENL_ECONFLICT);
	/* An expired claim of the same ETag is taken over. */
	CHECK_INT_EQ(claim(t, id, NULL, "e3", "c6", 3001 + LEASE), ENL_CLAIM_OK);
	CHECK_INT_EQ(complete(t, id, "c6", NULL), ENL_OK);
	/* An event for that same object (stored sequencer unknown) is a duplicate;
	 * for another object it is processed and its sequencer stored. */
	CHECK_INT_EQ(claim(t, id, "5", "e3", "ev1", 9000000), ENL_CLAIM_DUPLICATE);
	CHECK_INT_EQ(claim(t, id, "5", "e4", "ev2", 9000000), ENL_CLAIM_OK);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "sequencer"), "00000000000000000000000000000005");
	json_decref(it);
	CHECK_INT_EQ(complete(t, id, "ev2", NULL), ENL_OK);
	/* With a stored sequencer, a curl request keeps it. */
	CHECK_INT_EQ(claim(t, id, NULL, "e4", "c7", 9000001), ENL_CLAIM_DUPLICATE);
	CHECK_INT_EQ(claim(t, id, NULL, "e5", "c8", 9000001), ENL_CLAIM_OK);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "sequencer"), "00000000000000000000000000000005");
	CHECK_STR_EQ(sfield(it, "etag"), "e5");
	json_decref(it);
}

/* What the dispatch normalises before any table sees it (include/enlarger/table.h): a
 * sequencer that is not hex, a result that is not an object, an empty ETag, and the cap
 * of a reason, cut where a UTF-8 character starts. */
static void test_normalised(struct enl_table *t)
{
	char id[128];
	struct enl_errmsg e = {""};
	pid(id, sizeof(id), "normalised");
	CHECK_INT_EQ(claim(t, id, "not-hex", "e1", "n0", 1000), -100 + ENL_EINVAL);
	CHECK_INT_EQ(claim(t, id, "123456789012345678901234567890123", "e1", "n0", 1000),
	             -100 + ENL_EINVAL);
	CHECK(enl_table_get(t, id, &(json_t *){NULL}, &e) == ENL_ENOTFOUND); /* nothing written */
	/* An empty ETag is no ETag: not stored, and a request that has neither sequencer nor
	 * ETag always takes the photo, done or not. */
	CHECK_INT_EQ(claim(t, id, NULL, "", "n1", 1000), ENL_CLAIM_OK);
	json_t *it = get(t, id);
	CHECK(json_object_get(it, "etag") == NULL);
	json_decref(it);
	json_t *arr = json_array();
	CHECK_INT_EQ(complete(t, id, "n1", arr), ENL_EINVAL);
	json_decref(arr);
	CHECK_INT_EQ(complete(t, id, "n1", NULL), ENL_OK);
	CHECK_INT_EQ(claim(t, id, NULL, "", "n2", 2000), ENL_CLAIM_OK);
	CHECK_INT_EQ(claim(t, id, NULL, "\"\"", "n3", 2000 + LEASE), ENL_CLAIM_OK);
	/* 999 bytes and a 2-byte character across the cap: the character goes whole. */
	char reason[1500];
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	memcpy(reason + 999, "\xc3\xa9", 2);
	CHECK_INT_EQ(fail(t, id, "n3", reason), ENL_OK);
	it = get(t, id);
	const char *stored = sfield(it, "processingError");
	CHECK(stored && strlen(stored) == 999 && strncmp(stored, reason, 999) == 0);
	json_decref(it);
	/* Exactly at the cap: kept whole; release caps as fail does. */
	CHECK_INT_EQ(claim(t, id, NULL, "e2", "n4", 3000), ENL_CLAIM_OK);
	memset(reason, 'y', sizeof(reason) - 1);
	CHECK_INT_EQ(release(t, id, "n4", reason), ENL_OK);
	it = get(t, id);
	stored = sfield(it, "processingError");
	CHECK(stored && strlen(stored) == ENL_TABLE_REASON_MAX && stored[0] == 'y');
	json_decref(it);
}

/* A retryable failure gives the claim back: the retry of the same event claims at once
 * (no lease to wait out), an older event is still stale, and only the owner of a live
 * claim can release it. */
static void test_release(struct enl_table *t)
{
	char id[128];
	pid(id, sizeof(id), "release");
	CHECK_INT_EQ(claim(t, id, "20", "e1", "r1", 1000), ENL_CLAIM_OK);
	CHECK_INT_EQ(release(t, id, "other", "store down"), ENL_ECONFLICT);
	CHECK_INT_EQ(claim(t, id, "20", "e1", "r2", 2000), ENL_CLAIM_BUSY);
	CHECK_INT_EQ(release(t, id, "r1", "photo store: S3 GET: timeout"), ENL_OK);
	json_t *it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "pending");
	CHECK_STR_EQ(sfield(it, "processingError"), "photo store: S3 GET: timeout");
	CHECK(json_object_get(it, "leaseUntil") == NULL);
	CHECK_STR_EQ(sfield(it, "sequencer"), "00000000000000000000000000000020");
	CHECK_STR_EQ(sfield(it, "etag"), "e1");
	json_decref(it);
	/* Released: the old attempt cannot complete, fail or release it again. */
	CHECK_INT_EQ(release(t, id, "r1", "again"), ENL_ECONFLICT);
	CHECK_INT_EQ(complete(t, id, "r1", NULL), ENL_ECONFLICT);
	CHECK_INT_EQ(fail(t, id, "r1", "late"), ENL_ECONFLICT);
	/* An older event is still stale; the retry (same sequencer, well inside the old
	 * lease) takes it at once and clears the error. */
	CHECK_INT_EQ(claim(t, id, "1f", "e0", "r3", 2000), ENL_CLAIM_STALE);
	CHECK_INT_EQ(claim(t, id, "20", "e1", "r4", 2000), ENL_CLAIM_OK);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "processing");
	CHECK_STR_EQ(sfield(it, "attempt"), "r4");
	CHECK(json_object_get(it, "processingError") == NULL);
	json_decref(it);
	CHECK_INT_EQ(complete(t, id, "r4", NULL), ENL_OK);
	/* A result is never released back to pending. */
	CHECK_INT_EQ(release(t, id, "r4", "late"), ENL_ECONFLICT);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "completed");
	json_decref(it);
	/* The same without a sequencer (curl): the ETag decides, a released claim is free. */
	pid(id, sizeof(id), "release-curl");
	CHECK_INT_EQ(claim(t, id, NULL, "e5", "c1", 1000), ENL_CLAIM_OK);
	CHECK_INT_EQ(release(t, id, "c1", "table busy"), ENL_OK);
	CHECK_INT_EQ(claim(t, id, NULL, "e5", "c2", 1001), ENL_CLAIM_OK);
	/* Never claimed: a conflict. */
	pid(id, sizeof(id), "release-none");
	CHECK_INT_EQ(release(t, id, "x", "y"), ENL_ECONFLICT);
}

static int renew(struct enl_table *t, const char *id, const char *attempt, int64_t until)
{
	struct enl_errmsg e = {""};
	return enl_table_renew(t, id, attempt, until, &e);
}

/* id's item has status and no lease. */
static void check_unleased(struct enl_table *t, const char *id, const char *status)
{
	json_t *it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), status);
	CHECK(json_object_get(it, "leaseUntil") == NULL);
	json_decref(it);
}

/* The heartbeat: the owner of a live claim moves its lease (and nothing else), so a
 * retry stays busy past the first lease; nobody else can, and nothing that is no longer
 * processing (released, completed, taken over, never claimed) is renewed. */
static void test_renew(struct enl_table *t)
{
	char id[128];
	pid(id, sizeof(id), "renew");
	CHECK_INT_EQ(claim(t, id, "30", "e1", "h1", 1000), ENL_CLAIM_OK);
	CHECK_INT_EQ(renew(t, id, "other", 1000 + 5 * LEASE), ENL_ECONFLICT);
	CHECK_INT_EQ(renew(t, id, "h1", 1000 + 3 * LEASE), ENL_OK);
	json_t *it = get(t, id);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "leaseUntil")), 1000 + 3 * LEASE);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "processing");
	CHECK_STR_EQ(sfield(it, "attempt"), "h1");
	CHECK_STR_EQ(sfield(it, "sequencer"), "00000000000000000000000000000030");
	json_decref(it);
	/* Past the first lease, inside the renewed one: still busy. */
	CHECK_INT_EQ(claim(t, id, "30", "e1", "h2", 1000 + 2 * LEASE), ENL_CLAIM_BUSY);
	/* Past the renewed lease: taken over, and the old attempt's heartbeat stops. */
	CHECK_INT_EQ(claim(t, id, "30", "e1", "h3", 1001 + 3 * LEASE), ENL_CLAIM_OK);
	CHECK_INT_EQ(renew(t, id, "h1", 1000 + 9 * LEASE), ENL_ECONFLICT);
	CHECK_INT_EQ(complete(t, id, "h3", NULL), ENL_OK);
	CHECK_INT_EQ(renew(t, id, "h3", 1000 + 9 * LEASE), ENL_ECONFLICT);
	check_unleased(t, id, "completed");
	/* Released, then renewed by its old owner: nothing changes. */
	pid(id, sizeof(id), "renew-released");
	CHECK_INT_EQ(claim(t, id, "31", "e2", "h4", 1000), ENL_CLAIM_OK);
	CHECK_INT_EQ(release(t, id, "h4", "store down"), ENL_OK);
	CHECK_INT_EQ(renew(t, id, "h4", 1000 + 3 * LEASE), ENL_ECONFLICT);
	check_unleased(t, id, "pending");
	/* No item: nothing is created. */
	pid(id, sizeof(id), "renew-none");
	CHECK_INT_EQ(renew(t, id, "x", 5000), ENL_ECONFLICT);
	it = NULL;
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_table_get(t, id, &it, &e), ENL_ENOTFOUND);
	json_decref(it);
}

static void test_round_trip(struct enl_table *t)
{
	char id[128];
	pid(id, sizeof(id), "fields");
	CHECK_INT_EQ(claim(t, id, "abc", "etag-f", "f1", 1000), ENL_CLAIM_OK);
	json_t *f = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:i, s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:i, "
	    "s:s, s:f, s:s, s:f, s:s, s:f, s:i, s:s, s:s, s:s, s:{s:f, s:f, s:f}, s:s, s:s, s:s, "
	    "s:s, s:s, s:s, s:s}",
	    "thumbnailKey", "thumbnails/a b-abc.webp", "optimizedKey", "optimized/a b-abc.webp",
	    "thumbnailJpegKey", "thumbnails/a b-abc.jpg", "optimizedJpegKey",
	    "optimized/a b-abc.jpg", "version", "97fdc6ae077d8165f3cb4aa494ddb7d4", "width", 6000,
	    "height", 4000, "fileSize", (json_int_t)25123456789LL, "thumbnailSize", 5123,
	    "optimizedSize", 201234, "thumbnailJpegSize", 7000, "optimizedJpegSize", 300000,
	    "cameraMake", "Canon", "cameraModel", "Canon EOS R5", "lensModel",
	    "RF24-105mm F4 L IS USM", "dateTaken", "2021-03-04T10:11:12+02:00", "iso", 400,
	    "focalLength", "50", "focalLengthMm", 50.0, "aperture", "2.8", "fNumber", 2.8,
	    "shutterSpeed", "1/250", "exposureSeconds", 0.004, "orientation", 6, "software",
	    "Caf\xc3\xa9 1.0", "artist", "Jane \"JD\" Doe", "copyright", "(c) 2021 Jane", "gps",
	    "latitude", 48.858222, "longitude", -2.2945, "altitude", -12.5, "blurhash",
	    "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "dominantColor", "#a1b2c3", "sourceFormat", "jpeg",
	    "bogusUnknownKey", "ignored", "processingStatus", "pending", "attempt", "hijack",
	    "sequencer", "ffffffff");
	REQUIRE(f != NULL);
	CHECK_INT_EQ(complete(t, id, "f1", f), ENL_OK);
	json_decref(f);

	json_t *it = get(t, id);
	REQUIRE(it != NULL);
	CHECK_STR_EQ(sfield(it, "thumbnailKey"), "thumbnails/a b-abc.webp");
	CHECK_STR_EQ(sfield(it, "optimizedKey"), "optimized/a b-abc.webp");
	CHECK_STR_EQ(sfield(it, "thumbnailJpegKey"), "thumbnails/a b-abc.jpg");
	CHECK_STR_EQ(sfield(it, "optimizedJpegKey"), "optimized/a b-abc.jpg");
	CHECK_STR_EQ(sfield(it, "version"), "97fdc6ae077d8165f3cb4aa494ddb7d4");
	CHECK(json_is_integer(json_object_get(it, "width")));
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "width")), 6000);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "height")), 4000);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "fileSize")), 25123456789LL);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "thumbnailSize")), 5123);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "optimizedSize")), 201234);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "thumbnailJpegSize")), 7000);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "optimizedJpegSize")), 300000);
	CHECK_STR_EQ(sfield(it, "cameraMake"), "Canon");
	CHECK_STR_EQ(sfield(it, "cameraModel"), "Canon EOS R5");
	CHECK_STR_EQ(sfield(it, "lensModel"), "RF24-105mm F4 L IS USM");
	CHECK_STR_EQ(sfield(it, "dateTaken"), "2021-03-04T10:11:12+02:00");
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "iso")), 400);
	/* The gallery's strings and their numeric twins. */
	CHECK_STR_EQ(sfield(it, "focalLength"), "50");
	CHECK_NEAR(json_number_value(json_object_get(it, "focalLengthMm")), 50.0, 1e-9);
	CHECK_STR_EQ(sfield(it, "aperture"), "2.8");
	CHECK_NEAR(json_number_value(json_object_get(it, "fNumber")), 2.8, 1e-9);
	CHECK_STR_EQ(sfield(it, "shutterSpeed"), "1/250");
	CHECK_NEAR(json_number_value(json_object_get(it, "exposureSeconds")), 0.004, 1e-12);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "orientation")), 6);
	CHECK_STR_EQ(sfield(it, "software"), "Caf\xc3\xa9 1.0");
	CHECK_STR_EQ(sfield(it, "artist"), "Jane \"JD\" Doe");
	CHECK_STR_EQ(sfield(it, "copyright"), "(c) 2021 Jane");
	json_t *gps = json_object_get(it, "gps");
	CHECK(json_is_object(gps));
	CHECK_NEAR(json_number_value(json_object_get(gps, "latitude")), 48.858222, 1e-9);
	CHECK_NEAR(json_number_value(json_object_get(gps, "longitude")), -2.2945, 1e-9);
	CHECK_NEAR(json_number_value(json_object_get(gps, "altitude")), -12.5, 1e-9);
	CHECK(json_object_get(it, "gpsLatitude") == NULL);
	CHECK_STR_EQ(sfield(it, "blurhash"), "LEHV6nWB2yk8pyo0adR*.7kCMdnj");
	CHECK_STR_EQ(sfield(it, "dominantColor"), "#a1b2c3");
	CHECK_STR_EQ(sfield(it, "sourceFormat"), "jpeg");
	CHECK(sfield(it, "processedAt") != NULL);
	CHECK(json_object_get(it, "bogusUnknownKey") == NULL);
	/* Control fields are not the caller's to set through complete. */
	CHECK_STR_EQ(sfield(it, "processingStatus"), "completed");
	CHECK_STR_EQ(sfield(it, "attempt"), "f1");
	CHECK_STR_EQ(sfield(it, "sequencer"), "00000000000000000000000000000ABC");
	CHECK_STR_EQ(sfield(it, "etag"), "etag-f");
	json_decref(it);

	/* A new version without GPS (or EXIF) keeps none of the old version's. */
	CHECK_INT_EQ(claim(t, id, "abd", "etag-g", "f2", 2000), ENL_CLAIM_OK);
	f = json_pack("{s:i, s:i, s:s}", "width", 10, "height", 20, "processedAt",
	              "2030-01-02T03:04:05.000Z");
	CHECK_INT_EQ(complete(t, id, "f2", f), ENL_OK);
	json_decref(f);
	it = get(t, id);
	CHECK(json_object_get(it, "gps") == NULL);
	CHECK(json_object_get(it, "cameraMake") == NULL);
	CHECK(json_object_get(it, "aperture") == NULL);
	CHECK(json_object_get(it, "thumbnailKey") == NULL);
	CHECK_INT_EQ(json_integer_value(json_object_get(it, "height")), 20);
	CHECK_STR_EQ(sfield(it, "processedAt"), "2030-01-02T03:04:05.000Z");
	json_decref(it);

	/* GPS without altitude. */
	CHECK_INT_EQ(claim(t, id, "abe", "etag-h", "f3", 3000), ENL_CLAIM_OK);
	f = json_pack("{s:{s:f, s:f}}", "gps", "latitude", -33.5, "longitude", 151.25);
	CHECK_INT_EQ(complete(t, id, "f3", f), ENL_OK);
	json_decref(f);
	it = get(t, id);
	gps = json_object_get(it, "gps");
	CHECK_INT_EQ(json_object_size(gps), 2);
	CHECK_NEAR(json_number_value(json_object_get(gps, "latitude")), -33.5, 1e-12);
	CHECK(json_object_get(gps, "altitude") == NULL);
	json_decref(it);

	/* Missing photo. */
	char none[128];
	pid(none, sizeof(none), "no-such-photo");
	json_t *nothing = NULL;
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_table_get(t, none, &nothing, &e), ENL_ENOTFOUND);
	CHECK(nothing == NULL);
}

static void test_reopen(void)
{
	char id[128];
	pid(id, sizeof(id), "reopen");
	struct enl_table *t = open_table();
	CHECK_INT_EQ(claim(t, id, "7", "e", "r1", 1000), ENL_CLAIM_OK);
	enl_table_destroy(t);
	t = open_table();
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_table_ping(t, &e), ENL_OK);
	CHECK_INT_EQ(claim(t, id, "7", "e", "r2", 2000), ENL_CLAIM_BUSY);
	CHECK_INT_EQ(complete(t, id, "r1", NULL), ENL_OK);
	enl_table_destroy(t);
}

/* 8 threads claim the same (photo, sequencer): exactly one owns it. */
#define RACERS 8
#define RACE_ROUNDS 5

struct racer {
	struct enl_table *t;
	const char *id;
	int n;
	pthread_barrier_t *go;
	int result;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char att[32];
	snprintf(att, sizeof(att), "racer-%d", r->n);
	pthread_barrier_wait(r->go);
	r->result = claim(r->t, r->id, "5e", "etag-r", att, 1000);
	return NULL;
}

static void test_concurrent_claims(struct enl_table *t)
{
	for (int round = 0; round < RACE_ROUNDS; round++) {
		char id[128], name[32];
		snprintf(name, sizeof(name), "race-%d", round);
		pid(id, sizeof(id), name);
		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, RACERS);
		pthread_t th[RACERS];
		struct racer r[RACERS];
		for (int i = 0; i < RACERS; i++) {
			r[i] = (struct racer){t, id, i, &go, -1};
			REQUIRE(pthread_create(&th[i], NULL, race, &r[i]) == 0);
		}
		int ok = 0, busy = 0, winner = -1;
		for (int i = 0; i < RACERS; i++) {
			pthread_join(th[i], NULL);
			if (r[i].result == ENL_CLAIM_OK) {
				ok++;
				winner = i;
			} else if (r[i].result == ENL_CLAIM_BUSY) {
				busy++;
			}
		}
		pthread_barrier_destroy(&go);
		CHECK_INT_EQ(ok, 1);
		CHECK_INT_EQ(busy, RACERS - 1);
		/* The stored attempt is the winner's. */
		json_t *it = get(t, id);
		char att[32];
		snprintf(att, sizeof(att), "racer-%d", winner);
		CHECK_STR_EQ(sfield(it, "attempt"), att);
		json_decref(it);
	}
}

static int mark_deleted(struct enl_table *t, const char *id, const char *seq, const char *key)
{
	struct enl_delete_req r = {.photo_id = id, .sequencer = seq, .key = key, .now_ms = 9000};
	enum enl_delete_result res = (enum enl_delete_result) - 1;
	struct enl_errmsg e = {""};
	int rc = enl_table_mark_deleted(t, &r, &res, &e);
	if (rc != ENL_OK) {
		fprintf(stderr, "  delete %s: %s\n", id, e.text);
		return -100 + rc;
	}
	return (int)res;
}

/* The delete table of docs/photo-item.md, and what a delete leaves of the item. */
static void test_delete(struct enl_table *t)
{
	const char *key = "photos/a b.jpg"; /* the key table_contract_req claims with */
	char id[128];
	json_t *it;
	struct enl_errmsg e = {""};

	/* No item: none is created. */
	pid(id, sizeof(id), "del-none");
	CHECK_INT_EQ(mark_deleted(t, id, "10", key), ENL_DELETE_NO_ITEM);
	CHECK_INT_EQ(enl_table_get(t, id, &it, &e), ENL_ENOTFOUND);

	/* A completed photo: deleted, its results gone, where it was kept. */
	pid(id, sizeof(id), "del-done");
	CHECK_INT_EQ(claim(t, id, "10", "etag-1", "d1", 1000), ENL_CLAIM_OK);
	json_t *f = json_pack("{s:s, s:s, s:i, s:s, s:{s:f, s:f}}", "thumbnailKey",
	                      "t/1/thumb.webp", "cameraMake", "Canon", "width", 640, "aperture",
	                      "2.8", "gps", "latitude", 1.5, "longitude", 2.5);
	CHECK_INT_EQ(complete(t, id, "d1", f), ENL_OK);
	json_decref(f);
	CHECK_INT_EQ(mark_deleted(t, id, "20", key), ENL_DELETE_OK);
	it = get(t, id);
	REQUIRE(it != NULL);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "deleted");
	CHECK_STR_EQ(sfield(it, "sequencer"), "00000000000000000000000000000020");
	CHECK_STR_EQ(sfield(it, "objectKey"), key);
	CHECK_STR_EQ(sfield(it, "bucket"), "originals");
	CHECK(sfield(it, "updatedAt") != NULL);
	const char *gone[] = {"thumbnailKey", "cameraMake",     "width", "aperture",
	                      "gps",          "processedAt",    "etag",  "attempt",
	                      "leaseUntil",   "processingError"};
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		if (json_object_get(it, gone[i]))
			fprintf(stderr, "  %s left on a deleted item\n", gone[i]);
		CHECK(json_object_get(it, gone[i]) == NULL);
	}
	json_decref(it);
	/* The same delete again, an older one, and an upload older than the delete. */
	CHECK_INT_EQ(mark_deleted(t, id, "20", key), ENL_DELETE_DUPLICATE);
	CHECK_INT_EQ(mark_deleted(t, id, "15", key), ENL_DELETE_STALE);
	CHECK_INT_EQ(claim(t, id, "18", "etag-2", "d2", 2000), ENL_CLAIM_STALE);
	/* An upload newer than the delete wins; a delete older than it is then stale. */
	CHECK_INT_EQ(claim(t, id, "30", "etag-3", "d3", 3000), ENL_CLAIM_OK);
	f = json_pack("{s:s}", "thumbnailKey", "t/3/thumb.webp");
	CHECK_INT_EQ(complete(t, id, "d3", f), ENL_OK);
	json_decref(f);
	CHECK_INT_EQ(mark_deleted(t, id, "25", key), ENL_DELETE_STALE);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "completed");
	CHECK_STR_EQ(sfield(it, "thumbnailKey"), "t/3/thumb.webp");
	json_decref(it);
	/* Another original with the same photo id (a basename rule): untouched. */
	CHECK_INT_EQ(mark_deleted(t, id, "99", "elsewhere/a b.jpg"), ENL_DELETE_OTHER_KEY);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "completed");
	json_decref(it);

	/* A live claim of an older version is taken over: its complete then conflicts. */
	CHECK_INT_EQ(claim(t, id, "40", "etag-4", "d4", 4000), ENL_CLAIM_OK);
	CHECK_INT_EQ(mark_deleted(t, id, "50", key), ENL_DELETE_OK);
	f = json_pack("{s:s}", "thumbnailKey", "t/4/thumb.webp");
	CHECK_INT_EQ(complete(t, id, "d4", f), ENL_ECONFLICT);
	json_decref(f);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "deleted");
	CHECK(json_object_get(it, "thumbnailKey") == NULL);
	json_decref(it);
	/* A curl request (no sequencer, no stored ETag) may process it again. */
	CHECK_INT_EQ(claim(t, id, NULL, "etag-5", "d5", 5000), ENL_CLAIM_OK);

	/* A delete without a sequencer: applied once, then a duplicate. */
	pid(id, sizeof(id), "del-noseq");
	CHECK_INT_EQ(claim(t, id, NULL, "etag-6", "d6", 6000), ENL_CLAIM_OK);
	CHECK_INT_EQ(mark_deleted(t, id, NULL, key), ENL_DELETE_OK);
	CHECK_INT_EQ(mark_deleted(t, id, NULL, key), ENL_DELETE_DUPLICATE);
	it = get(t, id);
	CHECK_STR_EQ(sfield(it, "processingStatus"), "deleted");
	CHECK(json_object_get(it, "sequencer") == NULL);
	json_decref(it);

	/* The contract is checked before dispatch. */
	struct enl_delete_req bad = {.photo_id = id, .sequencer = "xyz", .key = key};
	enum enl_delete_result res;
	CHECK_INT_EQ(enl_table_mark_deleted(t, &bad, &res, &e), ENL_EINVAL);
	bad.sequencer = NULL;
	bad.key = NULL;
	CHECK_INT_EQ(enl_table_mark_deleted(t, &bad, &res, &e), ENL_EINVAL);
}

int table_contract_run(const struct table_contract *c)
{
	int before = check_failures;
	C = c;
	snprintf(run, sizeof(run), "contract-%ld-%ld", (long)getpid(), (long)time(NULL));
	test_seq_pad();
	struct enl_table *t = open_table();
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_table_ping(t, &e), ENL_OK);
	test_new_and_busy(t);
	test_takeover_in_flight(t);
	test_no_sequencer(t);
	test_normalised(t);
	test_release(t);
	test_renew(t);
	test_round_trip(t);
	test_delete(t);
	test_concurrent_claims(t);
	enl_table_destroy(t);
	test_reopen();
	fprintf(stderr, "table contract (%s): ", c->key_attr);
	check_done();
	return check_failures - before;
}
