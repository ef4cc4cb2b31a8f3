/* The HTTP server's libmicrohttpd glue, and its start and stop: the only user of
 * microhttpd.h. Turns libmicrohttpd connections into enl_req / enl_resp pairs for the
 * routes, and owns everything every route shares: limits, routing, percent-decoding,
 * request ids, problem bodies, the access log and the request metrics. The parts that
 * need no libmicrohttpd type live beside it (server_internal.h): request.c (decoding,
 * query arguments, request ids), dispatch.c (routing, running a route with its
 * settings), response.c (finishing a response), access_log.c, watchdog.c (slow
 * headers) and listen.c.
 *
 * Threading: one thread per connection (MHD_USE_THREAD_PER_CONNECTION), not
 * libmicrohttpd's thread pool. A route blocks its thread for the whole of an image job
 * (hundreds of milliseconds on 50 MP) or a store round trip. In the pool mode each pool
 * thread runs the event loop of many connections, so one blocked handler stalls every
 * connection that thread owns: /healthz would wait behind a render. Here a blocked
 * handler only holds its own connection. What bounds the work is not the number of
 * threads but the job gate (include/enlarger/jobgate.h: `jobs` at once, a bounded
 * queue, 503 past it), and what bounds the threads is max_connections (plus
 * per_ip_connections and connection_timeout_s, so idle or slow clients cannot hold them
 * for long); so there is no thread-count option.
 *
 * Lifecycle of a request (libmicrohttpd calls on_request several times):
 *   0. request line in: on_uri keeps the URI as sent (the raw path and query).
 *   1. headers in: decode the path and the query, pick the route, check Content-Length.
 *      A 400 / 404 / 405 / 413 is answered right here, so the body is never read.
 *   2. body chunks: appended to a buffer capped at max_body_bytes; the whole body must
 *      arrive within connection_timeout_s of the headers (the idle timeout alone would
 *      let a client trickling one byte a second hold the connection for ever).
 *   3. body complete: call the route, send its response, which must be sent within
 *      send_timeout_s of being queued (an absolute deadline: the idle timeout alone
 *      would let a client that reads a few bytes at a time hold the connection, and
 *      the answer's bytes, for ever).
 *   on_completed: access log line, metrics, free.
 * A watchdog thread cuts connections whose headers do not arrive within
 * connection_timeout_s, and those whose response misses its send deadline
 * (watchdog.c). */
#include "enlarger/http.h"
#include "enlarger/defaults.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "enlarger/clock.h"
#include "enlarger/log.h"
#include "problem.h"
#include "server_internal.h"

/* Used when an option is left at 0. */
/* Per-connection memory for the request line and headers (libmicrohttpd answers 431
 * past it) and the read buffer. */
#define CONNECTION_MEMORY (64 * 1024)
#define LISTEN_BACKLOG 128
/* A chunked body past max_body_bytes cannot be answered before its end (the library
 * forbids queuing a response while upload data is pending): it is drained, without
 * being kept, up to this many times the limit, then the connection is closed. */
#define DRAIN_FACTOR 4

struct enl_server {
	struct MHD_Daemon *d;
	struct enl_server_opts o;
	int port;
	unsigned timeout_s;
	size_t max_body;
	atomic_int stopping;
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when in_flight drops to 0 */
	unsigned in_flight;
	struct enl_http_watchdog *watchdog; /* each connection's socket context is its watch */
};

/* One request: created by on_uri when its request line is in, freed in on_completed. */
struct conn_req {
	struct enl_server *s;
	struct MHD_Connection *c;
	struct timespec start;
	const struct enl_route *route;
	int begun; /* on_request has seen the request (its first call ran) */
	int answered;
	int too_big;
	int status; /* what was sent; 0 = nothing yet */
	size_t bytes_in, bytes_out;
	char method[16];
	/* The request line's URI as sent, split at the first '?': raw_uri holds the path,
	 * raw_query points past the '?' (or to "" ). */
	char *raw_uri;
	const char *raw_query;
	char *path;
	struct enl_http_args args;
	struct enl_buf body;
	char ip[INET6_ADDRSTRLEN];
	char request_id[40];
	char log_key[256];
	char log_error[256];
	/* A refusal decided from the headers of a request without a body, sent at its end
	 * so that the connection stays open (an answer sent before the end of a request
	 * makes the library close the connection). Static strings. */
	int deferred_status;
	const char *deferred_type, *deferred_title, *deferred_detail;
	char allow[128];
};

/* libmicrohttpd decodes the path and the query itself, which loses %00 and %2F before
 * we can see them; this keeps them raw so enl_http_pct_decode can judge them. (It still
 * turns '+' into a space in query arguments before this runs, so what must see the query
 * as sent reads it from on_uri's copy.) */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}
struct args_ctx {
	struct conn_req *cr;
	int rc;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	(void)kind;
	struct args_ctx *a = cls;
	int rc = enl_http_args_add(&a->cr->args, key, value);
	if (rc != 0) {
		a->rc = rc;
		return MHD_NO;
	}
	return MHD_YES;
}

/* ---- request accessors --------------------------------------------------------- */

static const char *req_header(const struct enl_req *r, const char *name)
{
	const struct conn_req *cr = r->impl;
	return MHD_lookup_connection_value(cr->c, MHD_HEADER_KIND, name);
}

static const char *req_query(const struct enl_req *r, const char *name)
{
	const struct conn_req *cr = r->impl;
	return enl_http_args_get(&cr->args, name);
}

/* ---- client address ---------------------------------------------------------- */

static void client_ip(struct MHD_Connection *c, char *out, size_t cap)
{
	snprintf(out, cap, "-");
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          out, (socklen_t)cap);
}

/* ---- responses ----------------------------------------------------------------- */

/* The watchdog's entry for the connection (its socket context), or NULL. */
static struct enl_http_watch *watch_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static int head_length(const struct enl_resp *resp, unsigned long long *out)
{
	for (int i = 0; i < resp->n_headers; i++) {
		if (strcasecmp(resp->headers[i].name, "Content-Length") != 0)
			continue;
		const char *v = resp->headers[i].value;
		char *end = NULL;
		errno = 0;
		*out = strtoull(v, &end, 10);
		if (errno || end == v || *end || *v == '-')
			return ENL_EINVAL;
		return 0;
	}
	return ENL_ENOTFOUND;
}

/* The body of a HEAD answer is never read. */
static ssize_t never_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* libmicrohttpd is done with a shared body: its reference goes. */
static void unref_shared(void *cls)
{
	enl_shared_unref(cls);
}

/* The libmicrohttpd response for a body by reference, which it takes: a file is sent
 * from its descriptor (sendfile) and shared bytes from where they are, never copied.
 * NULL when out of memory (the body is released). */
static struct MHD_Response *response_by_ref(struct enl_body *b)
{
	struct MHD_Response *r = NULL;
	if (b->kind == ENL_BODY_FILE) {
		r = MHD_create_response_from_fd_at_offset64(b->len, b->fd, b->offset);
		if (r)
			b->fd = -1; /* closed by libmicrohttpd with the response */
	} else if (b->kind == ENL_BODY_SHARED) {
		r = MHD_create_response_from_buffer_with_free_callback_cls(
		    (size_t)b->len, (void *)enl_shared_data(b->shared), unref_shared, b->shared);
		if (r)
			b->shared = NULL; /* unref_shared drops it with the response */
	}
	enl_body_free(b);
	return r;
}

/* Sends resp (whose body it takes) and records what was sent for the access log. */
static enum MHD_Result send_resp(struct conn_req *cr, struct enl_resp *resp)
{
	enl_http_resp_finish(resp, cr->request_id);

	struct MHD_Response *r;
	uint64_t len = enl_resp_body_len(resp);
	int is_head = strcmp(cr->method, "HEAD") == 0;
	/* The library computes Content-Length from the body, also for HEAD. A route that
	 * answers HEAD without producing the bytes (the size of a stored object) may set
	 * Content-Length itself; on any other answer that header is ignored. */
	unsigned long long own_length = 0;
	int has_own_length = is_head && len == 0 && head_length(resp, &own_length) == 0;
	void (*free_fn)(void *) = resp->body.free_fn ? resp->body.free_fn : free;
	size_t blen = 0;
	void *data = enl_buf_steal(&resp->body, &blen);
	if (has_own_length) {
		if (data)
			free_fn(data);
		r = MHD_create_response_from_callback(own_length, 4096, never_read, NULL, NULL);
	} else if (len && resp->body_ref.kind != ENL_BODY_NONE) {
		r = response_by_ref(&resp->body_ref);
	} else if (data && blen) {
		r = MHD_create_response_from_buffer_with_free_callback(blen, data, free_fn);
		if (!r)
			free_fn(data);
	} else {
		if (data)
			free_fn(data);
		len = 0;
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	}
	if (!r)
		return MHD_NO;
	if (resp->content_type[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (int i = 0; i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, "Content-Length") != 0)
			MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	MHD_add_response_header(r, "X-Request-Id", cr->request_id);
	if (atomic_load(&cr->s->stopping))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ok = MHD_queue_response(cr->c, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	if (ok == MHD_YES)
		enl_http_watchdog_sending(cr->s->watchdog, watch_of(cr->c));

	cr->answered = 1;
	cr->status = resp->status;
	cr->bytes_out = is_head ? 0 : (size_t)len;
	snprintf(cr->log_key, sizeof(cr->log_key), "%s", resp->log_key);
	snprintf(cr->log_error, sizeof(cr->log_error), "%s", resp->log_error);
	enl_resp_free(resp);
	return ok;
}

static enum MHD_Result send_problem(struct conn_req *cr, int status, const char *type_name,
                                    const char *title, const char *detail, const char *allow)
{
	struct enl_resp resp;
	enl_resp_init(&resp);
	if (enl_resp_problem_typed(&resp, status, type_name, title, detail) != 0)
		resp.status = status; /* no memory for a body: the status alone */
	if (allow)
		enl_resp_header(&resp, "Allow", "%s", allow);
	return send_resp(cr, &resp);
}

/* ---- libmicrohttpd callbacks --------------------------------------------------- */

/* Answers a request refused from its headers alone: at once when a body is on its way
 * (it is then never read, and the connection closes), else at the request's end. */
static enum MHD_Result refuse(struct conn_req *cr, int status, const char *type_name,
                              const char *title, const char *detail)
{
	const char *cl = MHD_lookup_connection_value(cr->c, MHD_HEADER_KIND, "Content-Length");
	const char *te = MHD_lookup_connection_value(cr->c, MHD_HEADER_KIND, "Transfer-Encoding");
	if (te || (cl && strcmp(cl, "0") != 0))
		return send_problem(cr, status, type_name, title, detail,
		                    cr->allow[0] ? cr->allow : NULL);
	cr->deferred_status = status;
	cr->deferred_type = type_name;
	cr->deferred_title = title;
	cr->deferred_detail = detail;
	return MHD_YES;
}

static enum MHD_Result begin(struct conn_req *cr, const char *url, const char *method)
{
	struct enl_server *s = cr->s;
	snprintf(cr->method, sizeof(cr->method), "%s", method);
	const char *rid = MHD_lookup_connection_value(cr->c, MHD_HEADER_KIND, "X-Request-Id");
	if (enl_http_request_id_ok(rid))
		snprintf(cr->request_id, sizeof(cr->request_id), "%s", rid);
	else
		enl_http_request_id_new(cr->request_id, sizeof(cr->request_id));
	client_ip(cr->c, cr->ip, sizeof(cr->ip));

	(void)url; /* the same bytes as cr->raw_uri: the unescape callback leaves them raw */
	int rc = enl_http_pct_decode(cr->raw_uri, 0, &cr->path);
	if (rc == ENL_ENOMEM)
		return MHD_NO;
	if (rc != 0)
		return refuse(cr, 400, enl_err_name(ENL_EINVAL), enl_err_info(ENL_EINVAL)->title,
		              "the path has an invalid percent-encoding or a NUL byte");
	struct args_ctx a = {cr, 0};
	MHD_get_connection_values(cr->c, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	if (a.rc == ENL_ENOMEM)
		return MHD_NO;
	if (a.rc != 0)
		return refuse(cr, 400, enl_err_name(ENL_EINVAL), enl_err_info(ENL_EINVAL)->title,
		              "the query has an invalid percent-encoding or a NUL byte");

	int st = enl_http_route_find(s->o.routes, s->o.n_routes, cr->method, cr->path, &cr->route,
	                             cr->allow, sizeof(cr->allow));
	if (st) {
		struct enl_http_refusal r = enl_http_route_refusal(st);
		return refuse(cr, r.status, r.type_name, r.title, r.detail);
	}

	const char *cl = MHD_lookup_connection_value(cr->c, MHD_HEADER_KIND, "Content-Length");
	if (cl) {
		char *end = NULL;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno == ERANGE || (end && *end == 0 && end != cl && n > s->max_body)) {
			char detail[96];
			snprintf(detail, sizeof(detail), "the body may be at most %zu bytes",
			         s->max_body);
			return send_problem(cr, 413, "body-too-large", "Request body too large",
			                    detail, NULL);
		}
	}
	enl_buf_init(&cr->body, s->max_body);
	return MHD_YES;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the one place libmicrohttpd shows the URI as sent, before
 * it splits off the query and unescapes the arguments ('+' included). What it returns is
 * the request's *con_cls. NULL when out of memory: on_request then refuses the request. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn_req *cr = calloc(1, sizeof(*cr));
	if (!cr)
		return NULL;
	cr->s = cls;
	cr->c = c;
	cr->raw_uri = strdup(uri ? uri : "");
	if (!cr->raw_uri) {
		free(cr);
		return NULL;
	}
	char *q = strchr(cr->raw_uri, '?');
	if (q)
		*q++ = '\0';
	cr->raw_query = q ? q : "";
	return cr;
}

static enum MHD_Result run_route(struct conn_req *cr)
{
	struct enl_req req;
	memset(&req, 0, sizeof(req));
	req.method = cr->method;
	req.path = cr->path;
	req.raw_path = cr->raw_uri;
	req.raw_query = cr->raw_query;
	req.body = cr->body.len ? cr->body.data : NULL; /* enl_buf keeps a NUL after len */
	req.body_len = cr->body.len;
	snprintf(req.request_id, sizeof(req.request_id), "%s", cr->request_id);
	req.client_ip = cr->ip;
	req.impl = cr;
	req.header = req_header;
	req.query = req_query;

	struct enl_resp resp;
	enl_resp_init(&resp);
	enl_http_route_run(cr->route, &req, &resp);
	return send_resp(cr, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct enl_server *s = cls;
	struct conn_req *cr = *con_cls;
	if (!cr)
		return MHD_NO; /* on_uri had no memory */
	if (!cr->begun) {
		cr->begun = 1;
		clock_gettime(CLOCK_MONOTONIC, &cr->start);
		enl_buf_init(&cr->body, 1);
		*con_cls = cr;
		pthread_mutex_lock(&s->lock);
		s->in_flight++;
		pthread_mutex_unlock(&s->lock);
		enl_http_watchdog_request(s->watchdog, watch_of(c), 1);
		return begin(cr, url, method);
	}
	if (cr->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		cr->bytes_in += n;
		*upload_data_size = 0;
		if (enl_http_seconds_since(&cr->start) > (double)s->timeout_s) {
			cr->status = 408;
			snprintf(cr->log_error, sizeof(cr->log_error),
			         "body not received within %us: connection closed", s->timeout_s);
			return MHD_NO;
		}
		if (cr->too_big) {
			if (cr->bytes_in / DRAIN_FACTOR > s->max_body) {
				cr->status = 413;
				snprintf(cr->log_error, sizeof(cr->log_error),
				         "body-too-large: chunked body far past the limit, "
				         "connection closed");
				return MHD_NO;
			}
			return MHD_YES;
		}
		int rc = enl_buf_append(&cr->body, upload_data, n);
		if (rc == ENL_ETOOBIG) {
			cr->too_big = 1;
			enl_buf_free(&cr->body);
		} else if (rc != 0) {
			cr->status = 503;
			snprintf(cr->log_error, sizeof(cr->log_error), "no memory for the body");
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (cr->deferred_status)
		return send_problem(cr, cr->deferred_status, cr->deferred_type, cr->deferred_title,
		                    cr->deferred_detail, cr->allow[0] ? cr->allow : NULL);
	if (cr->too_big) {
		char detail[96];
		snprintf(detail, sizeof(detail), "the body may be at most %zu bytes", s->max_body);
		return send_problem(cr, 413, "body-too-large", "Request body too large", detail,
		                    NULL);
	}
	return run_route(cr);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct enl_server *s = cls;
	struct conn_req *cr = *con_cls;
	if (!cr)
		return;
	*con_cls = NULL;
	if (!cr->begun) {
		/* The request line came, the headers never did (or were refused): nothing was
		 * counted or started for it. */
		free(cr->raw_uri);
		free(cr);
		return;
	}
	double secs = enl_http_seconds_since(&cr->start);
	int status = cr->status;
	const char *error = cr->log_error[0] ? cr->log_error : NULL;
	if (!cr->answered) {
		switch (toe) {
		case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
			status = 408;
			error = "connection timed out before the request was complete";
			break;
		case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		case MHD_REQUEST_TERMINATED_READ_ERROR:
			if (!status)
				status = 499; /* as nginx logs a client that went away */
			if (!error)
				error = "client closed the connection";
			break;
		case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
			status = 503;
			error = "server shutting down";
			break;
		default:
			if (!status)
				status = 400;
			if (!error)
				error = "connection error";
			break;
		}
	} else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !error) {
		error = enl_http_watchdog_cut_sending(s->watchdog, watch_of(c))
		            ? "send-timeout: the response was not read in time; connection cut"
		            : "connection closed before the response was sent";
	}

	struct enl_http_done done = {
	    .request_id = cr->request_id,
	    .method = cr->method,
	    .route = cr->route ? cr->route->name : "unmatched",
	    .status = status,
	    .seconds = secs,
	    .bytes_in = cr->bytes_in,
	    .bytes_out = cr->bytes_out,
	    .key = cr->log_key,
	    .error = error,
	};
	enl_http_request_done(&done);

	enl_buf_free(&cr->body);
	enl_http_args_free(&cr->args);
	free(cr->path);
	free(cr->raw_uri);
	free(cr);

	/* The next request's headers are timed from now. */
	enl_http_watchdog_request(s->watchdog, watch_of(c), 0);
	pthread_mutex_lock(&s->lock);
	if (s->in_flight && --s->in_flight == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct enl_server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		/* NULL (no memory): unwatched, only the idle timeout applies. */
		if (ci)
			*socket_context = enl_http_watchdog_add(s->watchdog, ci->connect_fd);
		return;
	}
	/* Closed: called before the library closes the socket, so while the watch is
	 * listed its fd is still this connection's. */
	enl_http_watchdog_remove(s->watchdog, *socket_context);
	*socket_context = NULL;
}

/* ---- start and stop ------------------------------------------------------------ */

int enl_server_start(const struct enl_server_opts *o, struct enl_server **out, struct enl_errmsg *e)
{
	*out = NULL;
	int rc = 0;
	struct sockaddr_storage addr;
	socklen_t addr_len = 0;
	if ((rc = enl_http_listen_parse(o->listen, &addr, &addr_len, e)) != 0)
		return rc;

	struct enl_server *s = calloc(1, sizeof(*s));
	if (!s)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	s->o = *o;
	s->timeout_s =
	    o->connection_timeout_s ? o->connection_timeout_s : ENL_DEFAULT_CONNECTION_TIMEOUT_S;
	if (enl_http_watchdog_new(
	        s->timeout_s, o->send_timeout_s ? o->send_timeout_s : ENL_DEFAULT_SEND_TIMEOUT_S,
	        &s->watchdog) != 0) {
		free(s);
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	}
	s->max_body = o->max_body_bytes ? o->max_body_bytes : ENL_DEFAULT_MAX_BODY_BYTES;
	unsigned max_conn = o->max_connections ? o->max_connections : ENL_DEFAULT_MAX_CONNECTIONS;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	                 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger goes first so that every message of the start-up reaches our log. */
	/* clang-format off */
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, enl_http_log_library, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_s,
		MHD_OPTION_CONNECTION_LIMIT, max_conn,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_connections,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)LISTEN_BACKLOG,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_END);
	/* clang-format on */
	if (!s->d) {
		rc = enl_fail(e, ENL_EIO, "cannot listen on %s (in use, or not an address here)",
		              o->listen);
		goto done;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	if (enl_http_watchdog_run(s->watchdog) != 0) {
		MHD_stop_daemon(s->d);
		rc = enl_fail(e, ENL_EINTERNAL, "cannot start the connection watchdog");
		goto done;
	}
	*out = s;
	s = NULL;
done:
	if (s) {
		enl_http_watchdog_free(s->watchdog);
		pthread_cond_destroy(&s->idle);
		pthread_mutex_destroy(&s->lock);
		free(s);
	}
	return rc;
}

int enl_server_port(const struct enl_server *s)
{
	return s ? s->port : 0;
}

void enl_server_stop(struct enl_server *s, int deadline_ms)
{
	if (!s)
		return;
	atomic_store(&s->stopping, 1);
	/* No new connections from here; those open finish their request and close. */
	MHD_socket listen_fd = MHD_quiesce_daemon(s->d);

	struct timespec until = enl_mono_deadline(deadline_ms);
	pthread_mutex_lock(&s->lock);
	while (s->in_flight > 0 && deadline_ms > 0)
		if (pthread_cond_timedwait(&s->idle, &s->lock, &until) == ETIMEDOUT)
			break;
	unsigned left = s->in_flight;
	pthread_mutex_unlock(&s->lock);
	if (left)
		enl_logf(ENL_LOG_WARN,
		         "%u request(s) still running at the shutdown deadline; waiting for their "
		         "handlers to return",
		         left);

	/* Closes idle keep-alive connections; joins every connection thread, so a handler
	 * still inside an image job is waited for (a thread cannot be cut short safely). */
	MHD_stop_daemon(s->d);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	enl_http_watchdog_free(s->watchdog);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
