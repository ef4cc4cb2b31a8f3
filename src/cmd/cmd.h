/* Private to src/main.c and src/cmd/: the subcommands. Each returns the exit code. */
#ifndef ENLARGER_CMD_H
#define ENLARGER_CMD_H

/* argv[0] is the subcommand name. */
int enl_cmd_serve(int argc, char **argv);
int enl_cmd_process(int argc, char **argv);
int enl_cmd_config(int argc, char **argv);

#endif
