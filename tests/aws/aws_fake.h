/* Starts tests/aws/aws_fake_server.py on a loopback port for one test binary, and talks
 * to its control paths (/_set, /_script, /_stats). The server exits by itself when our end
 * of its stdin pipe closes (also when this test dies), and fake_stop ends exactly the
 * process fake_start started. */
#ifndef ENLARGER_TEST_AWS_FAKE_H
#define ENLARGER_TEST_AWS_FAKE_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "enlarger/aws.h"

struct fake {
	pid_t pid;
	int in_fd; /* the server's stdin */
	int port;
	char base[64]; /* "http://127.0.0.1:<port>" */
};

/* 0 on success; -1 when python or the script is missing (the caller skips). */
static inline int fake_start(struct fake *f)
{
	const char *py = getenv("ENL_PYTHON"), *src = getenv("ENL_SOURCE_DIR");
	char script[4096];
	int to_child[2], from_child[2];
	snprintf(script, sizeof(script), "%s/tests/aws/aws_fake_server.py", src ? src : "../..");
	if (!py)
		py = "/usr/bin/python3";
	if (access(script, R_OK) != 0 || access(py, X_OK) != 0)
		return -1;
	if (pipe(to_child) || pipe(from_child))
		return -1;
	f->pid = fork();
	if (f->pid < 0)
		return -1;
	if (f->pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl(py, py, script, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	f->in_fd = to_child[1];
	FILE *out = fdopen(from_child[0], "r");
	if (!out || fscanf(out, "PORT %d", &f->port) != 1) {
		if (out)
			fclose(out);
		return -1;
	}
	fclose(out);
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", f->port);
	return 0;
}

/* GETs path (with its query) from the fake, unsigned, and REQUIREs a 200: the body as
 * JSON (new reference), or NULL when it is not JSON ("ok"). */
static inline json_t *fake_control(const struct fake *f, const char *path)
{
	char url[1024];
	struct enl_aws_client *c = NULL;
	struct enl_aws_response rs;
	struct enl_errmsg e = {""};
	snprintf(url, sizeof(url), "%s%s", f->base, path);
	struct enl_aws_request rq = {.method = "GET", .url = url};
	REQUIRE(enl_aws_client_new(&c, NULL, NULL, &e) == 0);
	REQUIRE(enl_aws_request(c, &rq, &rs, &e) == 0 && rs.status == 200);
	json_t *j = json_loadb((const char *)rs.body.data, rs.body.len, 0, NULL);
	enl_aws_response_free(&rs);
	enl_aws_client_free(c);
	return j;
}

/* From now on, requests to paths the fake does not serve otherwise get the scripted
 * answers (see aws_fake_server.py): flavour "s3" or "dynamodb", one letter a request. */
static inline void fake_script(const struct fake *f, const char *flavour, const char *answers)
{
	char path[256];
	snprintf(path, sizeof(path), "/_script?flavour=%s&answers=%s", flavour, answers);
	json_decref(fake_control(f, path));
}

/* A client for the scripted answers, signing with creds: 4 attempts of timeout_ms each
 * (500 ms to connect), 10-50 ms apart. The caller frees it. */
static inline struct enl_aws_client *fake_client(struct enl_aws_credprov *creds, long timeout_ms)
{
	struct enl_aws_client_opts co = {.connect_timeout_ms = 500,
	                                 .timeout_ms = timeout_ms,
	                                 .max_attempts = 4,
	                                 .backoff_base_ms = 10,
	                                 .backoff_max_ms = 50};
	struct enl_aws_client *c = NULL;
	struct enl_errmsg e = {""};
	REQUIRE(enl_aws_client_new(&c, &co, creds, &e) == ENL_OK);
	return c;
}

/* How many requests the script has answered (or left hanging) since fake_script. */
static inline long fake_scripted(const struct fake *f)
{
	json_t *st = fake_control(f, "/_stats");
	long n = (long)json_integer_value(json_object_get(st, "scripted"));
	json_decref(st);
	return n;
}

static inline void fake_stop(struct fake *f)
{
	if (f->pid <= 0)
		return;
	close(f->in_fd);
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
	f->pid = 0;
}

#endif
