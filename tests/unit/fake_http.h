/* A scripted HTTP server on loopback for tests that must see how a client handles
 * answers a real service gives only rarely (throttling, 5xx, silence). It listens on
 * 127.0.0.1, port 0 (the kernel picks one), serves one request per connection from one
 * thread, and lets the test answer each request with a callback. */
#ifndef ENLARGER_TEST_FAKE_HTTP_H
#define ENLARGER_TEST_FAKE_HTTP_H

#include <pthread.h>
#include <stdatomic.h>

/* Called once per request, after its head and Content-Length body have been read, with
 * the connection, the request's number (0 for the first) and the ud given to start.
 * Writes the answer on fd (fake_http_reply), or nothing; the server closes fd after. */
typedef void (*fake_http_answer_fn)(int fd, int n, void *ud);

struct fake_http {
	int fd, port; /* port: where to send requests, once started */
	pthread_t th;
	atomic_int hits; /* requests answered (or not) so far */
	atomic_int stop;
	fake_http_answer_fn answer;
	void *ud;
};

/* Starts listening and serving in a thread. Returns 0, or -1 (printed) when the socket or
 * the thread could not be set up. */
int fake_http_start(struct fake_http *f, fake_http_answer_fn answer, void *ud);

/* Stops the server and joins its thread; f->hits stays readable. */
void fake_http_stop(struct fake_http *f);

/* Writes "HTTP/1.1 <status>", the headers (each line ending in \r\n, may be ""), a
 * Content-Length for body, and body. */
void fake_http_reply(int fd, const char *status, const char *headers, const char *body);

#endif
