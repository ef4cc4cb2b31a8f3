/* The bounded image-work pool: at most `jobs` image jobs run at once, at most
 * `queue_depth` more wait (first come, first served), and an optional memory budget
 * keeps the sum of the running jobs' estimated costs under a number of bytes.
 *
 * The work runs on the caller's thread (a connection thread of the HTTP server, the
 * folder watcher, the CLI): the gate only decides when it may start. A full queue
 * answers at once, so the HTTP layer can reply 503 with Retry-After instead of letting
 * requests pile up behind work they would time out waiting for. */
#ifndef ENLARGER_JOBGATE_H
#define ENLARGER_JOBGATE_H

#include <stddef.h>
#include <stdint.h>

struct enl_jobgate_opts {
	unsigned jobs;        /* concurrent jobs; 0 = the number of online CPUs */
	unsigned queue_depth; /* callers that may wait; 0 = none (busy when all run) */
	size_t memory_budget; /* bytes; 0 = no budget. A job whose cost alone passes the
	                         budget still runs, but only when nothing else does. */
};

struct enl_jobgate_stats {
	unsigned jobs; /* the limit in force */
	unsigned running;
	unsigned queued;
	size_t memory_in_use; /* sum of the running jobs' costs */
	uint64_t admitted;
	uint64_t rejected_full;    /* queue was full */
	uint64_t rejected_timeout; /* waited timeout_ms in the queue */
	double mean_job_ms;        /* running mean of the slot hold time; 0 before any */
};

struct enl_jobgate;

/* 0, ENL_ENOMEM or ENL_EINTERNAL. *out is freed with enl_jobgate_free. */
int enl_jobgate_new(const struct enl_jobgate_opts *o, struct enl_jobgate **out);
/* No caller may be inside or waiting. NULL is fine. */
void enl_jobgate_free(struct enl_jobgate *g);

/* Waits for a slot for a job of an estimated cost in bytes (e.g. width * height * bands
 * of the decoded image; 0 when unknown), counted against memory_budget, up to
 * timeout_ms (< 0 = no limit, 0 = do not wait). 0 when the job may start (then call
 * enl_jobgate_leave_cost exactly once, with the same cost), or ENL_EBUSY at once when
 * the queue is full, or ENL_EBUSY after timeout_ms in the queue. */
int enl_jobgate_enter_cost(struct enl_jobgate *g, size_t cost, int timeout_ms);
void enl_jobgate_leave_cost(struct enl_jobgate *g, size_t cost);

/* An admitted job's cost changes from `from` to `to` (e.g. once the original is read and
 * its header known). Never waits, so two running jobs cannot deadlock growing: 0 when the
 * new cost fits the budget beside the other running jobs (always when it shrinks or runs
 * alone; waiters may then be admitted), else ENL_EBUSY and the cost stays `from`. */
int enl_jobgate_resize(struct enl_jobgate *g, size_t from, size_t to);

void enl_jobgate_stats(struct enl_jobgate *g, struct enl_jobgate_stats *out);

/* Tells the gate how long a job held its slot (ms, from admission to leaving), for the
 * running mean the wait estimate uses. */
void enl_jobgate_job_time(struct enl_jobgate *g, int64_t held_ms);

/* How long a job asking now would likely wait for a slot (ms): the jobs queued ahead and
 * itself, served by the jobs running now, each lasting the running mean of job time. 0
 * while no job has finished (no mean yet). What Retry-After says on a busy answer. */
int64_t enl_jobgate_wait_ms(struct enl_jobgate *g);

/* Registers the gauges ENL_METRIC_JOBS_RUNNING, ENL_METRIC_JOBS_QUEUED and
 * ENL_METRIC_JOBS_MEMORY (include/enlarger/metrics.h) for this gate; enl_jobgate_free
 * removes them. 0 or an error from enl_metrics_gauge. */
int enl_jobgate_export_metrics(struct enl_jobgate *g);

#endif
