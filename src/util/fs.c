/* Small file-system helpers (see include/enlarger/fs.h). */
#include "enlarger/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int enl_mkdir_p(const char *dir)
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

int enl_fd_read_all(int fd, struct enl_buf *out, int *err)
{
	struct stat sb;
	unsigned char probe[4096];
	ssize_t n;
	int rc;

	*err = 0;
	/* A regular file's size is known: read it straight into a buffer that size, not
	 * through a chunk into a buffer that doubles (three copies of an original a render). */
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
		size_t want =
		    (uint64_t)sb.st_size < SIZE_MAX / 2 ? (size_t)sb.st_size : SIZE_MAX / 2;
		if (out->max && want > out->max - out->len)
			want = out->max - out->len;
		if ((rc = enl_buf_reserve(out, want)))
			return rc;
	}
	for (;;) {
		size_t room = out->cap > out->len + 1 ? out->cap - out->len - 1 : 0;
		if (out->max && room > out->max - out->len)
			room = out->max - out->len;
		/* No room left (or none yet): read a little aside, and append it if there was
		 * more (growing the buffer, or failing at its cap). */
		unsigned char *to = room ? out->data + out->len : probe;
		while ((n = read(fd, to, room ? room : sizeof(probe))) < 0 && errno == EINTR)
			;
		if (n < 0) {
			*err = errno;
			return ENL_EIO;
		}
		if (n == 0)
			return ENL_OK;
		if (!room) {
			if ((rc = enl_buf_append(out, probe, (size_t)n)))
				return rc;
			continue;
		}
		out->len += (size_t)n;
		out->data[out->len] = 0;
	}
}

int enl_file_read(const char *path, size_t max, struct enl_buf *out, struct enl_errmsg *e)
{
	int err = 0, rc;
	enl_buf_init(out, max);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return enl_fail(e, errno == ENOENT ? ENL_ENOTFOUND : ENL_EIO, "cannot open %s: %s",
		                path, strerror(errno));
	rc = enl_fd_read_all(fd, out, &err);
	close(fd);
	if (rc == ENL_EIO)
		enl_fail(e, rc, "cannot read %s: %s", path, strerror(err));
	else if (rc == ENL_ETOOBIG)
		enl_fail(e, rc, "%s is over the limit of %zu bytes", path, max);
	else if (rc)
		enl_fail(e, rc, "out of memory");
	if (rc)
		enl_buf_free(out);
	return rc;
}
