/* enlarger: parse the command line, pick the subcommand, run it. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("enlarger %s\n", ENLARGER_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: enlarger [serve|process FILE [--out DIR]|--version]\n");
	return 2;
}
