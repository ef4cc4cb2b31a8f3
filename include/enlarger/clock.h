/* Time: the wall clock as the photo items and the logs write it, and the monotonic clock
 * that durations and deadlines are measured on. */
#ifndef ENLARGER_CLOCK_H
#define ENLARGER_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t enl_wall_ms(void);

/* ms as UTC ISO 8601 with milliseconds, "2024-05-01T12:00:00.123Z", in out. */
void enl_iso8601_ms(int64_t ms, char out[32]);

/* Milliseconds on CLOCK_MONOTONIC: for durations, never a date. */
int64_t enl_mono_ms(void);

/* CLOCK_MONOTONIC now plus ms (now for ms <= 0): the absolute deadline that
 * pthread_cond_timedwait takes on a condition created with that clock. */
struct timespec enl_mono_deadline(long ms);

#endif
