/* Configuration from ENLARGER_* variables: one table of {name, min, max, default},
 * one parser per kind, and a message naming the variable when a value is bad. */
#include "enlarger/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "enlarger/defaults.h"
#include "enlarger/log.h"
#include "enlarger/names.h"

enum kind {
	K_STR,  /* char[] field; check() validates the characters */
	K_INT,  /* int field */
	K_UINT, /* unsigned field */
	K_SIZE, /* size_t field */
	K_U64,  /* uint64_t field */
	K_I64,  /* int64_t field */
	K_ENUM, /* int-sized enum field; names "a|b|c" map to 0, 1, 2 */
	K_LIST, /* struct enl_int_list: comma-separated integers in [min, max]; names
	           "any" allows that word */
};

enum strcheck {
	S_ANY,
	S_NONEMPTY,
	S_NAME,
	S_BUCKET,
	S_TABLE,
	S_HEADER,
	S_LISTEN,
	S_SECRET,
	S_ALNUM, /* letters and digits, or empty */
};

struct setting {
	const char *env;
	enum kind kind;
	size_t off;
	size_t size; /* for K_STR */
	int64_t min;
	int64_t max;
	const char *def; /* NULL: computed (see defaults_computed) */
	const char *names;
	enum strcheck check;
	const char *help;    /* one sentence for `enlarger config` and the README table */
	const char *def_doc; /* how a computed default is shown (def NULL) */
};

#define F(field) offsetof(struct enl_config, field), sizeof(((struct enl_config *)0)->field)
#define MiB (1024LL * 1024)

/* The table. Defaults are strings so they go through the same parser and checks. The
 * order is the order of `enlarger config` and of the README's table. */
#define H(text) .help = text
#define MEZZANINE_SIDE ENL_STR(ENL_MEZZANINE_SIDE)
#define MEZZANINE_PIXELS ENL_STR(ENL_MEZZANINE_PIXELS_PERCENT)
static const struct setting settings[] = {
    {"ENLARGER_LISTEN", K_STR, F(listen), 0, 0, "127.0.0.1:8080", NULL, S_LISTEN,
     H("Address and port of the HTTP server (`host:port`, `[v6]:port`; port 0 picks a free "
       "one). The container sets `0.0.0.0:8080`.")},
    {"ENLARGER_BACKEND", K_ENUM, F(backend), 0, 0, "local", "local|aws", S_ANY,
     H("`local`: one folder per bucket under `ENLARGER_DATA_DIR` and a SQLite photo table; "
       "`aws`: S3 and DynamoDB.")},
    {"ENLARGER_DATA_DIR", K_STR, F(data_dir), 0, 0, "./data", NULL, S_NONEMPTY,
     H("Root of the local object store: one folder per bucket.")},
    {"ENLARGER_SQLITE_PATH", K_STR, F(sqlite_path), 0, 0, NULL, NULL, S_NONEMPTY,
     H("The SQLite photo table's file (local backend). Its default folder `.table` can never "
       "be a bucket (bucket names start with a letter or digit)."),
     .def_doc = "`<DATA_DIR>/.table/<TABLE>.db`"},
    {"ENLARGER_ORIGINALS_BUCKET", K_STR, F(originals_bucket), 0, 0, "originals", NULL, S_BUCKET,
     H("Bucket of the originals; events for any other bucket are refused (400).")},
    {"ENLARGER_THUMBNAILS_BUCKET", K_STR, F(thumbnails_bucket), 0, 0, "thumbnails", NULL, S_BUCKET,
     H("Bucket of the 200x200 WebP and JPEG thumbnails.")},
    {"ENLARGER_OPTIMIZED_BUCKET", K_STR, F(optimized_bucket), 0, 0, "optimized", NULL, S_BUCKET,
     H("Bucket of the display-size WebP and JPEG versions.")},
    {"ENLARGER_RENDER_BUCKET", K_STR, F(render_bucket), 0, 0, "renders", NULL, S_BUCKET,
     H("Bucket of the render cache (variants made by `GET /render`).")},
    {"ENLARGER_TABLE", K_STR, F(table), 0, 0, "photos", NULL, S_TABLE,
     H("Name of the photo table (DynamoDB's rule: 3-63 of `A-Z a-z 0-9 _ . -`).")},
    {"ENLARGER_TABLE_KEY", K_STR, F(table_key), 0, 0, "photoId", NULL, S_NAME,
     H("The table's key attribute.")},
    {"ENLARGER_PHOTO_ID_RULE", K_ENUM, F(photo_id_rule), 0, 0, "key", "key|basename|basename-noext",
     S_ANY,
     H("Photo id of an original without `photo-id` user metadata: the whole key, its last "
       "segment, or that without the extension.")},
    {"ENLARGER_WATCH", K_INT, F(watch), 0, 1, NULL, NULL, S_ANY,
     H("1: process files that land in the local originals folder (inotify), and at start "
       "the files there that have no completed or failed item yet. Local backend "
       "only: with `aws` there is no such folder (S3 events come through `POST /process`), "
       "and 1 is refused at start-up."),
     .def_doc = "`1` (local), `0` (aws)"},
    {"ENLARGER_JOBS", K_UINT, F(jobs), 1, 256, NULL, NULL, S_ANY,
     H("Image jobs (process or render) running at once."), .def_doc = "number of cores + 1"},
    {"ENLARGER_QUEUE_DEPTH", K_UINT, F(queue_depth), 0, 100000, "64", NULL, S_ANY,
     H("Requests that may wait for a job slot; past it the answer is 503 (`GET /render`) or "
       "429 (`POST /process`) with `Retry-After`.")},
    {"ENLARGER_QUEUE_TIMEOUT_MS", K_INT, F(queue_timeout_ms), 0, 3600000, "30000", NULL, S_ANY,
     H("Longest wait of a `GET /render` miss for a job slot before 503.")},
    {"ENLARGER_PROCESS_QUEUE_TIMEOUT_MS", K_INT, F(process_queue_timeout_ms), 0, 3600000, "3000",
     NULL, S_ANY,
     H("Longest wait of a `POST /process` event for a job slot before 429 with a "
       "`Retry-After` estimated from the queue, so the answer comes within EventBridge's "
       "5 s and the event's retry comes back when a slot is likely free.")},
    {"ENLARGER_MEMORY_BUDGET_MB", K_UINT, F(memory_budget_mb), 0, 1048576, "1024", NULL, S_ANY,
     H("Estimated MiB the running image jobs may hold at once (the originals read and their "
       "decoded pixels, estimated from the header); jobs past it wait in the queue. A job "
       "larger than the whole budget runs alone. 0: no budget.")},
    {"ENLARGER_CLEANUP_JOBS", K_UINT, F(cleanup_jobs), 1, 64, "2", NULL, S_ANY,
     H("Background cleanups running at once: after a photo is replaced or deleted, its old "
       "derivatives and render variants are deleted (and the CDN invalidated) off the "
       "request path, one cleanup per photo at a time.")},
    {"ENLARGER_CLEANUP_QUEUE_DEPTH", K_UINT, F(cleanup_queue_depth), 1, 1000000, "1000", NULL,
     S_ANY,
     H("Cleanups that may wait; past it a cleanup is dropped and logged (the render bucket's "
       "lifecycle rule is the backstop for variants, not for mezzanines).")},
    {"ENLARGER_MAX_CONNECTIONS", K_UINT, F(max_connections), 1, 100000,
     ENL_STR(ENL_DEFAULT_MAX_CONNECTIONS), NULL, S_ANY,
     H("Open HTTP connections at once (one thread each); more are refused.")},
    {"ENLARGER_PER_IP_CONNECTIONS", K_UINT, F(per_ip_connections), 0, 100000, "0", NULL, S_ANY,
     H("Open connections per client address; 0: no limit.")},
    {"ENLARGER_CONNECTION_TIMEOUT", K_UINT, F(connection_timeout_s), 1, 3600,
     ENL_STR(ENL_DEFAULT_CONNECTION_TIMEOUT_S), NULL, S_ANY,
     H("Seconds a connection may stay idle, and the most a request's headers or body may take "
       "to arrive.")},
    {"ENLARGER_SEND_TIMEOUT", K_UINT, F(send_timeout_s), 1, 3600,
     ENL_STR(ENL_DEFAULT_SEND_TIMEOUT_S), NULL, S_ANY,
     H("Seconds one response may take to be sent, from the route's answer to its last "
       "byte; a client that reads slower is cut off (the idle timeout alone would let a "
       "reader that trickles hold its connection and its answer for ever).")},
    {"ENLARGER_RESPONSE_MEMORY_MB", K_UINT, F(response_memory_mb), 0, 1048576, "256", NULL, S_ANY,
     H("MiB of `/render` answers held in memory while they are sent: variants read from S3 "
       "and those just rendered, each held once however many requests send it. An S3 hit "
       "past it answers 503 with `Retry-After`. Local hits are sent from their file and do "
       "not count. 0: no cap.")},
    {"ENLARGER_MAX_BODY_BYTES", K_SIZE, F(max_body_bytes), 256, 64 * MiB,
     ENL_STR(ENL_DEFAULT_MAX_BODY_BYTES), NULL, S_ANY, H("Largest request body; past it 413.")},
    {"ENLARGER_MAX_INPUT_PIXELS", K_U64, F(max_input_pixels), 1, 1000000000000LL,
     ENL_STR(ENL_DEFAULT_MAX_INPUT_PIXELS), NULL, S_ANY,
     H("Largest original in pixels (width x height), checked before decoding; past "
       "it 422.")},
    {"ENLARGER_MAX_INPUT_BYTES", K_SIZE, F(max_input_bytes), 1, 4096 * MiB,
     ENL_STR(ENL_DEFAULT_MAX_INPUT_BYTES), NULL, S_ANY,
     H("Largest original in bytes; past it 422.")},
    {"ENLARGER_MAX_RENDER_WIDTH", K_INT, F(max_render_width), 1, ENL_RENDER_MAX_SIDE, "4096", NULL,
     S_ANY, H("Largest `w` of `GET /render`.")},
    {"ENLARGER_RENDER_WIDTHS", K_LIST, F(render_widths), 1, ENL_RENDER_MAX_SIDE,
     ENL_DEFAULT_RENDER_WIDTHS, "any", S_ANY,
     H("The widths `GET /render` accepts for `w` (and `h`), comma-separated, each at most "
       "`ENLARGER_MAX_RENDER_WIDTH`; others get 400 listing these. The default is measured "
       "against gallery layouts and screens (docs/keys.md). `any`: every width up to the "
       "maximum, allowed only with `ENLARGER_RENDER_SIGNING_KEY` (the signer bounds the "
       "variants then).")},
    {"ENLARGER_RENDER_QUALITIES", K_LIST, F(render_qualities), 1, 100, "", NULL, S_ANY,
     H("The values `GET /render` accepts for `q`, comma-separated (empty: none, `q` is "
       "refused and every render has the default quality).")},
    {"ENLARGER_RENDER_QUALITY", K_INT, F(render_quality_default), 0, 100, "0", NULL, S_ANY,
     H("Quality of renders without `q`; 0: the format's own default.")},
    {"ENLARGER_RENDER_UNVERSIONED_MAX_AGE", K_INT, F(render_unversioned_max_age), 0, 31536000,
     ENL_STR(ENL_DEFAULT_RENDER_UNVERSIONED_MAX_AGE), NULL, S_ANY,
     H("`max-age` of a `GET /render` answer without `v` (it carries an ETag, so caches "
       "revalidate after it): how long a replaced photo may still be shown.")},
    {"ENLARGER_RENDER_SIGNING_KEY", K_STR, F(render_signing_key), 0, 0, "", NULL, S_SECRET,
     H("When set, every `GET /render` needs `sig`, the HMAC-SHA256 of its URL keyed with "
       "these bytes (docs/signing.md; 403 otherwise). At least " ENL_STR(
           ENL_RENDER_SIGNING_KEY_MIN) " characters.")},
    {"ENLARGER_RENDER_SIGNING_KEY_PREVIOUS", K_STR, F(render_signing_key_previous), 0, 0, "", NULL,
     S_SECRET,
     H("A second signing key that is still accepted (never used to sign), while URLs signed "
       "with the key being replaced are still out.")},
    {"ENLARGER_THUMB_SIZE", K_INT, F(thumb_size), ENL_THUMB_SIZE_MIN, ENL_THUMB_SIZE_MAX,
     ENL_STR(ENL_DEFAULT_THUMB_SIZE), NULL, S_ANY, H("Side of the square thumbnails.")},
    {"ENLARGER_OPTIMIZED_WIDTH", K_INT, F(optimized_width), ENL_OPTIMIZED_SIDE_MIN,
     ENL_OPTIMIZED_SIDE_MAX, ENL_STR(ENL_DEFAULT_OPTIMIZED_WIDTH), NULL, S_ANY,
     H("Width bound of the optimized version (never upscaled).")},
    {"ENLARGER_OPTIMIZED_HEIGHT", K_INT, F(optimized_height), ENL_OPTIMIZED_SIDE_MIN,
     ENL_OPTIMIZED_SIDE_MAX, ENL_STR(ENL_DEFAULT_OPTIMIZED_HEIGHT), NULL, S_ANY,
     H("Height bound of the optimized version.")},
    {"ENLARGER_WEBP_QUALITY", K_INT, F(webp_quality), 1, 100, ENL_STR(ENL_DEFAULT_WEBP_QUALITY),
     NULL, S_ANY, H("WebP quality of the derivatives.")},
    {"ENLARGER_JPEG_QUALITY", K_INT, F(jpeg_quality), 1, 100, ENL_STR(ENL_DEFAULT_JPEG_QUALITY),
     NULL, S_ANY, H("JPEG quality of the derivatives.")},
    {"ENLARGER_KEEP_COPYRIGHT", K_INT, F(keep_copyright), 0, 1, ENL_STR(ENL_DEFAULT_KEEP_COPYRIGHT),
     NULL, S_ANY, H("1: keep the EXIF Artist and Copyright in the derivatives (never GPS).")},
    {"ENLARGER_MEZZANINE", K_INT, F(mezzanine), 0, 1, ENL_STR(ENL_DEFAULT_MEZZANINE), NULL, S_ANY,
     H("1: `POST /process` also keeps a mezzanine of each photo over " MEZZANINE_SIDE " px on "
       "a side (`ENL_MEZZANINE_SIDE`): the oriented image fitted inside that square as a "
       "high-quality JPEG, private in the render bucket (docs/keys.md), which `GET /render` "
       "misses that fit inside it decode instead of the original. Only when it keeps at "
       "most " MEZZANINE_PIXELS
       "% of the original's pixels (`ENL_MEZZANINE_PIXELS_PERCENT`). 0: none "
       "is written, and renders never read one.")},
    {"ENLARGER_PROCESS_API_KEY", K_STR, F(process_api_key), 0, 0, "", NULL, S_SECRET,
     H("When set, `POST /process` requires this key (401 otherwise; compared in constant "
       "time). At least 16 bytes. Required when `ENLARGER_LISTEN` is not a loopback "
       "address, unless `ENLARGER_ALLOW_OPEN=1`.")},
    {"ENLARGER_PROCESS_API_KEY_PREVIOUS", K_STR, F(process_api_key_previous), 0, 0, "", NULL,
     S_SECRET,
     H("Also accepted by `POST /process` while the key is rotated (`docs/deploy.md`, "
       "\"Secrets and their rotation\"). Needs `ENLARGER_PROCESS_API_KEY`.")},
    {"ENLARGER_PROCESS_API_KEY_HEADER", K_STR, F(process_api_key_header), 0, 0, "x-api-key", NULL,
     S_HEADER, H("The header that carries the API key.")},
    {"ENLARGER_ORIGIN_SECRET", K_STR, F(origin_secret), 0, 0, "", NULL, S_SECRET,
     H("When set, `GET /render` requires this secret (the header CloudFront adds; 401 "
       "otherwise). At least 16 bytes. Required when `ENLARGER_LISTEN` is not a loopback "
       "address, unless `ENLARGER_ALLOW_OPEN=1`.")},
    {"ENLARGER_ORIGIN_SECRET_PREVIOUS", K_STR, F(origin_secret_previous), 0, 0, "", NULL, S_SECRET,
     H("Also accepted by `GET /render` while the secret is rotated. Needs "
       "`ENLARGER_ORIGIN_SECRET`.")},
    {"ENLARGER_ORIGIN_SECRET_HEADER", K_STR, F(origin_secret_header), 0, 0, "x-origin-secret", NULL,
     S_HEADER, H("The header that carries the origin secret.")},
    {"ENLARGER_ALLOW_OPEN", K_INT, F(allow_open), 0, 1, "0", NULL, S_ANY,
     H("1: `serve` starts on a non-loopback `ENLARGER_LISTEN` without "
       "`ENLARGER_PROCESS_API_KEY` or `ENLARGER_ORIGIN_SECRET` (anyone who reaches the port "
       "can then process and render); it warns at start and on `/readyz`. 0: it refuses to "
       "start and names the variable.")},
    {"ENLARGER_CDN_DISTRIBUTION_ID", K_STR, F(cdn_distribution_id), 0, 0, "", NULL, S_ALNUM,
     H("CloudFront distribution whose edge copies of a photo are invalidated when it is deleted "
       "or replaced (one `CreateInvalidation` of 3 paths; the first 1,000 paths a month are "
       "free, then $0.005 each). Needs `ENLARGER_BACKEND=aws`; empty: no invalidation.")},
    /* Read by the AWS backends (src/backend/backend.c); the same ranges and defaults. */
    {"ENLARGER_AWS_CONNECT_TIMEOUT_MS", K_INT, F(aws_connect_timeout_ms), 50, 60000, "1000", NULL,
     S_ANY, H("AWS backend: TCP/TLS connect timeout of one S3 or DynamoDB call.")},
    {"ENLARGER_AWS_TIMEOUT_MS", K_INT, F(aws_timeout_ms), 100, 600000, "3000", NULL, S_ANY,
     H("AWS backend: the most one S3 or DynamoDB attempt may take.")},
    {"ENLARGER_AWS_MAX_ATTEMPTS", K_INT, F(aws_max_attempts), 1, 10, "3", NULL, S_ANY,
     H("AWS backend: attempts per call (retryable failures are retried with jittered "
       "backoff).")},
    {"ENLARGER_AWS_RETRY_DEADLINE_MS", K_INT, F(aws_retry_deadline_ms), 0, 600000, "2500", NULL,
     S_ANY,
     H("AWS backend: no new attempt starts this long after a call began (0: no "
       "deadline), so /process answers within EventBridge's 5 s.")},
    {"ENLARGER_LEASE_MS", K_I64, F(lease_ms), 1000, 86400000, "8000", NULL, S_ANY,
     H("How long a `processing` claim holds a photo without news of its attempt; the "
       "attempt renews it every third of this while it works, so only a dead process's "
       "claim runs out, and a retry takes the photo over then.")},
    {"ENLARGER_RETRY_AFTER", K_INT, F(retry_after_s), 1, ENL_RETRY_AFTER_MAX_S, "2", NULL, S_ANY,
     H("Seconds in `Retry-After` on 429, 503 and 504: the least, when the job queue's "
       "estimate is longer (a full queue) that is sent.")},
    {"ENLARGER_SHUTDOWN_DEADLINE_MS", K_INT, F(shutdown_deadline_ms), 0, 600000, "25000", NULL,
     S_ANY, H("On SIGTERM, how long requests in flight may take to finish.")},
    {"ENLARGER_LAMBDA_RESERVE_MS", K_INT, F(lambda_reserve_ms), 0, 900000, "10000", NULL, S_ANY,
     H("Lambda: an invocation that may run an image job (an S3 event; a function URL's "
       "`/render` or `/process`) starts only with this long left before its deadline; with "
       "less it is refused at once, retryably (`Enlarger.Deadline`, or 503). The default "
       "covers the largest original the default limits allow on one vCPU (docs/lambda.md). "
       "0: never refuse.")},
    {"ENLARGER_LOG_LEVEL", K_ENUM, F(log_level), 0, 0, "info", "debug|info|warn|error", S_ANY,
     H("Least level of the JSON log lines on stderr.")},
};
#undef H

static const char *env_get(void *ud, const char *name)
{
	(void)ud;
	return getenv(name);
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return ENL_EINVAL;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0')
		return ENL_EINVAL;
	*out = v;
	return 0;
}

/* NULL when v passes st's check, else why not (for the message naming the variable). */
static const char *check_string(const struct setting *st, const char *v)
{
	size_t n = strlen(v);
	switch (st->check) {
	case S_ANY: return NULL;
	case S_SECRET:
		return n == 0 || n >= ENL_SECRET_MIN_BYTES
		           ? NULL
		           : "must be at least " ENL_STR(ENL_SECRET_MIN_BYTES) " bytes";
	case S_NONEMPTY: return n ? NULL : "must not be empty";
	case S_BUCKET: return enl_bucket_name_problem(v); /* the stores refuse the same */
	case S_TABLE:
		/* DynamoDB's rule (3-255 of [A-Za-z0-9_.-]); also a SQLite table and file name. */
		if (n < 3)
			return "must be at least 3 characters";
		return enl_ident_ok(v, n) ? NULL
		                          : "may only hold letters, digits, '_', '.' and '-'";
	case S_NAME:
		/* Attribute names: also a SQLite column. */
		if (n == 0 || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
			return "must be a name";
		return enl_ident_ok(v, n) ? NULL
		                          : "may only hold letters, digits, '_', '.' and '-'";
	case S_ALNUM:
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)v[i]))
				return "may only hold letters and digits";
		return NULL;
	case S_HEADER:
		if (n == 0)
			return "must be a header name";
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)v[i]) && v[i] != '-')
				return "may only hold letters, digits and '-'";
		return NULL;
	case S_LISTEN: {
		/* host:port, host may be [v6]; port 0..65535 (0 = any free port). */
		const char *colon = strrchr(v, ':');
		int64_t port;
		if (!colon || colon == v || parse_i64(colon + 1, &port) || port < 0 || port > 65535)
			return "must be host:port with a port from 0 to 65535";
		return NULL;
	}
	}
	return "is not allowed";
}

static int set_list(struct enl_int_list *l, const struct setting *st, const char *v)
{
	memset(l, 0, sizeof(*l));
	if (st->names && strcmp(v, st->names) == 0) {
		l->any = 1;
		return 0;
	}
	const char *p = v;
	while (*p) {
		char item[16];
		size_t n = strcspn(p, ",");
		while (n && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		if (n == 0 || n >= sizeof(item) || l->n >= ENL_CONFIG_MAX_LIST)
			return ENL_EINVAL;
		memcpy(item, p, n);
		item[n] = '\0';
		int64_t x;
		if (parse_i64(item, &x) || x < st->min || x > st->max)
			return ENL_EINVAL;
		/* Keep the list sorted and free of repeats: it is printed in 400 answers. */
		int dup = 0;
		for (int k = 0; k < l->n; k++)
			dup |= l->v[k] == x;
		if (!dup) {
			int i = l->n;
			while (i > 0 && l->v[i - 1] > x) {
				l->v[i] = l->v[i - 1];
				i--;
			}
			l->v[i] = (int)x;
			l->n++;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int set_one(struct enl_config *c, const struct setting *st, const char *v,
                   struct enl_errmsg *e)
{
	char *field = (char *)c + st->off;
	const char *why;
	int64_t n = 0;

	switch (st->kind) {
	case K_STR:
		if (strlen(v) >= st->size)
			return enl_fail(e, ENL_EINVAL, "%s is too long (at most %zu characters)",
			                st->env, st->size - 1);
		if ((why = check_string(st, v)))
			return enl_fail(e, ENL_EINVAL, "%s%s%.200s%s %s", st->env,
			                st->check == S_SECRET ? "" : "=\"",
			                st->check == S_SECRET ? "" : v,
			                st->check == S_SECRET ? "" : "\":", why);
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case K_ENUM: {
		const char *p = st->names;
		int idx = 0;
		size_t vl = strlen(v);
		while (*p) {
			size_t l = strcspn(p, "|");
			if (l == vl && strncmp(p, v, l) == 0) {
				*(int *)field = idx;
				return 0;
			}
			p += l;
			if (*p == '|')
				p++;
			idx++;
		}
		return enl_fail(e, ENL_EINVAL, "%s must be one of %s, not \"%.64s\"", st->env,
		                st->names, v);
	}
	case K_LIST:
		if (set_list((struct enl_int_list *)(void *)field, st, v))
			return enl_fail(e, ENL_EINVAL,
			                "%s must be a comma-separated list of at most %d integers "
			                "from %" PRId64 " to %" PRId64 "%s%s%s",
			                st->env, ENL_CONFIG_MAX_LIST, st->min, st->max,
			                st->names ? ", or \"" : "", st->names ? st->names : "",
			                st->names ? "\"" : "");
		return 0;
	default: break;
	}

	if (parse_i64(v, &n) || n < st->min || n > st->max)
		return enl_fail(e, ENL_EINVAL,
		                "%s must be an integer from %" PRId64 " to %" PRId64
		                ", not \"%.64s\"",
		                st->env, st->min, st->max, v);
	switch (st->kind) {
	case K_INT: *(int *)field = (int)n; break;
	case K_UINT: *(unsigned *)field = (unsigned)n; break;
	case K_SIZE: *(size_t *)field = (size_t)n; break;
	case K_U64: *(uint64_t *)field = (uint64_t)n; break;
	case K_I64: *(int64_t *)field = n; break;
	default: break;
	}
	return 0;
}

/* Defaults that depend on the machine or on an earlier setting. */
static void defaults_computed(struct enl_config *c, const struct setting *st)
{
	/* ENLARGER_BACKEND comes earlier in the table, so it is already set. */
	if (strcmp(st->env, "ENLARGER_WATCH") == 0)
		c->watch = c->backend == ENL_BACKEND_LOCAL;
	/* One job more than cores: with exactly one per core, a core idles while a job reads
	 * its original or writes its result; one more keeps them busy at about the same p99
	 * (bench/profile.md). */
	if (strcmp(st->env, "ENLARGER_JOBS") == 0) {
		long jobs = sysconf(_SC_NPROCESSORS_ONLN);
		if (jobs < 1)
			jobs = 1;
		jobs++;
		if (jobs > st->max)
			jobs = st->max;
		c->jobs = (unsigned)jobs;
	}
}

int enl_config_load(struct enl_config *out, enl_config_getenv_fn get, void *ud,
                    struct enl_errmsg *e)
{
	int rc = 0;
	if (!get)
		get = env_get;
	memset(out, 0, sizeof(*out));

	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const struct setting *st = &settings[i];
		const char *v = get(ud, st->env);
		if (v) {
			rc = set_one(out, st, v, e);
		} else if (st->def) {
			rc = set_one(out, st, st->def, e);
		} else {
			defaults_computed(out, st);
		}
		if (rc)
			goto done;
	}

	/* Outside every bucket folder: bucket names never start with '.'. */
	if (!out->sqlite_path[0] &&
	    snprintf(out->sqlite_path, sizeof(out->sqlite_path), "%s/.table/%s.db", out->data_dir,
	             out->table) >= (int)sizeof(out->sqlite_path)) {
		rc = enl_fail(e, ENL_EINVAL,
		              "ENLARGER_DATA_DIR is too long for the SQLite path; set "
		              "ENLARGER_SQLITE_PATH");
		goto done;
	}

	/* Checks across settings. */
	if (out->watch && out->backend != ENL_BACKEND_LOCAL) {
		rc = enl_fail(
		    e, ENL_EINVAL,
		    "ENLARGER_WATCH=1 needs ENLARGER_BACKEND=local (the watcher watches the "
		    "local originals folder; with aws, S3 events reach POST /process)");
		goto done;
	}
	/* A previous secret or key alone would leave its door open to everyone else (or
	 * accept only the old one): each _PREVIOUS needs its current one. */
	const struct {
		const char *env;
		const char *current, *previous;
	} pairs[] = {
	    {"ENLARGER_PROCESS_API_KEY", out->process_api_key, out->process_api_key_previous},
	    {"ENLARGER_ORIGIN_SECRET", out->origin_secret, out->origin_secret_previous},
	    {"ENLARGER_RENDER_SIGNING_KEY", out->render_signing_key,
	     out->render_signing_key_previous},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (pairs[i].previous[0] && !pairs[i].current[0]) {
			rc = enl_fail(e, ENL_EINVAL, "%s_PREVIOUS needs %s", pairs[i].env,
			              pairs[i].env);
			goto done;
		}
	}
	if (out->cdn_distribution_id[0] && out->backend != ENL_BACKEND_AWS) {
		rc = enl_fail(
		    e, ENL_EINVAL,
		    "ENLARGER_CDN_DISTRIBUTION_ID needs ENLARGER_BACKEND=aws (CloudFront is "
		    "called with the AWS credentials)");
		goto done;
	}
	const struct {
		const char *env;
		const char *name;
	} derived[] = {{"ENLARGER_THUMBNAILS_BUCKET", out->thumbnails_bucket},
	               {"ENLARGER_OPTIMIZED_BUCKET", out->optimized_bucket},
	               {"ENLARGER_RENDER_BUCKET", out->render_bucket}};
	for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
		/* Derivatives written into the originals bucket would be new originals: on AWS
		 * each write would trigger another event. */
		if (strcmp(derived[i].name, out->originals_bucket) == 0) {
			rc = enl_fail(e, ENL_EINVAL,
			              "%s must differ from ENLARGER_ORIGINALS_BUCKET (\"%s\")",
			              derived[i].env, out->originals_bucket);
			goto done;
		}
	}
	for (int i = 0; i < out->render_widths.n; i++) {
		if (out->render_widths.v[i] > out->max_render_width) {
			rc = enl_fail(
			    e, ENL_EINVAL,
			    "ENLARGER_RENDER_WIDTHS has %d, over ENLARGER_MAX_RENDER_WIDTH "
			    "(%d)",
			    out->render_widths.v[i], out->max_render_width);
			goto done;
		}
	}
	if (!out->render_widths.any && out->render_widths.n == 0) {
		rc = enl_fail(e, ENL_EINVAL,
		              "ENLARGER_RENDER_WIDTHS must list at least one width (unset: the "
		              "default list)");
		goto done;
	}
	/* The list is what bounds the variants an anonymous client can make; only a
	 * signer may lift it. */
	if (out->render_widths.any && !out->render_signing_key[0]) {
		rc = enl_fail(e, ENL_EINVAL,
		              "ENLARGER_RENDER_WIDTHS=any needs ENLARGER_RENDER_SIGNING_KEY");
		goto done;
	}
	const struct {
		const char *env;
		const char *value;
	} keys[] = {{"ENLARGER_RENDER_SIGNING_KEY", out->render_signing_key},
	            {"ENLARGER_RENDER_SIGNING_KEY_PREVIOUS", out->render_signing_key_previous}};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = strlen(keys[i].value);
		if (n && n < ENL_RENDER_SIGNING_KEY_MIN) {
			rc = enl_fail(e, ENL_EINVAL, "%s must be at least %d characters",
			              keys[i].env, ENL_RENDER_SIGNING_KEY_MIN);
			goto done;
		}
	}
done:
	return rc;
}

int enl_config_listen_is_loopback(const char *listen)
{
	char host[sizeof(((struct enl_config *)0)->listen)];
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : strlen(listen);
	if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return 0;
	memcpy(host, listen, n);
	host[n] = '\0';
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return strcasecmp(host, "localhost") == 0;
}

int enl_config_open_doors(const struct enl_config *c, const char *names[2])
{
	int n = 0;
	if (enl_config_listen_is_loopback(c->listen))
		return 0;
	if (!c->process_api_key[0])
		names[n++] = "ENLARGER_PROCESS_API_KEY";
	if (!c->origin_secret[0])
		names[n++] = "ENLARGER_ORIGIN_SECRET";
	return n;
}

json_t *enl_config_values(const struct enl_config *c)
{
	json_t *f = json_object();
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const struct setting *st = &settings[i];
		const char *field = (const char *)c + st->off;
		json_t *v = NULL;
		switch (st->kind) {
		case K_STR:
			if (st->check == S_SECRET)
				v = json_string(*field ? "(set)" : "");
			else
				v = json_string(field);
			break;
		case K_INT: v = json_integer(*(const int *)field); break;
		case K_UINT: v = json_integer(*(const unsigned *)field); break;
		case K_SIZE: v = json_integer((json_int_t) * (const size_t *)field); break;
		case K_U64: v = json_integer((json_int_t) * (const uint64_t *)field); break;
		case K_I64: v = json_integer((json_int_t) * (const int64_t *)field); break;
		case K_ENUM: {
			int idx = *(const int *)field;
			const char *p = st->names;
			for (int k = 0; k < idx && *p; k++) {
				p += strcspn(p, "|");
				if (*p == '|')
					p++;
			}
			v = json_stringn(p, strcspn(p, "|"));
			break;
		}
		case K_LIST: {
			const struct enl_int_list *l = (const void *)field;
			if (l->any) {
				v = json_string(st->names);
				break;
			}
			v = json_array();
			for (int k = 0; k < l->n; k++)
				json_array_append_new(v, json_integer(l->v[k]));
			break;
		}
		}
		json_object_set_new(f, st->env, v);
	}
	return f;
}

void enl_config_log(const struct enl_config *c)
{
	extern char **environ;
	enl_log_json(ENL_LOG_INFO, "config", enl_config_values(c));
	/* A misspelt or retired setting would otherwise be ignored without a word. */
	for (char **ev = environ; ev && *ev; ev++) {
		size_t n = strcspn(*ev, "=");
		int known = 0;
		if (strncmp(*ev, "ENLARGER_", 9) != 0)
			continue;
		for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]) && !known; i++)
			known =
			    strlen(settings[i].env) == n && strncmp(settings[i].env, *ev, n) == 0;
		if (!known) {
			json_t *f = json_object();
			json_object_set_new(f, "variable", json_stringn(*ev, n < 128 ? n : 128));
			enl_log_json(ENL_LOG_WARN,
			             "unknown setting ignored (see `enlarger config`)", f);
		}
	}
}

/* Markdown table cells hold no '|' or newline. */
static void md_cell(FILE *to, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", to);
		else if (*s == '\n')
			fputc(' ', to);
		else
			fputc(*s, to);
	}
}

void enl_config_print_markdown(FILE *to)
{
	fputs("| Variable | Default | Meaning |\n| --- | --- | --- |\n", to);
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const struct setting *st = &settings[i];
		fprintf(to, "| `%s` | ", st->env);
		if (!st->def)
			md_cell(to, st->def_doc ? st->def_doc : "computed");
		else if (!st->def[0])
			fputs("(empty)", to);
		else {
			fputc('`', to);
			md_cell(to, st->def);
			fputc('`', to);
		}
		fputs(" | ", to);
		md_cell(to, st->help);
		switch (st->kind) {
		case K_INT:
		case K_UINT:
		case K_SIZE:
		case K_U64:
		case K_I64:
			fprintf(to, " Range %" PRId64 " to %" PRId64 ".", st->min, st->max);
			break;
		case K_LIST:
			fprintf(to, " Each from %" PRId64 " to %" PRId64 ".", st->min, st->max);
			break;
		case K_ENUM: {
			const char *p = st->names;
			fputs(" One of", to);
			while (*p) {
				size_t l = strcspn(p, "|");
				fprintf(to, " `%.*s`%s", (int)l, p, p[l] ? "," : ".");
				p += l;
				if (*p == '|')
					p++;
			}
			break;
		}
		default: break;
		}
		fputs(" |\n", to);
	}
}
