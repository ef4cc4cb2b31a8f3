/* Structured logs: one JSON object per line on stderr, for CloudWatch and jq. */
#ifndef ENLARGER_LOG_H
#define ENLARGER_LOG_H

#include <jansson.h>

enum enl_log_level { ENL_LOG_DEBUG, ENL_LOG_INFO, ENL_LOG_WARN, ENL_LOG_ERROR };

/* The id of the request this thread works for, added as "requestId" to every line the
 * thread logs (unless the line has its own), so a backend's failure, logged deep down
 * with its codes and endpoints, can be found from the id in the client's problem body.
 * NULL or "" clears it. A thread that works for a request on another thread's behalf
 * copies it (enl_log_request_id). */
void enl_log_set_request_id(const char *request_id);
/* This thread's request id, "" when none. Borrowed: valid until the thread sets another. */
const char *enl_log_request_id(void);

void enl_log_set_level(enum enl_log_level level);
int enl_log_enabled(enum enl_log_level level);

/* Writes fields plus "ts" and "level" as one line. Steals fields (may be NULL).
 * Never put a request body, credential or signature in fields. */
void enl_log_json(enum enl_log_level level, const char *msg, json_t *fields);

/* Adds "name": value to every line any thread writes from now on (a line's own field of
 * that name wins), until set again or removed (value NULL). For a door that runs one
 * request at a time: the Lambda door's request and trace ids, which the lines of the
 * service's helper threads then carry too. value is copied; one that is not UTF-8 is
 * dropped. */
void enl_log_context_set(const char *name, const char *value);

void enl_logf_(enum enl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checks the level before formatting, like valkey's serverLog. */
#define enl_logf(level, ...)                                                                       \
	do {                                                                                       \
		if (enl_log_enabled(level))                                                        \
			enl_logf_((level), __VA_ARGS__);                                           \
	} while (0)

#endif
