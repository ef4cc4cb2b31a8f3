/* A tiny assertion harness for unit tests: CHECK keeps going, REQUIRE stops the test.
 * A test binary returns check_done(): 0 when all passed, 1 otherwise, 77 to skip. */
#ifndef ENLARGER_TEST_CHECK_H
#define ENLARGER_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		check_count++;                                                                     \
		if (!(cond)) {                                                                     \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		check_count++;                                                                     \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		check_count++;                                                                     \
		if (a_ != b_) {                                                                    \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,        \
			        __LINE__, #a, #b, a_, b_);                                         \
		}                                                                                  \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		check_count++;                                                                     \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                           \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,    \
			        __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");         \
		}                                                                                  \
	} while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		check_count++;                                                                     \
		if (!(fabs(a_ - b_) <= (tol))) {                                                   \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: %s ~= %s failed: %.9g != %.9g\n", __FILE__,        \
			        __LINE__, #a, #b, a_, b_);                                         \
		}                                                                                  \
	} while (0)

static inline int check_done(void)
{
	fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
