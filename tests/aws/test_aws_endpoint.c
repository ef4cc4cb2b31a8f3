/* Region and endpoint variables (precedence, validation naming the variable) and the S3 /
 * DynamoDB URLs built from them. URLs for hostile keys are also checked against Python's
 * urllib.parse.quote in sigv4_oracle.py. */
#include <stdlib.h>

#include "check.h"
#include "enlarger/aws.h"

static void clear(void)
{
	const char *v[] = {
	    "AWS_REGION",          "AWS_DEFAULT_REGION",        "AWS_ENDPOINT_URL",
	    "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_CLOUDFRONT"};
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++)
		unsetenv(v[i]);
}

static void check_url(const struct enl_aws_config *cfg, const char *bucket, const char *key,
                      const char *query, const char *want)
{
	char *u = NULL;
	CHECK_INT_EQ(enl_aws_s3_url(&u, cfg, bucket, key, query), 0);
	CHECK_STR_EQ(u, want);
	free(u);
}

int main(void)
{
	struct enl_aws_config cfg;
	struct enl_errmsg e = {{0}};
	char *u = NULL;

	clear();
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "AWS_REGION") != NULL);

	setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), 0);
	CHECK_STR_EQ(cfg.region, "eu-west-3");
	setenv("AWS_REGION", "eu-west-1", 1); /* AWS_REGION wins */
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), 0);
	CHECK_STR_EQ(cfg.region, "eu-west-1");
	CHECK_STR_EQ(cfg.endpoint_s3, "");
	CHECK_STR_EQ(cfg.endpoint_cloudfront, ""); /* https://cloudfront.amazonaws.com */

	check_url(
	    &cfg, "photos", "my photo+1/caf\xc3\xa9 100%.jpg", NULL,
	    "https://photos.s3.eu-west-1.amazonaws.com/my%20photo%2B1/caf%C3%A9%20100%25.jpg");
	check_url(&cfg, "my.dotted.bucket", "a=b", NULL,
	          "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/a%3Db");
	check_url(&cfg, "photos", NULL, "list-type=2&prefix=a%2F",
	          "https://photos.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=a%2F");
	CHECK_INT_EQ(enl_aws_dynamodb_url(&u, &cfg), 0);
	CHECK_STR_EQ(u, "https://dynamodb.eu-west-1.amazonaws.com/");
	free(u);
	CHECK(enl_aws_s3_url(&u, &cfg, "", "k", NULL) == ENL_EINVAL && u == NULL);
	CHECK(enl_aws_s3_url(&u, &cfg, "a/b", "k", NULL) == ENL_EINVAL);

	/* The generic endpoint, overridden per service; a trailing '/' is dropped. */
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://localhost:4569", 1);
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), 0);
	CHECK_STR_EQ(cfg.endpoint_s3, "http://localhost:4569");
	CHECK_STR_EQ(cfg.endpoint_dynamodb, "http://127.0.0.1:4566");
	CHECK_STR_EQ(cfg.endpoint_cloudfront, "http://127.0.0.1:4566");
	setenv("AWS_ENDPOINT_URL_CLOUDFRONT", "http://127.0.0.1:9443/", 1);
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), 0);
	CHECK_STR_EQ(cfg.endpoint_cloudfront, "http://127.0.0.1:9443");
	setenv("AWS_ENDPOINT_URL_CLOUDFRONT", "cloudfront.local", 1);
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "AWS_ENDPOINT_URL_CLOUDFRONT") != NULL);
	unsetenv("AWS_ENDPOINT_URL_CLOUDFRONT");
	check_url(&cfg, "photos", "a b/c", NULL, "http://localhost:4569/photos/a%20b/c");
	CHECK_INT_EQ(enl_aws_dynamodb_url(&u, &cfg), 0);
	CHECK_STR_EQ(u, "http://127.0.0.1:4566/");
	free(u);

	/* With both endpoints custom the region may be left out (the stand-ins). */
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), 0);
	CHECK_STR_EQ(cfg.region, "us-east-1");

	setenv("AWS_ENDPOINT_URL_DYNAMODB", "localhost:8000", 1);
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "AWS_ENDPOINT_URL_DYNAMODB") != NULL);
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://h:8000/path", 1);
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), ENL_EINVAL);
	/* No host, or a host no request could carry (fuzz_sigv4's findings). */
	const char *bad_hosts[] = {"http://:8000", "http://[]:8000", "http://lo\rcal:8000",
	                           "http://h\xc3\xa9:8000"};
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		setenv("AWS_ENDPOINT_URL_DYNAMODB", bad_hosts[i], 1);
		CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), ENL_EINVAL);
	}
	unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
	setenv("AWS_REGION", "EU WEST", 1);
	CHECK_INT_EQ(enl_aws_config_from_env(&cfg, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "AWS_REGION") != NULL);
	clear();
	return check_done();
}
