/* A claim's heartbeat: while a /process job works, a thread of its own renews the
 * claim's lease (enl_table_renew) every third of ENLARGER_LEASE_MS, so the lease can be
 * short (a dead process's claim is taken over soon) and still never run out under a job
 * that is working, however slow the photo or the stores. */
#ifndef ENLARGER_SERVICE_LEASE_H
#define ENLARGER_SERVICE_LEASE_H

#include <pthread.h>
#include <stdint.h>

#include "enlarger/table.h"

struct enl_lease {
	struct enl_table *table; /* borrowed */
	const char *photo_id;    /* borrowed: outlive enl_lease_stop */
	const char *attempt;
	int64_t lease_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, stop;
	int lost; /* the claim is no longer this attempt's (taken over or released) */
};

/* Starts renewing attempt's claim of photo_id. Never fails the job: when no thread can
 * be had, the claim keeps the lease it was given (logged). */
void enl_lease_start(struct enl_lease *l, struct enl_table *table, const char *photo_id,
                     const char *attempt, int64_t lease_ms);

/* Stops the renewals and waits for a renewal under way. Safe to call twice, and on a
 * zeroed struct that was never started. */
void enl_lease_stop(struct enl_lease *l);

#endif
