/* Private to src/service/: single-flight for render-cache misses. The first caller
 * for a cache key renders; callers that arrive while it runs wait on a condition
 * variable and get a copy of its bytes (or its error). */
#ifndef ENLARGER_SERVICE_FLIGHT_H
#define ENLARGER_SERVICE_FLIGHT_H

#include <stddef.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"

struct enl_flights;
struct enl_flight;

/* 0 or ENL_ENOMEM. *out freed with enl_flights_free (no flight may be open). */
int enl_flights_new(struct enl_flights **out);
void enl_flights_free(struct enl_flights *fs);

/* Joins the flight for key, creating it when there is none: *leader is 1 for the
 * creator, who must call enl_flight_finish. Every joiner calls enl_flight_leave.
 * NULL on ENL_ENOMEM. */
struct enl_flight *enl_flight_join(struct enl_flights *fs, const char *key, int *leader);
/* The leader's result: rc, its error text, and the bytes (copied for the waiters).
 * Removes the flight from the map so later callers start afresh. */
void enl_flight_finish(struct enl_flights *fs, struct enl_flight *f, int rc,
                       const struct enl_errmsg *err, const void *data, size_t len);
/* A waiter blocks until the leader finishes; returns its rc, fills e and copies its
 * bytes into out (initialised here). */
int enl_flight_wait(struct enl_flights *fs, struct enl_flight *f, struct enl_buf *out,
                    struct enl_errmsg *e);
/* Drops the caller's reference; the last one frees the flight. */
void enl_flight_leave(struct enl_flights *fs, struct enl_flight *f);

/* Number of flights in the map (tests). */
size_t enl_flights_count(struct enl_flights *fs);

#endif
