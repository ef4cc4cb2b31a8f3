/* Small file-system helpers. */
#ifndef ENLARGER_FS_H
#define ENLARGER_FS_H

/* mkdir -p (mode 0755), for folders named in configuration (relative paths and
 * symbolic links allowed: they are the operator's, not a client's). 0, or -errno
 * (-ENAMETOOLONG for a path of 4096 bytes or more). */
int enl_mkdir_p(const char *dir);

#endif
