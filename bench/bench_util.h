/* Small helpers the C bench tools share (corebench.c, webp-sweep.c): a monotonic clock in
 * ms and a comparison for qsort of doubles (medians). Files are read with the library's
 * enl_file_read (enlarger/fs.h). */
#ifndef ENLARGER_BENCH_UTIL_H
#define ENLARGER_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#endif
