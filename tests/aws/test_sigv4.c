/* Signs every request of AWS's SigV4 test suite (tests/data/sigv4, found by walking the
 * folder) and compares the canonical request, string to sign and Authorization header with
 * the suite's files byte for byte. Also a few unit checks of the encoder. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "files.h"
#include "enlarger/buf.h"
#include "enlarger/sigv4.h"

static int n_cases;

/* Parses a suite .req: "METHOD target HTTP/1.1", headers "Name:value" (a line starting
 * with whitespace continues the previous header as a further value, which the suite joins
 * with ','), a blank line, then the body. Everything points into text (modified). */
struct req {
	const char *method;
	char *path;
	char *query;
	struct enl_sigv4_header h[32];
	size_t nh;
	const char *body;
};

static int parse_req(char *text, struct req *r)
{
	memset(r, 0, sizeof(*r));
	char *eol = strchr(text, '\n');
	if (!eol)
		return -1;
	*eol = 0;
	char *sp1 = strchr(text, ' '), *sp2 = strrchr(text, ' ');
	if (!sp1 || sp1 == sp2)
		return -1;
	*sp1 = 0;
	*sp2 = 0;
	r->method = text;
	r->path = sp1 + 1;
	char *q = strchr(r->path, '?');
	if (q) {
		*q = 0;
		r->query = q + 1;
	}
	char *line = eol + 1;
	r->body = "";
	while (line && *line) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!*line) { /* blank line: the body follows */
			r->body = next ? next : "";
			break;
		}
		if (r->nh >= 32)
			return -1;
		if (*line == ' ' || *line == '\t') {
			if (!r->nh)
				return -1;
			r->h[r->nh].name = r->h[r->nh - 1].name;
			r->h[r->nh].value = line;
		} else {
			char *colon = strchr(line, ':');
			if (!colon)
				return -1;
			*colon = 0;
			r->h[r->nh].name = line;
			r->h[r->nh].value = colon + 1;
		}
		r->nh++;
		line = next;
	}
	return 0;
}

static void run_case(const char *dir, const char *name)
{
	char path[4096];
	char *req_text = NULL, *creq = NULL, *sts = NULL, *authz = NULL;
	struct req r;
	struct enl_sigv4_output out;
	struct enl_aws_creds creds;

	memset(&creds, 0, sizeof(creds));
	snprintf(creds.access_key_id, sizeof(creds.access_key_id), "AKIDEXAMPLE");
	snprintf(creds.secret_access_key, sizeof(creds.secret_access_key), "%s",
	         "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");

#define LOAD(var, ext)                                                                             \
	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);                                  \
	var = (char *)read_file(path, NULL)
	LOAD(req_text, "req");
	LOAD(creq, "creq");
	LOAD(sts, "sts");
	LOAD(authz, "authz");
	REQUIRE(req_text && creq && sts && authz);
	REQUIRE(parse_req(req_text, &r) == 0);

	struct tm tm = {0};
	time_t t = 0;
	for (size_t i = 0; i < r.nh; i++)
		if (strcasecmp(r.h[i].name, "x-amz-date") == 0 &&
		    strptime(r.h[i].value, "%Y%m%dT%H%M%SZ", &tm))
			t = timegm(&tm);
	CHECK(t != 0);

	char hash[65];
	enl_sigv4_sha256_hex(hash, r.body, strlen(r.body));
	struct enl_sigv4_input in = {
	    .method = r.method,
	    .path = r.path,
	    .query = r.query,
	    .headers = r.h,
	    .n_headers = r.nh,
	    .payload_hash = hash,
	    .region = "us-east-1",
	    .service = "service",
	    .time = t,
	    .uri_mode = ENL_SIGV4_URI_GENERIC,
	};
	int rc = enl_sigv4_sign(&out, &in, &creds);
	CHECK_INT_EQ(rc, 0);
	if (rc == 0) {
		int before = check_failures;
		CHECK_STR_EQ(out.canonical_request, creq);
		CHECK_STR_EQ(out.string_to_sign, sts);
		CHECK_STR_EQ(out.authorization, authz);
		if (check_failures != before)
			fprintf(stderr, "  in case %s\n", name);
	}
	enl_sigv4_output_free(&out);
	n_cases++;
	free(req_text);
	free(creq);
	free(sts);
	free(authz);
}

static void walk(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char sub[4096], req[4096];
	const char *base = strrchr(dir, '/');
	base = base ? base + 1 : dir;

	snprintf(req, sizeof(req), "%s/%s.req", dir, base);
	struct stat st;
	if (stat(req, &st) == 0)
		run_case(dir, base);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			walk(sub);
	}
	closedir(d);
}

static void check_encode(const char *in, int keep_slash, const char *want)
{
	struct enl_buf b;
	enl_buf_init(&b, 0);
	CHECK_INT_EQ(enl_sigv4_uri_encode(&b, in, strlen(in), keep_slash), 0);
	CHECK_STR_EQ(b.data ? (const char *)b.data : "", want);
	enl_buf_free(&b);
}

/* S3 mode: the wire path is decoded once and encoded once, never normalised. */
static void check_s3_uri(const char *path, const char *want)
{
	struct enl_aws_creds creds = {.access_key_id = "AKID", .secret_access_key = "secret"};
	struct enl_sigv4_header h[] = {{"Host", "b.s3.amazonaws.com"}};
	struct enl_sigv4_input in = {
	    .method = "GET",
	    .path = path,
	    .headers = h,
	    .n_headers = 1,
	    .payload_hash = ENL_SIGV4_UNSIGNED_PAYLOAD,
	    .region = "eu-west-1",
	    .service = "s3",
	    .time = 1440938160,
	    .uri_mode = ENL_SIGV4_URI_S3,
	};
	struct enl_sigv4_output out;
	CHECK_INT_EQ(enl_sigv4_sign(&out, &in, &creds), 0);
	if (out.canonical_request) {
		char *nl = strchr(out.canonical_request + 4, '\n');
		REQUIRE(nl);
		*nl = 0;
		CHECK_STR_EQ(out.canonical_request + 4, want);
	}
	enl_sigv4_output_free(&out);
}

int main(void)
{
	const char *src = getenv("ENL_SOURCE_DIR");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tests/data/sigv4", src ? src : "../..");
	walk(dir);
	fprintf(stderr, "%d suite cases\n", n_cases);
	CHECK(n_cases >= 30); /* the 2015 suite has 31 request cases */

	check_encode("a b+c%d=e/f~g.h_i-j", 1, "a%20b%2Bc%25d%3De/f~g.h_i-j");
	check_encode("a/b", 0, "a%2Fb");
	check_encode("caf\xc3\xa9", 1, "caf%C3%A9");

	check_s3_uri("/bucket/a//b/../c", "/bucket/a//b/../c");
	check_s3_uri("/bucket/my%20photo%2B1.jpg", "/bucket/my%20photo%2B1.jpg");
	check_s3_uri("/bucket/lower%2bcase", "/bucket/lower%2Bcase");
	check_s3_uri("/bucket/100%25", "/bucket/100%25");

	/* Bad inputs are refused, never signed. */
	struct enl_aws_creds creds = {.access_key_id = "AKID", .secret_access_key = "secret"};
	struct enl_sigv4_header nohost[] = {{"x-amz-date", "20150830T123600Z"}};
	struct enl_sigv4_header crlf[] = {{"Host", "h"}, {"x-a", "v\r\nInjected: 1"}};
	struct enl_sigv4_input in = {.method = "GET",
	                             .path = "/",
	                             .headers = nohost,
	                             .n_headers = 1,
	                             .payload_hash = ENL_SIGV4_UNSIGNED_PAYLOAD,
	                             .region = "r",
	                             .service = "s"};
	struct enl_sigv4_output out;
	CHECK(enl_sigv4_sign(&out, &in, &creds) < 0);
	CHECK(out.authorization == NULL);
	in.headers = crlf;
	in.n_headers = 2;
	CHECK(enl_sigv4_sign(&out, &in, &creds) < 0);
	in.n_headers = 1;
	in.payload_hash = "abc";
	CHECK(enl_sigv4_sign(&out, &in, &creds) < 0);
	return check_done();
}
