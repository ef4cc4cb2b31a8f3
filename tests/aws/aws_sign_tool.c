/* Test helper for sigv4_oracle.py: reads a JSON array of request specs on stdin, signs each
 * the way enl_aws_request would (enl_aws_s3_url + enl_aws_sign_request) and prints a JSON
 * array of {"url", "headers": [[name, value]...], "canonical"} on stdout.
 * Spec: {"method", "service", "region", "time", "access_key", "secret_key", "token"?,
 *        "endpoint"? (custom S3/DynamoDB endpoint), "bucket"?, "key"? (raw, UTF-8),
 *        "query"? (encoded), "url"? (used when no bucket), "headers": [[n, v]...],
 *        "body"?, "unsigned_payload"?} */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/aws.h"

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)); /* borrowed */
}

static json_t *sign_one(json_t *spec)
{
	struct enl_aws_config cfg = {0};
	struct enl_aws_creds creds = {0};
	struct enl_sigv4_header h[64];
	size_t nh = 0, n_out = 0;
	struct enl_aws_header *out = NULL;
	char *url = NULL, *canon = NULL;
	json_t *res = NULL;

	snprintf(cfg.region, sizeof(cfg.region), "%s", str(spec, "region"));
	if (str(spec, "endpoint")) {
		snprintf(cfg.endpoint_s3, sizeof(cfg.endpoint_s3), "%s", str(spec, "endpoint"));
		snprintf(cfg.endpoint_dynamodb, sizeof(cfg.endpoint_dynamodb), "%s",
		         str(spec, "endpoint"));
	}
	snprintf(creds.access_key_id, sizeof(creds.access_key_id), "%s", str(spec, "access_key"));
	snprintf(creds.secret_access_key, sizeof(creds.secret_access_key), "%s",
	         str(spec, "secret_key"));
	if (str(spec, "token"))
		snprintf(creds.session_token, sizeof(creds.session_token), "%s",
		         str(spec, "token"));

	int rc;
	if (str(spec, "bucket"))
		rc = enl_aws_s3_url(&url, &cfg, str(spec, "bucket"), str(spec, "key"),
		                    str(spec, "query"));
	else if (str(spec, "url"))
		rc = (url = strdup(str(spec, "url"))) ? 0 : ENL_ENOMEM;
	else
		rc = enl_aws_dynamodb_url(&url, &cfg);
	if (rc) {
		fprintf(stderr, "url: %d\n", rc);
		return NULL;
	}

	json_t *hs = json_object_get(spec, "headers");
	size_t i;
	json_t *pair;
	json_array_foreach(hs, i, pair)
	{
		if (nh == 64)
			break;
		h[nh].name = json_string_value(json_array_get(pair, 0));
		h[nh].value = json_string_value(json_array_get(pair, 1));
		nh++;
	}
	const char *body = str(spec, "body");
	struct enl_aws_request rq = {
	    .method = str(spec, "method"),
	    .url = url,
	    .headers = h,
	    .n_headers = nh,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .service = str(spec, "service"),
	    .region = cfg.region,
	    .unsigned_payload = json_is_true(json_object_get(spec, "unsigned_payload")),
	};
	rc = enl_aws_sign_request(&out, &n_out, &canon, &rq, &creds,
	                          (time_t)json_integer_value(json_object_get(spec, "time")));
	if (rc) {
		fprintf(stderr, "sign: %d\n", rc);
		free(url);
		return NULL;
	}
	json_t *arr = json_array();
	for (i = 0; i < n_out; i++)
		json_array_append_new(arr, json_pack("[ss]", out[i].name, out[i].value));
	res = json_pack("{s:s, s:o, s:s}", "url", url, "headers", arr, "canonical", canon);
	enl_aws_headers_free(out, n_out);
	free(canon);
	free(url);
	return res; /* new reference */
}

int main(void)
{
	json_error_t err;
	json_t *specs = json_loadf(stdin, 0, &err), *results = json_array();
	size_t i;
	json_t *spec;
	if (!json_is_array(specs)) {
		fprintf(stderr, "bad input: %s\n", err.text);
		return 2;
	}
	json_array_foreach(specs, i, spec)
	{
		json_t *r = sign_one(spec);
		json_array_append_new(results, r ? r : json_null());
	}
	json_dumpf(results, stdout, JSON_INDENT(1));
	json_decref(results);
	json_decref(specs);
	return 0;
}
