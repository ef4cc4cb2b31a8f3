/* `enlarger serve`: configuration, pipeline, backends, routes, HTTP server, folder watcher;
 * then wait for SIGTERM / SIGINT, stop accepting, let requests in flight finish within
 * ENLARGER_SHUTDOWN_DEADLINE_MS, and exit 0. */
#include "cmd.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "enlarger/clock.h"
#include "enlarger/http.h"
#include "enlarger/log.h"

int enl_cmd_serve(int argc, char **argv)
{
	struct enl_cmd_setup s; /* configuration, backends, app, routes (setup.c) */
	struct enl_errmsg e = {{0}};
	struct enl_server *server = NULL;
	struct enl_watch *watch = NULL;
	const char *what = NULL;
	int code = 1;
	sigset_t stop_sigs;

	(void)argc;
	/* Before any thread exists, so every thread inherits the mask and only sigwait
	 * below sees the signals. */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (enl_cmd_setup(&s, argv[0], 1, &what, &e)) {
		enl_cmd_log_fatal(what, &e);
		if (!s.config_ok) {
			fprintf(stderr, "enlarger: %s\n", e.text);
			code = 2;
		}
		goto done;
	}
	const struct enl_config *cfg = &s.cfg;

	struct enl_server_opts so = {
	    .listen = cfg->listen,
	    .connection_timeout_s = cfg->connection_timeout_s,
	    .send_timeout_s = cfg->send_timeout_s,
	    .per_ip_connections = cfg->per_ip_connections,
	    .max_connections = cfg->max_connections,
	    .max_body_bytes = cfg->max_body_bytes,
	};
	so.routes = enl_routes_table(s.routes, &so.n_routes);
	if (enl_server_start(&so, &server, &e)) {
		enl_cmd_log_fatal("cannot listen", &e);
		goto done;
	}
	json_t *lf = json_object();
	json_object_set_new(lf, "listen", json_string(cfg->listen));
	json_object_set_new(lf, "port", json_integer(enl_server_port(server)));
	json_object_set_new(lf, "version", json_string(ENLARGER_VERSION));
	enl_log_json(ENL_LOG_INFO, "listening", lf);

	/* The configuration refuses ENLARGER_WATCH=1 with the aws backend. */
	if (cfg->watch && enl_watch_start(&s.app, &watch, &e)) {
		/* The service still works through POST /process: say so, keep going. */
		enl_cmd_log_fatal("folder watcher not started", &e);
		watch = NULL;
	}

	int sig = 0;
	while (sigwait(&stop_sigs, &sig) != 0)
		;
	json_t *sf = json_object();
	json_object_set_new(sf, "signal", json_string(sig == SIGTERM ? "SIGTERM" : "SIGINT"));
	json_object_set_new(sf, "deadlineMs", json_integer(cfg->shutdown_deadline_ms));
	enl_log_json(ENL_LOG_INFO, "stopping", sf);
	enl_watch_stop(watch);
	watch = NULL;
	int64_t stop_began = enl_mono_ms();
	enl_server_stop(server, cfg->shutdown_deadline_ms);
	server = NULL;
	/* Cleanups already queued get what is left of the deadline. */
	enl_app_drain(&s.app, cfg->shutdown_deadline_ms - (int)(enl_mono_ms() - stop_began));
	code = 0;
done:
	enl_watch_stop(watch);
	if (server)
		enl_server_stop(server, 0);
	enl_cmd_teardown(&s);
	if (code == 0)
		enl_logf(ENL_LOG_INFO, "stopped");
	return code;
}
