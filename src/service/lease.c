/* The claim's heartbeat (see lease.h). */
#include "lease.h"

#include <string.h>
#include <time.h>

#include "enlarger/clock.h"
#include "enlarger/log.h"

static void log_renew(enum enl_log_level lvl, const char *msg, const struct enl_lease *l,
                      const char *detail)
{
	json_t *f = json_object();
	json_object_set_new(f, "photoId", json_string(l->photo_id));
	json_object_set_new(f, "attempt", json_string(l->attempt));
	if (detail)
		json_object_set_new(f, "error", json_string(detail));
	enl_log_json(lvl, msg, f);
}

static void *heartbeat(void *arg)
{
	struct enl_lease *l = arg;
	/* Three renewals per lease: one lost to a table hiccup still leaves two. */
	long every = (long)(l->lease_ms / 3);
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec at = enl_mono_deadline(every);
		while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &at) == 0)
			;
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->mu);
		struct enl_errmsg e = {{0}};
		int rc = enl_table_renew(l->table, l->photo_id, l->attempt,
		                         enl_wall_ms() + l->lease_ms, &e);
		if (rc == ENL_ECONFLICT)
			log_renew(ENL_LOG_WARN, "claim lost: another attempt owns the photo", l,
			          NULL);
		else if (rc)
			log_renew(ENL_LOG_WARN, "cannot renew the claim's lease", l, e.text);
		pthread_mutex_lock(&l->mu);
		if (rc == ENL_ECONFLICT) {
			l->lost = 1;
			break;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

void enl_lease_start(struct enl_lease *l, struct enl_table *table, const char *photo_id,
                     const char *attempt, int64_t lease_ms)
{
	pthread_condattr_t ca;
	memset(l, 0, sizeof(*l));
	l->table = table;
	l->photo_id = photo_id;
	l->attempt = attempt;
	l->lease_ms = lease_ms;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* enl_mono_deadline's clock */
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	l->started = pthread_create(&l->thread, NULL, heartbeat, l) == 0;
	if (!l->started) {
		log_renew(ENL_LOG_WARN, "no heartbeat thread: the claim's lease is not renewed", l,
		          NULL);
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mu);
	}
}

void enl_lease_stop(struct enl_lease *l)
{
	if (!l->started)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	l->started = 0;
}
