/* Error names and the client-facing error message. */
#include "enlarger/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *enl_err_name(int err)
{
	switch (err) {
	case ENL_OK: return "ok";
	case ENL_EINVAL: return "invalid";
	case ENL_ENOMEM: return "no-memory";
	case ENL_ENOTFOUND: return "not-found";
	case ENL_EUNSUPPORTED: return "unsupported-type";
	case ENL_EDECODE: return "undecodable";
	case ENL_ETOOBIG: return "too-large";
	case ENL_EIO: return "backend-failure";
	case ENL_EBUSY: return "busy";
	case ENL_ETIMEOUT: return "timeout";
	case ENL_ECONFLICT: return "conflict";
	case ENL_EAUTH: return "unauthorized";
	case ENL_EINTERNAL: return "internal";
	}
	return "internal";
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
