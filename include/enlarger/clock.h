/* Wall-clock time as the photo items and the logs write it. */
#ifndef ENLARGER_CLOCK_H
#define ENLARGER_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t enl_wall_ms(void);

/* ms as UTC ISO 8601 with milliseconds, "2024-05-01T12:00:00.123Z", in out. */
void enl_iso8601_ms(int64_t ms, char out[32]);

#endif
