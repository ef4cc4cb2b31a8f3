/* The object store and photo table that ENLARGER_BACKEND names, opened together:
 * `local` (the default): a directory per bucket under ENLARGER_DATA_DIR and the SQLite
 * file ENLARGER_SQLITE_PATH; `aws`: S3 and DynamoDB, addressed and signed with the
 * standard AWS variables (AWS_REGION, AWS_ENDPOINT_URL_S3 / _DYNAMODB / AWS_ENDPOINT_URL,
 * the credentials chain of aws.h) plus the timeouts below. Nothing above this knows which
 * pair runs. */
#ifndef ENLARGER_BACKEND_H
#define ENLARGER_BACKEND_H

#include "enlarger/aws.h"
#include "enlarger/cdn.h"
#include "enlarger/config.h"
#include "enlarger/err.h"
#include "enlarger/store.h"
#include "enlarger/table.h"

/* AWS call limits, from the configuration (ENLARGER_AWS_*, validated by
 * enl_config_load; see README "Running against AWS"). The defaults fit EventBridge's 5 s
 * answer budget: an endpoint that accepts and never answers costs one 3 s attempt, and
 * no retry starts after 2.5 s, so /process answers 503/504 well within 5 s. */
struct enl_aws_limits {
	long connect_timeout_ms; /* ENLARGER_AWS_CONNECT_TIMEOUT_MS, default 1000 */
	long timeout_ms;         /* ENLARGER_AWS_TIMEOUT_MS, default 3000 (per attempt) */
	int max_attempts;        /* ENLARGER_AWS_MAX_ATTEMPTS, default 3 */
	long deadline_ms;        /* ENLARGER_AWS_RETRY_DEADLINE_MS, default 2500 (0: none) */
};

struct enl_backends {
	struct enl_store *store; /* owned */
	struct enl_table *table; /* owned */
	/* aws only (NULL / zero for local): what the store and table share. */
	struct enl_aws_config aws;
	struct enl_aws_limits limits;
	struct enl_aws_credprov *creds;
	struct enl_aws_client *client;
	/* The CDN to invalidate (ENLARGER_CDN_DISTRIBUTION_ID, aws only), or NULL. */
	struct enl_cdn *cdn;
};

/* Opens both backends of cfg->backend into *out (zeroed first). For aws it reads the AWS_*
 * settings (aws.h), takes the limits from cfg, and fetches the first credentials, so a bad setup
 * fails here, at start-up, with e naming the variable or the credentials source; it does not reach
 * S3 or DynamoDB (GET /readyz does). The local SQLite file's folder must exist. On error nothing is
 * left open. Close with enl_backends_close. */
int enl_backends_open(struct enl_backends *out, const struct enl_config *cfg, struct enl_errmsg *e);

/* Closes what enl_backends_open opened (the table and store, then the client, then the
 * credentials). Safe on a zeroed or already closed struct. */
void enl_backends_close(struct enl_backends *b);

#endif
