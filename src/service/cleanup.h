/* Private to src/service/: the background cleanup of a photo's old objects after a
 * replacement or a delete (the sweeps of sweep.h, then the CDN invalidation), off the
 * request path. Bounded: ENLARGER_CLEANUP_JOBS workers, at most one cleanup of a photo (or
 * an original) at a time, and ENLARGER_CLEANUP_QUEUE_DEPTH tasks waiting; past it a task
 * is dropped and logged (the render bucket's lifecycle rule is the backstop for variants;
 * a dropped task's old mezzanine stays, docs/keys.md). A failed
 * step is tried again later, a few times, with backoff. */
#ifndef ENLARGER_SERVICE_CLEANUP_H
#define ENLARGER_SERVICE_CLEANUP_H

#include "enlarger/service.h"

/* What a task does, in this order. */
enum {
	ENL_CLEANUP_DERIVATIVES = 1, /* enl_sweep_derivatives of the photo id */
	ENL_CLEANUP_RENDERS = 2,     /* enl_sweep_renders of the original key */
	ENL_CLEANUP_INVALIDATE = 4,  /* one CDN invalidation of the photo's paths (when set up) */
};

struct enl_cleanup;

/* 0 or ENL_ENOMEM. No thread starts until the first task. */
int enl_cleanup_new(struct enl_cleanup **out, unsigned workers, unsigned queue_max);

/* Queues `what` for photo_id and/or key (either may be NULL when `what` does not need
 * it). A task of the same photo and key that is still waiting takes the new steps
 * instead. Never blocks. 0, or ENL_EBUSY when the queue is full (the task is dropped and
 * logged), or ENL_ENOMEM. */
int enl_cleanup_enqueue(struct enl_app *app, const char *photo_id, const char *key, unsigned what);

/* Waits, for up to deadline_ms, until no task runs and none waiting is ready (a task
 * waiting for its backoff does not count): for a door whose process is frozen between
 * requests (Lambda), so that a cleanup is not left half done in a frozen process. Keeps
 * taking tasks. 1 when settled, 0 when the deadline came first. */
int enl_cleanup_settle(struct enl_cleanup *c, int deadline_ms);

/* Stops taking tasks, lets the workers finish what is queued and ready for up to
 * deadline_ms, then drops the rest (logged) and joins them. */
void enl_cleanup_stop(struct enl_cleanup *c, int deadline_ms);
void enl_cleanup_free(struct enl_cleanup *c);

/* Registers the queue and counters with the metrics (NULL c: removes them). */
void enl_cleanup_register_metrics(struct enl_cleanup *c);

#endif
