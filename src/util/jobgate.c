/* A counting gate with a FIFO of waiters, each with its own condition variable: the
 * thread that frees a slot hands it to the head waiter directly, so no wakeup is lost,
 * no waiter is overtaken by a newcomer, and nobody wakes just to sleep again. */
#include "enlarger/jobgate.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "enlarger/clock.h"
#include "enlarger/err.h"
#include "enlarger/metrics.h"

struct waiter {
	struct waiter *next;
	size_t cost;
	int admitted;
	pthread_cond_t cond;
};

struct enl_jobgate {
	pthread_mutex_t lock;
	pthread_condattr_t cond_attr; /* CLOCK_MONOTONIC, for the waiters' timeouts */
	unsigned jobs, queue_depth;
	size_t budget;
	unsigned running, queued;
	size_t mem;
	struct waiter *head, *tail;
	uint64_t admitted, rejected_full, rejected_timeout;
	double mean_job_ms; /* exponentially weighted: recent jobs count most */
	int exported;
};

int enl_jobgate_new(const struct enl_jobgate_opts *o, struct enl_jobgate **out)
{
	*out = NULL;
	struct enl_jobgate *g = calloc(1, sizeof(*g));
	if (!g)
		return ENL_ENOMEM;
	g->jobs = o->jobs;
	if (!g->jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		g->jobs = n > 0 ? (unsigned)n : 1;
	}
	g->queue_depth = o->queue_depth;
	g->budget = o->memory_budget;
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		free(g);
		return ENL_EINTERNAL;
	}
	if (pthread_condattr_init(&g->cond_attr) != 0 ||
	    pthread_condattr_setclock(&g->cond_attr, CLOCK_MONOTONIC) != 0) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return ENL_EINTERNAL;
	}
	*out = g;
	return 0;
}

void enl_jobgate_free(struct enl_jobgate *g)
{
	if (!g)
		return;
	if (g->exported) {
		enl_metrics_gauge(ENL_METRIC_JOBS_RUNNING, NULL, NULL, NULL);
		enl_metrics_gauge(ENL_METRIC_JOBS_QUEUED, NULL, NULL, NULL);
		enl_metrics_gauge(ENL_METRIC_JOBS_MEMORY, NULL, NULL, NULL);
	}
	pthread_condattr_destroy(&g->cond_attr);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* Called with lock held. */
static int fits(const struct enl_jobgate *g, size_t cost)
{
	if (g->running >= g->jobs)
		return 0;
	if (!g->budget || g->running == 0)
		return 1;
	return g->mem <= g->budget && cost <= g->budget - g->mem;
}

/* Called with lock held: hands free slots to waiters in arrival order. The head blocks
 * those behind it even when a smaller one would fit, so a large job is not starved. */
static void dispatch(struct enl_jobgate *g)
{
	while (g->head && fits(g, g->head->cost)) {
		struct waiter *w = g->head;
		g->head = w->next;
		if (!g->head)
			g->tail = NULL;
		g->queued--;
		g->running++;
		g->mem += w->cost;
		g->admitted++;
		w->admitted = 1;
		pthread_cond_signal(&w->cond);
	}
}

static void unlink_waiter(struct enl_jobgate *g, struct waiter *w)
{
	struct waiter **p = &g->head, *prev = NULL;
	while (*p && *p != w) {
		prev = *p;
		p = &(*p)->next;
	}
	if (!*p)
		return;
	*p = w->next;
	if (g->tail == w)
		g->tail = prev;
	g->queued--;
}

int enl_jobgate_enter_cost(struct enl_jobgate *g, size_t cost, int timeout_ms)
{
	int rc = 0;
	struct waiter w = {.cost = cost};
	pthread_mutex_lock(&g->lock);
	if (!g->head && fits(g, cost)) {
		g->running++;
		g->mem += cost;
		g->admitted++;
		goto done;
	}
	if (g->queued >= g->queue_depth || timeout_ms == 0) {
		g->rejected_full++;
		rc = ENL_EBUSY;
		goto done;
	}
	struct timespec deadline = enl_mono_deadline(timeout_ms);
	pthread_cond_init(&w.cond, &g->cond_attr);
	if (g->tail)
		g->tail->next = &w;
	else
		g->head = &w;
	g->tail = &w;
	g->queued++;
	while (!w.admitted) {
		int e = timeout_ms < 0 ? pthread_cond_wait(&w.cond, &g->lock)
		                       : pthread_cond_timedwait(&w.cond, &g->lock, &deadline);
		if (e == ETIMEDOUT && !w.admitted) {
			int was_head = g->head == &w;
			unlink_waiter(g, &w);
			if (was_head)
				dispatch(g); /* the next one may fit where this one did not */
			g->rejected_timeout++;
			rc = ENL_EBUSY;
			break;
		}
	}
	pthread_cond_destroy(&w.cond);
done:
	pthread_mutex_unlock(&g->lock);
	return rc;
}

void enl_jobgate_leave_cost(struct enl_jobgate *g, size_t cost)
{
	pthread_mutex_lock(&g->lock);
	if (g->running)
		g->running--;
	g->mem = g->mem >= cost ? g->mem - cost : 0;
	dispatch(g);
	pthread_mutex_unlock(&g->lock);
}

int enl_jobgate_resize(struct enl_jobgate *g, size_t from, size_t to)
{
	int rc = 0;
	pthread_mutex_lock(&g->lock);
	size_t others = g->mem >= from ? g->mem - from : 0;
	if (to > from && g->budget && g->running > 1 &&
	    (others > g->budget || to > g->budget - others)) {
		rc = ENL_EBUSY;
		goto done;
	}
	g->mem = others + to;
	dispatch(g);
done:
	pthread_mutex_unlock(&g->lock);
	return rc;
}

void enl_jobgate_stats(struct enl_jobgate *g, struct enl_jobgate_stats *out)
{
	pthread_mutex_lock(&g->lock);
	out->jobs = g->jobs;
	out->running = g->running;
	out->queued = g->queued;
	out->memory_in_use = g->mem;
	out->admitted = g->admitted;
	out->rejected_full = g->rejected_full;
	out->rejected_timeout = g->rejected_timeout;
	out->mean_job_ms = g->mean_job_ms;
	pthread_mutex_unlock(&g->lock);
}

/* The weight of the newest job in the mean: about the last ten jobs count, so the
 * estimate follows a change of image sizes within a burst. */
#define JOB_TIME_WEIGHT 0.2

void enl_jobgate_job_time(struct enl_jobgate *g, int64_t held_ms)
{
	double ms = held_ms > 0 ? (double)held_ms : 0;
	pthread_mutex_lock(&g->lock);
	g->mean_job_ms = g->mean_job_ms > 0
	                     ? g->mean_job_ms + JOB_TIME_WEIGHT * (ms - g->mean_job_ms)
	                     : (ms > 0 ? ms : 1);
	pthread_mutex_unlock(&g->lock);
}

int64_t enl_jobgate_wait_ms(struct enl_jobgate *g)
{
	pthread_mutex_lock(&g->lock);
	/* The memory budget may let fewer than `jobs` run: those running are the servers. */
	unsigned servers = g->running ? g->running : 1;
	double ms = g->mean_job_ms * (double)(g->queued + 1) / (double)servers;
	pthread_mutex_unlock(&g->lock);
	return (int64_t)ms;
}

static double gauge_running(void *ctx)
{
	struct enl_jobgate_stats s;
	enl_jobgate_stats(ctx, &s);
	return s.running;
}

static double gauge_queued(void *ctx)
{
	struct enl_jobgate_stats s;
	enl_jobgate_stats(ctx, &s);
	return s.queued;
}

static double gauge_memory(void *ctx)
{
	struct enl_jobgate_stats s;
	enl_jobgate_stats(ctx, &s);
	return (double)s.memory_in_use;
}

int enl_jobgate_export_metrics(struct enl_jobgate *g)
{
	int rc;
	if ((rc = enl_metrics_gauge(ENL_METRIC_JOBS_RUNNING, "Image jobs running now.",
	                            gauge_running, g)) != 0)
		return rc;
	if ((rc = enl_metrics_gauge(ENL_METRIC_JOBS_QUEUED, "Image jobs waiting for a slot.",
	                            gauge_queued, g)) != 0)
		return rc;
	if ((rc = enl_metrics_gauge(ENL_METRIC_JOBS_MEMORY,
	                            "Estimated bytes held by running image jobs.", gauge_memory,
	                            g)) != 0)
		return rc;
	g->exported = 1;
	return 0;
}
