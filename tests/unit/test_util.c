/* The small helpers of src/util/ that several layers share: the hex encoder,
 * percent-decoding, moving a buffer with its free function, monotonic deadlines, reading
 * a whole file, shared bytes and bodies by reference. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "enlarger/body.h"
#include "enlarger/buf.h"
#include "enlarger/clock.h"
#include "enlarger/err.h"
#include "enlarger/fs.h"
#include "enlarger/text.h"

static void test_hex(void)
{
	char out[9];
	memset(out, 'x', sizeof(out));
	enl_hex_encode(out, "\x00\x0f\xa5\xff", 4);
	CHECK_STR_EQ(out, "000fa5ff");
	enl_hex_encode(out, "", 0);
	CHECK_STR_EQ(out, "");
}

static int pct(const char *in, unsigned flags, char *out, size_t outsz)
{
	return enl_pct_decode(in, strlen(in), flags, out, outsz, NULL);
}

static void test_pct_decode(void)
{
	char dec[64];
	size_t n = 0;
	CHECK(pct("a+b%20c%2B%25", ENL_PCT_PLUS_SPACE, dec, sizeof(dec)) == 0);
	CHECK_STR_EQ(dec, "a b c+%");
	CHECK(pct("a+b", 0, dec, sizeof(dec)) == 0);
	CHECK_STR_EQ(dec, "a+b");
	CHECK(pct("caf%C3%A9", ENL_PCT_PLUS_SPACE, dec, sizeof(dec)) == 0);
	CHECK_STR_EQ(dec, "caf\xc3\xa9");
	CHECK_INT_EQ(pct("bad%2", ENL_PCT_PLUS_SPACE, dec, sizeof(dec)), ENL_EINVAL);
	CHECK_INT_EQ(pct("bad%zz", ENL_PCT_PLUS_SPACE, dec, sizeof(dec)), ENL_EINVAL);
	CHECK_INT_EQ(pct("nul%00", ENL_PCT_PLUS_SPACE, dec, sizeof(dec)), ENL_EINVAL);
	CHECK_INT_EQ(pct("toolong", ENL_PCT_PLUS_SPACE, dec, 4), ENL_EINVAL);
	/* Lenient (SigV4 paths): a stray '%' stays, %00 is a NUL byte. */
	CHECK_INT_EQ(enl_pct_decode("a%zz%00b", 8, ENL_PCT_LENIENT, dec, sizeof(dec), &n), 0);
	CHECK(n == 6 && memcmp(dec, "a%zz\0b", 6) == 0);
}

static int foreign_frees;
static void foreign_free(void *p)
{
	foreign_frees++;
	free(p);
}

static void test_buf_move(void)
{
	struct enl_buf src, dst;
	enl_buf_init(&src, 0);
	enl_buf_init(&dst, 100);
	REQUIRE(enl_buf_append(&dst, "old", 3) == 0);
	/* A buffer that must be released with its own function travels with it. */
	char *p = malloc(5);
	REQUIRE(p != NULL);
	memcpy(p, "bytes", 5);
	enl_buf_adopt(&src, p, 5, foreign_free);
	enl_buf_move(&dst, &src);
	CHECK(src.data == NULL && src.len == 0 && src.free_fn == NULL);
	CHECK(dst.data == (unsigned char *)p && dst.len == 5);
	CHECK(dst.free_fn == foreign_free);
	CHECK_INT_EQ(dst.max, 100); /* the destination keeps its cap */
	CHECK_INT_EQ(foreign_frees, 0);
	/* Growing it copies into our own storage and releases the foreign block once. */
	REQUIRE(enl_buf_append(&dst, "!", 1) == 0);
	CHECK_INT_EQ(foreign_frees, 1);
	CHECK(dst.len == 6 && memcmp(dst.data, "bytes!", 6) == 0);
	/* Moving an empty buffer empties the destination. */
	enl_buf_move(&dst, &src);
	CHECK(dst.data == NULL && dst.len == 0 && dst.free_fn == NULL);
	enl_buf_free(&dst);
	enl_buf_free(&src);
	CHECK_INT_EQ(foreign_frees, 1);
}

static double ts_s(struct timespec t)
{
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_deadline(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct timespec d = enl_mono_deadline(1999);
	CHECK(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
	CHECK(ts_s(d) - ts_s(now) >= 1.998 && ts_s(d) - ts_s(now) < 2.5);
	d = enl_mono_deadline(0);
	CHECK(ts_s(d) - ts_s(now) >= 0 && ts_s(d) - ts_s(now) < 0.5);
	d = enl_mono_deadline(-5);
	CHECK(ts_s(d) - ts_s(now) >= 0 && ts_s(d) - ts_s(now) < 0.5);
	int64_t a = enl_mono_ms();
	struct timespec nap = {0, 20 * 1000000L};
	nanosleep(&nap, NULL);
	CHECK(enl_mono_ms() - a >= 19);
}

static void test_file_read(void)
{
	char path[] = "/tmp/enl-util-XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	/* Larger than one read, so the bytes arrive in several pieces. */
	size_t n = 200000;
	unsigned char *want = malloc(n);
	REQUIRE(want != NULL);
	for (size_t i = 0; i < n; i++)
		want[i] = (unsigned char)(i * 7 + i / 251);
	REQUIRE(write(fd, want, n) == (ssize_t)n);
	close(fd);

	struct enl_buf b;
	struct enl_errmsg e = {""};
	CHECK_INT_EQ(enl_file_read(path, 0, &b, &e), 0);
	CHECK(b.len == n && memcmp(b.data, want, n) == 0);
	enl_buf_free(&b);
	CHECK_INT_EQ(enl_file_read(path, n, &b, &e), 0);
	CHECK_INT_EQ(b.len, n);
	enl_buf_free(&b);
	/* One byte over the cap: refused, nothing kept, the path and the cap named. */
	CHECK_INT_EQ(enl_file_read(path, n - 1, &b, &e), ENL_ETOOBIG);
	CHECK(b.data == NULL && b.len == 0);
	CHECK(strstr(e.text, path) != NULL && strstr(e.text, "199999") != NULL);
	unlink(path);
	CHECK_INT_EQ(enl_file_read(path, 0, &b, &e), ENL_ENOTFOUND);
	CHECK(strstr(e.text, path) != NULL);
	CHECK_INT_EQ(enl_file_read("/", 0, &b, NULL), ENL_EIO); /* a folder reads as EISDIR */

	/* From an fd's offset to its end; and a pipe, whose size is not known ahead. */
	int err = 0;
	char path2[] = "/tmp/enl-util-XXXXXX";
	fd = mkstemp(path2);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, want, n) == (ssize_t)n);
	REQUIRE(lseek(fd, 1000, SEEK_SET) == 1000);
	enl_buf_init(&b, 0);
	CHECK_INT_EQ(enl_fd_read_all(fd, &b, &err), 0);
	CHECK(b.len == n - 1000 && memcmp(b.data, want + 1000, n - 1000) == 0 &&
	      b.data[b.len] == 0);
	enl_buf_free(&b);
	close(fd);
	unlink(path2);
	for (int capped = 0; capped < 2; capped++) {
		int pfd[2];
		REQUIRE(pipe(pfd) == 0);
		pid_t pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			for (size_t off = 0; off < n; off += 7000) /* in pieces */
				if (write(pfd[1], want + off, n - off < 7000 ? n - off : 7000) < 0)
					_exit(1);
			_exit(0);
		}
		close(pfd[1]);
		enl_buf_init(&b, capped ? n - 1 : n);
		int rc = enl_fd_read_all(pfd[0], &b, &err);
		close(pfd[0]);
		waitpid(pid, NULL, 0);
		if (capped) {
			CHECK_INT_EQ(rc, ENL_ETOOBIG);
		} else {
			CHECK_INT_EQ(rc, 0);
			CHECK(b.len == n && memcmp(b.data, want, n) == 0 && b.data[b.len] == 0);
		}
		enl_buf_free(&b);
	}
	free(want);
}

static int freed_calls;
static size_t freed_len;

static void on_free(void *ctx, struct enl_shared *s)
{
	CHECK(ctx == &freed_calls);
	freed_calls++;
	freed_len = enl_shared_len(s);
}

static int custom_frees;
static void custom_free(void *p)
{
	custom_frees++;
	free(p);
}

/* Shared bytes keep the buffer's own free function, run on_free once with the last
 * reference, and try_ref takes one while any is held; a body moves, reads and frees. */
static void test_shared(void)
{
	struct enl_buf b;
	struct enl_shared *s = NULL;
	enl_buf_init(&b, 0);
	enl_buf_adopt(&b, strdup("twelve bytes"), 12, custom_free);
	REQUIRE(enl_shared_new(&b, on_free, &freed_calls, &s) == 0);
	CHECK(b.data == NULL && b.len == 0 && b.free_fn == NULL);
	CHECK(enl_shared_len(s) == 12 && memcmp(enl_shared_data(s), "twelve bytes", 12) == 0);
	CHECK(enl_shared_ref(s) == s);
	CHECK(enl_shared_try_ref(s) == s);
	enl_shared_unref(s);
	enl_shared_unref(s);
	CHECK_INT_EQ(freed_calls, 0);

	struct enl_body a, c;
	struct enl_buf out;
	struct enl_errmsg e = {{0}};
	enl_body_init(&a);
	enl_body_init(&c);
	enl_body_set_shared(&a, s); /* takes our last reference */
	CHECK_INT_EQ(a.len, 12);
	enl_body_move(&c, &a);
	CHECK_INT_EQ(a.kind, ENL_BODY_NONE);
	CHECK_INT_EQ(c.kind, ENL_BODY_SHARED);
	CHECK_INT_EQ(enl_body_read(&c, 11, &out, &e), ENL_ETOOBIG);
	CHECK_INT_EQ(enl_body_read(&c, 12, &out, &e), 0);
	CHECK(out.len == 12 && memcmp(out.data, "twelve bytes", 13) == 0); /* NUL-ended */
	enl_buf_free(&out);
	CHECK_INT_EQ(enl_body_read(&a, 0, &out, &e), 0); /* nothing held: no bytes */
	CHECK(out.len == 0);
	enl_body_free(&c);
	CHECK_INT_EQ(freed_calls, 1);
	CHECK_INT_EQ(freed_len, 12);
	CHECK_INT_EQ(custom_frees, 1);
	enl_body_free(&c); /* twice is fine */
	CHECK_INT_EQ(freed_calls, 1);
}

int main(void)
{
	test_hex();
	test_pct_decode();
	test_buf_move();
	test_deadline();
	test_file_read();
	test_shared();
	return check_done();
}
