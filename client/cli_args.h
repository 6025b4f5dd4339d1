/* Argument helpers of the zjob command line: a small long/short flag
 * scanner, job id parsing and the exit codes. */
#ifndef ZJOB_CLIENT_CLI_ARGS_H
#define ZJOB_CLIENT_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zjob/zjob.h"

/* Exit codes of the zjob command line (documented in --help). */
enum {
    CLI_EXIT_OK = 0,         /* success */
    CLI_EXIT_JOB = 1,        /* a job failed, was refused or is not done */
    CLI_EXIT_USAGE = 2,      /* usage or configuration error */
    CLI_EXIT_UNREACHABLE = 3 /* broker unreachable or timed out */
};

/* One flag a command accepts. */
typedef struct {
    const char *name; /* long name without "--" ("priority") */
    char letter;      /* short name ('f'), 0 for none */
    bool takes_value; /* true: "--name V", "--name=V" or "-f V" */
    int id;           /* returned by client_args_next, > 0 */
} client_flag_t;

/* Scanner state over argv[index..argc). */
typedef struct {
    int argc;           /* entries in argv */
    char **argv;        /* the arguments */
    int index;          /* next argument to read */
    bool only_operands; /* after "--": everything is an operand */
} client_args_t;

#define CLIENT_ARG_OPERAND 0  /* *value is a positional argument */
#define CLIENT_ARG_END     -1 /* no more arguments */
#define CLIENT_ARG_ERROR   -2 /* unknown flag or missing value; see err */

/* Reads the next argument. Returns a flag's id (with *value set to its
 * value, or NULL), CLIENT_ARG_OPERAND, CLIENT_ARG_END or CLIENT_ARG_ERROR
 * with a message in err (err_len bytes). A lone "-" is an operand. */
int client_args_next (client_args_t *args, const client_flag_t *flags,
                      const char **value, char *err, size_t err_len);

/* Returns the long name of the flag with id in flags, or "?". */
const char *client_flag_name (const client_flag_t *flags, int id);

/* Parses a job id: decimal digits only, greater than 0. Returns 0 or -1. */
int client_parse_id (const char *text, uint64_t *id);

/* Maps a library error to the command line's exit code. */
int client_exit_code (zjob_err_t err);

/* Returns len less one trailing newline, if data ends with one: map and
 * wait print each result that way, followed by exactly one newline. */
size_t client_trim_newline (const void *data, size_t len);

#endif
