/* JSON-lines logging on stderr. */
#include "enlarger/log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "enlarger/clock.h"

static enum enl_log_level min_level = ENL_LOG_INFO;
static __thread char request_id[48];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* The fields every line carries (enl_log_context_set): read under context_lock, and
 * only when context_set says there are any, so the server's lines never take it. */
static json_t *context;
static pthread_mutex_t context_lock = PTHREAD_MUTEX_INITIALIZER;
static int context_set;

static const char *level_name[] = {"debug", "info", "warn", "error"};

void enl_log_set_request_id(const char *id)
{
	if (id != request_id)
		snprintf(request_id, sizeof(request_id), "%s", id ? id : "");
}

const char *enl_log_request_id(void)
{
	return request_id;
}

void enl_log_set_level(enum enl_log_level level)
{
	min_level = level;
}

int enl_log_enabled(enum enl_log_level level)
{
	return level >= min_level;
}

void enl_log_json(enum enl_log_level level, const char *msg, json_t *fields)
{
	if (!enl_log_enabled(level)) {
		json_decref(fields);
		return;
	}
	json_t *line = json_object();
	char stamp[32];
	enl_iso8601_ms(enl_wall_ms(), stamp);
	json_object_set_new(line, "ts", json_string(stamp));
	json_object_set_new(line, "level", json_string(level_name[level]));
	if (msg)
		json_object_set_new(line, "msg", json_string(msg));
	if (request_id[0])
		json_object_set_new(line, "requestId", json_string(request_id));
	if (fields)
		json_object_update(line, fields);
	json_decref(fields);
	if (__atomic_load_n(&context_set, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&context_lock);
		if (context)
			json_object_update_missing(line, context);
		pthread_mutex_unlock(&context_lock);
	}

	char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
	json_decref(line);
	if (!text)
		return;
	/* One write(2) per line, and no lock for a line of up to PIPE_BUF bytes: such a
	 * write is atomic on a pipe, and on a file Linux serialises the writes of one
	 * open file. A lock (ours or stdio's) held across the write made the access lines
	 * of busy connections queue behind each other (bench/profile.md). Longer lines
	 * (rare) take the lock among themselves. */
	size_t n = strlen(text);
	char *l = realloc(text, n + 2);
	if (!l) {
		pthread_mutex_lock(&log_lock);
		fprintf(stderr, "%s\n", text);
		pthread_mutex_unlock(&log_lock);
		free(text);
		return;
	}
	l[n++] = '\n';
	int locked = n > PIPE_BUF;
	if (locked)
		pthread_mutex_lock(&log_lock);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(STDERR_FILENO, l + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere to log to */
		off += (size_t)w;
	}
	if (locked)
		pthread_mutex_unlock(&log_lock);
	free(l);
}

void enl_log_context_set(const char *name, const char *value)
{
	pthread_mutex_lock(&context_lock);
	if (!context)
		context = json_object();
	if (context && value)
		json_object_set_new(context, name, json_string(value));
	else if (context)
		json_object_del(context, name);
	int n = context ? (int)json_object_size(context) : 0;
	if (n == 0) {
		json_decref(context);
		context = NULL;
	}
	__atomic_store_n(&context_set, n > 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&context_lock);
}

void enl_logf_(enum enl_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	enl_log_json(level, msg, NULL);
}
