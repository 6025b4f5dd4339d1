/* The commands of the zjob command line, one function each, wired
 * through a table that main.c dispatches on. */
#ifndef ZJOB_CLIENT_CLI_COMMANDS_H
#define ZJOB_CLIENT_CLI_COMMANDS_H

#include "zjob/zjob.h"

/* Runs one command. endpoint is the broker (NULL: $ZJOB_BROKER or the
 * default); argv[0] is the command's name. Returns the exit code. */
typedef int (client_command_fn) (const char *endpoint, int argc, char **argv);

typedef struct {
    const char *name;       /* as typed on the command line */
    client_command_fn *run; /* its implementation */
    const char *usage;      /* arguments after the name, for --help */
    const char *summary;    /* one line for the global --help */
} client_command_t;

/* Returns the command called name, or NULL. */
const client_command_t *client_command_find (const char *name);

/* The commands, ending with an entry whose name is NULL. */
extern const client_command_t client_commands[];

/* Commands implemented in cli_admin.c. */
int client_cmd_workers (const char *endpoint, int argc, char **argv);
int client_cmd_queues (const char *endpoint, int argc, char **argv);
int client_cmd_stats (const char *endpoint, int argc, char **argv);

/* Commands implemented in cli_dead.c. */
int client_cmd_dead (const char *endpoint, int argc, char **argv);
int client_cmd_retry (const char *endpoint, int argc, char **argv);

/* Shared by the command files: opens a client, or prints why not and
 * returns NULL. */
zjob_client_t *client_cli_connect (const char *endpoint);

/* Prints "zjob: WHAT: ERROR (DETAIL)" for a failed call and returns the
 * exit code for err. */
int client_cli_fail (zjob_client_t *client, const char *what, zjob_err_t err);

/* Prints the command's usage line to stream. */
void client_cli_usage (const char *name, void *stream);

#endif
