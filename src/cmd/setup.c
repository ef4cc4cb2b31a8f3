/* What the long-running doors (`serve`, `lambda`) both run on, opened and closed in one
 * place: the configuration, libvips, the backends, the app (job gate, pipeline options)
 * and the route table. */
#include "cmd.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "enlarger/fs.h"
#include "enlarger/log.h"
#include "enlarger/pipeline.h"

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

/* Closed by default: a reachable port with an empty secret lets anyone process and
 * render. 0, or ENL_EINVAL naming the variable(s). */
static int check_open_doors(struct enl_config *cfg, struct enl_errmsg *e)
{
	const char *open[2];
	int n = enl_config_open_doors(cfg, open);
	if (n == 0)
		return 0;
	if (!cfg->allow_open)
		return enl_fail(e, ENL_EINVAL,
		                "%s%s%s %s empty while ENLARGER_LISTEN (%s) is not a loopback "
		                "address: set %s, or ENLARGER_ALLOW_OPEN=1 to serve without %s",
		                open[0], n > 1 ? " and " : "", n > 1 ? open[1] : "",
		                n > 1 ? "are" : "is", cfg->listen, n > 1 ? "both" : "it",
		                n > 1 ? "them" : "it");
	json_t *f = json_pack("{s:s, s:s}", "listen", cfg->listen, "allow", "ENLARGER_ALLOW_OPEN");
	json_t *vars = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(vars, json_string(open[i]));
	json_object_set_new(f, "empty", vars);
	enl_log_json(ENL_LOG_WARN,
	             "serving open: anyone who reaches the port can process and render", f);
	return 0;
}

int enl_cmd_setup(struct enl_cmd_setup *s, const char *argv0, int listens, const char **what,
                  struct enl_errmsg *e)
{
	int rc;

	memset(s, 0, sizeof(*s));
	/* As many malloc arenas as cores, not glibc's eight per core: every connection thread
	 * that runs an image job would otherwise keep its own arena's freed megabytes
	 * (bench/profile.md, "Malloc arenas"). */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	mallopt(M_ARENA_MAX, cores > 2 ? (int)cores : 2);

	*what = "bad configuration";
	if ((rc = enl_config_load(&s->cfg, NULL, NULL, e)))
		return rc;
	s->cfg.listening = listens;
	if (listens && (rc = check_open_doors(&s->cfg, e)))
		return rc;
	s->config_ok = 1;
	enl_log_set_level((enum enl_log_level)s->cfg.log_level);
	enl_config_log(&s->cfg);

	*what = "cannot start";
	if (enl_pipeline_init(argv0))
		return enl_fail(e, ENL_EINTERNAL, "libvips did not start");
	s->pipeline_ready = 1;
	*what = "cannot open the store or the table";
	if ((s->cfg.backend == ENL_BACKEND_LOCAL &&
	     (rc = make_parent_dir(s->cfg.sqlite_path, e))) ||
	    (rc = enl_backends_open(&s->backends, &s->cfg, e)))
		return rc;
	*what = "cannot start";
	if ((rc = enl_app_init(&s->app, &s->cfg, s->backends.store, s->backends.table, e)))
		return rc;
	s->app_ready = 1;
	s->app.cdn = s->backends.cdn;
	enl_app_register_metrics(&s->app);
	return enl_routes_new(&s->cfg, &s->app, &s->routes, e);
}

void enl_cmd_teardown(struct enl_cmd_setup *s)
{
	enl_routes_free(s->routes);
	s->routes = NULL;
	if (s->app_ready)
		enl_app_free(&s->app);
	s->app_ready = 0;
	enl_backends_close(&s->backends);
	if (s->pipeline_ready)
		enl_pipeline_shutdown();
	s->pipeline_ready = 0;
}

void enl_cmd_log_fatal(const char *what, const struct enl_errmsg *e)
{
	json_t *f = json_object();
	json_object_set_new(f, "error", json_string(e->text));
	enl_log_json(ENL_LOG_ERROR, what, f);
}
