/* `enlarger lambda` (and plain `enlarger` when AWS_LAMBDA_RUNTIME_API is set): the same
 * app as `serve` (configuration, backends, job gate, pipeline, route table) with no HTTP
 * server, driven by the Lambda runtime API one invocation at a time. A start-up failure
 * is reported to /runtime/init/error (a bad setting by its name) before exiting. */
#include "cmd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/lambda.h"
#include "enlarger/log.h"

int enl_cmd_lambda(int argc, char **argv)
{
	struct enl_cmd_setup s;
	struct enl_lambda_runtime *rt = NULL;
	struct enl_errmsg e = {{0}};
	const char *what = NULL;
	int code = 1;

	(void)argc;
	memset(&s, 0, sizeof(s));
	signal(SIGPIPE, SIG_IGN);
	/* First, so that every later failure can be reported to the runtime API. */
	if (enl_lambda_runtime_new(getenv("AWS_LAMBDA_RUNTIME_API"), &rt, &e)) {
		enl_cmd_log_fatal("cannot start", &e);
		fprintf(stderr, "enlarger: %s\n", e.text);
		return 2;
	}
	if (enl_cmd_setup(&s, argv[0], 0, &what, &e)) {
		struct enl_errmsg pe = {{0}};
		enl_cmd_log_fatal(what, &e);
		if (enl_lambda_init_error(rt, ENL_LAMBDA_INIT, e.text, &pe))
			enl_cmd_log_fatal("cannot report the start-up error", &pe);
		code = s.config_ok ? 1 : 2;
		goto done;
	}

	size_t n_routes = 0;
	const struct enl_route *routes = enl_routes_table(s.routes, &n_routes);
	struct enl_lambda_door d = {
	    .app = &s.app,
	    .routes = routes,
	    .n_routes = n_routes,
	    .max_body_bytes = s.cfg.max_body_bytes,
	    .reserve_ms = s.cfg.lambda_reserve_ms,
	    .retry_after_s = s.cfg.retry_after_s,
	};
	json_t *f = json_object();
	json_object_set_new(f, "version", json_string(ENLARGER_VERSION));
	enl_log_json(ENL_LOG_INFO, "waiting for invocations", f);
	enl_lambda_run(rt, &d, &e);
	enl_cmd_log_fatal("runtime API failed; exiting", &e);
done:
	enl_cmd_teardown(&s);
	enl_lambda_runtime_free(rt);
	return code;
}
