/* `enlarger config`: every ENLARGER_* setting with its default and meaning, as a
 * Markdown table generated from the loader's own table (the README's table is this
 * output, checked by tests/integration/check_readme_config.py). `--values` prints what
 * the current environment resolves to instead, as JSON (secrets as "(set)"), or the
 * error that would stop `enlarger serve`. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "enlarger/config.h"

int enl_cmd_config(int argc, char **argv)
{
	struct enl_config cfg;
	struct enl_errmsg e = {{0}};

	if (argc == 1) {
		enl_config_print_markdown(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--values") == 0) {
		if (enl_config_load(&cfg, NULL, NULL, &e)) {
			fprintf(stderr, "enlarger: %s\n", e.text);
			return 2;
		}
		/* What serve logs at start-up ("config"), on stdout. */
		json_t *v = enl_config_values(&cfg);
		json_dumpf(v, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(v);
		return 0;
	}
	fprintf(stderr, "usage: enlarger config [--values]\n");
	return 2;
}
