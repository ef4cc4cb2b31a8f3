/* Private to the server's files (server.c and the pieces split out of it). None of
 * them sees a libmicrohttpd type: server.c, the only user of microhttpd.h, turns
 * connections into the plain values these take. */
#ifndef ENLARGER_HTTP_SERVER_INTERNAL_H
#define ENLARGER_HTTP_SERVER_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "enlarger/http.h"

/* Seconds since t0 on CLOCK_MONOTONIC, to the nanosecond (a request's duration). */
static inline double enl_http_seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- request.c: percent-decoding, query arguments, request ids ---- */

/* Percent-decodes src into a new string (*out, free()). With plus_is_space, '+' is a
 * space (query strings). ENL_EINVAL for a bad escape or a NUL byte, encoded or not;
 * ENL_ENOMEM. */
int enl_http_pct_decode(const char *src, int plus_is_space, char **out);

struct enl_http_arg {
	char *name;
	char *value;
};

/* The decoded query arguments of one request, in the order received. */
struct enl_http_args {
	struct enl_http_arg *v;
	size_t n;
};

/* Appends name=value (NULL is ""), both percent-decoded with '+' as a space.
 * 0, ENL_EINVAL (bad encoding) or ENL_ENOMEM; on failure the list stays valid for
 * enl_http_args_free. */
int enl_http_args_add(struct enl_http_args *a, const char *name, const char *value);
/* The first value of name (borrowed), or NULL. */
const char *enl_http_args_get(const struct enl_http_args *a, const char *name);
void enl_http_args_free(struct enl_http_args *a);

/* Whether a caller's X-Request-Id may be kept: short, of safe characters. */
int enl_http_request_id_ok(const char *v);
/* A new random request id (16 hex digits) into out. */
void enl_http_request_id_new(char *out, size_t cap);

/* ---- dispatch.c: picking the route and running it (enl_http_dispatch) ---- */

/* Picks the route for method and path: 0 with *out set, or 404 / 405 (then allow
 * holds the methods the path answers, e.g. "GET, HEAD, POST"). */
int enl_http_route_find(const struct enl_route *routes, size_t n_routes, const char *method,
                        const char *path, const struct enl_route **out, char *allow, size_t cap);

/* The problem a request no route takes is answered with (static strings). */
struct enl_http_refusal {
	int status; /* 404 or 405 */
	const char *type_name, *title, *detail;
};
/* For the 404 or 405 enl_http_route_find returned. */
struct enl_http_refusal enl_http_route_refusal(int status);

/* Answers the 404 or 405 enl_http_route_find returned into resp, with Allow when allow
 * (from the same call) names methods. */
void enl_http_route_refuse(struct enl_resp *resp, int status, const char *allow);

/* Runs rt on req with rt's settings (req->self); a route that set no response leaves
 * the problem for its error in resp. */
void enl_http_route_run(const struct enl_route *rt, struct enl_req *req, struct enl_resp *resp);

/* ---- response.c: what the server adds before sending ---- */

/* Settles a response just before it is sent: a missing or invalid status becomes a
 * 500 problem; a problem body gets the request id. (Retry-After is the route's:
 * enl_resp_retry_after with its bound ENLARGER_RETRY_AFTER.) */
void enl_http_resp_finish(struct enl_resp *resp, const char *request_id);

/* ---- access_log.c: what a finished request leaves behind ---- */

struct enl_http_done {
	const char *request_id;
	const char *method;
	const char *route; /* the route's name, or "unmatched" */
	int status;
	double seconds;
	size_t bytes_in, bytes_out;
	const char *key;   /* the object's key for the log, "" for none */
	const char *error; /* NULL for none */
};

/* Counts the request in the metrics and writes its access log line (JSON, never a
 * body or a credential). */
void enl_http_request_done(const struct enl_http_done *d);
/* libmicrohttpd's own messages, as a JSON warning line (MHD_OPTION_EXTERNAL_LOGGER). */
void enl_http_log_library(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* ---- watchdog.c: cutting connections whose headers do not arrive, or whose response
 * is not read, in time ---- */

struct enl_http_watchdog;
struct enl_http_watch; /* one watched connection */

/* A watchdog that cuts connections whose request headers have not arrived within
 * timeout_s, and those whose response has not been sent within send_timeout_s of being
 * queued. Connections may be added at once; the thread runs after
 * enl_http_watchdog_run. 0 or ENL_ENOMEM. */
int enl_http_watchdog_new(unsigned timeout_s, unsigned send_timeout_s,
                          struct enl_http_watchdog **out);
/* Starts the thread. 0 or ENL_EINTERNAL. */
int enl_http_watchdog_run(struct enl_http_watchdog *wd);
/* Stops the thread (if running) and frees. Every connection must be removed first. */
void enl_http_watchdog_free(struct enl_http_watchdog *wd);
/* Watches the connection on fd from now. NULL when out of memory (it then goes
 * unwatched: only the idle timeout applies). */
struct enl_http_watch *enl_http_watchdog_add(struct enl_http_watchdog *wd, int fd);
/* Forgets a connection; call before its socket is closed. w may be NULL. */
void enl_http_watchdog_remove(struct enl_http_watchdog *wd, struct enl_http_watch *w);
/* The connection's headers are in (in_request 1: the body deadline and the route take
 * over), or its request has ended (0: the next headers are timed from now). */
void enl_http_watchdog_request(struct enl_http_watchdog *wd, struct enl_http_watch *w,
                               int in_request);
/* The connection's response is queued: it must be sent within send_timeout_s from now
 * (until enl_http_watchdog_request). w may be NULL. */
void enl_http_watchdog_sending(struct enl_http_watchdog *wd, struct enl_http_watch *w);
/* 1 when the watchdog cut the connection for its send deadline (for the access log). */
int enl_http_watchdog_cut_sending(struct enl_http_watchdog *wd, struct enl_http_watch *w);

/* ---- listen.c: the listen address ---- */

/* "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 = any free port. */
int enl_http_listen_parse(const char *listen, struct sockaddr_storage *out, socklen_t *len_out,
                          struct enl_errmsg *e);

#endif
