/* What a finished request leaves behind: its count in the request metrics and its
 * access log line; and libmicrohttpd's own messages as log lines. */
#include "server_internal.h"

#include <stdio.h>
#include <string.h>

#include "enlarger/log.h"
#include "enlarger/metrics.h"

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

void enl_http_request_done(const struct enl_http_done *d)
{
	enl_metrics_request(d->route, d->status, d->seconds, d->bytes_in, d->bytes_out);
	if (enl_log_enabled(ENL_LOG_INFO)) {
		json_t *f = json_object();
		json_object_set_new(f, "requestId", json_string(d->request_id));
		json_object_set_new(f, "method", json_str_safe(d->method));
		json_object_set_new(f, "route", json_string(d->route));
		json_object_set_new(f, "status", json_integer(d->status));
		json_object_set_new(f, "durationMs",
		                    json_real((double)(long long)(d->seconds * 1e6) / 1000));
		json_object_set_new(f, "bytesIn", json_integer((json_int_t)d->bytes_in));
		json_object_set_new(f, "bytesOut", json_integer((json_int_t)d->bytes_out));
		if (d->key && d->key[0])
			json_object_set_new(f, "key", json_str_safe(d->key));
		if (d->error)
			json_object_set_new(f, "error", json_str_safe(d->error));
		enl_log_json(ENL_LOG_INFO, "request", f);
	}
}

void enl_http_log_library(void *cls, const char *fmt, va_list ap)
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
