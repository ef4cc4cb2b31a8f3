/* Single-flight map for render-cache misses (see flight.h). A small linked list under
 * one mutex: flights are few (one per distinct miss being rendered right now). */
#include "flight.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct enl_flight {
	char *key;
	int done;
	int rc;
	struct enl_errmsg err;
	unsigned char *data; /* malloc'd copy of the leader's bytes */
	size_t len;
	int refs;
	int in_map;
	pthread_cond_t cv;
	struct enl_flight *next;
};

struct enl_flights {
	pthread_mutex_t mu;
	struct enl_flight *head;
};

int enl_flights_new(struct enl_flights **out)
{
	struct enl_flights *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return ENL_ENOMEM;
	pthread_mutex_init(&fs->mu, NULL);
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
                       const struct enl_errmsg *err, const void *data, size_t len)
{
	unsigned char *copy = NULL;
	/* Out of the map first, so nobody joins after we looked at refs; then copy the
	 * bytes (outside the lock) only when someone is waiting for them. */
	pthread_mutex_lock(&fs->mu);
	unlink_flight(fs, f);
	int waiters = f->refs > 1;
	pthread_mutex_unlock(&fs->mu);
	if (waiters && rc == 0 && data && len) {
		copy = malloc(len);
		if (copy)
			memcpy(copy, data, len);
		else
			rc = ENL_ENOMEM;
	}
	pthread_mutex_lock(&fs->mu);
	f->rc = rc;
	if (err)
		f->err = *err;
	f->data = copy;
	f->len = copy ? len : 0;
	f->done = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&fs->mu);
}

int enl_flight_wait(struct enl_flights *fs, struct enl_flight *f, struct enl_buf *out,
                    struct enl_errmsg *e)
{
	int rc;
	enl_buf_init(out, 0);
	pthread_mutex_lock(&fs->mu);
	while (!f->done)
		pthread_cond_wait(&f->cv, &fs->mu);
	rc = f->rc;
	if (e)
		*e = f->err;
	if (rc == 0 && f->len)
		rc = enl_buf_append(out, f->data, f->len);
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
	free(f->data);
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
