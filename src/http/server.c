/* The HTTP server: the only user of microhttpd.h. Turns libmicrohttpd connections into
 * enl_req / enl_resp pairs for the routes, and owns everything every route shares:
 * limits, routing, percent-decoding, request ids, problem bodies, the access log and
 * the request metrics.
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
 * for long). enl_server_opts.threads is therefore not used.
 *
 * Lifecycle of a request (libmicrohttpd calls on_request several times):
 *   1. headers in: decode the path and the query, pick the route, check Content-Length.
 *      A 400 / 404 / 405 / 413 is answered right here, so the body is never read.
 *   2. body chunks: appended to a buffer capped at max_body_bytes; the whole body must
 *      arrive within connection_timeout_s of the headers (the idle timeout alone would
 *      let a client trickling one byte a second hold the connection for ever).
 *   3. body complete: call the route, send its response.
 *   on_completed: access log line, metrics, free.
 * A watchdog thread cuts connections whose headers do not arrive within
 * connection_timeout_s (see struct conn_watch). */
#include "enlarger/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "enlarger/log.h"
#include "enlarger/metrics.h"
#include "problem.h"

/* Used when an option is left at 0. */
#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_MAX_BODY (1024 * 1024)
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
	/* The header watchdog (see watchdog_main), under lock. */
	struct conn_watch *watch;
	pthread_t watchdog;
	int watchdog_started;
	int watchdog_stop;
	pthread_cond_t watchdog_wake;
};

/* One open connection, for the header watchdog: libmicrohttpd's timeout is an idle
 * timeout, so a client sending its request line and headers one byte a second would
 * hold a connection thread for as long as the header memory lasts. The watchdog cuts a
 * connection whose request has not got past its headers within connection_timeout_s
 * (of its opening, or of the end of its previous request). */
struct conn_watch {
	struct conn_watch *prev, *next;
	int fd;
	int in_request; /* headers are in; the body deadline and the route take over */
	int cut;
	struct timespec since;
};

struct query_arg {
	char *name;
	char *value;
};

/* One request: created at its first on_request call, freed in on_completed. */
struct conn_req {
	struct enl_server *s;
	struct MHD_Connection *c;
	struct timespec start;
	const struct enl_route *route;
	int answered;
	int too_big;
	int status; /* what was sent; 0 = nothing yet */
	size_t bytes_in, bytes_out;
	char method[16];
	char *path, *raw_path;
	struct query_arg *args;
	size_t n_args;
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

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- decoding ---------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes src into a new string (*out, free()). With plus_is_space, '+' is a
 * space (query strings). ENL_EINVAL for a bad escape or a NUL byte, encoded or not. */
static int pct_decode(const char *src, int plus_is_space, char **out)
{
	*out = NULL;
	size_t n = strlen(src);
	char *d = malloc(n + 1), *p = d;
	if (!d)
		return ENL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char ch = src[i];
		if (ch == '%') {
			int hi = i + 1 < n ? hexval(src[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(src[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(d);
				return ENL_EINVAL;
			}
			*p++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (ch == '+' && plus_is_space) {
			*p++ = ' ';
		} else {
			*p++ = ch;
		}
	}
	*p = 0;
	*out = d;
	return 0;
}

/* libmicrohttpd decodes the path and the query itself, which loses %00 and %2F before
 * we can see them; this keeps them raw so pct_decode can judge them. */
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
	struct conn_req *cr = a->cr;
	struct query_arg *grown = realloc(cr->args, (cr->n_args + 1) * sizeof(*cr->args));
	if (!grown) {
		a->rc = ENL_ENOMEM;
		return MHD_NO;
	}
	cr->args = grown;
	struct query_arg *q = &cr->args[cr->n_args];
	q->name = q->value = NULL;
	int rc = pct_decode(key ? key : "", 1, &q->name);
	if (rc == 0)
		rc = pct_decode(value ? value : "", 1, &q->value);
	cr->n_args++; /* counted even when half-filled, so the free path sees it */
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
	for (size_t i = 0; i < cr->n_args; i++)
		if (strcmp(cr->args[i].name, name) == 0)
			return cr->args[i].value;
	return NULL;
}

/* ---- request id, client address ------------------------------------------------ */

/* A caller's X-Request-Id is kept when it is short and made of safe characters, so
 * a request can be followed through CloudFront or EventBridge logs into ours. */
static int sane_request_id(const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n == 0 || n >= sizeof(((struct enl_req *)0)->request_id))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return 0;
	}
	return 1;
}

static void new_request_id(char *out, size_t cap)
{
	static atomic_uint_fast64_t fallback;
	unsigned char r[8];
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		uint64_t v = atomic_fetch_add(&fallback, 1) ^ (uint64_t)time(NULL) << 20;
		memcpy(r, &v, sizeof(r));
	}
	static const char hex[] = "0123456789abcdef";
	size_t j = 0;
	for (size_t i = 0; i < sizeof(r) && j + 2 < cap; i++) {
		out[j++] = hex[r[i] >> 4];
		out[j++] = hex[r[i] & 15];
	}
	out[j] = 0;
}

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

/* Problem bodies are built by routes that do not know the request id, and a route may
 * override the status (429): both are settled here, from the response itself. */
static void finish_problem(struct enl_resp *resp, const char *request_id)
{
	if (strncmp(resp->content_type, "application/problem+json", 24) != 0 || !resp->body.len)
		return;
	json_t *p = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
	if (json_is_object(p)) {
		json_object_set_new(p, "status", json_integer(resp->status));
		json_object_set_new(p, "requestId", json_string(request_id));
		char *text = json_dumps(p, JSON_COMPACT);
		if (text)
			enl_buf_adopt(&resp->body, text, strlen(text), free);
	}
	json_decref(p);
}

static int header_present(const struct enl_resp *resp, const char *name)
{
	for (int i = 0; i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return 1;
	return 0;
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

/* Sends resp (whose body it takes) and records what was sent for the access log. */
static enum MHD_Result send_resp(struct conn_req *cr, struct enl_resp *resp)
{
	if (resp->status < 100 || resp->status > 599) {
		enl_resp_free(resp);
		enl_resp_init(resp);
		enl_resp_problem(resp, ENL_EINTERNAL, "the route set no valid status");
	}
	finish_problem(resp, cr->request_id);
	if ((resp->status == 503 || resp->status == 429) && !header_present(resp, "Retry-After"))
		enl_resp_header(resp, "Retry-After", "1");

	struct MHD_Response *r;
	size_t len = 0;
	int is_head = strcmp(cr->method, "HEAD") == 0;
	/* The library computes Content-Length from the body, also for HEAD. A route that
	 * answers HEAD without producing the bytes (the size of a stored object) may set
	 * Content-Length itself; on any other answer that header is ignored. */
	unsigned long long own_length = 0;
	int has_own_length = is_head && resp->body.len == 0 && head_length(resp, &own_length) == 0;
	void (*free_fn)(void *) = resp->body.free_fn ? resp->body.free_fn : free;
	void *data = enl_buf_steal(&resp->body, &len);
	if (has_own_length) {
		if (data)
			free_fn(data);
		len = 0;
		r = MHD_create_response_from_callback(own_length, 4096, never_read, NULL, NULL);
	} else if (data && len) {
		r = MHD_create_response_from_buffer_with_free_callback(len, data, free_fn);
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

	cr->answered = 1;
	cr->status = resp->status;
	cr->bytes_out = is_head ? 0 : len;
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

/* ---- routing ------------------------------------------------------------------- */

static int path_matches(const struct enl_route *rt, const char *path)
{
	size_t n = strlen(rt->prefix);
	if (n && rt->prefix[n - 1] == '/')
		return strncmp(path, rt->prefix, n) == 0;
	return strcmp(path, rt->prefix) == 0;
}

static int method_matches(const struct enl_route *rt, const char *method)
{
	return strcmp(rt->method, method) == 0 ||
	       (strcmp(rt->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

/* Picks the route; 0, or 404 / 405 (with the methods the path allows in allow). */
static int find_route(struct conn_req *cr, char *allow, size_t cap)
{
	const struct enl_server_opts *o = &cr->s->o;
	int path_known = 0;
	allow[0] = 0;
	for (size_t i = 0; i < o->n_routes; i++) {
		const struct enl_route *rt = &o->routes[i];
		if (!path_matches(rt, cr->path))
			continue;
		if (method_matches(rt, cr->method)) {
			cr->route = rt;
			return 0;
		}
		path_known = 1;
		char m[32];
		snprintf(m, sizeof(m), "%s%s", rt->method,
		         strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
		if (!strstr(allow, m)) {
			size_t used = strlen(allow);
			snprintf(allow + used, cap - used, "%s%s", used ? ", " : "", m);
		}
	}
	return path_known ? 405 : 404;
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
	if (sane_request_id(rid))
		snprintf(cr->request_id, sizeof(cr->request_id), "%s", rid);
	else
		new_request_id(cr->request_id, sizeof(cr->request_id));
	client_ip(cr->c, cr->ip, sizeof(cr->ip));

	cr->raw_path = strdup(url);
	if (!cr->raw_path)
		return MHD_NO;
	int rc = pct_decode(url, 0, &cr->path);
	if (rc == ENL_ENOMEM)
		return MHD_NO;
	if (rc != 0)
		return refuse(cr, 400, enl_err_name(ENL_EINVAL), "Invalid request",
		              "the path has an invalid percent-encoding or a NUL byte");
	struct args_ctx a = {cr, 0};
	MHD_get_connection_values(cr->c, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	if (a.rc == ENL_ENOMEM)
		return MHD_NO;
	if (a.rc != 0)
		return refuse(cr, 400, enl_err_name(ENL_EINVAL), "Invalid request",
		              "the query has an invalid percent-encoding or a NUL byte");

	int st = find_route(cr, cr->allow, sizeof(cr->allow));
	if (st == 404)
		return refuse(cr, 404, enl_err_name(ENL_ENOTFOUND), "Not found", "no such route");
	if (st == 405)
		return refuse(cr, 405, "method-not-allowed", "Method not allowed",
		              "this path does not answer this method");

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

static enum MHD_Result run_route(struct conn_req *cr)
{
	struct enl_req req;
	memset(&req, 0, sizeof(req));
	req.method = cr->method;
	req.path = cr->path;
	req.raw_path = cr->raw_path;
	req.body = cr->body.len ? cr->body.data : NULL; /* enl_buf keeps a NUL after len */
	req.body_len = cr->body.len;
	snprintf(req.request_id, sizeof(req.request_id), "%s", cr->request_id);
	req.client_ip = cr->ip;
	req.ctx = cr->s->o.ctx;
	req.impl = cr;
	req.header = req_header;
	req.query = req_query;

	struct enl_resp resp;
	enl_resp_init(&resp);
	int rc = cr->route->fn(&req, &resp);
	if (resp.status == 0) {
		/* The route failed before writing an answer: the generic one for its error. */
		enl_resp_free(&resp);
		enl_resp_init(&resp);
		enl_resp_problem(&resp, rc ? rc : ENL_EINTERNAL, NULL);
		if (!rc)
			snprintf(resp.log_error, sizeof(resp.log_error), "route set no response");
	}
	return send_resp(cr, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct enl_server *s = cls;
	struct conn_req *cr = *con_cls;
	if (!cr) {
		cr = calloc(1, sizeof(*cr));
		if (!cr)
			return MHD_NO;
		cr->s = s;
		cr->c = c;
		clock_gettime(CLOCK_MONOTONIC, &cr->start);
		enl_buf_init(&cr->body, 1);
		*con_cls = cr;
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		pthread_mutex_lock(&s->lock);
		s->in_flight++;
		if (ci && ci->socket_context)
			((struct conn_watch *)ci->socket_context)->in_request = 1;
		pthread_mutex_unlock(&s->lock);
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
		if (seconds_since(&cr->start) > (double)s->timeout_s) {
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

static json_t *json_str_safe(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	/* Not UTF-8 (a hostile key): keep the ASCII, mark the rest. */
	char clean[512];
	size_t k = 0;
	for (; *s && k + 1 < sizeof(clean); s++)
		clean[k++] = ((unsigned char)*s < 0x80) ? *s : '?';
	clean[k] = 0;
	return json_string(clean);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct enl_server *s = cls;
	struct conn_req *cr = *con_cls;
	if (!cr)
		return;
	*con_cls = NULL;
	double secs = seconds_since(&cr->start);
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
		error = "connection closed before the response was sent";
	}

	const char *route = cr->route ? cr->route->name : "unmatched";
	enl_metrics_request(route, status, secs, cr->bytes_in, cr->bytes_out);
	if (enl_log_enabled(ENL_LOG_INFO)) {
		json_t *f = json_object();
		json_object_set_new(f, "requestId", json_string(cr->request_id));
		json_object_set_new(f, "method", json_str_safe(cr->method));
		json_object_set_new(f, "route", json_string(route));
		json_object_set_new(f, "status", json_integer(status));
		json_object_set_new(f, "durationMs",
		                    json_real((double)(long long)(secs * 1e6) / 1000));
		json_object_set_new(f, "bytesIn", json_integer((json_int_t)cr->bytes_in));
		json_object_set_new(f, "bytesOut", json_integer((json_int_t)cr->bytes_out));
		if (cr->log_key[0])
			json_object_set_new(f, "key", json_str_safe(cr->log_key));
		if (error)
			json_object_set_new(f, "error", json_str_safe(error));
		enl_log_json(ENL_LOG_INFO, "request", f);
	}

	enl_buf_free(&cr->body);
	for (size_t i = 0; i < cr->n_args; i++) {
		free(cr->args[i].name);
		free(cr->args[i].value);
	}
	free(cr->args);
	free(cr->path);
	free(cr->raw_path);
	free(cr);

	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	pthread_mutex_lock(&s->lock);
	if (ci && ci->socket_context) {
		struct conn_watch *w = ci->socket_context;
		w->in_request = 0; /* the next request's headers are timed from now */
		clock_gettime(CLOCK_MONOTONIC, &w->since);
	}
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
		struct conn_watch *w = calloc(1, sizeof(*w));
		if (!w || !ci) {
			free(w); /* unwatched: only the idle timeout applies */
			return;
		}
		w->fd = ci->connect_fd;
		clock_gettime(CLOCK_MONOTONIC, &w->since);
		pthread_mutex_lock(&s->lock);
		w->next = s->watch;
		if (s->watch)
			s->watch->prev = w;
		s->watch = w;
		pthread_mutex_unlock(&s->lock);
		*socket_context = w;
		return;
	}
	/* Closed: called before the library closes the socket, so while an entry is in
	 * the list under the lock, its fd is still this connection's. */
	struct conn_watch *w = *socket_context;
	if (!w)
		return;
	pthread_mutex_lock(&s->lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		s->watch = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&s->lock);
	free(w);
	*socket_context = NULL;
}

static void *watchdog_main(void *arg)
{
	struct enl_server *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->watchdog_stop) {
		struct timespec now, next;
		clock_gettime(CLOCK_MONOTONIC, &now);
		unsigned cut = 0;
		for (struct conn_watch *w = s->watch; w; w = w->next) {
			double waited = (double)(now.tv_sec - w->since.tv_sec) +
			                (double)(now.tv_nsec - w->since.tv_nsec) / 1e9;
			if (!w->in_request && !w->cut && waited > (double)s->timeout_s) {
				/* The connection thread sees end-of-file and closes it. */
				shutdown(w->fd, SHUT_RDWR);
				w->cut = 1;
				cut++;
			}
		}
		if (cut)
			enl_logf(ENL_LOG_INFO,
			         "cut %u connection(s) whose request headers did not arrive "
			         "within %us",
			         cut, s->timeout_s);
		next = now;
		next.tv_nsec += 200 * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->watchdog_wake, &s->lock, &next);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	json_t *f = json_object();
	json_object_set_new(f, "detail", json_str_safe(msg));
	enl_log_json(ENL_LOG_WARN, "microhttpd", f);
}

/* ---- start and stop ------------------------------------------------------------ */

/* "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 = any free port. */
static int parse_listen(const char *listen, struct sockaddr_storage *out, socklen_t *len_out,
                        struct enl_errmsg *e)
{
	char host[128], port[8];
	const char *colon;
	if (!listen || !*listen)
		return enl_fail(e, ENL_EINVAL, "listen address is empty");
	if (listen[0] == '[') {
		const char *close_br = strchr(listen, ']');
		if (!close_br || close_br[1] != ':' ||
		    (size_t)(close_br - listen - 1) >= sizeof(host))
			return enl_fail(e, ENL_EINVAL, "listen address must be [ipv6]:port");
		memcpy(host, listen + 1, (size_t)(close_br - listen - 1));
		host[close_br - listen - 1] = 0;
		colon = close_br + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || strchr(listen, ':') != colon ||
		    (size_t)(colon - listen) >= sizeof(host))
			return enl_fail(e, ENL_EINVAL, "listen address must be host:port");
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = 0;
	}
	size_t plen = strlen(colon + 1);
	if (plen == 0 || plen >= sizeof(port) || strspn(colon + 1, "0123456789") != plen)
		return enl_fail(e, ENL_EINVAL, "listen port must be a number");
	memcpy(port, colon + 1, plen + 1);
	if (strtoul(port, NULL, 10) > 65535)
		return enl_fail(e, ENL_EINVAL, "listen port must be at most 65535");

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai != 0 || !res)
		return enl_fail(e, ENL_EINVAL, "listen host cannot be resolved");
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len_out = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int enl_server_start(const struct enl_server_opts *o, struct enl_server **out, struct enl_errmsg *e)
{
	*out = NULL;
	int rc = 0;
	struct sockaddr_storage addr;
	socklen_t addr_len = 0;
	if ((rc = parse_listen(o->listen, &addr, &addr_len, e)) != 0)
		return rc;

	struct enl_server *s = calloc(1, sizeof(*s));
	if (!s)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	s->o = *o;
	s->timeout_s = o->connection_timeout_s ? o->connection_timeout_s : DEFAULT_TIMEOUT_S;
	s->max_body = o->max_body_bytes ? o->max_body_bytes : DEFAULT_MAX_BODY;
	unsigned max_conn = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->idle, &ca);
	pthread_cond_init(&s->watchdog_wake, &ca);
	pthread_condattr_destroy(&ca);

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	                 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger goes first so that every message of the start-up reaches our log. */
	/* clang-format off */
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_s,
		MHD_OPTION_CONNECTION_LIMIT, max_conn,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_connections,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)LISTEN_BACKLOG,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
		MHD_OPTION_END);
	/* clang-format on */
	if (!s->d) {
		rc = enl_fail(e, ENL_EIO, "cannot listen on %s (in use, or not an address here)",
		              o->listen);
		goto done;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	if (pthread_create(&s->watchdog, NULL, watchdog_main, s) != 0) {
		MHD_stop_daemon(s->d);
		rc = enl_fail(e, ENL_EINTERNAL, "cannot start the connection watchdog");
		goto done;
	}
	s->watchdog_started = 1;
	*out = s;
	s = NULL;
done:
	if (s) {
		pthread_cond_destroy(&s->watchdog_wake);
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

	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	if (deadline_ms > 0) {
		until.tv_sec += deadline_ms / 1000;
		until.tv_nsec += (long)(deadline_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
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
	if (s->watchdog_started) {
		pthread_mutex_lock(&s->lock);
		s->watchdog_stop = 1;
		pthread_cond_signal(&s->watchdog_wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->watchdog, NULL);
	}
	pthread_cond_destroy(&s->watchdog_wake);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
