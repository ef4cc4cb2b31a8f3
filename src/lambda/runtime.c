/* The Lambda runtime API client (custom runtimes, API version 2018-06-01) over one
 * libcurl handle: next invocation, its response or error, and the start-up error. */
#include "enlarger/lambda.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#define API_VERSION "2018-06-01"
/* An event is never larger than Lambda's payload limit; the cap only guards memory. */
#define MAX_EVENT (2 * ENL_LAMBDA_MAX_PAYLOAD)
/* The runtime API is a local endpoint: a connection that takes longer is broken. Once
 * connected, `next` waits as long as it takes (no timeout, as the API asks). */
#define CONNECT_TIMEOUT_MS 10000L
/* A response or error post is answered at once. */
#define POST_TIMEOUT_MS 30000L

struct enl_lambda_runtime {
	CURL *h;        /* kept for its keep-alive connection to the runtime API */
	char base[300]; /* "http://host:port/2018-06-01/runtime/" */
};

/* host:port with a port from 1 to 65535 and a host of letters, digits, '.', '-', ':' or
 * a bracketed IPv6 address: what the variable holds, and nothing that would change the
 * URL built from it. */
static int api_ok(const char *api)
{
	const char *colon = strrchr(api, ':');
	if (!colon || colon == api || strlen(api) > 255)
		return 0;
	for (const char *p = api; p < colon; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
			return 0;
	char *end = NULL;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	return !errno && end != colon + 1 && *end == 0 && port > 0 && port <= 65535;
}

int enl_lambda_runtime_new(const char *api, struct enl_lambda_runtime **out, struct enl_errmsg *e)
{
	struct enl_lambda_runtime *rt = NULL;
	*out = NULL;
	if (!api || !api_ok(api))
		return enl_fail(e, ENL_EINVAL,
		                "AWS_LAMBDA_RUNTIME_API must be host:port (the runtime API), not "
		                "\"%.100s\"",
		                api ? api : "");
	/* Once per process, before any other thread exists; libcurl counts the calls, so the
	 * AWS client's own call later is harmless. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return enl_fail(e, ENL_EINTERNAL, "libcurl failed to initialise");
	rt = calloc(1, sizeof(*rt));
	if (rt)
		rt->h = curl_easy_init();
	if (!rt || !rt->h) {
		enl_lambda_runtime_free(rt);
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	}
	snprintf(rt->base, sizeof(rt->base), "http://%s/" API_VERSION "/runtime/", api);
	*out = rt;
	return 0;
}

void enl_lambda_runtime_free(struct enl_lambda_runtime *rt)
{
	if (!rt)
		return;
	if (rt->h) {
		curl_easy_cleanup(rt->h);
		curl_global_cleanup();
	}
	free(rt);
}

/* ---- next ------------------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct enl_buf *b = ud;
	return enl_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

/* Copies a header's value (trimmed) into out when line is "name: value". */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return;
	const char *v = line + n + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	snprintf(out, cap, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct enl_lambda_invocation *inv = ud;
	char deadline[32] = "";
	size_t len = size * n;
	header_value(p, len, "Lambda-Runtime-Aws-Request-Id", inv->request_id,
	             sizeof(inv->request_id));
	header_value(p, len, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof(inv->trace_id));
	header_value(p, len, "Lambda-Runtime-Invoked-Function-Arn", inv->function_arn,
	             sizeof(inv->function_arn));
	header_value(p, len, "Lambda-Runtime-Deadline-Ms", deadline, sizeof(deadline));
	if (deadline[0]) {
		char *end = NULL;
		errno = 0;
		long long v = strtoll(deadline, &end, 10);
		inv->deadline_ms = !errno && *end == 0 && v > 0 ? (int64_t)v : 0;
	}
	return len;
}

/* Request ids go into URL paths: letters, digits and '-' only (they are UUIDs). */
static int request_id_ok(const char *id)
{
	if (!id[0])
		return 0;
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && *id != '-')
			return 0;
	return 1;
}

int enl_lambda_next(struct enl_lambda_runtime *rt, struct enl_lambda_invocation *out,
                    struct enl_errmsg *e)
{
	char url[sizeof(rt->base) + 32];
	long status = 0;
	CURLcode cc;

	memset(out, 0, sizeof(*out));
	enl_buf_init(&out->event, MAX_EVENT);
	snprintf(url, sizeof(url), "%sinvocation/next", rt->base);
	curl_easy_reset(rt->h);
	curl_easy_setopt(rt->h, CURLOPT_URL, url);
	curl_easy_setopt(rt->h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(rt->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(rt->h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(rt->h, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(rt->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(rt->h, CURLOPT_WRITEDATA, &out->event);
	curl_easy_setopt(rt->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(rt->h, CURLOPT_HEADERDATA, out);
	cc = curl_easy_perform(rt->h);
	if (cc != CURLE_OK) {
		enl_lambda_invocation_free(out);
		return enl_fail(e, ENL_EIO, "runtime API: next: %s", curl_easy_strerror(cc));
	}
	curl_easy_getinfo(rt->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 || !request_id_ok(out->request_id)) {
		enl_lambda_invocation_free(out);
		return enl_fail(e, ENL_EIO, "runtime API: next answered %ld%s", status,
		                status == 200 ? " without a usable request id" : "");
	}
	return 0;
}

void enl_lambda_invocation_free(struct enl_lambda_invocation *inv)
{
	enl_buf_free(&inv->event);
}

/* ---- response, error, init error ------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* POSTs body to base + path; *status gets the HTTP status. 0 or ENL_EIO. */
static int post(struct enl_lambda_runtime *rt, const char *path, const char *error_type,
                const void *body, size_t len, long *status, struct enl_errmsg *e)
{
	char url[sizeof(rt->base) + 256];
	char type_header[128];
	struct curl_slist *h = NULL, *t;
	CURLcode cc;
	int rc = 0;

	snprintf(url, sizeof(url), "%s%s", rt->base, path);
	/* No "Expect: 100-continue": the runtime API answers the whole request at once. */
	h = curl_slist_append(h, "Expect:");
	if (h && (t = curl_slist_append(h, "Content-Type: application/json")))
		h = t;
	if (h && error_type) {
		snprintf(type_header, sizeof(type_header), "Lambda-Runtime-Function-Error-Type: %s",
		         error_type);
		if ((t = curl_slist_append(h, type_header)))
			h = t;
	}
	curl_easy_reset(rt->h);
	curl_easy_setopt(rt->h, CURLOPT_URL, url);
	curl_easy_setopt(rt->h, CURLOPT_POST, 1L);
	curl_easy_setopt(rt->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(rt->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(rt->h, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(rt->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(rt->h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(rt->h, CURLOPT_TIMEOUT_MS, POST_TIMEOUT_MS);
	curl_easy_setopt(rt->h, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(rt->h);
	if (cc != CURLE_OK)
		rc = enl_fail(e, ENL_EIO, "runtime API: %s: %s", path, curl_easy_strerror(cc));
	else
		curl_easy_getinfo(rt->h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(rt->h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	return rc;
}

int enl_lambda_post(struct enl_lambda_runtime *rt, const char *request_id, const char *error_type,
                    const void *body, size_t len, struct enl_errmsg *e)
{
	char path[200];
	long status = 0;
	int rc;

	if (!request_id_ok(request_id))
		return enl_fail(e, ENL_EINVAL, "not a request id");
	snprintf(path, sizeof(path), "invocation/%s/%s", request_id,
	         error_type ? "error" : "response");
	if ((rc = post(rt, path, error_type, body, len, &status, e)))
		return rc;
	if (status == 202)
		return 0;
	if (status == 413)
		return enl_fail(e, ENL_ETOOBIG, "runtime API: the %zu-byte %s is too large", len,
		                error_type ? "error" : "response");
	if (status >= 400 && status < 500)
		return enl_fail(e, ENL_EINVAL, "runtime API: %s answered %ld", path, status);
	return enl_fail(e, ENL_EIO, "runtime API: %s answered %ld", path, status);
}

int enl_lambda_error_body(struct enl_buf *out, const char *type, const char *message)
{
	json_t *b = json_object();
	/* json_string refuses text that is not UTF-8 (a key quoted in the message). */
	json_t *m = json_string(message);
	char *text = NULL;
	int rc = ENL_ENOMEM;
	if (!b)
		goto done;
	json_object_set_new(b, "errorMessage", m ? m : json_string("(not UTF-8)"));
	json_object_set_new(b, "errorType", json_string(type));
	if (!(text = json_dumps(b, JSON_COMPACT)))
		goto done;
	enl_buf_adopt(out, text, strlen(text), free);
	rc = 0;
done:
	json_decref(b);
	return rc;
}

int enl_lambda_init_error(struct enl_lambda_runtime *rt, const char *error_type,
                          const char *message, struct enl_errmsg *e)
{
	struct enl_buf body = ENL_BUF_INIT;
	long status = 0;
	int rc;

	if ((rc = enl_lambda_error_body(&body, error_type, message)))
		return enl_fail(e, rc, "out of memory");
	rc = post(rt, "init/error", error_type, body.data, body.len, &status, e);
	enl_buf_free(&body);
	if (rc == 0 && status != 202)
		rc = enl_fail(e, ENL_EIO, "runtime API: init/error answered %ld", status);
	return rc;
}
