/* Paths below the local store's root, opened one segment at a time without following
 * symbolic links, and what their errno means to a client. */
#include "local_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "enlarger/log.h"

int enl_local_io_fail(struct enl_errmsg *e, const char *what, int err)
{
	char buf[128];
	/* GNU strerror_r: thread-safe, and the text holds no path. */
	const char *msg = strerror_r(err, buf, sizeof(buf));
	enl_logf(ENL_LOG_WARN, "local store: %s: %s", what, msg);
	return enl_fail(e, ENL_EIO, "local store: %s failed: %s", what, msg);
}

/* 1 once openat2 turned out missing (before Linux 5.6) or filtered (seccomp). */
static int no_openat2;

/* The whole of dir/p[0..n) in one openat2 with flags: no symbolic link anywhere on the way
 * (RESOLVE_NO_SYMLINKS) and nothing outside dirfd (RESOLVE_BENEATH), what the walk in
 * enl_local_open_dirs checks one segment at a time with two system calls a segment
 * (openat, close) and a dup. A hit on the render cache opens 4 such paths. Returns an
 * fd, -errno, or -ENOSYS when the walk must do it. */
static int open_beneath(int dirfd, const char *p, size_t n, int flags)
{
	char path[LOCAL_KEY_MAX + sizeof(LOCAL_META_DIR) + 80];
	if (n == 0 || n >= sizeof(path) || __atomic_load_n(&no_openat2, __ATOMIC_RELAXED))
		return -ENOSYS;
	/* Anything the walk might read otherwise (an empty or long segment, a trailing
	 * '/') is left to it. */
	for (size_t i = 0; i < n;) {
		const char *slash = memchr(p + i, '/', n - i);
		size_t len = slash ? (size_t)(slash - (p + i)) : n - i;
		if (len == 0 || len >= LOCAL_SEGMENT_MAX + 8 || (slash && len + i + 1 == n))
			return -ENOSYS;
		i += len + 1;
	}
	memcpy(path, p, n);
	path[n] = '\0';
	struct open_how how = {
	    .flags = (uint64_t)flags,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	int err = errno;
	if (err == ENOSYS || err == EPERM || err == E2BIG) {
		__atomic_store_n(&no_openat2, 1, __ATOMIC_RELAXED);
		return -ENOSYS;
	}
	return -err;
}

/* Opens the directory dir/p[0..n) (segments separated by '/') below dirfd, never
 * following a symbolic link, creating missing folders when create is set.
 * Returns an fd or -errno. */
int enl_local_open_dirs(int dirfd, const char *p, size_t n, int create)
{
	if (!create) {
		int r = open_beneath(dirfd, p, n, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r != -ENOSYS)
			return r;
	}
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

/* Opens the folder that holds key's last segment (data or sidecar side) and
 * points *last at that segment inside key. Returns an fd or -errno. */
int enl_local_open_key_dir(struct local_store *st, enum local_side side, const char *bucket,
                           const char *key, int create, const char **last)
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
	return enl_local_open_dirs(st->root_fd, path, (size_t)n, create);
}

int enl_local_open_key_file(struct local_store *st, enum local_side side, const char *bucket,
                            const char *key, int flags)
{
	char path[sizeof(LOCAL_META_DIR) + 64 + LOCAL_KEY_MAX + 8];
	const char *meta = side == SIDE_META ? LOCAL_META_DIR "/" : "";
	const char *ext = side == SIDE_META ? ".json" : "";
	int n = snprintf(path, sizeof(path), "%s%s/%s%s", meta, bucket, key, ext);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	int fd = open_beneath(st->root_fd, path, (size_t)n, flags | O_NOFOLLOW);
	if (fd != -ENOSYS)
		return fd;
	const char *last;
	char name[LOCAL_SEGMENT_MAX + 8];
	int dfd = enl_local_open_key_dir(st, side, bucket, key, 0, &last);
	if (dfd < 0)
		return dfd;
	n = snprintf(name, sizeof(name), "%s%s", last, ext);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		close(dfd);
		return -ENAMETOOLONG;
	}
	fd = openat(dfd, name, flags | O_NOFOLLOW);
	int err = errno;
	close(dfd);
	return fd >= 0 ? fd : -err;
}

int enl_local_errno(int err, const char *what, struct enl_errmsg *e)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR: return enl_fail(e, ENL_ENOTFOUND, "no such object");
	case ELOOP: return enl_fail(e, ENL_EINVAL, "key leads through a symbolic link");
	case ENAMETOOLONG: return enl_fail(e, ENL_EINVAL, "key too long for the local store");
	default: return enl_local_io_fail(e, what, err);
	}
}

/* Creation errors: a path segment that is a file (or a sidecar) is a key conflict. */
int enl_local_create_errno(int err, const char *what, struct enl_errmsg *e)
{
	if (err == ENOTDIR || err == EEXIST || err == EISDIR)
		return enl_fail(e, ENL_EINVAL, "key conflicts with an existing object or prefix");
	if (err == ELOOP)
		return enl_fail(e, ENL_EINVAL, "key leads through a symbolic link");
	if (err == ENAMETOOLONG)
		return enl_fail(e, ENL_EINVAL, "key too long for the local store");
	return enl_local_io_fail(e, what, err);
}
