/* Small file-system helpers (see include/enlarger/fs.h). */
#include "enlarger/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)

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
	int rc = ENL_OK;
	*err = 0;
	unsigned char *chunk = malloc(READ_CHUNK);
	if (!chunk)
		return ENL_ENOMEM;
	for (;;) {
		ssize_t n = read(fd, chunk, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = errno;
			rc = ENL_EIO;
			break;
		}
		if (n == 0)
			break;
		if ((rc = enl_buf_append(out, chunk, (size_t)n)))
			break;
	}
	free(chunk);
	return rc;
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
