/* Opens the store and table pair ENLARGER_BACKEND names (include/enlarger/backend.h). */
#include "enlarger/backend.h"

#include <stdio.h>
#include <string.h>

#include "enlarger/log.h"

static int open_local(struct enl_backends *b, const struct enl_config *cfg, struct enl_errmsg *e)
{
	int rc = enl_store_local_open(cfg->data_dir, &b->store, e);
	if (!rc)
		rc = enl_table_sqlite_open(cfg->sqlite_path, cfg->table, cfg->table_key, &b->table,
		                           e);
	return rc;
}

static int open_aws(struct enl_backends *b, const struct enl_config *cfg, struct enl_errmsg *e)
{
	int rc;
	if ((rc = enl_aws_config_from_env(&b->aws, e)))
		return rc;
	b->limits = (struct enl_aws_limits){cfg->aws_connect_timeout_ms, cfg->aws_timeout_ms,
	                                    cfg->aws_max_attempts, cfg->aws_retry_deadline_ms};
	if ((rc = enl_aws_credprov_new(&b->creds, NULL, e)))
		return rc;
	struct enl_aws_client_opts o = {
	    .connect_timeout_ms = b->limits.connect_timeout_ms,
	    .timeout_ms = b->limits.timeout_ms,
	    .max_attempts = b->limits.max_attempts,
	};
	if ((rc = enl_aws_client_new(&b->client, &o, b->creds, e)))
		return rc;
	if ((rc = enl_store_s3_open(&b->aws, b->client, b->limits.deadline_ms, &b->store, e)))
		return rc;
	if ((rc = enl_table_dynamodb_open(&b->aws, b->client, b->limits.deadline_ms, cfg->table,
	                                  cfg->table_key, &b->table, e))) {
		/* The table name is the one setting here that is ours, not AWS's. */
		char why[sizeof(e->text)];
		snprintf(why, sizeof(why), "%s", e ? e->text : "");
		return enl_fail(e, rc, "ENLARGER_TABLE / ENLARGER_TABLE_KEY: %s", why);
	}
	if (cfg->cdn_distribution_id[0] &&
	    (rc = enl_cdn_cloudfront_open(&b->aws, b->client, cfg->cdn_distribution_id, &b->cdn,
	                                  e))) {
		char why[sizeof(e->text)];
		snprintf(why, sizeof(why), "%s", e ? e->text : "");
		return enl_fail(e, rc, "ENLARGER_CDN_DISTRIBUTION_ID: %s", why);
	}
	enl_log_json(ENL_LOG_INFO, "aws backends",
	             json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "region", b->aws.region,
	                       "s3", b->aws.endpoint_s3[0] ? b->aws.endpoint_s3 : "aws", "dynamodb",
	                       b->aws.endpoint_dynamodb[0] ? b->aws.endpoint_dynamodb : "aws",
	                       "credentials", enl_aws_credprov_source(b->creds),
	                       "connect_timeout_ms", (int)b->limits.connect_timeout_ms,
	                       "timeout_ms", (int)b->limits.timeout_ms, "max_attempts",
	                       b->limits.max_attempts, "retry_deadline_ms",
	                       (int)b->limits.deadline_ms));
	return ENL_OK;
}

int enl_backends_open(struct enl_backends *out, const struct enl_config *cfg, struct enl_errmsg *e)
{
	memset(out, 0, sizeof(*out));
	int rc = cfg->backend == ENL_BACKEND_AWS ? open_aws(out, cfg, e) : open_local(out, cfg, e);
	if (rc)
		enl_backends_close(out);
	return rc;
}

void enl_backends_close(struct enl_backends *b)
{
	if (!b)
		return;
	enl_cdn_destroy(b->cdn);
	enl_table_destroy(b->table);
	enl_store_destroy(b->store);
	enl_aws_client_free(b->client);
	enl_aws_credprov_free(b->creds);
	b->cdn = NULL;
	b->table = NULL;
	b->store = NULL;
	b->client = NULL;
	b->creds = NULL;
}
