/* Small file-system helpers. */
#ifndef ENLARGER_FS_H
#define ENLARGER_FS_H

#include <stddef.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"

/* mkdir -p (mode 0755), for folders named in configuration (relative paths and
 * symbolic links allowed: they are the operator's, not a client's). 0, or -errno
 * (-ENAMETOOLONG for a path of 4096 bytes or more). */
int enl_mkdir_p(const char *dir);

/* Appends what fd holds from its offset to its end to out, within out's cap. 0,
 * ENL_ETOOBIG (past out->max), ENL_ENOMEM, or ENL_EIO with *err set to errno. */
int enl_fd_read_all(int fd, struct enl_buf *out, int *err);

/* The whole file at path into out, initialised here with the cap max (0 = none) and
 * freed on error: 0, ENL_ENOTFOUND, ENL_EIO, ENL_ETOOBIG or ENL_ENOMEM. e->text (e may
 * be NULL) names the path and the system's reason: for the operator's own files (the
 * CLI, tests, tools), never for a client's. */
int enl_file_read(const char *path, size_t max, struct enl_buf *out, struct enl_errmsg *e);

#endif
