/* Private to src/http/: the problem body builder behind enl_resp_problem, for the
 * server's own answers whose type is not an enum enl_err (413 body too large,
 * 405 method not allowed). */
#ifndef ENLARGER_HTTP_PROBLEM_H
#define ENLARGER_HTTP_PROBLEM_H

#include "enlarger/http.h"

#define ENL_PROBLEM_TYPE_BASE "https://enlarger.dev/problems/"

/* Sets status, application/problem+json and the body
 * {"type": BASE+type_name, "title", "status", "detail"}; the server adds "requestId"
 * when it sends the response. Also sets log_error to "type_name: detail". */
int enl_resp_problem_typed(struct enl_resp *resp, int status, const char *type_name,
                           const char *title, const char *detail);

#endif
