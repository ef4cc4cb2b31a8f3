/* The scripted loopback HTTP server of fake_http.h. */
#include "fake_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads one request's head and, if it says Content-Length, its body. */
static void read_request(int c)
{
	char req[16384];
	size_t got = 0;
	long want = -1;
	while (got < sizeof(req) - 1) {
		ssize_t r = read(c, req + got, sizeof(req) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = '\0';
		char *end = strstr(req, "\r\n\r\n");
		if (end && want < 0) {
			char *cl = strcasestr(req, "content-length:");
			want = (long)(end + 4 - req) + (cl ? strtol(cl + 15, NULL, 10) : 0);
		}
		if (want >= 0 && (long)got >= want)
			break;
	}
}

static void *serve(void *arg)
{
	struct fake_http *f = arg;
	while (!atomic_load(&f->stop)) {
		int c = accept(f->fd, NULL, NULL);
		if (c < 0)
			break;
		read_request(c);
		int n = atomic_fetch_add(&f->hits, 1);
		f->answer(c, n, f->ud);
		close(c);
	}
	return NULL;
}

int fake_http_start(struct fake_http *f, fake_http_answer_fn answer, void *ud)
{
	memset(f, 0, sizeof(*f));
	f->answer = answer;
	f->ud = ud;
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (f->fd < 0) {
		perror("fake_http: socket");
		return -1;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (bind(f->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(f->fd, 16) != 0 ||
	    getsockname(f->fd, (struct sockaddr *)&a, &al) != 0) {
		perror("fake_http: bind/listen");
		close(f->fd);
		return -1;
	}
	f->port = ntohs(a.sin_port);
	int rc = pthread_create(&f->th, NULL, serve, f);
	if (rc != 0) {
		fprintf(stderr, "fake_http: pthread_create: %s\n", strerror(rc));
		close(f->fd);
		return -1;
	}
	return 0;
}

void fake_http_stop(struct fake_http *f)
{
	atomic_store(&f->stop, 1);
	shutdown(f->fd, SHUT_RDWR);
	close(f->fd);
	pthread_join(f->th, NULL);
}

void fake_http_reply(int fd, const char *status, const char *headers, const char *body)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n\r\n%s", status,
	                 headers, strlen(body), body);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = (int)strlen(buf);
	ssize_t w = write(fd, buf, (size_t)n);
	(void)w;
}
