/* The background cleanup worker (cleanup.h): a bounded queue of tasks, a few threads, one
 * task per photo at a time, retries with backoff. What a task deletes is decided by the
 * sweeps (sweep.c), which are safe to run at any time; so a lost task (a crash, a full
 * queue) leaves garbage behind, never a dangling key. */
#include "cleanup.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "enlarger/cdn.h"
#include "enlarger/clock.h"
#include "enlarger/log.h"
#include "enlarger/metrics.h"
#include "enlarger/text.h"
#include "sweep.h"

/* A failed step is tried again after 5 s, 10 s, 20 s ... (at most 5 min), this many times
 * in all: long enough to ride out an S3 or CloudFront hiccup, short enough that a task
 * never lingers for hours. */
#define CLEANUP_MAX_ATTEMPTS 8
#define CLEANUP_BACKOFF_MS 5000
#define CLEANUP_BACKOFF_MAX_MS 300000
/* Sweeps of one task while each finds more than its cap (sweep.c) and deletes some. */
#define CLEANUP_SWEEP_ROUNDS 100

struct task {
	struct task *next;
	unsigned what;
	int attempts;
	int64_t not_before;  /* enl_mono_ms */
	char request_id[48]; /* of the request that queued it, for the log */
	char caller_ref[40]; /* the CDN's CallerReference, kept across retries */
	char photo_id[ENL_KEY_MAX + 1];
	char key[ENL_KEY_MAX + 1];
};

struct enl_cleanup {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC: work queued, a task done, stopping */
	struct task *head, *tail;
	unsigned queued, queue_max;
	unsigned n_workers, started;
	pthread_t *threads;
	struct worker_arg {
		struct enl_cleanup *c;
		unsigned slot;
	} * args;
	struct task **running; /* a slot per worker */
	struct enl_app *app;   /* from the first enqueue */
	int stopping;
	int64_t drain_until;
	/* Counters for the metrics, read without the lock. */
	uint64_t deleted, dropped, invalidations, invalidation_failures;
};

int enl_cleanup_new(struct enl_cleanup **out, unsigned workers, unsigned queue_max)
{
	struct enl_cleanup *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c)
		return ENL_ENOMEM;
	c->n_workers = workers ? workers : 1;
	c->queue_max = queue_max;
	c->threads = calloc(c->n_workers, sizeof(*c->threads));
	c->running = calloc(c->n_workers, sizeof(*c->running));
	c->args = calloc(c->n_workers, sizeof(*c->args));
	if (!c->threads || !c->running || !c->args) {
		free(c->threads);
		free(c->running);
		free(c->args);
		free(c);
		return ENL_ENOMEM;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return 0;
}

static void log_task(enum enl_log_level lvl, const char *msg, const struct task *t,
                     const struct enl_sweep_stats *st, const char *error)
{
	json_t *f = json_object();
	if (t->photo_id[0])
		json_object_set_new(f, "photoId", json_string(t->photo_id));
	if (t->key[0])
		json_object_set_new(f, "key", json_string(t->key));
	if (t->request_id[0])
		json_object_set_new(f, "requestId", json_string(t->request_id));
	if (st) {
		json_object_set_new(f, "listed", json_integer(st->listed));
		json_object_set_new(f, "deleted", json_integer(st->deleted));
	}
	if (t->attempts)
		json_object_set_new(f, "attempt", json_integer(t->attempts + 1));
	if (error)
		json_object_set_new(f, "error", json_string(error));
	enl_log_json(lvl, msg, f);
}

/* Whether t and u would work on the same objects. */
static int same_target(const struct task *t, const struct task *u)
{
	return (t->photo_id[0] && strcmp(t->photo_id, u->photo_id) == 0) ||
	       (t->key[0] && strcmp(t->key, u->key) == 0);
}

/* ---- the CDN step ---- */

/* One invalidation of the photo's viewer paths (the distribution's behaviours /render,
 * /thumbnails and /optimized, see infrastructure/), percent-encoded as viewers request
 * them (enl_cdn_path_encode), with the task's CallerReference. */
static int invalidate(struct enl_app *app, const struct task *t, struct enl_errmsg *e)
{
	static const char *const tops[] = {"/render/", "/thumbnails/", "/optimized/"};
	struct enl_buf p[3];
	const char *paths[3];
	size_t n = 0;
	int rc = 0;
	for (int i = 0; i < 3; i++) {
		/* "/render/<key>*" for the original's variants; "/thumbnails/<photoId>/" and
		 * "/optimized/<photoId>/" with a '*' for its derivatives. */
		const char *what = i == 0 ? t->key : t->photo_id;
		enl_buf_init(&p[i], 4 * ENL_KEY_MAX);
		if (!what[0] || rc)
			continue;
		rc = enl_buf_append(&p[i], tops[i], strlen(tops[i]));
		if (!rc)
			rc = enl_cdn_path_encode(&p[i], what);
		if (!rc)
			rc = enl_buf_append(&p[i], i == 0 ? "*" : "/*",
			                    i == 0 ? 2 : 3); /* with NUL */
		paths[n++] = (const char *)p[i].data;
	}
	if (rc)
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
	else if (n)
		rc = enl_cdn_invalidate(app->cdn, paths, n, t->caller_ref, e);
	for (int i = 0; i < 3; i++)
		enl_buf_free(&p[i]);
	return rc;
}

/* ---- one task ---- */

typedef int (*sweep_fn)(struct enl_app *app, const char *what, struct enl_sweep_stats *st,
                        struct enl_errmsg *e);

/* A sweep again while its listing was cut at its cap and it made progress. */
static int sweep_all(sweep_fn fn, struct enl_app *app, const char *what, struct enl_sweep_stats *st,
                     struct enl_errmsg *e)
{
	for (int round = 0; round < CLEANUP_SWEEP_ROUNDS; round++) {
		unsigned before = st->deleted;
		st->more = 0;
		int rc = fn(app, what, st, e);
		if (rc || !st->more || st->deleted == before)
			return rc;
	}
	return 0;
}

/* Runs t's steps in order; returns the steps still to do (0: done) with e saying why the
 * first of them failed. */
static unsigned run(struct enl_cleanup *c, struct task *t, struct enl_errmsg *e)
{
	struct enl_app *app = c->app;
	struct enl_sweep_stats st = {0};
	unsigned left = t->what;
	int rc = 0;

	enl_log_set_request_id(t->request_id);
	if (left & ENL_CLEANUP_DERIVATIVES) {
		rc = sweep_all(enl_sweep_derivatives, app, t->photo_id, &st, e);
		if (rc == ENL_EBUSY)
			rc = 0; /* a version is being processed: its completion sweeps */
		if (!rc)
			left &= ~(unsigned)ENL_CLEANUP_DERIVATIVES;
	}
	if (!rc && (left & ENL_CLEANUP_RENDERS)) {
		rc = sweep_all(enl_sweep_renders, app, t->key, &st, e);
		if (!rc)
			left &= ~(unsigned)ENL_CLEANUP_RENDERS;
	}
	__atomic_fetch_add(&c->deleted, st.deleted, __ATOMIC_RELAXED);
	if (!rc && st.listed)
		log_task(ENL_LOG_INFO, "cleanup swept", t, &st, NULL);
	/* The CDN last: invalidated before the objects are gone, an edge could fetch and
	 * keep them again. Never the event's failure: retried here, then given up. */
	if (!rc && left == ENL_CLEANUP_INVALIDATE) {
		if (!app->cdn) {
			left = 0;
		} else if ((rc = invalidate(app, t, e)) == 0) {
			__atomic_fetch_add(&c->invalidations, 1, __ATOMIC_RELAXED);
			log_task(ENL_LOG_INFO, "cdn invalidated", t, NULL, NULL);
			left = 0;
		} else if (rc == ENL_EINVAL || rc == ENL_EDENIED) {
			/* Trying again will not help (a bad distribution, no permission). */
			__atomic_fetch_add(&c->invalidation_failures, 1, __ATOMIC_RELAXED);
			log_task(ENL_LOG_ERROR, "cdn invalidation failed", t, NULL, e->text);
			left = 0;
		}
	}
	enl_log_set_request_id(NULL);
	return left;
}

/* ---- the queue ---- */

/* The first waiting task that is ready and touches nothing a worker is on; else NULL and
 * *wake the earliest time a waiting task becomes ready (0: none waits for a time). */
static struct task *take(struct enl_cleanup *c, int64_t now, int64_t *wake)
{
	struct task *prev = NULL;
	*wake = 0;
	for (struct task *t = c->head; t; prev = t, t = t->next) {
		if (t->not_before > now) {
			if (!*wake || t->not_before < *wake)
				*wake = t->not_before;
			continue;
		}
		int busy = 0;
		for (unsigned i = 0; i < c->n_workers && !busy; i++)
			busy = c->running[i] && same_target(c->running[i], t);
		if (busy)
			continue;
		if (prev)
			prev->next = t->next;
		else
			c->head = t->next;
		if (c->tail == t)
			c->tail = prev;
		t->next = NULL;
		c->queued--;
		return t;
	}
	return NULL;
}

static void append(struct enl_cleanup *c, struct task *t)
{
	t->next = NULL;
	if (c->tail)
		c->tail->next = t;
	else
		c->head = t;
	c->tail = t;
	c->queued++;
}

/* A task whose steps failed goes back with the steps left, or is given up. Locked. */
static void retry_or_drop(struct enl_cleanup *c, struct task *t, unsigned left,
                          const struct enl_errmsg *e)
{
	if (++t->attempts >= CLEANUP_MAX_ATTEMPTS || c->stopping) {
		if (left & ENL_CLEANUP_INVALIDATE)
			__atomic_fetch_add(&c->invalidation_failures, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
		log_task(ENL_LOG_ERROR, "cleanup given up", t, NULL, e->text);
		free(t);
		return;
	}
	int64_t delay = (int64_t)CLEANUP_BACKOFF_MS << (t->attempts - 1);
	if (delay > CLEANUP_BACKOFF_MAX_MS)
		delay = CLEANUP_BACKOFF_MAX_MS;
	log_task(ENL_LOG_WARN, "cleanup step failed, retrying later", t, NULL, e->text);
	t->what = left;
	t->not_before = enl_mono_ms() + delay;
	append(c, t);
}

static void *worker(void *arg)
{
	const struct worker_arg *wa = arg;
	struct enl_cleanup *c = wa->c;
	unsigned slot = wa->slot;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		int64_t now = enl_mono_ms(), wake = 0;
		if (c->stopping && now >= c->drain_until)
			break;
		struct task *t = take(c, now, &wake);
		if (!t) {
			if (c->stopping && !c->head)
				break;
			if (c->stopping && (!wake || wake > c->drain_until))
				wake = c->drain_until;
			if (wake) {
				struct timespec ts = enl_mono_deadline((long)(wake - now));
				pthread_cond_timedwait(&c->cv, &c->mu, &ts);
			} else {
				pthread_cond_wait(&c->cv, &c->mu);
			}
			continue;
		}
		c->running[slot] = t;
		pthread_mutex_unlock(&c->mu);
		struct enl_errmsg e = {{0}};
		unsigned left = run(c, t, &e);
		pthread_mutex_lock(&c->mu);
		c->running[slot] = NULL;
		if (left)
			retry_or_drop(c, t, left, &e);
		else
			free(t);
		pthread_cond_broadcast(&c->cv); /* a photo is free again; drain may be done */
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int enl_cleanup_enqueue(struct enl_app *app, const char *photo_id, const char *key, unsigned what)
{
	struct enl_cleanup *c = app->cleanup;
	int rc = 0;
	if (!c || !what)
		return 0;
	pthread_mutex_lock(&c->mu);
	c->app = app;
	for (struct task *t = c->head; t; t = t->next) {
		if (strcmp(t->photo_id, photo_id ? photo_id : "") == 0 &&
		    strcmp(t->key, key ? key : "") == 0 && !t->attempts) {
			t->what |= what;
			goto done;
		}
	}
	struct task *t = c->stopping || c->queued >= c->queue_max ? NULL : calloc(1, sizeof(*t));
	if (!t) {
		struct task probe = {0};
		snprintf(probe.photo_id, sizeof(probe.photo_id), "%s", photo_id ? photo_id : "");
		snprintf(probe.key, sizeof(probe.key), "%s", key ? key : "");
		__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
		log_task(ENL_LOG_WARN, "cleanup queue full: task dropped", &probe, NULL, NULL);
		rc = c->stopping || c->queued >= c->queue_max ? ENL_EBUSY : ENL_ENOMEM;
		goto done;
	}
	t->what = what;
	snprintf(t->photo_id, sizeof(t->photo_id), "%s", photo_id ? photo_id : "");
	snprintf(t->key, sizeof(t->key), "%s", key ? key : "");
	snprintf(t->request_id, sizeof(t->request_id), "%s", enl_log_request_id());
	unsigned char r[16];
	if (RAND_bytes(r, sizeof(r)) == 1)
		enl_hex_encode(t->caller_ref, r, sizeof(r));
	else
		snprintf(t->caller_ref, sizeof(t->caller_ref), "t%lld-%p", (long long)enl_wall_ms(),
		         (void *)t);
	append(c, t);
	/* Workers start with the first task: a CLI run or a test that never cleans up
	 * starts no thread. */
	while (c->started < c->n_workers) {
		unsigned i = c->started;
		c->args[i] = (struct worker_arg){c, i};
		if (pthread_create(&c->threads[i], NULL, worker, &c->args[i]) != 0)
			break;
		c->started++;
	}
done:
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* Whether a task runs, or waits ready with a worker to take it. Locked. */
static int busy(const struct enl_cleanup *c, int64_t now)
{
	for (unsigned i = 0; i < c->n_workers; i++)
		if (c->running[i])
			return 1;
	if (!c->started)
		return 0;
	for (const struct task *t = c->head; t; t = t->next)
		if (t->not_before <= now)
			return 1;
	return 0;
}

int enl_cleanup_settle(struct enl_cleanup *c, int deadline_ms)
{
	if (!c)
		return 1;
	int64_t until = enl_mono_ms() + (deadline_ms > 0 ? deadline_ms : 0);
	pthread_mutex_lock(&c->mu);
	int64_t now;
	while (busy(c, now = enl_mono_ms()) && now < until) {
		struct timespec ts = enl_mono_deadline((long)(until - now));
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	int settled = !busy(c, enl_mono_ms());
	pthread_mutex_unlock(&c->mu);
	return settled;
}

void enl_cleanup_stop(struct enl_cleanup *c, int deadline_ms)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	if (!c->stopping) {
		c->stopping = 1;
		c->drain_until = enl_mono_ms() + (deadline_ms > 0 ? deadline_ms : 0);
	}
	unsigned started = c->started;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < started; i++)
		pthread_join(c->threads[i], NULL);
	pthread_mutex_lock(&c->mu);
	c->started = 0;
	c->n_workers = 0; /* nothing starts again */
	while (c->head) {
		struct task *t = c->head;
		c->head = t->next;
		__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
		log_task(ENL_LOG_WARN, "cleanup dropped at shutdown", t, NULL, NULL);
		free(t);
	}
	c->tail = NULL;
	c->queued = 0;
	pthread_mutex_unlock(&c->mu);
}

void enl_cleanup_free(struct enl_cleanup *c)
{
	if (!c)
		return;
	enl_cleanup_stop(c, 0);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->threads);
	free(c->running);
	free(c->args);
	free(c);
}

/* ---- metrics ---- */

static double queued_gauge(void *ctx)
{
	struct enl_cleanup *c = ctx;
	return (double)__atomic_load_n(&c->queued, __ATOMIC_RELAXED);
}

static double counter_gauge(void *ctx)
{
	return (double)__atomic_load_n((uint64_t *)ctx, __ATOMIC_RELAXED);
}

void enl_cleanup_register_metrics(struct enl_cleanup *c)
{
	static const char *const names[] = {
	    "enlarger_cleanup_queued", "enlarger_cleanup_objects_deleted",
	    "enlarger_cleanup_dropped", "enlarger_cdn_invalidations",
	    "enlarger_cdn_invalidation_failures"};
	if (!c) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			enl_metrics_gauge(names[i], NULL, NULL, NULL);
		return;
	}
	enl_metrics_gauge(names[0], "Cleanups (old derivatives, render variants, CDN) waiting",
	                  queued_gauge, c);
	enl_metrics_gauge(names[1], "Old derivatives and render variants deleted by cleanups",
	                  counter_gauge, &c->deleted);
	enl_metrics_gauge(names[2], "Cleanups given up or dropped (queue full, shutdown)",
	                  counter_gauge, &c->dropped);
	enl_metrics_gauge(names[3], "CDN invalidations created", counter_gauge, &c->invalidations);
	enl_metrics_gauge(names[4], "CDN invalidations given up", counter_gauge,
	                  &c->invalidation_failures);
}
