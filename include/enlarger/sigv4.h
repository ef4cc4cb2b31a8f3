/* AWS Signature Version 4: canonical request, string to sign, signing key and the
 * Authorization header, with OpenSSL libcrypto (HMAC-SHA256, SHA-256). Pure: no I/O, no
 * clock, no globals, so it is thread-safe and proven against AWS's official test suite
 * (tests/data/sigv4/) and botocore's signer (tests/aws/sigv4_oracle.py).
 *
 * Reference: AWS General Reference, "Create a signed AWS API request" (Signature Version 4):
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * and, for S3's differences (no path normalisation, key encoded once,
 * x-amz-content-sha256), "Signature Calculations for the Authorization Header":
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 *
 * Most code does not call this directly: enl_aws_request (aws.h) signs every request. */
#ifndef ENLARGER_SIGV4_H
#define ENLARGER_SIGV4_H

#include <stddef.h>
#include <time.h>

struct enl_buf;

#define ENL_AWS_KEY_ID_MAX 128 /* access key ids are 16-128 chars (IAM AccessKey docs) */
#define ENL_AWS_SECRET_MAX 128
#define ENL_AWS_TOKEN_MAX 8192 /* STS does not bound tokens; real ones are 0.5-3 KB */

/* One set of credentials. Fixed arrays, so a snapshot is a plain struct copy that needs no
 * freeing and can never mix the key of one rotation with the token of another. Never log
 * any of these fields. */
struct enl_aws_creds {
	char access_key_id[ENL_AWS_KEY_ID_MAX];
	char secret_access_key[ENL_AWS_SECRET_MAX];
	char session_token[ENL_AWS_TOKEN_MAX]; /* "" when there is none */
	time_t expiration;                     /* UTC seconds; 0 = does not expire */
};

/* A request or response header. Both strings are borrowed by whoever holds the array. */
struct enl_sigv4_header {
	const char *name;
	const char *value;
};

enum enl_sigv4_uri_mode {
	/* Every service but S3 (the official suite's rules): remove "." and ".." segments and
	 * empty segments, then percent-encode the wire path again, so "%20" becomes "%2520". */
	ENL_SIGV4_URI_GENERIC = 0,
	/* S3: no normalisation at all ("a//b/../c" is a key); the key is encoded exactly once:
	 * the wire path is percent-decoded and re-encoded with '/' kept, which is the identity
	 * for a path built by enl_sigv4_uri_encode (and fixes lower-case or missing escapes). */
	ENL_SIGV4_URI_S3 = 1,
};

#define ENL_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

struct enl_sigv4_input {
	const char *method; /* "GET", "PUT", ... (used as given) */
	const char *path;   /* path as on the wire (percent-encoded); NULL or "" means "/" */
	const char *query;  /* query as on the wire, without '?'; NULL or "" for none */
	/* Every header here is signed, in any order and case; names repeated (in any case)
	 * are joined with ',' in the order given. Must contain "host". Values are trimmed and
	 * runs of spaces collapsed for signing (send them as you like). An "x-amz-date"
	 * header, when absent, is added to the signed set with out->amz_date: send it. To
	 * sign a session token, pass an "x-amz-security-token" header (aws.h does). */
	const struct enl_sigv4_header *headers;
	size_t n_headers;
	const char *payload_hash; /* 64 lower-case hex chars, or ENL_SIGV4_UNSIGNED_PAYLOAD */
	const char *region;       /* "eu-west-1" */
	const char *service;      /* "s3", "dynamodb" */
	time_t time;              /* UTC seconds of the request (also the credential scope) */
	enum enl_sigv4_uri_mode uri_mode;
};

/* Every string is malloc'd and owned by the output: release with enl_sigv4_output_free.
 * canonical_request and string_to_sign are exposed for tests and must never be logged at
 * a level above debug (they hold header values, possibly a session token). */
struct enl_sigv4_output {
	char amz_date[17];       /* "20150830T123600Z", the x-amz-date value */
	char *canonical_request; /* exactly as the AWS docs print it, no trailing newline */
	char *string_to_sign;
	char *signed_headers; /* "host;x-amz-date" */
	char *authorization;  /* full value of the Authorization header */
};

/* Signs in with creds (only the key id and secret are used). Fills *out (zeroed first, so
 * enl_sigv4_output_free is always safe afterwards). Returns 0, ENL_EINVAL (no host header,
 * bad payload hash, a header name or value with CR/LF, missing region/service/method),
 * ENL_ETOOBIG (over 1 MiB of canonical request) or ENL_ENOMEM. */
int enl_sigv4_sign(struct enl_sigv4_output *out, const struct enl_sigv4_input *in,
                   const struct enl_aws_creds *creds);

void enl_sigv4_output_free(struct enl_sigv4_output *out);

/* Lower-case hex SHA-256 of data (the payload hash): writes 64 chars and a NUL. */
void enl_sigv4_sha256_hex(char out[65], const void *data, size_t len);

/* Appends s[0..len) percent-encoded the AWS way to out: unreserved characters
 * (A-Z a-z 0-9 - . _ ~) as they are, every other byte as %XX with upper-case hex, and '/'
 * kept when keep_slash. This is how an S3 key goes into a URL path (keep_slash = 1) and a
 * query name or value (keep_slash = 0). Returns 0, ENL_ENOMEM or ENL_ETOOBIG (out's cap). */
int enl_sigv4_uri_encode(struct enl_buf *out, const char *s, size_t len, int keep_slash);

#endif
