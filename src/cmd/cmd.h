/* Private to src/main.c and src/cmd/: the subcommands, and what the long-running ones
 * share. Each subcommand returns the exit code. */
#ifndef ENLARGER_CMD_H
#define ENLARGER_CMD_H

#include "enlarger/backend.h"
#include "enlarger/config.h"
#include "enlarger/err.h"
#include "enlarger/routes.h"
#include "enlarger/service.h"

/* argv[0] is the subcommand name. */
int enl_cmd_serve(int argc, char **argv);
int enl_cmd_process(int argc, char **argv);
int enl_cmd_config(int argc, char **argv);
int enl_cmd_lambda(int argc, char **argv);
int enl_cmd_sign(int argc, char **argv);

/* What `serve` and `lambda` run on (setup.c). */
struct enl_cmd_setup {
	struct enl_config cfg;
	struct enl_backends backends; /* ENLARGER_BACKEND's store and table (backend.h) */
	struct enl_app app;
	struct enl_routes *routes;
	int config_ok; /* the configuration loaded */
	int app_ready, pipeline_ready;
};

/* Loads the configuration and opens libvips, the backends, the app and the route table
 * into *s, in that order. listens: the door serves ENLARGER_LISTEN (`serve`), so a
 * reachable address without both secrets is refused as a bad configuration unless
 * ENLARGER_ALLOW_OPEN=1 (then logged as a warning). On failure: the error (ENL_EINVAL with e naming
 * the variable for a bad configuration), *what the step's words for the log ("bad configuration",
 * "cannot open the store or the table", ...); enl_cmd_teardown closes what was opened
 * either way. */
int enl_cmd_setup(struct enl_cmd_setup *s, const char *argv0, int listens, const char **what,
                  struct enl_errmsg *e);
void enl_cmd_teardown(struct enl_cmd_setup *s);

/* An error line: {"msg": what, "error": e->text}. */
void enl_cmd_log_fatal(const char *what, const struct enl_errmsg *e);

#endif
