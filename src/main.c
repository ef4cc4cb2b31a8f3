/* enlarger: pick the subcommand and run it. `serve` is the default, `lambda` when the
 * Lambda runtime API is there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

static void usage(FILE *to)
{
	fprintf(to,
	        "usage:\n"
	        "  enlarger [serve]                   run the HTTP service (settings from "
	        "ENLARGER_* variables)\n"
	        "  enlarger lambda                    run as an AWS Lambda function (custom "
	        "runtime); the\n"
	        "                                     default when AWS_LAMBDA_RUNTIME_API is "
	        "set\n"
	        "  enlarger process FILE [--out DIR]  make the four derivatives of FILE in "
	        "DIR (default .)\n"
	        "                                     and print the result JSON\n"
	        "  enlarger config [--values]         list every ENLARGER_* setting (Markdown), "
	        "or the\n"
	        "                                     values the environment gives (JSON)\n"
	        "  enlarger sign URL                  print the /render URL with its signature "
	        "(sig,\n"
	        "                                     ENLARGER_RENDER_SIGNING_KEY)\n"
	        "  enlarger --version\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("enlarger %s\n", ENLARGER_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	                 strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	const char *runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
	if (argc < 2 && runtime_api && runtime_api[0])
		return enl_cmd_lambda(1, (char *[]){"lambda", NULL});
	if (argc < 2)
		return enl_cmd_serve(1, (char *[]){"serve", NULL});
	if (strcmp(argv[1], "lambda") == 0)
		return enl_cmd_lambda(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return enl_cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "process") == 0)
		return enl_cmd_process(argc - 1, argv + 1);
	if (strcmp(argv[1], "config") == 0)
		return enl_cmd_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return enl_cmd_sign(argc - 1, argv + 1);
	fprintf(stderr, "enlarger: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
