/* Single-flight map and kept answers for /render (see flight.h). Two small linked lists
 * under one mutex: flights are few (one per distinct variant being fetched or rendered
 * right now), and kept answers at most one per variant being sent. */
#include "flight.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct enl_flight {
	char *key;
	int done;
	int rc;
	struct enl_errmsg err;
	struct enl_shared *bytes; /* one reference while done, for the waiters */
	int cache_hit;
	int refs;
	int in_map;
	pthread_cond_t cv;
	struct enl_flight *next;
};

/* A kept answer: listed while its bytes have a reference, which it does not hold itself;
 * the last reference's on_free (kept_gone) unlists it under the lock, and find takes a
 * reference only while one is still held (enl_shared_try_ref). */
struct kept {
	struct enl_flights *fs;
	struct enl_shared *bytes;
	size_t len;
	int listed; /* 0: counted, never found (kept without a key) */
	struct kept *prev, *next;
	char key[];
};

struct enl_flights {
	pthread_mutex_t mu;
	struct enl_flight *head;
	struct kept *kept;
	size_t cap, in_use;
};

int enl_flights_new(size_t memory_cap, struct enl_flights **out)
{
	struct enl_flights *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return ENL_ENOMEM;
	pthread_mutex_init(&fs->mu, NULL);
	fs->cap = memory_cap;
	*out = fs;
	return 0;
}

void enl_flights_free(struct enl_flights *fs)
{
	if (!fs)
		return;
	pthread_mutex_destroy(&fs->mu);
	free(fs);
}

/* ---- kept answers ---- */

static void kept_gone(void *ctx, struct enl_shared *s)
{
	struct kept *k = ctx;
	struct enl_flights *fs = k->fs;
	(void)s;
	pthread_mutex_lock(&fs->mu);
	if (k->prev)
		k->prev->next = k->next;
	else
		fs->kept = k->next;
	if (k->next)
		k->next->prev = k->prev;
	fs->in_use -= k->len;
	pthread_mutex_unlock(&fs->mu);
	free(k);
}

struct enl_shared *enl_flights_find(struct enl_flights *fs, const char *key)
{
	struct enl_shared *s = NULL;
	pthread_mutex_lock(&fs->mu);
	for (struct kept *k = fs->kept; k && !s; k = k->next)
		if (k->listed && strcmp(k->key, key) == 0)
			s = enl_shared_try_ref(k->bytes);
	pthread_mutex_unlock(&fs->mu);
	return s;
}

int enl_flights_full(struct enl_flights *fs)
{
	pthread_mutex_lock(&fs->mu);
	int full = fs->cap && fs->in_use >= fs->cap;
	pthread_mutex_unlock(&fs->mu);
	return full;
}

int enl_flights_keep(struct enl_flights *fs, const char *key, struct enl_buf *bytes, int force,
                     struct enl_shared **out)
{
	size_t kl = key ? strlen(key) : 0, len = bytes->len;
	struct kept *k = NULL;
	int rc = 0;
	*out = NULL;
	pthread_mutex_lock(&fs->mu);
	if (!force && fs->cap && (len > fs->cap || fs->in_use > fs->cap - len))
		rc = ENL_EBUSY;
	else
		fs->in_use += len; /* reserved before the lock is dropped */
	pthread_mutex_unlock(&fs->mu);
	if (rc)
		goto done;
	if (!(k = calloc(1, sizeof(*k) + kl + 1)) ||
	    enl_shared_new(bytes, kept_gone, k, &k->bytes) != 0) {
		pthread_mutex_lock(&fs->mu);
		fs->in_use -= len;
		pthread_mutex_unlock(&fs->mu);
		rc = ENL_ENOMEM;
		goto done;
	}
	k->fs = fs;
	k->len = len;
	k->listed = key != NULL;
	memcpy(k->key, key ? key : "", kl + 1);
	pthread_mutex_lock(&fs->mu);
	k->next = fs->kept;
	if (fs->kept)
		fs->kept->prev = k;
	fs->kept = k;
	pthread_mutex_unlock(&fs->mu);
	*out = k->bytes;
	k = NULL;
done:
	free(k);
	enl_buf_free(bytes);
	return rc;
}

size_t enl_flights_memory(struct enl_flights *fs)
{
	pthread_mutex_lock(&fs->mu);
	size_t n = fs->in_use;
	pthread_mutex_unlock(&fs->mu);
	return n;
}

/* ---- single-flight ---- */

static void unlink_flight(struct enl_flights *fs, struct enl_flight *f)
{
	for (struct enl_flight **pp = &fs->head; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			f->in_map = 0;
			return;
		}
	}
}

struct enl_flight *enl_flight_join(struct enl_flights *fs, const char *key, int *leader)
{
	struct enl_flight *f;
	pthread_mutex_lock(&fs->mu);
	for (f = fs->head; f; f = f->next) {
		if (strcmp(f->key, key) == 0) {
			f->refs++;
			*leader = 0;
			goto done;
		}
	}
	f = calloc(1, sizeof(*f));
	if (f && !(f->key = strdup(key))) {
		free(f);
		f = NULL;
	}
	if (f) {
		pthread_cond_init(&f->cv, NULL);
		f->refs = 1;
		f->in_map = 1;
		f->next = fs->head;
		fs->head = f;
		*leader = 1;
	}
done:
	pthread_mutex_unlock(&fs->mu);
	return f;
}

void enl_flight_finish(struct enl_flights *fs, struct enl_flight *f, int rc,
                       const struct enl_errmsg *err, struct enl_shared *bytes, int cache_hit)
{
	pthread_mutex_lock(&fs->mu);
	unlink_flight(fs, f);
	f->rc = rc;
	if (err)
		f->err = *err;
	f->bytes = rc == 0 && bytes ? enl_shared_ref(bytes) : NULL;
	f->cache_hit = cache_hit;
	f->done = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&fs->mu);
}

int enl_flight_wait(struct enl_flights *fs, struct enl_flight *f, struct enl_shared **out,
                    int *cache_hit, struct enl_errmsg *e)
{
	int rc;
	*out = NULL;
	pthread_mutex_lock(&fs->mu);
	while (!f->done)
		pthread_cond_wait(&f->cv, &fs->mu);
	rc = f->rc;
	if (e)
		*e = f->err;
	if (rc == 0 && !f->bytes)
		rc = enl_fail(e, ENL_EINTERNAL, "the render finished without bytes");
	if (rc == 0) {
		*out = enl_shared_ref(f->bytes);
		*cache_hit = f->cache_hit;
	}
	pthread_mutex_unlock(&fs->mu);
	return rc;
}

void enl_flight_leave(struct enl_flights *fs, struct enl_flight *f)
{
	int last;
	pthread_mutex_lock(&fs->mu);
	last = --f->refs == 0;
	if (last && f->in_map)
		unlink_flight(fs, f);
	pthread_mutex_unlock(&fs->mu);
	if (!last)
		return;
	pthread_cond_destroy(&f->cv);
	/* After the lock: the last reference to kept bytes takes it (kept_gone). */
	enl_shared_unref(f->bytes);
	free(f->key);
	free(f);
}

size_t enl_flights_count(struct enl_flights *fs)
{
	size_t n = 0;
	pthread_mutex_lock(&fs->mu);
	for (struct enl_flight *f = fs->head; f; f = f->next)
		n++;
	pthread_mutex_unlock(&fs->mu);
	return n;
}
