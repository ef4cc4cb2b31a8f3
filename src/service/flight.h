/* Private to src/service/: the render answers in flight and in memory.
 *
 * Single-flight: the first caller for a cache key (the leader) fetches or renders the
 * variant; callers that arrive while it works wait on a condition variable and get a
 * reference to its bytes (or its error), never a copy.
 *
 * Kept answers: bytes an answer holds in memory (a variant read from S3, or one just
 * rendered) are shared (include/enlarger/body.h) and listed under their cache key for as
 * long as any answer still holds them, so every request for that variant meanwhile, a
 * slow reader's or not, sends the same buffer. Their sum is counted against a cap: what
 * a client can make the server hold is bounded, whatever it reads and however slowly. */
#ifndef ENLARGER_SERVICE_FLIGHT_H
#define ENLARGER_SERVICE_FLIGHT_H

#include <stddef.h>

#include "enlarger/body.h"
#include "enlarger/buf.h"
#include "enlarger/err.h"

struct enl_flights;
struct enl_flight;

/* memory_cap: the most bytes kept answers may hold (0: no cap). 0 or ENL_ENOMEM. *out
 * freed with enl_flights_free (no flight may be open, no kept answer held). */
int enl_flights_new(size_t memory_cap, struct enl_flights **out);
void enl_flights_free(struct enl_flights *fs);

/* ---- kept answers ---- */

/* A new reference to the bytes kept for key, or NULL when no answer holds them. */
struct enl_shared *enl_flights_find(struct enl_flights *fs, const char *key);
/* Whether the kept answers are at the cap, so a new one would be refused: checked before
 * reading a variant that would then be refused. */
int enl_flights_full(struct enl_flights *fs);
/* Keeps bytes (taken: left empty) as the answer for key, counted against the cap and
 * found by enl_flights_find until the last reference goes (key NULL: counted, never
 * found). force: counted even past the
 * cap (bytes a render already made: sharing them adds nothing). 0 with *out (one
 * reference, the caller's), ENL_EBUSY past the cap or ENL_ENOMEM (bytes freed). */
int enl_flights_keep(struct enl_flights *fs, const char *key, struct enl_buf *bytes, int force,
                     struct enl_shared **out);
/* Bytes kept now (the gauge). */
size_t enl_flights_memory(struct enl_flights *fs);

/* ---- single-flight ---- */

/* Joins the flight for key, creating it when there is none: *leader is 1 for the
 * creator, who must call enl_flight_finish. Every joiner calls enl_flight_leave.
 * NULL on ENL_ENOMEM. */
struct enl_flight *enl_flight_join(struct enl_flights *fs, const char *key, int *leader);
/* The leader's result: rc, its error text, and its bytes (borrowed: the flight takes a
 * reference of its own for the waiters; NULL with an error) and whether they came from
 * the cache. Removes the flight from the map so later callers start afresh. */
void enl_flight_finish(struct enl_flights *fs, struct enl_flight *f, int rc,
                       const struct enl_errmsg *err, struct enl_shared *bytes, int cache_hit);
/* A waiter blocks until the leader finishes; returns its rc, fills e, and on success sets
 * *out to a new reference to its bytes and *cache_hit. */
int enl_flight_wait(struct enl_flights *fs, struct enl_flight *f, struct enl_shared **out,
                    int *cache_hit, struct enl_errmsg *e);
/* Drops the caller's reference; the last one frees the flight. */
void enl_flight_leave(struct enl_flights *fs, struct enl_flight *f);

/* Number of flights in the map (tests). */
size_t enl_flights_count(struct enl_flights *fs);

#endif
