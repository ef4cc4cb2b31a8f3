/* Test-only: the AWS config, credentials and client for a test that tests/aws/standins.py
 * runs against s3rver or dynalite (it sets the endpoint variables). */
#ifndef ENLARGER_TEST_AWS_STANDIN_H
#define ENLARGER_TEST_AWS_STANDIN_H

#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "enlarger/aws.h"

/* 0 when connected; else the exit code for main: 2 when not run through standins.py
 * (endpoint_var unset), 1 when no credentials. The caller owns *creds and *client. */
static inline int aws_standin_connect(const char *endpoint_var, const char *standin,
                                      struct enl_aws_config *cfg, struct enl_aws_credprov **creds,
                                      struct enl_aws_client **client)
{
	struct enl_errmsg e = {""};
	if (!getenv(endpoint_var)) {
		fprintf(stderr, "run through tests/aws/standins.py (it starts %s and sets %s)\n",
		        standin, endpoint_var);
		return 2;
	}
	REQUIRE(enl_aws_config_from_env(cfg, &e) == ENL_OK);
	if (enl_aws_credprov_new(creds, NULL, &e) != ENL_OK) {
		fprintf(stderr, "credentials: %s\n", e.text);
		return 1;
	}
	REQUIRE(enl_aws_client_new(client, NULL, *creds, &e) == ENL_OK);
	return 0;
}

#endif
