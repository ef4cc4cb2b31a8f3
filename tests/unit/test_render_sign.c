/* Signed /render URLs: the message (the path as sent, '?', the other pairs sorted by name)
 * and the signature, against vectors from Python's hmac module (the oracle):
 *   base64.urlsafe_b64encode(hmac.new(key, msg, hashlib.sha256).digest()).rstrip(b"=") */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "enlarger/service.h"

#define KEY "an HMAC key of 32 characters...."
#define KEY2 "another key, also 32 characters"

static void check_sorted(const char *query, const char *want)
{
	char *got = NULL;
	REQUIRE(enl_render_sign_query(query, &got) == 0);
	CHECK_STR_EQ(got, want);
	free(got);
}

int main(void)
{
	char sig[ENL_RENDER_SIG_LEN + 1];

	/* Sorted by name, as sent (escapes and '+' untouched), sig left out wherever it is. */
	check_sorted("w=828&v=abc&fmt=auto", "fmt=auto&v=abc&w=828");
	check_sorted("sig=xyz&w=64", "w=64");
	check_sorted("w=64&sig=xyz", "w=64");
	check_sorted("", "");
	check_sorted(NULL, "");
	check_sorted("b=%2B+1&a=%20", "a=%20&b=%2B+1");
	check_sorted("w2=1&w=2", "w=2&w2=1");   /* by name, not by the pair's bytes */
	check_sorted("x=2&x=1&a", "a&x=2&x=1"); /* equal names keep their order */
	check_sorted("signature=1&sig=2", "signature=1");

	/* The signature: base64url of HMAC-SHA256 without padding. */
	REQUIRE(enl_render_sign(KEY, "/render/My%20Trip/caf%C3%A9%20100%25%20+1.jpg",
	                        "w=828&v=abc&fmt=auto", sig) == 0);
	CHECK_STR_EQ(sig, "F_kKtjQBX5_Ar969mGXg6AOIFWGiIHPacEf3lsPw5Jw");
	REQUIRE(enl_render_sign(KEY, "/render/a.jpg", "", sig) == 0);
	CHECK_STR_EQ(sig, "gIQOrRE4rstZ6rCFqcUfFjqt7rxGisWh5ZLAXNTnrS0");
	REQUIRE(enl_render_sign(KEY2, "/render/a.jpg", "sig=old&w=64", sig) == 0);
	CHECK_STR_EQ(sig, "krMFk6UYRYDAF2IooBkdL4uaQlMJcX7yPDDlde02E6c");

	/* Checking: the key or the previous one; anything else, or another URL, fails. */
	const char *p = "/render/a.jpg", *q = "w=64";
	const char *good = "krMFk6UYRYDAF2IooBkdL4uaQlMJcX7yPDDlde02E6c";
	CHECK_INT_EQ(enl_render_sig_ok(KEY2, NULL, p, q, good), 1);
	CHECK_INT_EQ(enl_render_sig_ok(KEY, KEY2, p, q, good), 1);
	CHECK_INT_EQ(enl_render_sig_ok(KEY, "", p, q, good), 0);
	CHECK_INT_EQ(enl_render_sig_ok(KEY2, NULL, p, "w=128", good), 0);
	CHECK_INT_EQ(enl_render_sig_ok(KEY2, NULL, "/render/A.jpg", q, good), 0);
	CHECK_INT_EQ(enl_render_sig_ok(KEY2, NULL, "/render/a%2Ejpg", q, good), 0);
	CHECK_INT_EQ(
	    enl_render_sig_ok(KEY2, NULL, p, q, "krMFk6UYRYDAF2IooBkdL4uaQlMJcX7yPDDlde02E6d"), 0);
	CHECK_INT_EQ(
	    enl_render_sig_ok(KEY2, NULL, p, q, "krMFk6UYRYDAF2IooBkdL4uaQlMJcX7yPDDlde02E6"), 0);
	CHECK_INT_EQ(enl_render_sig_ok(KEY2, NULL, p, q, ""), 0);
	CHECK_INT_EQ(enl_render_sig_ok(KEY2, NULL, p, q, NULL), 0);
	CHECK_INT_EQ(enl_render_sig_ok("", NULL, p, q, good), 0);
	return check_done();
}
