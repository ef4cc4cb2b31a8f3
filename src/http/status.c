/* The one mapping from enum enl_err to an HTTP status (see include/enlarger/http.h).
 *
 * Two statuses are not here on purpose:
 * - 413 is the server's own answer for a request body past max_body_bytes
 *   (src/http/server.c); ENL_ETOOBIG from a route means "the image is over a limit"
 *   (pixels, source bytes, width), which is 422: the body was fine, its content is not.
 * - 429 is chosen by a route when one object is already being processed (EventBridge
 *   retries it with Retry-After); ENL_EBUSY from anywhere else (the job queue is full)
 *   is 503. A route picks 429 with enl_resp_problem_status(). */
#include "enlarger/http.h"

int enl_http_status(int err)
{
	switch (err) {
	case ENL_OK: return 200;
	case ENL_EINVAL: return 400;
	case ENL_EAUTH: return 401;
	case ENL_ENOTFOUND: return 404;
	case ENL_ECONFLICT: return 409;
	case ENL_EUNSUPPORTED: return 422;
	case ENL_EDECODE: return 422;
	case ENL_ETOOBIG: return 422;
	case ENL_EINTERNAL: return 500;
	case ENL_ENOMEM: return 503; /* retryable: memory may be free a moment later */
	case ENL_EIO: return 503;
	case ENL_EBUSY: return 503;
	case ENL_ETIMEOUT: return 504;
	}
	return 500;
}
