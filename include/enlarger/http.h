/* HTTP without libmicrohttpd types: routes are plain functions over a request and a
 * response, each with its settings bound when its table was built, so any door (the
 * server, a test, an event from elsewhere) can dispatch them: enl_http_dispatch. The
 * server (src/http/server.c) is the only user of microhttpd.h. */
#ifndef ENLARGER_HTTP_H
#define ENLARGER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "enlarger/body.h"
#include "enlarger/buf.h"
#include "enlarger/err.h"

#define ENL_RESP_MAX_HEADERS 16

struct enl_req {
	const char *method; /* "GET", "HEAD", "POST" */
	const char *path;   /* percent-decoded path, e.g. "/render/a b.jpg" */
	/* The path and the query exactly as sent (still percent-encoded, '+' as sent), for
	 * what must see the request as the client wrote it (the /render signature, its
	 * canonical query). Every door fills both; never NULL. */
	const char *raw_path;      /* "/render/a%20b.jpg" */
	const char *raw_query;     /* "w=400&fmt=webp", without the '?'; "" for none */
	const unsigned char *body; /* complete body (NUL-terminated), or NULL */
	size_t body_len;
	char request_id[40];
	const char *client_ip;
	const void *self; /* the route's settings (enl_route.self), set by the dispatch */
	void *impl;       /* the door's private state: use the accessors */
	/* Accessors, filled by the door (the server, or a test's fake). Return borrowed
	 * values or NULL. Header names are case-insensitive. */
	const char *(*header)(const struct enl_req *r, const char *name);
	const char *(*query)(const struct enl_req *r, const char *name);
};

struct enl_resp_header {
	char name[64];
	char value[512];
};

struct enl_resp {
	int status;
	char content_type[96];
	/* The body: bytes of its own in body, or (body_ref.kind not ENL_BODY_NONE, body
	 * empty) a body by reference, a file or bytes shared with other answers, which the
	 * server sends without a copy. enl_resp_body_len gives its length either way; a door
	 * that needs the bytes in memory calls enl_resp_body_bytes. */
	struct enl_buf body;
	struct enl_body body_ref;
	int n_headers;
	struct enl_resp_header headers[ENL_RESP_MAX_HEADERS];
	/* For the access log line only (never sent): */
	char log_key[256];
	char log_error[256];
};

void enl_resp_init(struct enl_resp *resp);
void enl_resp_free(struct enl_resp *resp);
/* Adds (or replaces) a header. 0 or ENL_ETOOBIG when full. */
int enl_resp_header(struct enl_resp *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets status and a JSON body (application/json). Steals body. */
int enl_resp_json(struct enl_resp *resp, int status, json_t *body);
/* An RFC 9457 problem (application/problem+json) whose status comes from
 * enl_http_status(err); detail is the client-safe text. Also sets log_error. */
int enl_resp_problem(struct enl_resp *resp, int err, const char *detail);
/* The same with an explicit status, for the few answers the table in
 * enl_http_status does not pick: 429 for an object already in flight. */
int enl_resp_problem_status(struct enl_resp *resp, int status, int err, const char *detail);
/* Adds Retry-After when resp's status says "try again later" (429, 503, 504), else
 * nothing: the one place that decides which answers carry it and what it says. The
 * value is wait_ms (an estimate of when a retry finds room, e.g. the job gate's; 0:
 * none) in whole seconds rounded up, at least floor_s (ENLARGER_RETRY_AFTER) and at
 * most ENL_RETRY_AFTER_MAX_S. */
void enl_resp_retry_after(struct enl_resp *resp, int floor_s, int64_t wait_ms);
/* Takes the bytes of body (see enl_buf_adopt) with the given type. */
void enl_resp_bytes(struct enl_resp *resp, int status, const char *content_type,
                    struct enl_buf *body);
/* Takes body (a file or shared bytes, see enl_body_move) as the body, with the given
 * type. */
void enl_resp_body(struct enl_resp *resp, int status, const char *content_type,
                   struct enl_body *body);
/* The length of the body, of either kind. */
uint64_t enl_resp_body_len(const struct enl_resp *resp);
/* Turns a body by reference into bytes of its own in resp->body (nothing to do for
 * bytes), for a door that carries bodies in memory; max: the most it carries (0: no
 * cap). 0, or ENL_ETOOBIG past max, ENL_ENOMEM, ENL_EIO (resp unchanged then). */
int enl_resp_body_bytes(struct enl_resp *resp, size_t max, struct enl_errmsg *e);

/* The HTTP status of an enum enl_err: enl_err_info(err)->http_status (the one table,
 * src/util/err.c). */
int enl_http_status(int err);

typedef int (*enl_route_fn)(struct enl_req *req, struct enl_resp *resp);

struct enl_route {
	const char *method; /* "GET" also answers HEAD: the route runs with method "HEAD",
	                       the server sends the headers only, with the Content-Length of
	                       the body; a route may skip the bytes and set Content-Length */
	const char *prefix; /* "/render/" matches by prefix; "/healthz" exactly */
	enl_route_fn fn;
	const char *name; /* for metrics and logs, e.g. "render" */
	/* The route's settings, bound when the table is built (as h2o binds a handler's):
	 * fn reads them as req->self, and reads nothing else but the request. Shared by
	 * every request at once: read-only. Owned by whoever built the table. */
	void *self;
};

/* Answers one complete request with a route table into resp (fresh from enl_resp_init),
 * as the server does once the body is in: picks the route for req->method and
 * req->path (a 404 problem, or a 405 with Allow, when none takes it), runs it with
 * req->self set to its settings, and settles the response as it is sent (a route that
 * set none answers the problem for its error; problem bodies get the status and
 * req->request_id). For a door without sockets, and for
 * tests; the door sends the headers only for HEAD, and reads a body by reference with
 * enl_resp_body_bytes if it needs bytes. Returns the route that ran (borrowed), or
 * NULL. */
const struct enl_route *enl_http_dispatch(const struct enl_route *routes, size_t n_routes,
                                          struct enl_req *req, struct enl_resp *resp);

/* A request that arrives whole, as an event from a door without sockets (a Lambda
 * function URL): the path and query still percent-encoded, as sent. */
struct enl_http_whole {
	const char *method;        /* "GET", "HEAD", "POST" */
	const char *raw_path;      /* "/render/a%20b.jpg" */
	const char *raw_query;     /* "w=400&fmt=webp" (no '?'); NULL or "" for none */
	const unsigned char *body; /* complete, NUL-terminated; NULL when body_len is 0 */
	size_t body_len;
	size_t max_body_bytes;     /* 413 beyond, as the server's */
	size_t max_response_bytes; /* a larger body is answered 502 response-too-large; 0:
	                              no limit */
	const char *client_ip;     /* NULL: "-" */
	/* The id when the request has no usable X-Request-Id (a Lambda request id); NULL:
	 * a new one. */
	const char *request_id;
	/* The request's header (name case-insensitive; borrowed) or NULL. */
	const char *(*header)(void *impl, const char *name);
	/* The door's own say once a route takes the request, before it runs (may be NULL):
	 * 0 to run it, or an enum enl_err answered with its problem and e's text (and
	 * retry_after_s in Retry-After when that says "later": enl_resp_retry_after). */
	int (*admit)(void *impl, const struct enl_route *rt, struct enl_errmsg *e);
	int retry_after_s;
	void *impl;
};

/* Answers in into resp (fresh from enl_resp_init) exactly as the server answers the same
 * request: the path and the query decoded by the server's rules (400 when they do not
 * decode), the route picked (404, 405 with Allow), 413 past max_body_bytes, the door's
 * admit, the route run and its response settled as enl_http_dispatch settles it,
 * X-Request-Id added; the body is in resp->body (a body by reference read into it); a
 * HEAD answer keeps the headers and the Content-Length of its body, not the body. Writes
 * the access log line and counts the request in the metrics, as the server does. */
void enl_http_answer(const struct enl_route *routes, size_t n_routes,
                     const struct enl_http_whole *in, struct enl_resp *resp);

struct enl_server_opts {
	const char *listen;            /* "127.0.0.1:8080" */
	unsigned connection_timeout_s; /* idle / slow-body timeout */
	unsigned send_timeout_s;       /* the most one response may take to be sent */
	unsigned per_ip_connections;   /* 0 = no limit */
	unsigned max_connections;
	size_t max_body_bytes;          /* 413 beyond */
	const struct enl_route *routes; /* borrowed: outlives the server */
	size_t n_routes;
};

struct enl_server;

int enl_server_start(const struct enl_server_opts *o, struct enl_server **out,
                     struct enl_errmsg *e);
/* The port actually bound (useful with port 0). */
int enl_server_port(const struct enl_server *s);
/* Stops accepting, waits up to deadline_ms for requests in flight, then frees. */
void enl_server_stop(struct enl_server *s, int deadline_ms);

#endif
