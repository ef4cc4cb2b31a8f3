/* Error codes shared by every layer, and the per-call message a client may see. */
#ifndef ENLARGER_ERR_H
#define ENLARGER_ERR_H

#include <stddef.h>

/* Functions return 0 on success or one of these (negative). Their names, titles and
 * HTTP statuses are one table (src/util/err.c), the only place that maps them. */
enum enl_err {
	ENL_OK = 0,
	ENL_EINVAL = -1,       /* malformed request, event or parameter */
	ENL_ENOMEM = -2,       /* allocation failed */
	ENL_ENOTFOUND = -3,    /* object or item does not exist */
	ENL_EUNSUPPORTED = -4, /* input is not an image type we accept */
	ENL_EDECODE = -5,      /* image is corrupt or cannot be decoded */
	ENL_ETOOBIG = -6,      /* over a byte, pixel or size limit */
	ENL_EIO = -7,          /* store or table failure: retryable */
	ENL_EBUSY = -8,        /* in flight or queue full: retry later */
	ENL_ETIMEOUT = -9,     /* a remote call timed out: retryable */
	ENL_ECONFLICT = -10,   /* a condition failed (stale or duplicate) */
	ENL_EAUTH = -11,       /* the client's API key or origin secret is missing or wrong */
	ENL_EFORBIDDEN = -12,  /* understood, and refused: a missing or wrong URL signature */
	ENL_EINTERNAL = -13,   /* a bug or an unexpected library failure */
	/* A backend refused the service itself (S3 or DynamoDB 403, credentials expired or
	 * missing): the operator's fault, not the client's, and retryable once fixed. */
	ENL_EDENIED = -14,
};

/* The last code: the table in src/util/err.c has a row for each from ENL_OK to it. */
#define ENL_ERR_LAST ENL_EDENIED

/* What a code means outside: a short stable name for logs and problem types
 * ("undecodable"), the title of its problem body ("Image cannot be decoded") and the
 * HTTP status it answers (422). */
struct enl_err_info {
	int code;
	const char *name;
	const char *title;
	int http_status;
};

/* The row of err; the ENL_EINTERNAL row for a value that is not a code. Borrowed,
 * static. */
const struct enl_err_info *enl_err_info(int err);

/* enl_err_info(err)->name. Borrowed, static. */
const char *enl_err_name(int err);

/* Text for the client: specific and safe, never a path or a credential. */
struct enl_errmsg {
	char text[256];
};

/* Fills e->text (when e is not NULL) and returns code, so error paths read
 * `return enl_fail(e, ENL_EDECODE, "truncated JPEG");`. */
int enl_fail(struct enl_errmsg *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A backend's failure as the client may read it: what kind of failure of what
 * ("the object store", "the photo table"), never the backend's error code, status,
 * message or endpoint. The backend logs those (with the request id, enl_log.h) before it
 * calls this. Returns code. */
int enl_fail_backend(struct enl_errmsg *e, int code, const char *what);

#endif
