/* Configuration from the environment: every setting is one row of a table of
 * {env name, min, max, default} (src/util/config.c), so a bad value fails start-up
 * naming the variable. */
#ifndef ENLARGER_CONFIG_H
#define ENLARGER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "enlarger/err.h"

#define ENL_CONFIG_MAX_LIST 32

/* A comma-separated list of integers from a setting, sorted, without repeats. */
struct enl_int_list {
	int v[ENL_CONFIG_MAX_LIST];
	int n;
	int any; /* 1: the setting said "any" (only where the setting allows it) */
};

/* How the photo id is derived from an object key when the original carries no
 * `photo-id` user metadata. */
enum enl_photo_id_rule {
	ENL_PHOTO_ID_KEY,            /* the whole key (default) */
	ENL_PHOTO_ID_BASENAME,       /* the last path segment */
	ENL_PHOTO_ID_BASENAME_NOEXT, /* the last path segment without its extension */
};

enum enl_backend { ENL_BACKEND_LOCAL, ENL_BACKEND_AWS };

struct enl_config {
	char listen[128];
	char data_dir[1024];
	char sqlite_path[1200]; /* default <data_dir>/.table/<table>.db */
	char originals_bucket[64];
	char thumbnails_bucket[64];
	char optimized_bucket[64];
	char render_bucket[64];
	char table[64];
	char table_key[64];
	enum enl_backend backend;

	unsigned jobs;                /* concurrent image jobs (default: cores) */
	unsigned queue_depth;         /* requests waiting for a job slot before 503 */
	int queue_timeout_ms;         /* a render's longest wait in that queue before 503 */
	int process_queue_timeout_ms; /* an event's, before 429 (inside EventBridge's 5 s) */
	unsigned memory_budget_mb;    /* estimated MiB of running image jobs; 0 = no budget */
	unsigned cleanup_jobs;        /* background cleanups running at once */
	unsigned cleanup_queue_depth; /* cleanups waiting; past it they are dropped */
	size_t max_body_bytes;
	unsigned connection_timeout_s;
	unsigned send_timeout_s;     /* the most one response may take to be sent */
	unsigned response_memory_mb; /* MiB of /render answers held while sent; 0 = no cap */
	unsigned per_ip_connections;
	unsigned max_connections;

	uint64_t max_input_pixels;
	size_t max_input_bytes;
	int max_render_width;
	struct enl_int_list render_widths;    /* w and h of /render; .any only when signed */
	struct enl_int_list render_qualities; /* q of /render; empty: no q accepted */
	int render_quality_default;           /* 0: the format's own default */
	int render_unversioned_max_age;       /* seconds: Cache-Control of answers without v */
	/* HMAC keys of signed /render URLs (empty: unsigned); the previous one is still
	 * accepted while the gallery's URLs move to the new one. Secrets: never logged. */
	char render_signing_key[256];
	char render_signing_key_previous[256];

	char process_api_key[256];          /* empty: no key required */
	char process_api_key_previous[256]; /* also accepted, during a rotation */
	char process_api_key_header[64];
	char origin_secret[256];          /* empty: /render is open */
	char origin_secret_previous[256]; /* also accepted, during a rotation */
	char origin_secret_header[64];
	int allow_open; /* 1: serve without those secrets on a non-loopback address */
	/* Not from the environment: set by the door that serves ENLARGER_LISTEN (`serve`). */
	int listening;
	char cdn_distribution_id[128]; /* empty: no CDN invalidation */

	enum enl_photo_id_rule photo_id_rule;
	int watch;     /* 1: process files landing in the local originals folder */
	int log_level; /* enum enl_log_level */

	int thumb_size;
	int optimized_width;
	int optimized_height;
	int webp_quality;
	int jpeg_quality;
	int keep_copyright;
	int mezzanine; /* 1: /process writes mezzanines, render misses read them */

	/* AWS backend call limits (ENLARGER_AWS_*; see src/backend/backend.c). */
	int aws_connect_timeout_ms;
	int aws_timeout_ms;
	int aws_max_attempts;
	int aws_retry_deadline_ms;

	int shutdown_deadline_ms;
	int64_t lease_ms;  /* a claim's lease, renewed every third of it while the job runs */
	int retry_after_s; /* the Retry-After value on 429 / 503 */
	/* Lambda: the time an image job needs left before the invocation's deadline. */
	int lambda_reserve_ms;
};

/* The shortest secret (API key, origin secret and their _PREVIOUS) accepted, in bytes. */
#define ENL_SECRET_MIN_BYTES 16

/* Looks a variable up; returns a borrowed string or NULL when unset. */
typedef const char *(*enl_config_getenv_fn)(void *ud, const char *name);

/* Fills out from get (getenv when get is NULL). Every unset variable takes its
 * default. ENL_EINVAL with e naming the variable and the allowed range when a
 * value is malformed or out of range. */
int enl_config_load(struct enl_config *out, enl_config_getenv_fn get, void *ud,
                    struct enl_errmsg *e);

/* The HTTP doors left open: the names of ENLARGER_PROCESS_API_KEY and ENLARGER_ORIGIN_SECRET
 * (in that order, static strings) that are empty while ENLARGER_LISTEN is not a loopback
 * address (127.0.0.0/8, ::1, localhost; any other name counts as reachable). Returns how
 * many (0 to 2) it put in names. `serve` refuses to start with any unless
 * ENLARGER_ALLOW_OPEN=1, and then warns at start and on /readyz. */
int enl_config_open_doors(const struct enl_config *c, const char *names[2]);
/* Whether host:port (ENLARGER_LISTEN's form) names a loopback address. */
int enl_config_listen_is_loopback(const char *listen);

/* Writes one line per setting ("NAME=value", secrets shown as "(set)") to the log
 * at info level: what the server actually runs with. */
void enl_config_log(const struct enl_config *c);
/* The same as one JSON object {"ENLARGER_...": value}. New reference. */
json_t *enl_config_values(const struct enl_config *c);

/* Writes every setting as a Markdown table (variable, default, meaning with its range
 * or choices), generated from the same table the loader uses: `enlarger config`, and
 * the README's table, which a test compares with it. */
void enl_config_print_markdown(FILE *to);

#endif
