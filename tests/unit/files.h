/* Test-only: a whole file in and out, for fixtures and outputs. Reading goes through the
 * library's own reader (enl_file_read, src/util/fs.c). */
#ifndef ENLARGER_TEST_FILES_H
#define ENLARGER_TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>

#include "enlarger/buf.h"
#include "enlarger/fs.h"

/* The file's bytes, NUL-terminated (so text files read as strings), malloc'd: the caller
 * frees. *len (when not NULL) gets the size. NULL when the file cannot be read. */
static inline unsigned char *read_file(const char *path, size_t *len)
{
	struct enl_buf b;
	if (enl_file_read(path, 0, &b, NULL) != 0)
		return NULL;
	if (!b.data && enl_buf_append(&b, "", 1) == 0)
		b.len = 0; /* an empty file: "" rather than NULL */
	if (len)
		*len = b.len;
	return enl_buf_steal(&b, NULL); /* enl_buf's bytes are malloc'd and end in a NUL */
}

/* Writes p[0..n) to path. 0 or -1. */
static inline int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	if (n && fwrite(p, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

#endif
