/* The header watchdog: libmicrohttpd's timeout is an idle timeout, so a client sending
 * its request line and headers one byte a second would hold a connection thread for as
 * long as the header memory lasts. The watchdog cuts a connection whose request has not
 * got past its headers within the timeout (of its opening, or of the end of its
 * previous request). */
#include "server_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "enlarger/log.h"

/* One open connection. */
struct enl_http_watch {
	struct enl_http_watch *prev, *next;
	int fd;
	int in_request; /* headers are in; the body deadline and the route take over */
	int cut;
	struct timespec since;
};

struct enl_http_watchdog {
	unsigned timeout_s;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t wake;
	struct enl_http_watch *list;
	pthread_t thread;
	int started;
	int stop;
};

int enl_http_watchdog_new(unsigned timeout_s, struct enl_http_watchdog **out)
{
	*out = NULL;
	struct enl_http_watchdog *wd = calloc(1, sizeof(*wd));
	if (!wd)
		return ENL_ENOMEM;
	wd->timeout_s = timeout_s;
	pthread_mutex_init(&wd->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->wake, &ca);
	pthread_condattr_destroy(&ca);
	*out = wd;
	return 0;
}

static void *watchdog_main(void *arg)
{
	struct enl_http_watchdog *wd = arg;
	pthread_mutex_lock(&wd->lock);
	while (!wd->stop) {
		struct timespec now, next;
		clock_gettime(CLOCK_MONOTONIC, &now);
		unsigned cut = 0;
		for (struct enl_http_watch *w = wd->list; w; w = w->next) {
			double waited = (double)(now.tv_sec - w->since.tv_sec) +
			                (double)(now.tv_nsec - w->since.tv_nsec) / 1e9;
			if (!w->in_request && !w->cut && waited > (double)wd->timeout_s) {
				/* The connection thread sees end-of-file and closes it. */
				shutdown(w->fd, SHUT_RDWR);
				w->cut = 1;
				cut++;
			}
		}
		if (cut)
			enl_logf(ENL_LOG_INFO,
			         "cut %u connection(s) whose request headers did not arrive "
			         "within %us",
			         cut, wd->timeout_s);
		next = now;
		next.tv_nsec += 200 * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&wd->wake, &wd->lock, &next);
	}
	pthread_mutex_unlock(&wd->lock);
	return NULL;
}

int enl_http_watchdog_run(struct enl_http_watchdog *wd)
{
	if (pthread_create(&wd->thread, NULL, watchdog_main, wd) != 0)
		return ENL_EINTERNAL;
	wd->started = 1;
	return 0;
}

void enl_http_watchdog_free(struct enl_http_watchdog *wd)
{
	if (!wd)
		return;
	if (wd->started) {
		pthread_mutex_lock(&wd->lock);
		wd->stop = 1;
		pthread_cond_signal(&wd->wake);
		pthread_mutex_unlock(&wd->lock);
		pthread_join(wd->thread, NULL);
	}
	pthread_cond_destroy(&wd->wake);
	pthread_mutex_destroy(&wd->lock);
	free(wd);
}

struct enl_http_watch *enl_http_watchdog_add(struct enl_http_watchdog *wd, int fd)
{
	struct enl_http_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &w->since);
	pthread_mutex_lock(&wd->lock);
	w->next = wd->list;
	if (wd->list)
		wd->list->prev = w;
	wd->list = w;
	pthread_mutex_unlock(&wd->lock);
	return w;
}

/* While an entry is in the list under the lock, its fd is still its connection's:
 * the caller removes it before the socket is closed. */
void enl_http_watchdog_remove(struct enl_http_watchdog *wd, struct enl_http_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&wd->lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		wd->list = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&wd->lock);
	free(w);
}

void enl_http_watchdog_request(struct enl_http_watchdog *wd, struct enl_http_watch *w,
                               int in_request)
{
	if (!w)
		return;
	pthread_mutex_lock(&wd->lock);
	w->in_request = in_request;
	if (!in_request)
		clock_gettime(CLOCK_MONOTONIC, &w->since);
	pthread_mutex_unlock(&wd->lock);
}
