/* enl_http_status (the one error -> status table) and the response helpers. */
#include "check.h"

#include <jansson.h>

#include "enlarger/http.h"
#include "server_internal.h"

static json_t *body_json(const struct enl_resp *r)
{
	return json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
}

int main(void)
{
	/* The table, written out independently of src/util/err.c. */
	static const struct {
		int err, status;
	} table[] = {
	    {ENL_OK, 200},           {ENL_EINVAL, 400},
	    {ENL_EAUTH, 401},        {ENL_EFORBIDDEN, 403},
	    {ENL_ENOTFOUND, 404},    {ENL_ECONFLICT, 409},
	    {ENL_EUNSUPPORTED, 422}, {ENL_EDECODE, 422},
	    {ENL_ETOOBIG, 422},      {ENL_EINTERNAL, 500},
	    {ENL_ENOMEM, 503},       {ENL_EIO, 503},
	    {ENL_EBUSY, 503},        {ENL_ETIMEOUT, 504},
	    {ENL_EDENIED, 503},      {-999, 500},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		int got = enl_http_status(table[i].err);
		if (got != table[i].status)
			fprintf(stderr, "err %d -> %d, want %d\n", table[i].err, got,
			        table[i].status);
		CHECK_INT_EQ(got, table[i].status);
	}
	/* Each row of the table is its code's, with a name and a title. */
	for (int err = ENL_OK; err >= ENL_ERR_LAST; err--) {
		const struct enl_err_info *i = enl_err_info(err);
		CHECK_INT_EQ(i->code, err);
		CHECK(i->name && i->name[0] && i->title && i->title[0]);
		CHECK_STR_EQ(enl_err_name(err), i->name);
	}
	CHECK_INT_EQ(enl_err_info(5)->code, ENL_EINTERNAL);
	CHECK_INT_EQ(enl_err_info(ENL_ERR_LAST - 1)->code, ENL_EINTERNAL);
	CHECK_STR_EQ(enl_err_name(-999), "internal");
	/* Every retryable error (EventBridge retries 429 and 5xx) maps to 5xx, every
	 * permanent one to 4xx. */
	int retryable[] = {ENL_EIO,    ENL_EBUSY,     ENL_ETIMEOUT,
	                   ENL_ENOMEM, ENL_EINTERNAL, ENL_EDENIED};
	for (size_t i = 0; i < 6; i++)
		CHECK(enl_http_status(retryable[i]) >= 500);
	int permanent[] = {ENL_EINVAL,  ENL_EAUTH,   ENL_EFORBIDDEN,  ENL_ENOTFOUND,
	                   ENL_EDECODE, ENL_ETOOBIG, ENL_EUNSUPPORTED};
	for (size_t i = 0; i < 7; i++) {
		int st = enl_http_status(permanent[i]);
		CHECK(st >= 400 && st < 500 && st != 429);
	}

	/* A problem body. */
	struct enl_resp r;
	enl_resp_init(&r);
	REQUIRE(enl_resp_problem(&r, ENL_EDECODE, "truncated JPEG") == 0);
	CHECK_INT_EQ(r.status, 422);
	CHECK_STR_EQ(r.content_type, "application/problem+json");
	json_t *j = body_json(&r);
	REQUIRE(json_is_object(j));
	CHECK_STR_EQ(json_string_value(json_object_get(j, "type")),
	             "https://enlarger.dev/problems/undecodable");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "detail")), "truncated JPEG");
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "status")), 422);
	CHECK(json_string_value(json_object_get(j, "title")) != NULL);
	CHECK(strstr(r.log_error, "truncated JPEG") != NULL);
	json_decref(j);
	/* Sending adds the request id as the last member; the rest is the text as built. */
	enl_http_resp_finish(&r, "rid-1");
	static const char want[] =
	    "{\"type\":\"https://enlarger.dev/problems/undecodable\",\"title\":\"Image cannot be "
	    "decoded\",\"status\":422,\"detail\":\"truncated JPEG\",\"requestId\":\"rid-1\"}";
	CHECK_INT_EQ(r.body.len, strlen(want));
	CHECK_STR_EQ((const char *)r.body.data, want);
	enl_resp_free(&r);
	/* A route that set no status gets the 500 problem, with the id too. */
	enl_resp_init(&r);
	enl_http_resp_finish(&r, "rid-2");
	CHECK_INT_EQ(r.status, 500);
	j = body_json(&r);
	CHECK_STR_EQ(json_string_value(json_object_get(j, "requestId")), "rid-2");
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "status")), 500);
	json_decref(j);
	enl_resp_free(&r);

	/* An explicit status keeps the error's type. */
	enl_resp_init(&r);
	REQUIRE(enl_resp_problem_status(&r, 429, ENL_EBUSY, "being processed") == 0);
	CHECK_INT_EQ(r.status, 429);
	j = body_json(&r);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "status")), 429);
	CHECK_STR_EQ(json_string_value(json_object_get(j, "type")),
	             "https://enlarger.dev/problems/busy");
	json_decref(j);
	/* A detail that is not UTF-8 still gives valid JSON. */
	enl_resp_free(&r);
	enl_resp_init(&r);
	REQUIRE(enl_resp_problem(&r, ENL_ENOTFOUND, "no \xff key") == 0);
	j = body_json(&r);
	CHECK(json_is_object(j));
	json_decref(j);
	enl_resp_free(&r);

	/* Headers: replace by name (any case), refuse CR/LF, refuse past the table. */
	enl_resp_init(&r);
	CHECK_INT_EQ(enl_resp_header(&r, "ETag", "\"%s\"", "abc"), 0);
	CHECK_INT_EQ(enl_resp_header(&r, "etag", "\"%s\"", "def"), 0);
	CHECK_INT_EQ(r.n_headers, 1);
	CHECK_STR_EQ(r.headers[0].value, "\"def\"");
	CHECK_INT_EQ(enl_resp_header(&r, "X-Evil", "a\r\nSet-Cookie: x"), ENL_EINVAL);
	CHECK_INT_EQ(r.n_headers, 1);
	char big[600];
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_INT_EQ(enl_resp_header(&r, "X-Big", "%s", big), ENL_ETOOBIG);
	for (int i = r.n_headers; i < ENL_RESP_MAX_HEADERS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "X-%d", i);
		CHECK_INT_EQ(enl_resp_header(&r, name, "v"), 0);
	}
	CHECK_INT_EQ(enl_resp_header(&r, "X-One-Too-Many", "v"), ENL_ETOOBIG);
	enl_resp_free(&r);

	/* JSON and bytes bodies. */
	enl_resp_init(&r);
	REQUIRE(enl_resp_json(&r, 201, json_pack("{s:i}", "n", 7)) == 0);
	CHECK_INT_EQ(r.status, 201);
	CHECK_STR_EQ(r.content_type, "application/json");
	CHECK_INT_EQ(r.body.len, strlen("{\"n\":7}"));
	CHECK(memcmp(r.body.data, "{\"n\":7}", r.body.len) == 0);
	CHECK_INT_EQ(enl_resp_json(&r, 200, NULL), ENL_ENOMEM);
	struct enl_buf b;
	enl_buf_init(&b, 0);
	enl_buf_append(&b, "\x89PNG", 4);
	enl_resp_bytes(&r, 200, "image/png", &b);
	CHECK_INT_EQ(r.body.len, 4);
	CHECK(b.data == NULL && b.len == 0);
	CHECK_STR_EQ(r.content_type, "image/png");
	enl_resp_free(&r);
	enl_buf_free(&b);
	return check_done();
}
