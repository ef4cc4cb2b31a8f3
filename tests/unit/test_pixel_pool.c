/* The pixel pool (src/core/pixel_pool.c): a mapping given back comes out again, pages
 * and all, for a request it fits; the smallest that fits is chosen; the pool keeps at most
 * ENL_PIXEL_POOL_SLOTS mappings (the largest), none over ENL_PIXEL_POOL_MAX_BYTES. */
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "core_internal.h"
#include "enlarger/defaults.h"

enum { MIB = 1 << 20 };

int main(void)
{
	size_t cap = 0, cap2 = 0;
	void *held[ENL_PIXEL_POOL_SLOTS + 1];
	unsigned char *p, *q;

	CHECK_INT_EQ(enl_pixel_pool_kept(), 0);
	p = enl_pixel_pool_get(3 * MIB + 5, &cap);
	REQUIRE(p != NULL);
	CHECK(cap >= 3 * MIB + 5 && cap < 3 * MIB + 5 + 65536);
	memset(p, 0xab, 3 * MIB + 5);
	enl_pixel_pool_put(p, cap);
	CHECK_INT_EQ(enl_pixel_pool_kept(), cap);

	/* A smaller request gets the same mapping, its bytes as left. */
	q = enl_pixel_pool_get(MIB, &cap2);
	CHECK(q == p && cap2 == cap);
	CHECK(q != NULL && q[0] == 0xab && q[3 * MIB + 4] == 0xab);
	CHECK_INT_EQ(enl_pixel_pool_kept(), 0);
	/* A larger one than any kept: a fresh (zeroed) mapping. */
	enl_pixel_pool_put(q, cap2);
	q = enl_pixel_pool_get(4 * MIB, &cap2);
	CHECK(q != NULL && q != p && q[0] == 0 && q[4 * MIB - 1] == 0);
	enl_pixel_pool_put(q, cap2);
	CHECK_INT_EQ(enl_pixel_pool_kept(), cap + cap2);

	/* The smallest that fits. */
	q = enl_pixel_pool_get(2 * MIB, &cap2);
	CHECK(q == p);
	enl_pixel_pool_put(q, cap2);

	/* Over the bound: never kept. */
	size_t before = enl_pixel_pool_kept();
	q = enl_pixel_pool_get(ENL_PIXEL_POOL_MAX_BYTES + 1, &cap2);
	REQUIRE(q != NULL);
	enl_pixel_pool_put(q, cap2);
	CHECK_INT_EQ(enl_pixel_pool_kept(), before);

	/* Full: the largest ENL_PIXEL_POOL_SLOTS stay. Empty it first. */
	while (enl_pixel_pool_kept()) {
		q = enl_pixel_pool_get(1, &cap2);
		REQUIRE(q != NULL);
		munmap(q, cap2);
	}
	enl_pixel_pool_put(NULL, 0); /* a no-op */
	size_t want = 0;
	/* A quarter of a MiB apart, all under ENL_PIXEL_POOL_MAX_BYTES. */
	_Static_assert((ENL_PIXEL_POOL_SLOTS + 1) * MIB / 4 <= ENL_PIXEL_POOL_MAX_BYTES,
	               "the sizes below are all kept");
	for (size_t i = 1; i <= ENL_PIXEL_POOL_SLOTS + 1; i++) {
		q = enl_pixel_pool_get(i * MIB / 4, &cap2);
		REQUIRE(q != NULL && cap2 == i * MIB / 4);
		held[i - 1] = q;
		want += i > 1 ? i * MIB / 4 : 0;
	}
	for (size_t i = 0; i <= ENL_PIXEL_POOL_SLOTS; i++)
		enl_pixel_pool_put(held[i], (i + 1) * MIB / 4);
	CHECK_INT_EQ(enl_pixel_pool_kept(), want);
	return check_done();
}
