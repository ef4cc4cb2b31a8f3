/* The local directory store: the shared contract, then what only a directory has
 * (paths that must not escape, the on-disk layout, files dropped in by hand). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "store_contract.h"

#define FOX "The quick brown fox jumps over the lazy dog"
#define MD5_FOX "9e107d9d372bb6826bd81d3542a419d6"
#define MD5_ABC "900150983cd24fb0d6963f7d28e17f72"

static char root[256];

static struct enl_store *open_local(void *ud)
{
	struct enl_store *s = NULL;
	struct enl_errmsg e = {""};
	if (enl_store_local_open(ud, &s, &e) != ENL_OK) {
		fprintf(stderr, "open: %s\n", e.text);
		return NULL;
	}
	return s;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int path_exists(const char *rel)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	struct stat sb;
	return lstat(p, &sb) == 0;
}

/* Counts entries whose name starts with ".tmp-" anywhere under dir. */
static int tmp_count;
static int tmp_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag;
	if (strncmp(p + ftw->base, ".tmp-", 5) == 0)
		tmp_count++;
	return 0;
}

/* Whether the sidecar file at rel mentions etag. */
static int sidecar_has(const char *rel, const char *etag)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	char *text = (char *)read_file(p, NULL);
	int has = text && strstr(text, etag) != NULL;
	free(text);
	return has;
}

static int list_cb(void *ud, const char *key)
{
	int *n = ud;
	(void)key;
	(*n)++;
	return 0;
}

static void test_hostile_paths(struct enl_store *s)
{
	struct enl_errmsg e = {""};
	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	const char *bad[] = {
	    "../escape.jpg", "a/../../escape.jpg", "a/..",      "..",      ".",        "./a",
	    "a/./b",         "/etc/passwd",        "a//b",      "a/",      "a\\..\\b", ".tmp-x",
	    "d/.tmp-y",      "bad\xff utf8",       "tab\there", "del\x7f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = enl_store_put(s, "photos", bad[i], "x", 1, NULL, &e);
		CHECK_INT_EQ(rc, ENL_EINVAL);
		if (rc != ENL_EINVAL)
			fprintf(stderr, "  accepted key: %s\n", bad[i]);
		CHECK_INT_EQ(enl_store_get(s, "photos", bad[i], 10, &b, &info, &e), ENL_EINVAL);
		CHECK_INT_EQ(enl_store_head(s, "photos", bad[i], &info, &e), ENL_EINVAL);
		CHECK_INT_EQ(enl_store_del(s, "photos", bad[i], &e), ENL_EINVAL);
	}
	CHECK(!path_exists("escape.jpg"));
	/* A list prefix cannot climb out either. */
	int n = 0;
	CHECK_INT_EQ(enl_store_list(s, "photos", "../", list_cb, &n, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_store_list(s, "photos", "a/../", list_cb, &n, &e), ENL_EINVAL);

	const char *bad_buckets[] = {
	    "..",    ".meta",   "ab",
	    "UPPER", "-abc",    "abc-",
	    "ab..c", "a_b",     "192.168.1.1",
	    "a/b",   "xn--abc", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	for (size_t i = 0; i < sizeof(bad_buckets) / sizeof(bad_buckets[0]); i++) {
		int rc = enl_store_put(s, bad_buckets[i], "k.jpg", "x", 1, NULL, &e);
		CHECK_INT_EQ(rc, ENL_EINVAL);
		if (rc != ENL_EINVAL)
			fprintf(stderr, "  accepted bucket: %s\n", bad_buckets[i]);
		CHECK_INT_EQ(enl_store_ping(s, bad_buckets[i], &e), ENL_EINVAL);
	}
	CHECK_INT_EQ(enl_store_put(s, "my.bucket-1", "k.jpg", "x", 1, NULL, &e), ENL_OK);
	CHECK(path_exists("my.bucket-1/k.jpg"));
}

static void test_symlinks(struct enl_store *s)
{
	struct enl_errmsg e = {""};
	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	char outside[512], p[1024];
	snprintf(outside, sizeof(outside), "%s-outside", root);
	mkdir(outside, 0755);
	snprintf(p, sizeof(p), "%s/secret.txt", outside);
	REQUIRE(write_file(p, "secret", 6) == 0);
	/* A folder link and a file link dropped into the bucket folder. */
	snprintf(p, sizeof(p), "%s/photos/linkdir", root);
	REQUIRE(symlink(outside, p) == 0);
	snprintf(p, sizeof(p), "%s/photos/link.txt", root);
	char target[600];
	snprintf(target, sizeof(target), "%s/secret.txt", outside);
	REQUIRE(symlink(target, p) == 0);
	CHECK(enl_store_get(s, "photos", "linkdir/secret.txt", 100, &b, &info, &e) != ENL_OK);
	CHECK(b.data == NULL);
	CHECK(enl_store_get(s, "photos", "link.txt", 100, &b, &info, &e) != ENL_OK);
	CHECK(b.data == NULL);
	CHECK(enl_store_head(s, "photos", "link.txt", &info, &e) != ENL_OK);
	/* Writing through the folder link must not land outside. */
	CHECK(enl_store_put(s, "photos", "linkdir/new.txt", "x", 1, NULL, &e) != ENL_OK);
	snprintf(p, sizeof(p), "%s/new.txt", outside);
	CHECK(access(p, F_OK) != 0);
	/* Listing does not follow links. */
	int n = 0;
	CHECK_INT_EQ(enl_store_list(s, "photos", "link", list_cb, &n, &e), ENL_OK);
	CHECK_INT_EQ(n, 0);
	/* Replacing a file link with a PUT replaces the link, not its target. */
	CHECK_INT_EQ(enl_store_put(s, "photos", "link.txt", "new", 3, NULL, &e), ENL_OK);
	snprintf(p, sizeof(p), "%s/secret.txt", outside);
	char *text = (char *)read_file(p, NULL);
	CHECK_STR_EQ(text, "secret");
	free(text);
	nftw(outside, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_layout(struct enl_store *s)
{
	struct enl_errmsg e = {""};
	struct enl_meta_pair m[1] = {{"Photo-ID", "p1"}};
	struct enl_put_opts o = {.content_type = "image/jpeg", .n_meta = 1, .meta = m};
	CHECK_INT_EQ(enl_store_put(s, "photos", "2024/a b.jpg", FOX, strlen(FOX), &o, &e), ENL_OK);
	char p[1024];
	snprintf(p, sizeof(p), "%s/photos/2024/a b.jpg", root);
	char *text = (char *)read_file(p, NULL);
	CHECK_STR_EQ(text, FOX);
	free(text);
	CHECK(path_exists(".meta/photos/2024/a b.jpg.json"));
	/* Metadata names come back lower-case, as from S3. */
	struct enl_object_info info;
	CHECK_INT_EQ(enl_store_head(s, "photos", "2024/a b.jpg", &info, &e), ENL_OK);
	CHECK_STR_EQ(info.meta[0].name, "photo-id");
	/* No temporary file is left behind. */
	tmp_count = 0;
	nftw(root, tmp_cb, 16, FTW_PHYS);
	CHECK_INT_EQ(tmp_count, 0);
	/* Delete removes the data file and the sidecar. */
	CHECK_INT_EQ(enl_store_del(s, "photos", "2024/a b.jpg", &e), ENL_OK);
	CHECK(!path_exists("photos/2024/a b.jpg"));
	CHECK(!path_exists(".meta/photos/2024/a b.jpg.json"));
	/* A file and a folder of one name cannot both be objects. */
	CHECK_INT_EQ(enl_store_put(s, "photos", "f", "x", 1, NULL, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_put(s, "photos", "f/g", "x", 1, NULL, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_store_put(s, "photos", "h/i", "x", 1, NULL, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_put(s, "photos", "h", "x", 1, NULL, &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_store_head(s, "photos", "h/i", &info, &e), ENL_OK);
	/* Error text never carries the data directory's path. */
	struct enl_buf b = ENL_BUF_INIT;
	enl_store_get(s, "photos", "nope/x.jpg", 10, &b, &info, &e);
	CHECK(strstr(e.text, root) == NULL);
	/* Ping makes the bucket folder for a fresh data dir. */
	CHECK_INT_EQ(enl_store_ping(s, "fresh-bucket", &e), ENL_OK);
	CHECK(path_exists("fresh-bucket"));
	/* A bucket that does not exist has no objects. */
	CHECK_INT_EQ(enl_store_head(s, "no-such-bucket", "k", &info, &e), ENL_ENOTFOUND);
}

/* The bucket folder the watcher is given is the one PUT writes into; other stores and
 * bad bucket names are refused. */
static void test_bucket_dir(struct enl_store *s)
{
	struct enl_errmsg e = {""};
	char dir[1024], want[1100], small[8];
	struct stat sb;
	CHECK_INT_EQ(enl_store_local_dir(s, "photos", dir, sizeof(dir), &e), ENL_OK);
	snprintf(want, sizeof(want), "%s/photos", root);
	CHECK_STR_EQ(dir, want);
	CHECK_INT_EQ(enl_store_put(s, "photos", "dir-check.jpg", "x", 1, NULL, &e), ENL_OK);
	snprintf(want, sizeof(want), "%s/dir-check.jpg", dir);
	CHECK(stat(want, &sb) == 0 && sb.st_size == 1);
	CHECK_INT_EQ(enl_store_local_dir(s, "Bad_Bucket", dir, sizeof(dir), &e), ENL_EINVAL);
	CHECK_INT_EQ(enl_store_local_dir(s, "photos", small, sizeof(small), &e), ENL_ETOOBIG);
	static const struct enl_store_ops other_ops = {0};
	struct enl_store other = {&other_ops, "other"};
	CHECK_INT_EQ(enl_store_local_dir(&other, "photos", dir, sizeof(dir), &e), ENL_EUNSUPPORTED);
}

static void test_by_hand(struct enl_store *s)
{
	struct enl_errmsg e = {""};
	struct enl_object_info info;
	struct enl_buf b = ENL_BUF_INIT;
	char p[1024];
	snprintf(p, sizeof(p), "%s/photos/hand", root);
	mkdir(p, 0755);
	/* No sidecar: MD5 of the bytes and a type from the magic bytes. */
	snprintf(p, sizeof(p), "%s/photos/hand/fox.txt", root);
	REQUIRE(write_file(p, FOX, strlen(FOX)) == 0);
	CHECK_INT_EQ(enl_store_head(s, "photos", "hand/fox.txt", &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_FOX);
	CHECK_STR_EQ(info.content_type, "application/octet-stream");
	CHECK_INT_EQ(info.size, strlen(FOX));
	CHECK_INT_EQ(enl_store_get(s, "photos", "hand/fox.txt", 100, &b, &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_FOX);
	enl_buf_free(&b);
	struct {
		const char *name;
		const char *bytes;
		size_t len;
		const char *type;
	} magic[] = {
	    {"a.jpg", "\xff\xd8\xff\xe0\0\x10JFIF", 10, "image/jpeg"},
	    {"a.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "image/png"},
	    {"a.webp", "RIFF\x10\0\0\0WEBPVP8 ", 16, "image/webp"},
	    {"a.heic",
	     "\0\0\0\x18"
	     "ftypheic\0\0\0\0",
	     16, "image/heic"},
	    {"a.avif",
	     "\0\0\0\x1c"
	     "ftypavif\0\0\0\0",
	     16, "image/avif"},
	    {"a.tif", "II*\0\x08\0\0\0", 8, "image/tiff"},
	    {"a.gif", "GIF89a\x01\0\x01\0", 10, "image/gif"},
	};
	for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++) {
		char key[64];
		snprintf(key, sizeof(key), "hand/%s", magic[i].name);
		snprintf(p, sizeof(p), "%s/photos/%s", root, key);
		REQUIRE(write_file(p, magic[i].bytes, magic[i].len) == 0);
		CHECK_INT_EQ(enl_store_head(s, "photos", key, &info, &e), ENL_OK);
		CHECK_STR_EQ(info.content_type, magic[i].type);
	}
	/* A PUT object later overwritten by hand: the stale sidecar is not used. */
	struct enl_meta_pair m[1] = {{"photo-id", "old"}};
	struct enl_put_opts o = {
	    .content_type = "image/png", .cache_control = "max-age=1", .n_meta = 1, .meta = m};
	CHECK_INT_EQ(enl_store_put(s, "photos", "hand/replaced", "abc", 3, &o, &e), ENL_OK);
	snprintf(p, sizeof(p), "%s/photos/hand/replaced", root);
	REQUIRE(write_file(p, FOX, strlen(FOX)) == 0);
	CHECK_INT_EQ(enl_store_get(s, "photos", "hand/replaced", 100, &b, &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_FOX);
	CHECK_STR_EQ(info.content_type, "application/octet-stream");
	CHECK(enl_object_meta(&info, "photo-id") == NULL);
	enl_buf_free(&b);
	/* The hash of a hand-dropped file is remembered in a sidecar... */
	CHECK(path_exists(".meta/photos/hand/fox.txt.json"));
	CHECK(sidecar_has(".meta/photos/hand/fox.txt.json", MD5_FOX));
	CHECK_INT_EQ(enl_store_head(s, "photos", "hand/fox.txt", &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_FOX);
	/* ...which goes stale when the file is replaced by hand (same inode here). */
	snprintf(p, sizeof(p), "%s/photos/hand/fox.txt", root);
	REQUIRE(write_file(p, "abc", 3) == 0);
	CHECK_INT_EQ(enl_store_head(s, "photos", "hand/fox.txt", &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_ABC);
	CHECK_INT_EQ(info.size, 3);
	/* A file replaced by hand well after its PUT gets a fresh sidecar. */
	snprintf(p, sizeof(p), "%s/photos/hand/replaced", root);
	struct timespec later[2] = {{time(NULL) + 100, 0}, {time(NULL) + 100, 0}};
	REQUIRE(utimensat(AT_FDCWD, p, later, 0) == 0);
	CHECK_INT_EQ(enl_store_head(s, "photos", "hand/replaced", &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_FOX);
	CHECK(sidecar_has(".meta/photos/hand/replaced.json", MD5_FOX));
	CHECK_INT_EQ(enl_store_head(s, "photos", "hand/replaced", &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_FOX);
	CHECK_STR_EQ(info.content_type, "application/octet-stream");
	/* Temporaries are invisible, and a FIFO does not hang a reader. */
	snprintf(p, sizeof(p), "%s/photos/hand/.tmp-0123456789abcdef", root);
	REQUIRE(write_file(p, "partial", 7) == 0);
	snprintf(p, sizeof(p), "%s/photos/hand/fifo", root);
	REQUIRE(mkfifo(p, 0644) == 0);
	CHECK_INT_EQ(enl_store_get(s, "photos", "hand/fifo", 100, &b, &info, &e), ENL_ENOTFOUND);
	int fd = -1;
	CHECK_INT_EQ(enl_store_open(s, "photos", "hand/fifo", 100, &fd, &info, &e), ENL_ENOTFOUND);
	CHECK_INT_EQ(fd, -1);
	/* Opened by descriptor, a file dropped in by hand is hashed from that descriptor. */
	snprintf(p, sizeof(p), "%s/photos/hand/opened.txt", root);
	REQUIRE(write_file(p, FOX, strlen(FOX)) == 0);
	CHECK_INT_EQ(enl_store_open(s, "photos", "hand/opened.txt", 100, &fd, &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, MD5_FOX);
	CHECK_INT_EQ(info.size, strlen(FOX));
	if (fd >= 0)
		close(fd);
	unlink(p);
	int n = 0;
	CHECK_INT_EQ(enl_store_list(s, "photos", "hand/", list_cb, &n, &e), ENL_OK);
	CHECK_INT_EQ(n, 9); /* fox.txt, 7 magic files, replaced: no temporary, no FIFO */
	/* A file bigger than max_bytes is refused from its size. */
	CHECK_INT_EQ(enl_store_get(s, "photos", "hand/fox.txt", 2, &b, &info, &e), ENL_ETOOBIG);
}

/* The in-memory info cache (local_infocache.c) answers only for the same file: a PUT
 * over the key, a replacement by rename or an in-place rewrite by hand is seen. */
static void test_info_cache(struct enl_store *s)
{
	struct enl_errmsg e = {""};
	struct enl_object_info info;
	struct enl_put_opts o = {.content_type = "image/webp"};
	char p[1024], q[1024];
	CHECK_INT_EQ(enl_store_put(s, "photos", "ic/a", "one", 3, &o, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_head(s, "photos", "ic/a", &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, "f97c5d29941bfb1b2fdab0874906ab82");          /* md5 "one" */
	CHECK_INT_EQ(enl_store_head(s, "photos", "ic/a", &info, &e), ENL_OK); /* cached */
	CHECK_STR_EQ(info.content_type, "image/webp");
	o.content_type = "image/png";
	CHECK_INT_EQ(enl_store_put(s, "photos", "ic/a", "three", 5, &o, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_head(s, "photos", "ic/a", &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, "35d6d33467aae9a2e3dccb4b6b027878"); /* md5 "three" */
	CHECK_STR_EQ(info.content_type, "image/png");
	/* Replaced by hand through a rename (a new inode, no sidecar of its own). */
	snprintf(p, sizeof(p), "%s/photos/ic/a", root);
	snprintf(q, sizeof(q), "%s/photos/ic/new", root);
	REQUIRE(write_file(q, "two", 3) == 0);
	REQUIRE(rename(q, p) == 0);
	CHECK_INT_EQ(enl_store_head(s, "photos", "ic/a", &info, &e), ENL_OK);
	CHECK_STR_EQ(info.etag, "b8a9f715dbb64fd5c56e7783c6820a61"); /* md5 "two" */
	/* Rewritten in place with another length. */
	REQUIRE(write_file(p, "four!", 5) == 0);
	CHECK_INT_EQ(enl_store_head(s, "photos", "ic/a", &info, &e), ENL_OK);
	CHECK_INT_EQ(info.size, 5);
	CHECK_STR_EQ(info.etag, "ba9ae51402b9b11050eae8a455b29e9b"); /* md5 "four!" */
	CHECK_INT_EQ(enl_store_del(s, "photos", "ic/a", &e), ENL_OK);
	CHECK_INT_EQ(enl_store_head(s, "photos", "ic/a", &info, &e), ENL_ENOTFOUND);
}

/* A cache write without fsync is still a whole object with its sidecar, no temp left. */
static void test_no_fsync(struct enl_store *s)
{
	struct enl_errmsg e = {""};
	struct enl_put_opts o = {
	    .content_type = "image/webp", .cache_control = "max-age=9", .no_fsync = 1};
	struct enl_buf b = ENL_BUF_INIT;
	struct enl_object_info info;
	CHECK_INT_EQ(enl_store_put(s, "renders", "c/v.webp", FOX, strlen(FOX), &o, &e), ENL_OK);
	CHECK_INT_EQ(enl_store_get(s, "renders", "c/v.webp", 0, &b, &info, &e), ENL_OK);
	CHECK(b.len == strlen(FOX) && memcmp(b.data, FOX, b.len) == 0);
	CHECK_STR_EQ(info.content_type, "image/webp");
	CHECK_STR_EQ(info.cache_control, "max-age=9");
	CHECK_STR_EQ(info.etag, "9e107d9d372bb6826bd81d3542a419d6"); /* md5sum of FOX */
	enl_buf_free(&b);
	tmp_count = 0;
	nftw(root, tmp_cb, 16, FTW_PHYS);
	CHECK_INT_EQ(tmp_count, 0);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/enl-store-local-%ld", (long)getpid());
	nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	struct store_contract c = {open_local, root, "photos"};
	int contract_failures = store_contract_run(&c);

	struct enl_store *s = open_local(root);
	REQUIRE(s != NULL);
	CHECK_STR_EQ(s->name, "local");
	test_hostile_paths(s);
	test_symlinks(s);
	test_layout(s);
	test_bucket_dir(s);
	test_no_fsync(s);
	test_info_cache(s);
	test_by_hand(s);
	enl_store_destroy(s);
	/* Opening makes a missing data directory, nested. */
	char nested[512];
	snprintf(nested, sizeof(nested), "%s/x/y/z", root);
	s = open_local(nested);
	CHECK(s != NULL);
	enl_store_destroy(s);

	int rc = check_done();
	if (!contract_failures && !rc)
		nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return (contract_failures || rc) ? 1 : 0;
}
