/* The object store contract suite (see store_contract.h). ETags are checked against
 * published MD5 test vectors (RFC 1321 and the well-known "quick brown fox"). */
#include "store_contract.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"

/* Known MD5 digests: RFC 1321 appendix A.5, and the classic pangram. */
#define MD5_EMPTY "d41d8cd98f00b204e9800998ecf8427e"
#define MD5_ABC "900150983cd24fb0d6963f7d28e17f72"
#define FOX "The quick brown fox jumps over the lazy dog"
#define MD5_FOX "9e107d9d372bb6826bd81d3542a419d6"

static const struct store_contract *C;
static const char *skip_concurrent_puts; /* why, or NULL */

void store_contract_skip_concurrent_puts(const char *reason)
{
	skip_concurrent_puts = reason;
}
static char run[64]; /* per-run key prefix */

static struct enl_store *open_store(void)
{
	struct enl_store *s = C->open(C->ud);
	REQUIRE(s != NULL);
	return s;
}

static void k(char *out, size_t cap, const char *suffix)
{
	snprintf(out, cap, "%s/%s", run, suffix);
}

void store_contract_md5hex(const void *p, size_t n, char out[33])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	EVP_Digest(p ? p : "", n, d, &dl, EVP_md5(), NULL);
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_roundtrip(struct enl_store *s)
{
	char key[256];
	k(key, sizeof(key), "roundtrip/photo.jpg");
	struct enl_meta_pair meta[2] = {{"photo-id", "p-123"}, {"source", "contract test"}};
	/* Tags are accepted by every store (S3 keeps them apart from metadata; the local
	 * store ignores them): the object reads back the same either way. */
	struct enl_put_opts o = {.content_type = "image/jpeg",
	                         .cache_control = "public, max-age=31536000, immutable",
	                         .n_meta = 2,
	                         .meta = meta,
	                         .tagging = "enlarger-cache=variant"};
	struct enl_errmsg e = {""};
	int64_t t0 = (int64_t)time(NULL);
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, FOX, strlen(FOX), &o, &e), ENL_OK);

	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	memset(&info, 0x55, sizeof(info));
	CHECK_INT_EQ(enl_store_get(s, C->bucket, key, 1 << 20, &b, &info, &e), ENL_OK);
	CHECK_INT_EQ(b.len, strlen(FOX));
	CHECK(b.data && memcmp(b.data, FOX, strlen(FOX)) == 0);
	CHECK_INT_EQ(info.size, strlen(FOX));
	CHECK_STR_EQ(info.etag, MD5_FOX);
	CHECK_STR_EQ(info.content_type, "image/jpeg");
	CHECK_STR_EQ(info.cache_control, "public, max-age=31536000, immutable");
	CHECK_INT_EQ(info.n_meta, 2);
	CHECK_STR_EQ(enl_object_meta(&info, "photo-id"), "p-123");
	CHECK_STR_EQ(enl_object_meta(&info, "Photo-Id"), "p-123");
	CHECK_STR_EQ(enl_object_meta(&info, "source"), "contract test");
	CHECK(enl_object_meta(&info, "absent") == NULL);
	CHECK(info.last_modified >= t0 - 120 && info.last_modified <= t0 + 120);
	enl_buf_free(&b);

	struct enl_object_info h;
	memset(&h, 0x55, sizeof(h));
	CHECK_INT_EQ(enl_store_head(s, C->bucket, key, &h, &e), ENL_OK);
	CHECK_INT_EQ(h.size, strlen(FOX));
	CHECK_STR_EQ(h.etag, MD5_FOX);
	CHECK_STR_EQ(h.content_type, "image/jpeg");
	CHECK_STR_EQ(h.cache_control, "public, max-age=31536000, immutable");
	CHECK_STR_EQ(enl_object_meta(&h, "photo-id"), "p-123");

	/* get without info, and an empty object. */
	CHECK_INT_EQ(enl_store_get(s, C->bucket, key, 0, &b, NULL, &e), ENL_OK);
	CHECK_INT_EQ(b.len, strlen(FOX));
	enl_buf_free(&b);
	k(key, sizeof(key), "roundtrip/empty");
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, "", 0, NULL, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_get(s, C->bucket, key, 10, &b, &info, &e), ENL_OK);
	CHECK_INT_EQ(b.len, 0);
	CHECK_INT_EQ(info.size, 0);
	CHECK_STR_EQ(info.etag, MD5_EMPTY);
	CHECK_INT_EQ(info.n_meta, 0);
	enl_buf_free(&b);
}

static void test_overwrite(struct enl_store *s)
{
	char key[256];
	k(key, sizeof(key), "overwrite/x.webp");
	struct enl_meta_pair m1[2] = {{"photo-id", "old"}, {"only-old", "1"}};
	struct enl_meta_pair m2[1] = {{"photo-id", "new"}};
	struct enl_put_opts o1 = {
	    .content_type = "image/jpeg", .cache_control = "no-cache", .n_meta = 2, .meta = m1};
	struct enl_put_opts o2 = {.content_type = "image/webp", .n_meta = 1, .meta = m2};
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, FOX, strlen(FOX), &o1, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, "abc", 3, &o2, &e), ENL_OK);
	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	CHECK_INT_EQ(enl_store_get(s, C->bucket, key, 100, &b, &info, &e), ENL_OK);
	CHECK_INT_EQ(b.len, 3);
	CHECK(b.data && memcmp(b.data, "abc", 3) == 0);
	CHECK_STR_EQ(info.etag, MD5_ABC);
	CHECK_STR_EQ(info.content_type, "image/webp");
	CHECK_STR_EQ(enl_object_meta(&info, "photo-id"), "new");
	CHECK(enl_object_meta(&info, "only-old") == NULL);
	CHECK(strstr(info.cache_control, "no-cache") == NULL);
	enl_buf_free(&b);
}

static void test_missing(struct enl_store *s)
{
	char key[256];
	k(key, sizeof(key), "missing/nothing-here.jpg");
	struct enl_errmsg e = {""};
	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	CHECK_INT_EQ(enl_store_get(s, C->bucket, key, 100, &b, &info, &e), ENL_ENOTFOUND);
	CHECK(e.text[0] != '\0');
	CHECK(b.data == NULL && b.len == 0);
	CHECK_INT_EQ(enl_store_head(s, C->bucket, key, &info, &e), ENL_ENOTFOUND);
	/* A key that is only a prefix of other keys is not an object either. */
	char deep[256];
	k(deep, sizeof(deep), "missing/dir/leaf");
	CHECK_INT_EQ(enl_store_put(s, C->bucket, deep, "x", 1, NULL, &e), ENL_OK);
	k(key, sizeof(key), "missing/dir");
	CHECK_INT_EQ(enl_store_head(s, C->bucket, key, &info, &e), ENL_ENOTFOUND);
	CHECK_INT_EQ(enl_store_get(s, C->bucket, key, 100, &b, &info, &e), ENL_ENOTFOUND);
}

static void test_max_bytes(struct enl_store *s)
{
	char key[256];
	k(key, sizeof(key), "max/thousand.bin");
	unsigned char data[1000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, data, sizeof(data), NULL, &e), ENL_OK);
	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	CHECK_INT_EQ(enl_store_get(s, C->bucket, key, 999, &b, &info, &e), ENL_ETOOBIG);
	CHECK(b.data == NULL && b.len == 0);
	CHECK_INT_EQ(enl_store_get(s, C->bucket, key, 1000, &b, &info, &e), ENL_OK);
	CHECK_INT_EQ(b.len, 1000);
	CHECK(b.data && memcmp(b.data, data, 1000) == 0);
	enl_buf_free(&b);
}

/* open: by descriptor where the store has files, the bytes and info a GET gives, kept
 * by the open descriptor when the key is overwritten; elsewhere ENL_EUNSUPPORTED. */
static void test_open(struct enl_store *s)
{
	char key[256], md5[33];
	k(key, sizeof(key), "open/variant.webp");
	unsigned char data[5000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 13 + 5);
	struct enl_put_opts o = {.content_type = "image/webp"};
	struct enl_errmsg e = {""};
	struct enl_object_info info;
	int fd = 123;
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, data, sizeof(data), &o, &e), ENL_OK);
	int rc = enl_store_open(s, C->bucket, key, 0, &fd, &info, &e);
	if (rc == ENL_EUNSUPPORTED) {
		CHECK_INT_EQ(fd, -1);
		return;
	}
	CHECK_INT_EQ(rc, ENL_OK);
	REQUIRE(fd >= 0);
	CHECK_INT_EQ(info.size, sizeof(data));
	store_contract_md5hex(data, sizeof(data), md5);
	CHECK_STR_EQ(info.etag, md5);
	CHECK_STR_EQ(info.content_type, "image/webp");
	/* Overwritten while open: the descriptor still holds what info describes. */
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, "new", 3, &o, &e), ENL_OK);
	unsigned char back[sizeof(data) + 1];
	CHECK_INT_EQ(pread(fd, back, sizeof(back), 0), (ssize_t)sizeof(data));
	CHECK(memcmp(back, data, sizeof(data)) == 0);
	CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
	close(fd);
	CHECK_INT_EQ(enl_store_open(s, C->bucket, key, 2, &fd, &info, &e), ENL_ETOOBIG);
	CHECK_INT_EQ(fd, -1);
	CHECK_INT_EQ(enl_store_open(s, C->bucket, key, 3, &fd, &info, &e), ENL_OK);
	CHECK_INT_EQ(info.size, 3);
	CHECK_STR_EQ(info.etag, "22af645d1859cb5ca6da0c484f1f37ea"); /* md5("new") */
	if (fd >= 0)
		close(fd);
	k(key, sizeof(key), "open/missing.webp");
	CHECK_INT_EQ(enl_store_open(s, C->bucket, key, 0, &fd, &info, &e), ENL_ENOTFOUND);
	CHECK_INT_EQ(fd, -1);
	CHECK_INT_EQ(enl_store_open(s, C->bucket, "../escape", 0, &fd, &info, &e), ENL_EINVAL);
	CHECK_INT_EQ(fd, -1);
}

static void test_hostile(struct enl_store *s)
{
	struct enl_errmsg e = {""};
	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	char big[1100];
	memset(big, 'a', 1025);
	big[1025] = '\0';
	char nl[256], ctl[256];
	k(nl, sizeof(nl), "line\nbreak.jpg");
	k(ctl, sizeof(ctl), "bell\x01.jpg");
	const char *bad[] = {"", big, nl, ctl};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT_EQ(enl_store_put(s, C->bucket, bad[i], "x", 1, NULL, &e), ENL_EINVAL);
		CHECK_INT_EQ(enl_store_get(s, C->bucket, bad[i], 10, &b, &info, &e), ENL_EINVAL);
		CHECK_INT_EQ(enl_store_head(s, C->bucket, bad[i], &info, &e), ENL_EINVAL);
		CHECK_INT_EQ(enl_store_del(s, C->bucket, bad[i], &e), ENL_EINVAL);
	}
	/* 1024 bytes is S3's limit and allowed (segments short enough for any
	 * file system). */
	char max[1025];
	size_t n = (size_t)snprintf(max, sizeof(max), "%s/", run);
	while (n < 1024) {
		max[n] = (n % 100 == 99) ? '/' : 'k';
		n++;
	}
	max[1023] = 'z';
	max[1024] = '\0';
	CHECK_INT_EQ(strlen(max), 1024);
	CHECK_INT_EQ(enl_store_put(s, C->bucket, max, "x", 1, NULL, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_head(s, C->bucket, max, &info, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_del(s, C->bucket, max, &e), ENL_OK);
}

struct collect {
	char keys[32][256];
	int n;
	int stop_after;
};

static int collect_cb(void *ud, const char *key)
{
	struct collect *c = ud;
	if (c->n < 32)
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", key);
	c->n++;
	return (c->stop_after && c->n >= c->stop_after) ? 7 : 0;
}

static void test_odd_keys(struct enl_store *s)
{
	const char *names[] = {
	    "with space.jpg",
	    "a+b.jpg",
	    "100%.jpg",
	    "percent%20encoded.jpg",
	    "caf\xc3\xa9/\xc3\xa9t\xc3\xa9 2024.jpg",
	    "plus+and space%2B.jpg",
	    "nested/deep/er/x.jpg",
	    "quote'and\"amp&.jpg",
	};
	size_t n = sizeof(names) / sizeof(names[0]);
	struct enl_errmsg e = {""};
	for (size_t i = 0; i < n; i++) {
		char key[256], body[300];
		snprintf(key, sizeof(key), "%s/odd/%s", run, names[i]);
		int len = snprintf(body, sizeof(body), "body of %s", names[i]);
		CHECK_INT_EQ(enl_store_put(s, C->bucket, key, body, (size_t)len, NULL, &e), ENL_OK);
	}
	for (size_t i = 0; i < n; i++) {
		char key[256], body[300];
		snprintf(key, sizeof(key), "%s/odd/%s", run, names[i]);
		int len = snprintf(body, sizeof(body), "body of %s", names[i]);
		struct enl_buf b = ENL_BUF_INIT;
		struct enl_object_info info;
		int rc = enl_store_get(s, C->bucket, key, 1000, &b, &info, &e);
		CHECK_INT_EQ(rc, ENL_OK);
		if (rc)
			fprintf(stderr, "  key: %s: %s\n", key, e.text);
		CHECK(b.len == (size_t)len && b.data && memcmp(b.data, body, (size_t)len) == 0);
		enl_buf_free(&b);
	}
	/* The listing gives the keys back unchanged. */
	struct collect c = {0};
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s/odd/", run);
	CHECK_INT_EQ(enl_store_list(s, C->bucket, prefix, collect_cb, &c, &e), ENL_OK);
	CHECK_INT_EQ(c.n, n);
	for (size_t i = 0; i < n; i++) {
		char key[256];
		snprintf(key, sizeof(key), "%s/odd/%s", run, names[i]);
		int found = 0;
		for (int j = 0; j < c.n && j < 32; j++)
			found += strcmp(c.keys[j], key) == 0;
		CHECK_INT_EQ(found, 1);
	}
}

static void test_list(struct enl_store *s)
{
	const char *names[] = {"a/1", "a/2", "ab", "a.b", "b/1"};
	struct enl_errmsg e = {""};
	for (size_t i = 0; i < 5; i++) {
		char key[256];
		snprintf(key, sizeof(key), "%s/list/%s", run, names[i]);
		CHECK_INT_EQ(enl_store_put(s, C->bucket, key, "x", 1, NULL, &e), ENL_OK);
	}
	char prefix[128], want[256];
	struct collect c = {0};
	/* A prefix that is not a folder boundary matches like S3: by string. Keys
	 * come back in byte order. */
	snprintf(prefix, sizeof(prefix), "%s/list/a", run);
	CHECK_INT_EQ(enl_store_list(s, C->bucket, prefix, collect_cb, &c, &e), ENL_OK);
	CHECK_INT_EQ(c.n, 4);
	const char *order[] = {"a.b", "a/1", "a/2", "ab"};
	for (int i = 0; i < 4 && i < c.n; i++) {
		snprintf(want, sizeof(want), "%s/list/%s", run, order[i]);
		CHECK_STR_EQ(c.keys[i], want);
	}
	memset(&c, 0, sizeof(c));
	snprintf(prefix, sizeof(prefix), "%s/list/a/", run);
	CHECK_INT_EQ(enl_store_list(s, C->bucket, prefix, collect_cb, &c, &e), ENL_OK);
	CHECK_INT_EQ(c.n, 2);
	memset(&c, 0, sizeof(c));
	snprintf(prefix, sizeof(prefix), "%s/list/zz", run);
	CHECK_INT_EQ(enl_store_list(s, C->bucket, prefix, collect_cb, &c, &e), ENL_OK);
	CHECK_INT_EQ(c.n, 0);
	/* A non-zero return stops the walk and comes back. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	snprintf(prefix, sizeof(prefix), "%s/list/", run);
	CHECK_INT_EQ(enl_store_list(s, C->bucket, prefix, collect_cb, &c, &e), 7);
	CHECK_INT_EQ(c.n, 2);
}

static void test_delete(struct enl_store *s)
{
	char key[256], other[256], prefix[128];
	k(key, sizeof(key), "del/gone.jpg");
	k(other, sizeof(other), "del/stays.jpg");
	k(prefix, sizeof(prefix), "del/");
	struct enl_meta_pair m[1] = {{"photo-id", "d"}};
	struct enl_put_opts o = {.content_type = "image/jpeg", .n_meta = 1, .meta = m};
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, FOX, strlen(FOX), &o, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_put(s, C->bucket, other, "abc", 3, NULL, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_del(s, C->bucket, key, &e), ENL_OK);
	struct enl_object_info info;
	struct enl_buf b = ENL_BUF_INIT;
	CHECK_INT_EQ(enl_store_head(s, C->bucket, key, &info, &e), ENL_ENOTFOUND);
	CHECK_INT_EQ(enl_store_get(s, C->bucket, key, 100, &b, &info, &e), ENL_ENOTFOUND);
	CHECK_INT_EQ(enl_store_head(s, C->bucket, other, &info, &e), ENL_OK);
	struct collect c = {0};
	CHECK_INT_EQ(enl_store_list(s, C->bucket, prefix, collect_cb, &c, &e), ENL_OK);
	CHECK_INT_EQ(c.n, 1);
	CHECK_STR_EQ(c.keys[0], other);
	/* Deleting what is not there succeeds, as on S3. */
	CHECK_INT_EQ(enl_store_del(s, C->bucket, key, &e), ENL_OK);
	/* A new object under the deleted key has none of the old metadata. */
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, "abc", 3, NULL, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_head(s, C->bucket, key, &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_ABC);
	CHECK(enl_object_meta(&info, "photo-id") == NULL);
}

static void test_reopen(void)
{
	char key[256];
	k(key, sizeof(key), "reopen/kept.jpg");
	struct enl_meta_pair m[1] = {{"photo-id", "kept"}};
	struct enl_put_opts o = {
	    .content_type = "image/png", .cache_control = "max-age=60", .n_meta = 1, .meta = m};
	struct enl_errmsg e = {""};
	struct enl_store *s = open_store();
	CHECK_INT_EQ(enl_store_put(s, C->bucket, key, FOX, strlen(FOX), &o, &e), ENL_OK);
	enl_store_destroy(s);
	s = open_store();
	struct enl_object_info info;
	CHECK_INT_EQ(enl_store_head(s, C->bucket, key, &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_FOX);
	CHECK_STR_EQ(info.content_type, "image/png");
	CHECK_STR_EQ(info.cache_control, "max-age=60");
	CHECK_STR_EQ(enl_object_meta(&info, "photo-id"), "kept");
	CHECK_INT_EQ(enl_store_ping(s, C->bucket, &e), ENL_OK);
	enl_store_destroy(s);
}

/* Concurrent PUTs of one key: every read sees one writer's complete object, and
 * its ETag, content type and metadata belong to those very bytes. */
#define CW_WRITERS 6
#define CW_ROUNDS 15
#define CW_SIZE (128 * 1024)

struct cw {
	struct enl_store *s;
	char key[256];
	int id; /* 1..CW_WRITERS; 0 = reader */
	atomic_int *stop;
	int bad_reads, reads, failures;
};

static void *cw_writer(void *arg)
{
	struct cw *w = arg;
	unsigned char *data = malloc(CW_SIZE);
	if (!data)
		return NULL;
	memset(data, 'A' + w->id, CW_SIZE);
	char ct[64];
	snprintf(ct, sizeof(ct), "application/x-writer-%d", w->id);
	struct enl_meta_pair m[1] = {{"writer", ""}};
	snprintf(m[0].value, sizeof(m[0].value), "%d", w->id);
	struct enl_put_opts o = {.content_type = ct, .n_meta = 1, .meta = m};
	for (int r = 0; r < CW_ROUNDS; r++) {
		struct enl_errmsg e = {""};
		if (enl_store_put(w->s, C->bucket, w->key, data, CW_SIZE, &o, &e) != ENL_OK)
			w->failures++;
	}
	free(data);
	return NULL;
}

static void *cw_reader(void *arg)
{
	struct cw *w = arg;
	while (!atomic_load(w->stop)) {
		struct enl_buf b = ENL_BUF_INIT;
		struct enl_object_info info;
		struct enl_errmsg e = {""};
		int rc = enl_store_get(w->s, C->bucket, w->key, 1 << 20, &b, &info, &e);
		if (rc == ENL_ENOTFOUND) {
			continue;
		}
		w->reads++;
		int ok = rc == ENL_OK && b.len == CW_SIZE;
		if (ok) {
			unsigned char first = b.data[0];
			for (size_t i = 1; i < b.len && ok; i++)
				ok = b.data[i] == first;
			int id = first - 'A';
			char ct[64], idv[8], md5[33];
			snprintf(ct, sizeof(ct), "application/x-writer-%d", id);
			snprintf(idv, sizeof(idv), "%d", id);
			store_contract_md5hex(b.data, b.len, md5);
			const char *mv = enl_object_meta(&info, "writer");
			ok = ok && strcmp(info.content_type, ct) == 0 && mv &&
			     strcmp(mv, idv) == 0 && strcmp(info.etag, md5) == 0;
		}
		if (!ok)
			w->bad_reads++;
		enl_buf_free(&b);
	}
	return NULL;
}

static void test_concurrent_puts(struct enl_store *s)
{
	pthread_t th[CW_WRITERS + 1];
	struct cw w[CW_WRITERS + 1];
	atomic_int stop = 0;
	for (int i = 0; i <= CW_WRITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].s = s;
		w[i].id = i;
		w[i].stop = &stop;
		k(w[i].key, sizeof(w[i].key), "race/same key.bin");
	}
	REQUIRE(pthread_create(&th[0], NULL, cw_reader, &w[0]) == 0);
	for (int i = 1; i <= CW_WRITERS; i++)
		REQUIRE(pthread_create(&th[i], NULL, cw_writer, &w[i]) == 0);
	for (int i = 1; i <= CW_WRITERS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(th[0], NULL);
	for (int i = 1; i <= CW_WRITERS; i++)
		CHECK_INT_EQ(w[i].failures, 0);
	CHECK_INT_EQ(w[0].bad_reads, 0);
	fprintf(stderr, "  concurrent puts: %d reads checked\n", w[0].reads);
	/* And the final object is whole too. */
	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_store_get(s, C->bucket, w[0].key, 1 << 20, &b, &info, &e), ENL_OK);
	CHECK_INT_EQ(b.len, CW_SIZE);
	if (b.len == CW_SIZE) {
		char md5[33];
		store_contract_md5hex(b.data, b.len, md5);
		CHECK_STR_EQ(info.etag, md5);
	}
	enl_buf_free(&b);
}

int store_contract_run(const struct store_contract *c)
{
	C = c;
	snprintf(run, sizeof(run), "contract-%ld-%ld", (long)getpid(), (long)time(NULL));
	struct enl_store *s = open_store();
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_store_ping(s, c->bucket, &e), ENL_OK);
	test_roundtrip(s);
	test_overwrite(s);
	test_missing(s);
	test_max_bytes(s);
	test_open(s);
	test_hostile(s);
	test_odd_keys(s);
	test_list(s);
	test_delete(s);
	if (skip_concurrent_puts)
		fprintf(stderr, "  concurrent puts: skipped (%s)\n", skip_concurrent_puts);
	else
		test_concurrent_puts(s);
	enl_store_destroy(s);
	test_reopen();
	fprintf(stderr, "store contract (%s): ", c->bucket);
	check_done();
	return check_failures;
}
