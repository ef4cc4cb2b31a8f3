/* Fuzz target for the credentials document of the ECS container endpoint and EC2 IMDS
 * (enl_aws_creds_parse, src/aws/credentials.c): JSON with AccessKeyId, SecretAccessKey,
 * Token, Expiration (ISO 8601) and Code. The input is the response body. Checks:
 * accepted credentials have a key id and a secret that fit their fields without CR or
 * LF and equal the document's strings; a refusal is ENL_EAUTH with a message and leaves
 * *out wiped; and the expiry agrees with an independent reading of
 * "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)": such a string in range is always accepted,
 * at the second it names (days counted from the civil calendar, not timegm). */
#include <jansson.h>
#include <time.h>

#include "aws_internal.h"
#include "enlarger/aws.h"
#include "enlarger/log.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	enl_log_set_level(ENL_LOG_ERROR);
	return 0;
}

static int digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*out = *out * 10 + (s[i] - '0');
	}
	return 1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's algorithm). */
static long long days_from_civil(long long y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

/* 1 and *out when s is a strict, in-range ISO 8601 UTC time as AWS writes it. */
static int strict_iso8601(const char *s, long long *out)
{
	int y, mo, d, h, mi, se;
	if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
		return 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || se > 59)
		return 0;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return 0;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 1;
}

/* The document's string field name when it fits cap without CR/LF, else NULL. */
static const char *field(json_t *doc, const char *name)
{
	return json_string_value(json_object_get(doc, name));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enl_buf body;
	struct enl_aws_creds c;
	struct enl_errmsg e = {""};
	enl_buf_init(&body, 0);
	if (size)
		FUZZ_CHECK(enl_buf_append(&body, data, size) == 0);

	int rc = enl_aws_creds_parse(&body, &c, &e, "fuzz");
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	const char *exp = json_is_object(doc) ? field(doc, "Expiration") : NULL;
	long long want = 0;
	int strict = exp && strict_iso8601(exp, &want);

	if (rc == 0) {
		FUZZ_CHECK(json_is_object(doc));
		FUZZ_CHECK(c.access_key_id[0] &&
		           memchr(c.access_key_id, 0, sizeof(c.access_key_id)));
		FUZZ_CHECK(c.secret_access_key[0] &&
		           memchr(c.secret_access_key, 0, sizeof(c.secret_access_key)));
		FUZZ_CHECK(memchr(c.session_token, 0, sizeof(c.session_token)));
		FUZZ_CHECK(strcmp(c.access_key_id, field(doc, "AccessKeyId")) == 0);
		FUZZ_CHECK(strcmp(c.secret_access_key, field(doc, "SecretAccessKey")) == 0);
		FUZZ_CHECK(!strpbrk(c.access_key_id, "\r\n") &&
		           !strpbrk(c.secret_access_key, "\r\n") &&
		           !strpbrk(c.session_token, "\r\n"));
		const char *code = field(doc, "Code");
		FUZZ_CHECK(!code || strcmp(code, "Success") == 0);
		if (!exp)
			FUZZ_CHECK(c.expiration == 0);
		if (strict)
			FUZZ_CHECK((long long)c.expiration == want);
	} else {
		FUZZ_CHECK(rc == ENL_EAUTH && e.text[0]);
		static const struct enl_aws_creds zero;
		FUZZ_CHECK(memcmp(&c, &zero, sizeof(c)) == 0);
		/* A well-formed document with a strict expiry is never refused. */
		const char *ak = json_is_object(doc) ? field(doc, "AccessKeyId") : NULL;
		const char *sk = json_is_object(doc) ? field(doc, "SecretAccessKey") : NULL;
		json_t *tok = json_is_object(doc) ? json_object_get(doc, "Token") : NULL;
		json_t *code = json_is_object(doc) ? json_object_get(doc, "Code") : NULL;
		json_t *jexp = json_is_object(doc) ? json_object_get(doc, "Expiration") : NULL;
		int plain =
		    ak && sk &&
		    strlen(ak) == json_string_length(json_object_get(doc, "AccessKeyId")) &&
		    strlen(sk) == json_string_length(json_object_get(doc, "SecretAccessKey"));
		if (plain && *ak && *sk && strlen(ak) < ENL_AWS_KEY_ID_MAX &&
		    strlen(sk) < ENL_AWS_SECRET_MAX && !strpbrk(ak, "\r\n") &&
		    !strpbrk(sk, "\r\n") && !tok &&
		    (!code ||
		     (json_is_string(code) && !strcmp(json_string_value(code), "Success"))) &&
		    (!jexp || (exp && strict)))
			FUZZ_CHECK(!"refused a well-formed document");
	}
	json_decref(doc);
	enl_buf_free(&body);
	return 0;
}
