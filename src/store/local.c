/* Local directory object store: root/<bucket>/<key> with a metadata sidecar at
 * root/.meta/<bucket>/<key>.json.
 *
 * Layout and guarantees (the folder watcher and operators rely on these):
 * - One folder per bucket; a key's '/' makes subfolders. Bucket names follow S3's
 *   rules, so none starts with '.', and ".meta" can never be a bucket.
 * - Keys never leave their bucket folder: keys are checked (no "." / ".." / empty
 *   segments, no absolute paths, backslashes or control characters, at most 1024
 *   bytes, valid UTF-8), and every path is opened one segment at a time with
 *   O_NOFOLLOW, so a symbolic link dropped into a bucket folder is never followed.
 * - A PUT writes a temporary file named ".tmp-<random>" in the target folder
 *   (O_EXCL, fsync), then renames it over the key: readers see the old bytes or
 *   the new ones, never a part. Names starting with ".tmp-" are reserved (refused
 *   as key segments) and never listed; the folder watcher ignores dot files.
 *   Temporaries left behind by a crash are never visible; they may be deleted.
 * - The sidecar records the data file's identity (inode, size, mtime) next to the
 *   ETag, content type, cache control and user metadata. A PUT writes both
 *   temporaries first (fsync'd), then renames the sidecar, then the data file,
 *   the two renames under a per-key lock (64 stripes). A reader opens the data
 *   file and reads the sidecar under the same lock (then reads the bytes outside
 *   it from the open fd), and uses the sidecar only when its identity matches the
 *   open file. So within one process a reader always sees a matching pair. When
 *   another process (the CLI on the same data dir) is between its two renames the
 *   identities differ: the reader retries for a few milliseconds, then treats the
 *   file as one dropped in by hand, as it does after a crash between the renames
 *   or when someone overwrote the file by hand. Either way a reader never pairs
 *   new bytes with the old ETag (which would poison caches keyed by ETag) nor old
 *   bytes with the new ETag. An inode cannot be reused while the reader holds
 *   the file open, so a matching identity is the file's own sidecar.
 * - A file dropped in by hand (no sidecar, or a stale one) gets the MD5 hex of
 *   its bytes as ETag (what S3 gives a single PUT) and a content type guessed
 *   from its first bytes. The first read remembers them in a sidecar (checked
 *   against the file's identity like any other), so a large original is hashed
 *   once, not on every HEAD; replacing the file by hand makes it stale again.
 * - Limitations next to S3: an object "a" and objects under "a/" cannot both
 *   exist (a file and a folder of one name), nor an object "a" and objects under
 *   "a.json/" (their sidecars would collide); such a PUT fails with ENL_EINVAL.
 *   A path segment may be at most 250 bytes. Empty folders left by deletes stay. */
#include "enlarger/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "enlarger/log.h"

#define LOCAL_KEY_MAX 1024
#define LOCAL_SEGMENT_MAX 250 /* leaves room for ".json" within NAME_MAX */
#define LOCAL_SIDECAR_MAX (64 * 1024)
#define LOCAL_LOCKS 64
#define LOCAL_READ_RETRIES 20
#define LOCAL_LIST_DEPTH 128
#define LOCAL_META_DIR ".meta"
#define LOCAL_TMP_PREFIX ".tmp-"

struct local_store {
	struct enl_store base; /* first: the dispatch casts */
	int root_fd;
	pthread_mutex_t locks[LOCAL_LOCKS];
};

/* What a sidecar says about the data file it belongs to. */
struct file_id {
	uint64_t ino;
	uint64_t size;
	int64_t mtime_sec;
	int64_t mtime_nsec;
};

/* ---- names ---- */

static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, c &= 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* S3's bucket naming rules (general purpose buckets): 3-63 characters of a-z, 0-9,
 * '.', '-'; begins and ends with a letter or digit; no "..", no IPv4 form. */
static int bucket_check(const char *b, struct enl_errmsg *e)
{
	if (!b)
		return enl_fail(e, ENL_EINVAL, "missing bucket name");
	size_t n = strnlen(b, 64);
	if (n < 3 || n > 63)
		return enl_fail(e, ENL_EINVAL, "bucket name must be 3 to 63 characters");
	int dots = 0, digits_dots = 1;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '.' && c != '-')
			return enl_fail(e, ENL_EINVAL,
			                "bucket name may only hold a-z, 0-9, '.' and '-'");
		if ((i == 0 || i == n - 1) && !alnum)
			return enl_fail(e, ENL_EINVAL,
			                "bucket name must begin and end with a letter or digit");
		if (c == '.') {
			dots++;
			if (b[i + 1] == '.' || b[i + 1] == '-' || (i > 0 && b[i - 1] == '-'))
				return enl_fail(e, ENL_EINVAL, "bucket name has adjacent '.'");
		}
		if (!(c == '.' || (c >= '0' && c <= '9')))
			digits_dots = 0;
	}
	if (digits_dots && dots == 3)
		return enl_fail(e, ENL_EINVAL, "bucket name must not look like an IP address");
	if (strncmp(b, "xn--", 4) == 0)
		return enl_fail(e, ENL_EINVAL, "bucket name must not begin with xn--");
	return ENL_OK;
}

/* Checks one '/'-separated segment of a key or prefix directory. */
static int segment_check(const char *s, size_t n, struct enl_errmsg *e)
{
	if (n == 0)
		return enl_fail(e, ENL_EINVAL, "key has an empty path segment");
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return enl_fail(e, ENL_EINVAL, "key has a '.' or '..' path segment");
	if (n >= strlen(LOCAL_TMP_PREFIX) && memcmp(s, LOCAL_TMP_PREFIX, 5) == 0)
		return enl_fail(e, ENL_EINVAL, "key segments starting with .tmp- are reserved");
	if (n > LOCAL_SEGMENT_MAX)
		return enl_fail(e, ENL_EINVAL, "key has a path segment over %d bytes",
		                LOCAL_SEGMENT_MAX);
	return ENL_OK;
}

/* Characters no key or prefix may hold. */
static int chars_check(const char *k, size_t n, struct enl_errmsg *e)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c < 0x20 || c == 0x7f)
			return enl_fail(e, ENL_EINVAL, "key has a control character");
		if (c == '\\')
			return enl_fail(e, ENL_EINVAL, "key has a backslash");
	}
	if (!utf8_valid((const unsigned char *)k, n))
		return enl_fail(e, ENL_EINVAL, "key is not valid UTF-8");
	return ENL_OK;
}

static int key_check(const char *k, struct enl_errmsg *e)
{
	if (!k)
		return enl_fail(e, ENL_EINVAL, "missing key");
	size_t n = strnlen(k, LOCAL_KEY_MAX + 1);
	if (n == 0)
		return enl_fail(e, ENL_EINVAL, "empty key");
	if (n > LOCAL_KEY_MAX)
		return enl_fail(e, ENL_EINVAL, "key longer than %d bytes", LOCAL_KEY_MAX);
	if (k[0] == '/')
		return enl_fail(e, ENL_EINVAL, "key must not start with '/'");
	int rc = chars_check(k, n, e);
	if (rc)
		return rc;
	const char *seg = k;
	for (;;) {
		const char *slash = memchr(seg, '/', (size_t)(k + n - seg));
		size_t len = slash ? (size_t)(slash - seg) : (size_t)(k + n - seg);
		rc = segment_check(seg, len, e);
		if (rc)
			return rc;
		if (!slash)
			break;
		seg = slash + 1;
	}
	return ENL_OK;
}

/* ---- paths, one segment at a time ---- */

static int io_fail(struct enl_errmsg *e, const char *what, int err)
{
	char buf[128];
	/* GNU strerror_r: thread-safe, and the text holds no path. */
	const char *msg = strerror_r(err, buf, sizeof(buf));
	enl_logf(ENL_LOG_WARN, "local store: %s: %s", what, msg);
	return enl_fail(e, ENL_EIO, "local store: %s failed: %s", what, msg);
}

/* Opens the directory dir/p[0..n) (segments separated by '/') below dirfd, never
 * following a symbolic link, creating missing folders when create is set.
 * Returns an fd or -errno. */
static int open_dirs(int dirfd, const char *p, size_t n, int create)
{
	int fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	size_t i = 0;
	while (i < n) {
		const char *slash = memchr(p + i, '/', n - i);
		size_t len = slash ? (size_t)(slash - (p + i)) : n - i;
		char seg[LOCAL_SEGMENT_MAX + 8];
		if (len == 0 || len >= sizeof(seg)) {
			close(fd);
			return -EINVAL;
		}
		memcpy(seg, p + i, len);
		seg[len] = '\0';
		int next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, seg, 0755) != 0 && errno != EEXIST) {
				int err = errno;
				close(fd);
				return -err;
			}
			next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		int err = errno;
		close(fd);
		if (next < 0)
			return -err;
		fd = next;
		i += len + 1;
	}
	return fd;
}

enum side { SIDE_DATA, SIDE_META };

/* Opens the folder that holds key's last segment (data or sidecar side) and
 * points *last at that segment inside key. Returns an fd or -errno. */
static int open_key_dir(struct local_store *st, enum side side, const char *bucket, const char *key,
                        int create, const char **last)
{
	char path[sizeof(LOCAL_META_DIR) + 64 + LOCAL_KEY_MAX + 4];
	const char *slash = strrchr(key, '/');
	size_t dirlen = slash ? (size_t)(slash - key) : 0;
	*last = slash ? slash + 1 : key;
	int n =
	    snprintf(path, sizeof(path), "%s%s%s%s%.*s", side == SIDE_META ? LOCAL_META_DIR : "",
	             side == SIDE_META ? "/" : "", bucket, dirlen ? "/" : "", (int)dirlen, key);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return open_dirs(st->root_fd, path, (size_t)n, create);
}

static int sidecar_name(const char *last, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.json", last);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* ---- small helpers ---- */

static int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Creates dirfd/.tmp-<random> exclusively; name receives the file name. */
static int create_temp(int dirfd, char name[32])
{
	for (int tries = 0; tries < 8; tries++) {
		unsigned char rnd[8];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -EIO;
		snprintf(name, 32, LOCAL_TMP_PREFIX "%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
		         rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		int fd =
		    openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static void md5_hex(const unsigned char digest[16], char out[33])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[32] = '\0';
}

static int md5_of(const void *data, size_t len, char out[33])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (!EVP_Digest(data, len, d, &dlen, EVP_md5(), NULL) || dlen != 16)
		return ENL_EINTERNAL;
	md5_hex(d, out);
	return ENL_OK;
}

/* MD5 of everything fd holds, read from the start. ENL_EIO with *err set when a
 * read fails. */
static int md5_of_fd(int fd, char out[33], int *err)
{
	int rc = ENL_EINTERNAL;
	*err = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *chunk = malloc(64 * 1024);
	if (!ctx || !chunk || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL))
		goto done;
	off_t off = 0;
	for (;;) {
		ssize_t r = pread(fd, chunk, 64 * 1024, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = errno;
			rc = ENL_EIO;
			goto done;
		}
		if (r == 0)
			break;
		if (!EVP_DigestUpdate(ctx, chunk, (size_t)r))
			goto done;
		off += r;
	}
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (!EVP_DigestFinal_ex(ctx, d, &dlen) || dlen != 16)
		goto done;
	md5_hex(d, out);
	rc = ENL_OK;
done:
	free(chunk);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* A content type from the first bytes, for files dropped in by hand. Borrowed, static. */
static const char *sniff_type(const unsigned char *h, size_t n)
{
	if (n >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff)
		return "image/jpeg";
	if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (n >= 12 && memcmp(h + 4, "ftyp", 4) == 0) {
		const unsigned char *b = h + 8;
		if (memcmp(b, "avif", 4) == 0 || memcmp(b, "avis", 4) == 0)
			return "image/avif";
		if (memcmp(b, "heic", 4) == 0 || memcmp(b, "heix", 4) == 0 ||
		    memcmp(b, "mif1", 4) == 0 || memcmp(b, "msf1", 4) == 0 ||
		    memcmp(b, "hevc", 4) == 0)
			return "image/heic";
	}
	if (n >= 4 && (memcmp(h, "II*\0", 4) == 0 || memcmp(h, "MM\0*", 4) == 0))
		return "image/tiff";
	if (n >= 2 && h[0] == 'B' && h[1] == 'M')
		return "image/bmp";
	return "application/octet-stream";
}

static int text_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return utf8_valid((const unsigned char *)s, n);
}

static int opts_check(const struct enl_put_opts *o, struct enl_errmsg *e)
{
	if (!o)
		return ENL_OK;
	if (o->content_type &&
	    !text_ok(o->content_type, sizeof(((struct enl_object_info *)0)->content_type)))
		return enl_fail(e, ENL_EINVAL, "content type too long or has control characters");
	if (o->cache_control &&
	    !text_ok(o->cache_control, sizeof(((struct enl_object_info *)0)->cache_control)))
		return enl_fail(e, ENL_EINVAL, "cache control too long or has control characters");
	if (o->n_meta < 0 || o->n_meta > ENL_META_MAX || (o->n_meta && !o->meta))
		return enl_fail(e, ENL_EINVAL, "at most %d user metadata pairs", ENL_META_MAX);
	for (int i = 0; i < o->n_meta; i++) {
		const struct enl_meta_pair *m = &o->meta[i];
		size_t n = strnlen(m->name, sizeof(m->name));
		if (n == 0 || n == sizeof(m->name))
			return enl_fail(e, ENL_EINVAL, "bad user metadata name");
		for (size_t k = 0; k < n; k++) {
			char c = m->name[k];
			int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
			if (!ok)
				return enl_fail(e, ENL_EINVAL, "bad user metadata name");
		}
		if (!text_ok(m->value, sizeof(m->value)))
			return enl_fail(e, ENL_EINVAL, "bad user metadata value");
	}
	return ENL_OK;
}

static pthread_mutex_t *key_lock(struct local_store *st, const char *bucket, const char *key)
{
	/* FNV-1a over bucket '/' key. */
	uint32_t h = 2166136261u;
	for (const char *p = bucket; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &st->locks[h % LOCAL_LOCKS];
}

/* ---- sidecar ---- */

/* Reads and parses the sidecar of key; *out NULL (and 0) when there is none or it
 * cannot be read or parsed (then the object is treated as dropped in by hand). */
static void sidecar_load(struct local_store *st, const char *bucket, const char *key, json_t **out)
{
	*out = NULL;
	const char *last;
	char name[LOCAL_SEGMENT_MAX + 8];
	unsigned char *buf = NULL;
	int fd = -1;
	int dfd = open_key_dir(st, SIDE_META, bucket, key, 0, &last);
	if (dfd < 0)
		return;
	if (sidecar_name(last, name, sizeof(name)) != 0)
		goto done;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		goto done;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > LOCAL_SIDECAR_MAX)
		goto done;
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		goto done;
	size_t len = 0;
	while (len < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)sb.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	json_error_t jerr;
	*out = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
	}
done:
	free(buf);
	if (fd >= 0)
		close(fd);
	close(dfd);
}

static int sidecar_matches(json_t *sc, const struct stat *sb)
{
	json_t *id = json_object_get(sc, "file"); /* borrowed */
	if (!json_is_object(id))
		return 0;
	return json_integer_value(json_object_get(id, "ino")) == (json_int_t)sb->st_ino &&
	       json_integer_value(json_object_get(id, "size")) == (json_int_t)sb->st_size &&
	       json_integer_value(json_object_get(id, "mtimeSec")) ==
	           (json_int_t)sb->st_mtim.tv_sec &&
	       json_integer_value(json_object_get(id, "mtimeNsec")) ==
	           (json_int_t)sb->st_mtim.tv_nsec;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static void info_from_sidecar(json_t *sc, struct enl_object_info *info)
{
	copy_str(info->etag, sizeof(info->etag), json_string_value(json_object_get(sc, "etag")));
	copy_str(info->content_type, sizeof(info->content_type),
	         json_string_value(json_object_get(sc, "contentType")));
	copy_str(info->cache_control, sizeof(info->cache_control),
	         json_string_value(json_object_get(sc, "cacheControl")));
	json_t *meta = json_object_get(sc, "meta"); /* borrowed */
	const char *name;
	json_t *v;
	info->n_meta = 0;
	json_object_foreach(meta, name, v)
	{
		if (info->n_meta >= ENL_META_MAX || !json_is_string(v))
			continue;
		copy_str(info->meta[info->n_meta].name, sizeof(info->meta[0].name), name);
		copy_str(info->meta[info->n_meta].value, sizeof(info->meta[0].value),
		         json_string_value(v));
		info->n_meta++;
	}
}

/* The sidecar document for a PUT. New reference, NULL on ENOMEM. */
static json_t *sidecar_new(const struct stat *sb, const char *etag, const struct enl_put_opts *o)
{
	json_t *meta = json_object();
	for (int i = 0; o && meta && i < o->n_meta; i++) {
		char lname[sizeof(o->meta[i].name)];
		size_t k = 0;
		for (; o->meta[i].name[k] && k < sizeof(lname) - 1; k++) {
			char c = o->meta[i].name[k];
			lname[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		lname[k] = '\0';
		json_object_set_new(meta, lname, json_string(o->meta[i].value));
	}
	return json_pack("{s:i, s:{s:I, s:I, s:I, s:I}, s:s, s:s, s:s, s:o*}", "v", 1, "file",
	                 "ino", (json_int_t)sb->st_ino, "size", (json_int_t)sb->st_size, "mtimeSec",
	                 (json_int_t)sb->st_mtim.tv_sec, "mtimeNsec",
	                 (json_int_t)sb->st_mtim.tv_nsec, "etag", etag, "contentType",
	                 o && o->content_type ? o->content_type : "", "cacheControl",
	                 o && o->cache_control ? o->cache_control : "", "meta", meta);
}

/* ---- operations ---- */

static int errno_to_enl(int err, const char *what, struct enl_errmsg *e)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR: return enl_fail(e, ENL_ENOTFOUND, "no such object");
	case ELOOP: return enl_fail(e, ENL_EINVAL, "key leads through a symbolic link");
	case ENAMETOOLONG: return enl_fail(e, ENL_EINVAL, "key too long for the local store");
	default: return io_fail(e, what, err);
	}
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Writes a sidecar for a file that came without one (ETag and sniffed type from
 * its bytes), if the file at key is still the one described by sb. Best effort:
 * a sidecar is only a cache of what the bytes say, so failures are ignored, and
 * no fsync (a torn sidecar fails to parse and is recomputed). */
static void sidecar_cache(struct local_store *st, const char *bucket, const char *key,
                          const struct stat *sb, const struct enl_object_info *info)
{
	const char *last;
	char mname[LOCAL_SEGMENT_MAX + 8], tmp[32] = "";
	char *doc = NULL;
	int fd = -1, dfd = -1;
	struct enl_put_opts o = {info->content_type, NULL, 0, NULL};
	json_t *sc = sidecar_new(sb, info->etag, &o);
	int mfd = open_key_dir(st, SIDE_META, bucket, key, 1, &last);
	if (!sc || mfd < 0 || sidecar_name(last, mname, sizeof(mname)) != 0)
		goto done;
	doc = json_dumps(sc, JSON_COMPACT);
	dfd = open_key_dir(st, SIDE_DATA, bucket, key, 0, &last);
	if (!doc || dfd < 0)
		goto done;
	fd = create_temp(mfd, tmp);
	if (fd < 0) {
		tmp[0] = '\0';
		goto done;
	}
	if (write_all(fd, doc, strlen(doc)) != 0)
		goto done;
	pthread_mutex_t *lk = key_lock(st, bucket, key);
	pthread_mutex_lock(lk);
	struct stat cur;
	if (fstatat(dfd, last, &cur, AT_SYMLINK_NOFOLLOW) == 0 && same_file(sb, &cur) &&
	    renameat(mfd, tmp, mfd, mname) == 0)
		tmp[0] = '\0';
	pthread_mutex_unlock(lk);
done:
	if (tmp[0])
		unlinkat(mfd, tmp, 0);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (mfd >= 0)
		close(mfd);
	free(doc);
	json_decref(sc);
}

/* Opens the data file of key for reading: a regular file, never through a link. */
static int open_data(struct local_store *st, const char *bucket, const char *key, int *out,
                     struct stat *sb, struct enl_errmsg *e)
{
	const char *last;
	*out = -1;
	int dfd = open_key_dir(st, SIDE_DATA, bucket, key, 0, &last);
	if (dfd < 0)
		return errno_to_enl(-dfd, "open", e);
	/* O_NONBLOCK: a FIFO dropped into the folder must not hang us. */
	int fd = openat(dfd, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int err = errno;
	close(dfd);
	if (fd < 0)
		return errno_to_enl(err, "open", e);
	if (fstat(fd, sb) != 0) {
		err = errno;
		close(fd);
		return io_fail(e, "stat", err);
	}
	if (!S_ISREG(sb->st_mode)) {
		close(fd);
		return enl_fail(e, ENL_ENOTFOUND, "no such object");
	}
	*out = fd;
	return ENL_OK;
}

/* Reads the object: bytes into out (when not NULL, capped at max_bytes, 0 = no
 * cap) and info. */
static int local_read(struct local_store *st, const char *bucket, const char *key, size_t max_bytes,
                      struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e)
{
	int rc = bucket_check(bucket, e);
	if (rc)
		return rc;
	rc = key_check(key, e);
	if (rc)
		return rc;
	struct enl_object_info tmp;
	if (!info)
		info = &tmp;
	memset(info, 0, sizeof(*info));

	int fd = -1, err = 0;
	json_t *sc = NULL;
	struct stat sb;
	for (int attempt = 0;; attempt++) {
		/* Under the key's lock, so PUTs from this process are never seen between
		 * their two renames; only the open and the small sidecar read are in it. */
		pthread_mutex_t *lk = key_lock(st, bucket, key);
		pthread_mutex_lock(lk);
		rc = open_data(st, bucket, key, &fd, &sb, e);
		if (rc == ENL_OK)
			sidecar_load(st, bucket, key, &sc);
		pthread_mutex_unlock(lk);
		if (rc)
			goto done;
		if (out && max_bytes && (uint64_t)sb.st_size > max_bytes) {
			rc = enl_fail(e, ENL_ETOOBIG, "object is larger than %zu bytes", max_bytes);
			goto done;
		}
		if (!sc || sidecar_matches(sc, &sb) || attempt + 1 >= LOCAL_READ_RETRIES)
			break;
		/* Another process's PUT is between its two renames: look again soon. */
		json_decref(sc);
		sc = NULL;
		close(fd);
		fd = -1;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	/* May the ETag computed below be remembered in a sidecar? Yes when there is
	 * none, or when the one there describes an older file (replaced by hand). Not
	 * when it is newer than the data: that is another process's PUT between its
	 * renames, whose sidecar must stay. */
	int cacheable = !sc;
	if (sc && !sidecar_matches(sc, &sb)) {
		json_int_t sc_sec =
		    json_integer_value(json_object_get(json_object_get(sc, "file"), "mtimeSec"));
		cacheable = sc_sec + 1 < (json_int_t)sb.st_mtim.tv_sec;
		json_decref(sc);
		sc = NULL;
	}

	if (out) {
		enl_buf_init(out, max_bytes);
		unsigned char *chunk = malloc(64 * 1024);
		if (!chunk) {
			rc = enl_fail(e, ENL_ENOMEM, "out of memory");
			goto done;
		}
		for (;;) {
			ssize_t r = read(fd, chunk, 64 * 1024);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = io_fail(e, "read", errno);
				break;
			}
			if (r == 0)
				break;
			rc = enl_buf_append(out, chunk, (size_t)r);
			if (rc) {
				enl_fail(e, rc,
				         rc == ENL_ETOOBIG ? "object is larger than the limit"
				                           : "out of memory");
				break;
			}
		}
		free(chunk);
		if (rc)
			goto done;
	}

	info->size = out ? out->len : (uint64_t)sb.st_size;
	info->last_modified = (int64_t)sb.st_mtim.tv_sec;
	if (sc) {
		info_from_sidecar(sc, info);
	} else {
		/* Dropped in by hand: derive what S3 would report from the bytes. */
		unsigned char head[16];
		size_t hn = 0;
		if (out) {
			hn = out->len < sizeof(head) ? out->len : sizeof(head);
			if (hn)
				memcpy(head, out->data, hn);
			rc = md5_of(out->data ? out->data : (const unsigned char *)"", out->len,
			            info->etag);
		} else {
			ssize_t r = pread(fd, head, sizeof(head), 0);
			hn = r > 0 ? (size_t)r : 0;
			rc = md5_of_fd(fd, info->etag, &err);
		}
		if (rc) {
			rc =
			    rc == ENL_EIO ? io_fail(e, "read", err) : enl_fail(e, rc, "MD5 failed");
			goto done;
		}
		copy_str(info->content_type, sizeof(info->content_type), sniff_type(head, hn));
		/* Remember it, so the next HEAD of a large original does not hash it again;
		 * only when the file did not change while we hashed it. */
		struct stat after;
		if (cacheable && fstat(fd, &after) == 0 && same_file(&sb, &after) &&
		    (uint64_t)after.st_size == info->size)
			sidecar_cache(st, bucket, key, &sb, info);
	}
	rc = ENL_OK;
done:
	if (rc && out)
		enl_buf_free(out);
	json_decref(sc);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int local_get(struct enl_store *s, const char *bucket, const char *key, size_t max_bytes,
                     struct enl_buf *out, struct enl_object_info *info, struct enl_errmsg *e)
{
	enl_buf_init(out, max_bytes);
	return local_read((struct local_store *)s, bucket, key, max_bytes, out, info, e);
}

static int local_head(struct enl_store *s, const char *bucket, const char *key,
                      struct enl_object_info *info, struct enl_errmsg *e)
{
	return local_read((struct local_store *)s, bucket, key, 0, NULL, info, e);
}

/* Creation errors: a path segment that is a file (or a sidecar) is a key conflict. */
static int create_errno(int err, const char *what, struct enl_errmsg *e)
{
	if (err == ENOTDIR || err == EEXIST || err == EISDIR)
		return enl_fail(e, ENL_EINVAL, "key conflicts with an existing object or prefix");
	if (err == ELOOP)
		return enl_fail(e, ENL_EINVAL, "key leads through a symbolic link");
	if (err == ENAMETOOLONG)
		return enl_fail(e, ENL_EINVAL, "key too long for the local store");
	return io_fail(e, what, err);
}

static int local_put(struct enl_store *s, const char *bucket, const char *key, const void *data,
                     size_t len, const struct enl_put_opts *opts, struct enl_errmsg *e)
{
	struct local_store *st = (struct local_store *)s;
	int dfd = -1, mfd = -1, fd = -1, mf = -1;
	char dtmp[32] = "", mtmp[32] = "", mname[LOCAL_SEGMENT_MAX + 8];
	char *doc = NULL;
	json_t *sc = NULL;
	const char *last;
	char etag[33];

	int rc = bucket_check(bucket, e);
	if (!rc)
		rc = key_check(key, e);
	if (!rc)
		rc = opts_check(opts, e);
	if (rc)
		return rc;
	if (len && !data)
		return enl_fail(e, ENL_EINVAL, "no data");
	if (md5_of(len ? data : "", len, etag) != ENL_OK)
		return enl_fail(e, ENL_EINTERNAL, "MD5 failed");

	dfd = open_key_dir(st, SIDE_DATA, bucket, key, 1, &last);
	if (dfd < 0) {
		rc = create_errno(-dfd, "create folder", e);
		goto done;
	}
	mfd = open_key_dir(st, SIDE_META, bucket, key, 1, &last);
	if (mfd < 0) {
		rc = create_errno(-mfd, "create folder", e);
		goto done;
	}
	if (sidecar_name(last, mname, sizeof(mname)) != 0) {
		rc = enl_fail(e, ENL_EINVAL, "key too long for the local store");
		goto done;
	}
	struct stat sb;
	if (fstatat(dfd, last, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
		rc = enl_fail(e, ENL_EINVAL, "key conflicts with objects under the same prefix");
		goto done;
	}

	fd = create_temp(dfd, dtmp);
	if (fd < 0) {
		dtmp[0] = '\0';
		rc = io_fail(e, "create", -fd);
		goto done;
	}
	int err = write_all(fd, data, len);
	if (err || fsync(fd) != 0 || fstat(fd, &sb) != 0) {
		rc = io_fail(e, "write", err ? -err : errno);
		goto done;
	}
	sc = sidecar_new(&sb, etag, opts);
	doc = sc ? json_dumps(sc, JSON_COMPACT) : NULL;
	if (!doc) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	mf = create_temp(mfd, mtmp);
	if (mf < 0) {
		mtmp[0] = '\0';
		rc = io_fail(e, "create", -mf);
		goto done;
	}
	err = write_all(mf, doc, strlen(doc));
	if (err || fsync(mf) != 0) {
		rc = io_fail(e, "write", err ? -err : errno);
		goto done;
	}

	/* Sidecar first, then data (see the top of this file); both under the key's
	 * lock so concurrent PUTs here pair each sidecar with its own data file. */
	pthread_mutex_t *lk = key_lock(st, bucket, key);
	pthread_mutex_lock(lk);
	if (renameat(mfd, mtmp, mfd, mname) != 0) {
		err = errno;
		pthread_mutex_unlock(lk);
		rc = create_errno(err, "rename", e);
		goto done;
	}
	mtmp[0] = '\0';
	if (renameat(dfd, dtmp, dfd, last) != 0) {
		err = errno;
		pthread_mutex_unlock(lk);
		rc = create_errno(err, "rename", e);
		goto done;
	}
	dtmp[0] = '\0';
	pthread_mutex_unlock(lk);
	/* Make the renames durable before we report success. */
	if (fsync(mfd) != 0 || fsync(dfd) != 0) {
		rc = io_fail(e, "sync", errno);
		goto done;
	}
	rc = ENL_OK;
done:
	if (dtmp[0])
		unlinkat(dfd, dtmp, 0);
	if (mtmp[0])
		unlinkat(mfd, mtmp, 0);
	free(doc);
	json_decref(sc);
	if (fd >= 0)
		close(fd);
	if (mf >= 0)
		close(mf);
	if (dfd >= 0)
		close(dfd);
	if (mfd >= 0)
		close(mfd);
	return rc;
}

/* Deleting a missing key succeeds, as on S3. */
static int local_del(struct enl_store *s, const char *bucket, const char *key, struct enl_errmsg *e)
{
	struct local_store *st = (struct local_store *)s;
	int rc = bucket_check(bucket, e);
	if (!rc)
		rc = key_check(key, e);
	if (rc)
		return rc;
	const char *last;
	char mname[LOCAL_SEGMENT_MAX + 8];
	int dfd = open_key_dir(st, SIDE_DATA, bucket, key, 0, &last);
	int mfd = open_key_dir(st, SIDE_META, bucket, key, 0, &last);
	if (dfd < 0 && dfd != -ENOENT && dfd != -ENOTDIR) {
		rc = errno_to_enl(-dfd, "delete", e);
		goto done;
	}
	pthread_mutex_t *lk = key_lock(st, bucket, key);
	pthread_mutex_lock(lk);
	/* Data first: once it is gone, readers answer "not found" whatever the sidecar. */
	if (dfd >= 0 && unlinkat(dfd, last, 0) != 0 && errno != ENOENT && errno != EISDIR &&
	    errno != ENOTDIR)
		rc = io_fail(e, "delete", errno);
	if (!rc && mfd >= 0 && sidecar_name(last, mname, sizeof(mname)) == 0 &&
	    unlinkat(mfd, mname, 0) != 0 && errno != ENOENT && errno != EISDIR)
		rc = io_fail(e, "delete", errno);
	pthread_mutex_unlock(lk);
done:
	if (dfd >= 0)
		close(dfd);
	if (mfd >= 0)
		close(mfd);
	return rc;
}

struct keyvec {
	char **v;
	size_t n, cap;
};

static int keyvec_push(struct keyvec *kv, const char *k)
{
	if (kv->n == kv->cap) {
		size_t cap = kv->cap ? kv->cap * 2 : 64;
		char **v = realloc(kv->v, cap * sizeof(*v));
		if (!v)
			return ENL_ENOMEM;
		kv->v = v;
		kv->cap = cap;
	}
	kv->v[kv->n] = strdup(k);
	if (!kv->v[kv->n])
		return ENL_ENOMEM;
	kv->n++;
	return ENL_OK;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the keys below dirfd (whose keys start with path[0..plen)) that begin
 * with prefix. Takes ownership of dirfd. */
static int walk(int dirfd, char *path, size_t plen, const char *prefix, size_t prelen, int depth,
                struct keyvec *kv, struct enl_errmsg *e)
{
	int rc = ENL_OK;
	DIR *d = fdopendir(dirfd);
	if (!d) {
		int err = errno;
		close(dirfd);
		return io_fail(e, "list", err);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 ||
		    strncmp(nm, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)) == 0)
			continue;
		size_t nl = strlen(nm);
		if (plen + nl + 1 > LOCAL_KEY_MAX)
			continue;
		memcpy(path + plen, nm, nl + 1);
		size_t kl = plen + nl;
		unsigned char type = de->d_type;
		if (type == DT_UNKNOWN) {
			struct stat sb;
			if (fstatat(dirfd, nm, &sb, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			type = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ? DT_REG : DT_LNK;
		}
		if (type == DT_DIR) {
			/* Descend only where keys below could still match the prefix. */
			size_t cmp = kl + 1 < prelen ? kl + 1 : prelen;
			path[kl] = '/';
			path[kl + 1] = '\0';
			if (depth < LOCAL_LIST_DEPTH && strncmp(path, prefix, cmp) == 0) {
				int sub = openat(dirfd, nm,
				                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0)
					rc = walk(sub, path, kl + 1, prefix, prelen, depth + 1, kv,
					          e);
			}
		} else if (type == DT_REG && kl >= prelen && strncmp(path, prefix, prelen) == 0 &&
		           key_check(path, NULL) == ENL_OK) {
			rc = keyvec_push(kv, path);
			if (rc)
				enl_fail(e, rc, "out of memory");
		}
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

static int local_list(struct enl_store *s, const char *bucket, const char *prefix,
                      enl_store_list_cb cb, void *ud, struct enl_errmsg *e)
{
	struct local_store *st = (struct local_store *)s;
	struct keyvec kv = {0};
	int rc = bucket_check(bucket, e);
	if (rc)
		return rc;
	size_t prelen = strnlen(prefix, LOCAL_KEY_MAX + 1);
	if (prelen > LOCAL_KEY_MAX)
		return enl_fail(e, ENL_EINVAL, "prefix longer than %d bytes", LOCAL_KEY_MAX);
	if (prefix[0] == '/')
		return enl_fail(e, ENL_EINVAL, "prefix must not start with '/'");
	rc = chars_check(prefix, prelen, e);
	if (rc)
		return rc;
	/* The folder part of the prefix must be a proper path; the rest is matched by name. */
	const char *slash = strrchr(prefix, '/');
	size_t dirlen = slash ? (size_t)(slash - prefix) : 0;
	for (size_t i = 0; i < dirlen;) {
		const char *s2 = memchr(prefix + i, '/', dirlen - i);
		size_t l = s2 ? (size_t)(s2 - (prefix + i)) : dirlen - i;
		rc = segment_check(prefix + i, l, e);
		if (rc)
			return rc;
		i += l + 1;
	}

	int bfd = open_dirs(st->root_fd, bucket, strlen(bucket), 0);
	if (bfd < 0)
		return errno_to_enl(-bfd, "list", e);
	int fd = dirlen ? open_dirs(bfd, prefix, dirlen, 0) : dup(bfd);
	close(bfd);
	if (fd < 0) {
		/* No such folder: nothing under this prefix. */
		return (fd == -ENOENT || fd == -ENOTDIR) ? ENL_OK : io_fail(e, "list", -fd);
	}
	char path[LOCAL_KEY_MAX + 2];
	memcpy(path, prefix, dirlen);
	size_t plen = dirlen;
	if (dirlen)
		path[plen++] = '/';
	path[plen] = '\0';
	rc = walk(fd, path, plen, prefix, prelen, 0, &kv, e);
	if (!rc && kv.n)
		qsort(kv.v, kv.n, sizeof(*kv.v), cmp_keys);
	for (size_t i = 0; !rc && i < kv.n; i++)
		rc = cb(ud, kv.v[i]);
	for (size_t i = 0; i < kv.n; i++)
		free(kv.v[i]);
	free(kv.v);
	return rc;
}

/* Makes sure the bucket folder exists (creating it, so a fresh data dir is ready
 * for the folder watcher) and the root is writable. */
static int local_ping(struct enl_store *s, const char *bucket, struct enl_errmsg *e)
{
	struct local_store *st = (struct local_store *)s;
	int rc = bucket_check(bucket, e);
	if (rc)
		return rc;
	int fd = open_dirs(st->root_fd, bucket, strlen(bucket), 1);
	if (fd < 0)
		return create_errno(-fd, "open bucket folder", e);
	int ok = faccessat(fd, ".", W_OK, 0) == 0;
	int err = errno;
	close(fd);
	return ok ? ENL_OK : io_fail(e, "access bucket folder", err);
}

static void local_destroy(struct enl_store *s)
{
	struct local_store *st = (struct local_store *)s;
	if (!st)
		return;
	for (int i = 0; i < LOCAL_LOCKS; i++)
		pthread_mutex_destroy(&st->locks[i]);
	if (st->root_fd >= 0)
		close(st->root_fd);
	free(st);
}

static const struct enl_store_ops local_ops = {
    .get = local_get,
    .head = local_head,
    .put = local_put,
    .del = local_del,
    .list = local_list,
    .ping = local_ping,
    .destroy = local_destroy,
};

/* mkdir -p, for the root given in configuration (which may be a relative path or
 * go through symbolic links: it is the operator's, not a client's). */
static int mkdir_p(const char *dir)
{
	char p[4096];
	int n = snprintf(p, sizeof(p), "%s", dir);
	if (n <= 0 || (size_t)n >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return -errno;
		*c = '/';
	}
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int enl_store_local_open(const char *dir, struct enl_store **out, struct enl_errmsg *e)
{
	*out = NULL;
	if (!dir || !dir[0])
		return enl_fail(e, ENL_EINVAL, "local store: no data directory");
	int err = mkdir_p(dir);
	if (err)
		return enl_fail(e, ENL_EIO, "local store: cannot create the data directory: %s",
		                strerror(-err));
	struct local_store *st = calloc(1, sizeof(*st));
	if (!st)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	st->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->root_fd < 0) {
		err = errno;
		free(st);
		return enl_fail(e, ENL_EIO, "local store: cannot open the data directory: %s",
		                strerror(err));
	}
	if (mkdirat(st->root_fd, LOCAL_META_DIR, 0755) != 0 && errno != EEXIST) {
		err = errno;
		close(st->root_fd);
		free(st);
		return enl_fail(e, ENL_EIO, "local store: cannot create the metadata folder: %s",
		                strerror(err));
	}
	for (int i = 0; i < LOCAL_LOCKS; i++)
		pthread_mutex_init(&st->locks[i], NULL);
	st->base.ops = &local_ops;
	st->base.name = "local";
	*out = &st->base;
	return ENL_OK;
}
