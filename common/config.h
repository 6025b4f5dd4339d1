/* Configuration for the programs: a YAML file, then the environment, then
 * command-line flags, each winning over the one before.
 *
 * A program describes its settings once, as a table of config_option_t; the
 * same table serves the YAML keys, the ZJOB_* environment variables and the
 * long flags, so the three can never drift apart. Every value is applied
 * from text through config_set, which parses and range-checks it; errors
 * name where the value came from (file:line:column, the variable or the
 * flag) and the key at fault.
 */
#ifndef ZJOB_CONFIG_H
#define ZJOB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CONFIG_STRING,   /* char **: replaced by a strdup'd copy */
    CONFIG_INT,      /* int64_t *: whole number within [min, max] */
    CONFIG_DURATION, /* uint64_t *: milliseconds, from "250ms", "30s", ... */
    CONFIG_SIZE,     /* uint64_t *: bytes, from "512", "64k", "1MiB" ... */
    CONFIG_BOOL,     /* bool *: true/false, yes/no, on/off, 1/0 */
    CONFIG_CHOICE,   /* char **: one of the words in choices */
    CONFIG_QUEUES    /* config_queues_t *: the worker's queue list */
} config_type_t;

/* One queue a worker serves, from YAML `queues:` or `--queue`. */
typedef struct {
    char *name;          /* queue name */
    char *handler;       /* "builtin:NAME", "exec:COMMAND ARG...", or
                            "plugin:PATH" */
    int64_t concurrency; /* 0: only the worker's threads limit it */
    uint64_t timeout_ms; /* run time limit per attempt; 0: none */
} config_queue_t;

/* A growable list of queues; CONFIG_QUEUES values append to it. */
typedef struct {
    config_queue_t *items; /* owned array of count entries */
    size_t count;          /* entries in use */
    size_t capacity;       /* entries allocated */
} config_queues_t;

/* One setting: its key is the YAML key and the long flag ("log-level"); the
 * environment variable is ZJOB_ plus the key upper-cased with '-' as '_'. */
typedef struct {
    const char *key;            /* YAML key and long flag name */
    config_type_t type;         /* how the text is parsed */
    void *target;               /* where the value goes; see config_type_t */
    int64_t min, max;           /* CONFIG_INT bounds */
    const char *const *choices; /* CONFIG_CHOICE words, NULL-terminated */
    const char *help;           /* one line for --help */
} config_option_t;

/* Size of the error text buffers the functions below write into. */
#define CONFIG_ERROR_LEN 512

/* Parses text as the option named key and stores it. where names the source
 * for the error text ("flag --threads", "ZJOB_THREADS", "f.yml:3:10").
 * Returns 0, or -1 with a message in err (CONFIG_ERROR_LEN bytes). For
 * CONFIG_QUEUES the text is "NAME[=HANDLER]" as the --queue flag takes it. */
int config_set (const config_option_t *options, size_t count, const char *key,
                const char *text, const char *where, char *err);

/* Loads a YAML mapping of keys to scalars (and `queues:` as a list of
 * mappings) from path. Unknown keys, wrong shapes and bad values are errors
 * naming path, line, column and key. Returns 0, or -1 with err set. */
int config_load_file (const config_option_t *options, size_t count,
                      const char *path, char *err);

/* Applies every ZJOB_<KEY> variable that is set in the environment. For
 * CONFIG_QUEUES, the variable holds NAME[=HANDLER] entries separated by ';'.
 * Returns 0, or -1 with err set. */
int config_load_env (const config_option_t *options, size_t count, char *err);

/* Parses a queue flag "NAME[=HANDLER]" into queue; a bare builtin name
 * ("sha256") serves that builtin. Returns 0, or -1 with err set. */
int config_parse_queue (const char *text, config_queue_t *queue, char *err);

/* What config_load_args found on the command line. */
typedef enum {
    CONFIG_ARGS_RUN,     /* every source loaded: go on */
    CONFIG_ARGS_HELP,    /* -h/--help given: print usage, exit 0 */
    CONFIG_ARGS_VERSION, /* -V/--version given: print version, exit 0 */
    CONFIG_ARGS_ERROR    /* a source was bad: err says which and why */
} config_args_t;

/* Loads every source in order over the defaults already in the targets:
 * the YAML file named by -c/--config, then the environment, then the long
 * flags in argv (one per option, "--key VALUE" or "--key=VALUE"). A
 * CONFIG_QUEUES list given by a later source replaces the earlier one's.
 * Positional arguments are errors. Uses getopt_long. */
config_args_t config_load_args (const config_option_t *options, size_t count,
                                int argc, char **argv, char *err);

/* Frees the queues' strings and array and empties the list. */
void config_queues_clear (config_queues_t *queues);

/* Frees every CONFIG_STRING and CONFIG_CHOICE value the table points at
 * and clears every CONFIG_QUEUES list (the targets, not the table). */
void config_free (const config_option_t *options, size_t count);

/* Prints "  --key VALUE   help" lines for the table to stream (FILE *). */
void config_print_help (const config_option_t *options, size_t count,
                        void *stream);

#endif
