/* The error table (names, problem titles, HTTP statuses) and the client-facing error
 * message. */
#include "enlarger/err.h"

#include <stdarg.h>
#include <stdio.h>

/* Indexed by -code. Two statuses are not here on purpose:
 * - 413 is the server's own answer for a request body past max_body_bytes
 *   (src/http/server.c); ENL_ETOOBIG from a route means "the image is over a limit"
 *   (pixels, source bytes, width), which is 422: the body was fine, its content is not.
 * - 429 is chosen by a route when one object is already being processed (EventBridge
 *   retries it with Retry-After); ENL_EBUSY from anywhere else (the job queue is full)
 *   is 503. A route picks 429 with enl_resp_problem_status().
 * Every retryable code is a 5xx (EventBridge retries 429 and 5xx), every verdict a 4xx. */
static const struct enl_err_info table[] = {
    {ENL_OK, "ok", "OK", 200},
    {ENL_EINVAL, "invalid", "Invalid request", 400},
    /* Retryable: memory may be free a moment later. */
    {ENL_ENOMEM, "no-memory", "Out of memory", 503},
    {ENL_ENOTFOUND, "not-found", "Not found", 404},
    {ENL_EUNSUPPORTED, "unsupported-type", "Unsupported image type", 422},
    {ENL_EDECODE, "undecodable", "Image cannot be decoded", 422},
    {ENL_ETOOBIG, "too-large", "Image over limits", 422},
    {ENL_EIO, "backend-failure", "Storage failure", 503},
    {ENL_EBUSY, "busy", "Busy", 503},
    {ENL_ETIMEOUT, "timeout", "Upstream timeout", 504},
    {ENL_ECONFLICT, "conflict", "Conflict", 409},
    {ENL_EAUTH, "unauthorized", "Unauthorized", 401},
    {ENL_EFORBIDDEN, "forbidden", "Forbidden", 403},
    {ENL_EINTERNAL, "internal", "Internal error", 500},
    /* 503, not 401: the client did nothing wrong, and EventBridge retries a 5xx until
     * the role or the credentials are fixed (a 4xx would drop the event). */
    {ENL_EDENIED, "backend-denied", "Backend refused the service", 503},
};

_Static_assert(sizeof(table) / sizeof(table[0]) == 1 - ENL_ERR_LAST, "a row per code");

const struct enl_err_info *enl_err_info(int err)
{
	if (err > 0 || err < ENL_ERR_LAST)
		err = ENL_EINTERNAL;
	return &table[-err];
}

const char *enl_err_name(int err)
{
	return enl_err_info(err)->name;
}

int enl_fail_backend(struct enl_errmsg *e, int code, const char *what)
{
	switch (code) {
	case ENL_EDENIED:
		return enl_fail(e, code,
		                "%s refused the service's credentials or permissions; the log has "
		                "the details under this request id",
		                what);
	case ENL_ETIMEOUT: return enl_fail(e, code, "%s did not answer in time; retry later", what);
	case ENL_EINVAL: return enl_fail(e, code, "%s refused the request as malformed", what);
	case ENL_ENOMEM: return enl_fail(e, code, "out of memory");
	default: return enl_fail(e, code, "%s failed; retry later", what);
	}
}

int enl_fail(struct enl_errmsg *e, int code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->text, sizeof(e->text), fmt, ap);
		va_end(ap);
	}
	return code;
}
