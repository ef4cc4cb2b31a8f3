/* The connection watchdog: libmicrohttpd's timeout is an idle timeout, so a client
 * sending its request line and headers one byte a second would hold a connection thread
 * for as long as the header memory lasts, and one that reads its answer a few bytes at a
 * time would hold the thread, and the answer's bytes, for ever. The watchdog cuts a
 * connection whose request has not got past its headers within the timeout (of its
 * opening, or of the end of its previous request), and one whose response has not been
 * sent within the send timeout of being queued: an absolute deadline per response,
 * however steadily the client reads. */
#include "server_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "enlarger/clock.h"
#include "enlarger/log.h"

/* One open connection. */
struct enl_http_watch {
	struct enl_http_watch *prev, *next;
	int fd;
	int in_request; /* headers are in; the body deadline and the route take over */
	int sending;    /* the response is queued: it must be sent by send_by */
	int cut;
	int cut_sending; /* cut for the send deadline */
	struct timespec since, send_by;
};

struct enl_http_watchdog {
	unsigned timeout_s;
	unsigned send_timeout_s;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t wake;
	struct enl_http_watch *list;
	pthread_t thread;
	int started;
	int stop;
};

int enl_http_watchdog_new(unsigned timeout_s, unsigned send_timeout_s,
                          struct enl_http_watchdog **out)
{
	*out = NULL;
	struct enl_http_watchdog *wd = calloc(1, sizeof(*wd));
	if (!wd)
		return ENL_ENOMEM;
	wd->timeout_s = timeout_s;
	wd->send_timeout_s = send_timeout_s;
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
		unsigned cut = 0, cut_sending = 0;
		for (struct enl_http_watch *w = wd->list; w; w = w->next) {
			double waited = (double)(now.tv_sec - w->since.tv_sec) +
			                (double)(now.tv_nsec - w->since.tv_nsec) / 1e9;
			int late =
			    w->sending &&
			    (now.tv_sec > w->send_by.tv_sec ||
			     (now.tv_sec == w->send_by.tv_sec && now.tv_nsec > w->send_by.tv_nsec));
			if (w->cut || !(late || (!w->in_request && waited > (double)wd->timeout_s)))
				continue;
			/* A late response's bytes still queued in the kernel are dropped when the
			 * connection thread closes the socket (a reset, not a graceful end the
			 * slow reader would take as long to reach). */
			if (late)
				setsockopt(w->fd, SOL_SOCKET, SO_LINGER,
				           &(struct linger){.l_onoff = 1, .l_linger = 0},
				           sizeof(struct linger));
			/* The connection thread sees end-of-file or a failed send and closes. */
			shutdown(w->fd, SHUT_RDWR);
			w->cut = 1;
			w->cut_sending = late;
			if (late)
				cut_sending++;
			else
				cut++;
		}
		if (cut)
			enl_logf(ENL_LOG_INFO,
			         "cut %u connection(s) whose request headers did not arrive "
			         "within %us",
			         cut, wd->timeout_s);
		if (cut_sending)
			enl_logf(ENL_LOG_INFO,
			         "cut %u connection(s) whose response was not read within %us",
			         cut_sending, wd->send_timeout_s);
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
	w->sending = 0;
	if (!in_request)
		clock_gettime(CLOCK_MONOTONIC, &w->since);
	pthread_mutex_unlock(&wd->lock);
}

void enl_http_watchdog_sending(struct enl_http_watchdog *wd, struct enl_http_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&wd->lock);
	w->sending = 1;
	w->send_by = enl_mono_deadline((int)wd->send_timeout_s * 1000);
	pthread_mutex_unlock(&wd->lock);
}

int enl_http_watchdog_cut_sending(struct enl_http_watchdog *wd, struct enl_http_watch *w)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&wd->lock);
	int cut = w->cut_sending;
	pthread_mutex_unlock(&wd->lock);
	return cut;
}
