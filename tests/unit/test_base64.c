/* Base64 (include/enlarger/base64.h): RFC 4648's test vectors both ways, a round trip of
 * every length over random bytes, and the inputs the strict decoder refuses. */
#include "check.h"

#include <stdint.h>

#include "enlarger/base64.h"
#include "enlarger/err.h"

static void vector(const char *plain, const char *encoded)
{
	char out[64];
	unsigned char back[64];
	size_t n = 0;
	CHECK_INT_EQ(enl_base64_len(strlen(plain)), strlen(encoded));
	CHECK_INT_EQ(enl_base64_encode(out, plain, strlen(plain)), strlen(encoded));
	CHECK_STR_EQ(out, encoded);
	CHECK_INT_EQ(enl_base64_decode(back, &n, encoded, strlen(encoded)), 0);
	CHECK_INT_EQ(n, strlen(plain));
	CHECK(memcmp(back, plain, n) == 0 && back[n] == 0);
}

static void refused(const char *in)
{
	unsigned char out[64];
	size_t n = 99;
	CHECK_INT_EQ(enl_base64_decode(out, &n, in, strlen(in)), ENL_EINVAL);
	CHECK_INT_EQ(n, 0);
}

int main(void)
{
	/* RFC 4648, section 10. */
	vector("", "");
	vector("f", "Zg==");
	vector("fo", "Zm8=");
	vector("foo", "Zm9v");
	vector("foob", "Zm9vYg==");
	vector("fooba", "Zm9vYmE=");
	vector("foobar", "Zm9vYmFy");
	/* The two characters past the letters and digits, and high bytes. */
	{
		const unsigned char hi[] = {0xfb, 0xff, 0xbf, 0x00};
		char out[16];
		enl_base64_encode(out, hi, 4);
		CHECK_STR_EQ(out, "+/+/AA==");
	}

	uint32_t x = 2463534242u; /* xorshift32: the same bytes every run */
	unsigned char plain[300], back[300];
	char enc[404];
	for (size_t len = 0; len < sizeof(plain); len++) {
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			plain[i] = (unsigned char)x;
		}
		size_t el = enl_base64_encode(enc, plain, len), n = 0;
		CHECK(el % 4 == 0 && strlen(enc) == el);
		CHECK_INT_EQ(enl_base64_decode(back, &n, enc, el), 0);
		CHECK(n == len && memcmp(back, plain, len) == 0);
		CHECK_INT_EQ(enl_base64_decoded_len(enc, el), len);
	}

	refused("Zg=");      /* not a multiple of 4 */
	refused("Zm9v Zg="); /* a space */
	refused("Zm9-");     /* the URL-safe alphabet is not this one */
	refused("Zg==Zm9v"); /* padding before the end */
	refused("Z===");     /* three padding characters */
	refused("=Zg=");     /* padding first */
	refused("Zm=v");     /* padding inside the last quad, then a letter */
	return check_done();
}
