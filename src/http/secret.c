/* Constant-time comparison of a presented secret (API key, origin secret). */
#include "enlarger/routes.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int enl_http_secret_equal(const char *given, const char *expected)
{
	unsigned char a[32], b[32];
	unsigned int la = 0, lb = 0;
	/* Hashing first makes the comparison length-independent: CRYPTO_memcmp alone
	 * would need equal lengths, and an early length check leaks the key's length. */
	if (!given || !expected)
		return 0;
	if (!EVP_Digest(given, strlen(given), a, &la, EVP_sha256(), NULL) ||
	    !EVP_Digest(expected, strlen(expected), b, &lb, EVP_sha256(), NULL))
		return 0;
	return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

int enl_http_secret_accepted(const char *given, const char *current, const char *previous)
{
	int cur = enl_http_secret_equal(given, current);
	int prev = previous && previous[0] && enl_http_secret_equal(given, previous);
	return cur | prev;
}
