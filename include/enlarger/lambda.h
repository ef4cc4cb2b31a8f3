/* The Lambda door: the runtime API client (custom runtimes, API version 2018-06-01) and
 * what one invocation does with its event: an S3 event goes to the /process use case
 * (enl_service_event), a function URL request (payload format 2.0) through the route
 * table the HTTP server dispatches (enl_http_answer). One invocation at a time. */
#ifndef ENLARGER_LAMBDA_H
#define ENLARGER_LAMBDA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"
#include "enlarger/http.h"

struct enl_app;

/* A buffered response (and a synchronous invocation's event) is at most 6 MB (Lambda
 * quotas: "Invocation payload (request and response)"), the function URL's JSON envelope
 * and base64 included. */
#define ENL_LAMBDA_MAX_PAYLOAD (6u * 1024 * 1024)

/* The errorType of each class of failure, in the error body and the
 * Lambda-Runtime-Function-Error-Type header (docs/lambda.md says which Lambda retries). */
#define ENL_LAMBDA_REJECTED "Enlarger.Rejected" /* 4xx: the event or image can never work */
#define ENL_LAMBDA_BUSY "Enlarger.Busy"         /* 429 / 503 busy: the photo is in flight */
#define ENL_LAMBDA_BACKEND "Enlarger.Backend"   /* 5xx: store, table, memory: retryable */
#define ENL_LAMBDA_DEADLINE "Enlarger.Deadline" /* too little time left: retryable */
#define ENL_LAMBDA_INIT "Enlarger.InitError"    /* start-up failed (/runtime/init/error) */

/* ---- the runtime API client (runtime.c) ---------------------------------------------- */

struct enl_lambda_runtime;

struct enl_lambda_invocation {
	char request_id[128];   /* Lambda-Runtime-Aws-Request-Id */
	char trace_id[512];     /* Lambda-Runtime-Trace-Id ("" when absent) */
	char function_arn[256]; /* Lambda-Runtime-Invoked-Function-Arn */
	int64_t deadline_ms;    /* Lambda-Runtime-Deadline-Ms (Unix ms); 0 when absent */
	struct enl_buf event;   /* NUL-terminated (data NULL when empty); owned */
};

/* A client of the runtime API at api ("host:port", AWS_LAMBDA_RUNTIME_API). *out is the
 * caller's: enl_lambda_runtime_free. ENL_EINVAL (e names the variable) or ENL_ENOMEM. */
int enl_lambda_runtime_new(const char *api, struct enl_lambda_runtime **out, struct enl_errmsg *e);
void enl_lambda_runtime_free(struct enl_lambda_runtime *rt);

/* Waits, without a time limit, for the next invocation (GET .../invocation/next).
 * ENL_EIO when the runtime API cannot be reached or answers other than 200 with a
 * request id: the runtime should then exit. */
int enl_lambda_next(struct enl_lambda_runtime *rt, struct enl_lambda_invocation *out,
                    struct enl_errmsg *e);
void enl_lambda_invocation_free(struct enl_lambda_invocation *inv);

/* Posts the invocation's result: a response (error_type NULL: .../response) or an error
 * (.../error, with error_type in Lambda-Runtime-Function-Error-Type); body is the JSON
 * to send. 0 once accepted (202); ENL_ETOOBIG when the runtime API refused the size
 * (413: it then failed the invocation itself); ENL_EINVAL for another 4xx (a request id
 * it does not know); ENL_EIO when it cannot be reached or answers 500 (the runtime should
 * exit). */
int enl_lambda_post(struct enl_lambda_runtime *rt, const char *request_id, const char *error_type,
                    const void *body, size_t len, struct enl_errmsg *e);

/* Reports a failed start-up (POST .../init/error) with {"errorMessage","errorType"}.
 * 0, or ENL_EIO. */
int enl_lambda_init_error(struct enl_lambda_runtime *rt, const char *error_type,
                          const char *message, struct enl_errmsg *e);

/* {"errorMessage": message, "errorType": type} into out (fresh or empty). 0 or
 * ENL_ENOMEM. */
int enl_lambda_error_body(struct enl_buf *out, const char *type, const char *message);

/* ---- one invocation (invoke.c, s3event.c, furl.c) -------------------------------------- */

/* What every invocation uses, set up once at start as `serve` sets up its server. */
struct enl_lambda_door {
	struct enl_app *app;            /* borrowed */
	const struct enl_route *routes; /* borrowed: enl_routes_table */
	size_t n_routes;
	size_t max_body_bytes; /* ENLARGER_MAX_BODY_BYTES, for function URL requests */
	int64_t reserve_ms;    /* ENLARGER_LAMBDA_RESERVE_MS */
	int retry_after_s;     /* ENLARGER_RETRY_AFTER, on a function URL's deadline 503 */
};

/* What an invocation hands back. */
struct enl_lambda_result {
	const char *kind;       /* "url" or "event", for the log (static) */
	const char *error_type; /* NULL: a response; else one of ENL_LAMBDA_* (static) */
	struct enl_buf body;    /* the JSON to post (owned; empty when memory ran out) */
};

/* Handles one invocation at now_ms (Unix ms): a function URL request is answered as the
 * HTTP server answers it; any other event goes to the /process use case. Work that may
 * run an image job starts only with at least d->reserve_ms left before inv's deadline;
 * else ENL_LAMBDA_DEADLINE (a function URL request: a 503 problem). *out is always set
 * (an error when memory runs out). */
void enl_lambda_handle(const struct enl_lambda_door *d, const struct enl_lambda_invocation *inv,
                       int64_t now_ms, struct enl_lambda_result *out);
void enl_lambda_result_free(struct enl_lambda_result *r);

/* The error type of an enum enl_err from the /process use case: the class its HTTP
 * status falls in (4xx but 429: rejected; ENL_EBUSY: busy; 5xx: backend). */
const char *enl_lambda_error_type(int err);

/* The S3 event door (s3event.c): the JSON of a successful enl_service_event (what POST
 * /process answers 200 with), or the error of its class. */
void enl_lambda_s3_event(const struct enl_lambda_door *d, const void *event, size_t len,
                         struct enl_lambda_result *out);

/* The function URL door (furl.c): 1 when event (a parsed JSON object, borrowed) is a
 * function URL request, payload format 2.0. */
int enl_lambda_is_url_request(const json_t *event);
/* Answers the request in event (borrowed JSON object) with the route table, as the
 * server would, into out's body as {"statusCode","headers","body","isBase64Encoded"};
 * binary bodies base64. A body the payload limit cannot carry is a 502 problem.
 * left_ms: the time left before the deadline (INT64_MAX: none); a /render or /process
 * request with less than d->reserve_ms left is a 503 problem. */
void enl_lambda_url_request(const struct enl_lambda_door *d, const json_t *event,
                            const char *aws_request_id, int64_t left_ms,
                            struct enl_lambda_result *out);

/* The runtime loop (loop.c): next, handle, post, one invocation at a time, each one's
 * request id and trace id on every log line written meanwhile (enl_log_context_set).
 * Returns ENL_EIO when the runtime API fails (the process should exit). */
int enl_lambda_run(struct enl_lambda_runtime *rt, const struct enl_lambda_door *d,
                   struct enl_errmsg *e);

#endif
