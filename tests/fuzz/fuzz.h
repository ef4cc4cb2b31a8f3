/* Shared by the fuzz targets: the entry points, a NUL-terminated copy of the input, a
 * line splitter, and a check that aborts (so libFuzzer and ctest see a crash) naming
 * what failed. */
#ifndef ENLARGER_FUZZ_H
#define ENLARGER_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, once before the first input (libFuzzer's, and fuzz_main.c's when defined). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* data[0..size) as a string, cut at its first NUL. malloc'ed, caller frees; aborts
 * when out of memory (a fuzz input is small). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	FUZZ_CHECK(s != NULL);
	if (size)
		memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* Splits s in place at each '\n' into at most max lines (the last keeps any further
 * '\n'); returns how many. */
static inline int fuzz_lines(char *s, char **lines, int max)
{
	int n = 0;
	while (s && n < max) {
		lines[n++] = s;
		if (n == max)
			break;
		s = strchr(s, '\n');
		if (s)
			*s++ = 0;
	}
	return n;
}

#endif
