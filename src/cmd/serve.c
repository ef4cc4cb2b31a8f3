/* `enlarger serve`: configuration, pipeline, backends, routes, HTTP server, folder watcher;
 * then wait for SIGTERM / SIGINT, stop accepting, let requests in flight finish within
 * ENLARGER_SHUTDOWN_DEADLINE_MS, and exit 0. */
#include "cmd.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "enlarger/backend.h"
#include "enlarger/config.h"
#include "enlarger/fs.h"
#include "enlarger/http.h"
#include "enlarger/log.h"
#include "enlarger/metrics.h"
#include "enlarger/pipeline.h"
#include "enlarger/routes.h"
#include "enlarger/service.h"
#include "enlarger/store.h"
#include "enlarger/table.h"

static void log_fatal(const char *what, const struct enl_errmsg *e)
{
	json_t *f = json_object();
	json_object_set_new(f, "error", json_string(e->text));
	enl_log_json(ENL_LOG_ERROR, what, f);
}

/* Creates the folder path's file goes in (<data_dir>/.table by default, before the
 * store has made <data_dir>). */
static int make_parent_dir(const char *path, struct enl_errmsg *e)
{
	char dir[sizeof(((struct enl_config *)0)->sqlite_path)];
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	int err = enl_mkdir_p(dir);
	if (err)
		return enl_fail(e, ENL_EIO, "cannot create %s (ENLARGER_SQLITE_PATH): %s", dir,
		                strerror(-err));
	return 0;
}

int enl_cmd_serve(int argc, char **argv)
{
	struct enl_config cfg;
	struct enl_errmsg e = {{0}};
	struct enl_backends backends; /* ENLARGER_BACKEND's store and table (backend.h) */
	struct enl_routes *routes = NULL;
	struct enl_server *server = NULL;
	struct enl_watch *watch = NULL;
	struct enl_app app;
	int app_ready = 0, pipeline_ready = 0;
	int code = 1;
	sigset_t stop_sigs;

	(void)argc;
	memset(&app, 0, sizeof(app));
	memset(&backends, 0, sizeof(backends));
	/* Before any thread exists, so every thread inherits the mask and only sigwait
	 * below sees the signals. */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* As many malloc arenas as cores, not glibc's eight per core: every connection thread
	 * that runs an image job would otherwise keep its own arena's freed megabytes
	 * (bench/profile.md, "Malloc arenas"). */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	mallopt(M_ARENA_MAX, cores > 2 ? (int)cores : 2);

	if (enl_config_load(&cfg, NULL, NULL, &e)) {
		log_fatal("bad configuration", &e);
		fprintf(stderr, "enlarger: %s\n", e.text);
		return 2;
	}
	enl_log_set_level((enum enl_log_level)cfg.log_level);
	enl_config_log(&cfg);

	if (enl_pipeline_init(argv[0])) {
		enl_fail(&e, ENL_EINTERNAL, "libvips did not start");
		log_fatal("cannot start", &e);
		goto done;
	}
	pipeline_ready = 1;
	if ((cfg.backend == ENL_BACKEND_LOCAL && make_parent_dir(cfg.sqlite_path, &e)) ||
	    enl_backends_open(&backends, &cfg, &e)) {
		log_fatal("cannot open the store or the table", &e);
		goto done;
	}
	if (enl_app_init(&app, &cfg, backends.store, backends.table, &e)) {
		log_fatal("cannot start", &e);
		goto done;
	}
	app_ready = 1;
	enl_app_register_metrics(&app);
	if (enl_routes_new(&cfg, &app, &routes, &e)) {
		log_fatal("cannot start", &e);
		goto done;
	}

	struct enl_server_opts so = {
	    .listen = cfg.listen,
	    .connection_timeout_s = cfg.connection_timeout_s,
	    .per_ip_connections = cfg.per_ip_connections,
	    .max_connections = cfg.max_connections,
	    .max_body_bytes = cfg.max_body_bytes,
	};
	so.routes = enl_routes_table(routes, &so.n_routes);
	if (enl_server_start(&so, &server, &e)) {
		log_fatal("cannot listen", &e);
		goto done;
	}
	json_t *lf = json_object();
	json_object_set_new(lf, "listen", json_string(cfg.listen));
	json_object_set_new(lf, "port", json_integer(enl_server_port(server)));
	json_object_set_new(lf, "version", json_string(ENLARGER_VERSION));
	enl_log_json(ENL_LOG_INFO, "listening", lf);

	/* The configuration refuses ENLARGER_WATCH=1 with the aws backend. */
	if (cfg.watch && enl_watch_start(&app, &watch, &e)) {
		/* The service still works through POST /process: say so, keep going. */
		log_fatal("folder watcher not started", &e);
		watch = NULL;
	}

	int sig = 0;
	while (sigwait(&stop_sigs, &sig) != 0)
		;
	json_t *sf = json_object();
	json_object_set_new(sf, "signal", json_string(sig == SIGTERM ? "SIGTERM" : "SIGINT"));
	json_object_set_new(sf, "deadlineMs", json_integer(cfg.shutdown_deadline_ms));
	enl_log_json(ENL_LOG_INFO, "stopping", sf);
	enl_watch_stop(watch);
	watch = NULL;
	enl_server_stop(server, cfg.shutdown_deadline_ms);
	server = NULL;
	code = 0;
done:
	enl_watch_stop(watch);
	if (server)
		enl_server_stop(server, 0);
	enl_routes_free(routes);
	if (app_ready)
		enl_app_free(&app);
	enl_backends_close(&backends);
	if (pipeline_ready)
		enl_pipeline_shutdown();
	if (code == 0)
		enl_logf(ENL_LOG_INFO, "stopped");
	return code;
}
