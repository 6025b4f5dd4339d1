/* The dead set commands of the zjob command line: `dead` lists the jobs
 * that ran out of attempts (or killed their workers), `retry` puts them
 * back in line with their attempts reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/cli_args.h"
#include "client/cli_commands.h"
#include "client/cli_json.h"
#include "common/units.h"

enum { DEAD_HELP = 1, DEAD_JSON, DEAD_QUEUE, DEAD_LIMIT, DEAD_ALL };

static const client_flag_t s_dead_flags[] = {
    {"help", 'h', false, DEAD_HELP},  {"json", 0, false, DEAD_JSON},
    {"queue", 'q', true, DEAD_QUEUE}, {"limit", 0, true, DEAD_LIMIT},
    {"all", 0, false, DEAD_ALL},      {NULL, 0, false, 0}};

/* Arguments of dead and retry. */
typedef struct {
    const char *queue; /* --queue, or NULL for every queue */
    int64_t limit;     /* dead: --limit, 0 for the broker's choice */
    bool all;          /* retry: --all */
    bool json, help;   /* flags */
    uint64_t *ids;     /* retry: owned, the ids given */
    size_t n_ids;      /* entries in ids */
    size_t rows;       /* rows printed */
    json_t *array;     /* dead --json: the jobs */
    bool *seen;        /* retry: per id, whether it was put back */
} s_dead_args_t;

/* Applies one flag or operand; returns 0 or -1 with err set. */
static int
s_dead_arg (s_dead_args_t *args, bool retry, int id, const char *value,
            char *err, size_t err_len)
{
    int rc = 0;
    if (id == DEAD_HELP) {
        args->help = true;
    } else if (id == DEAD_JSON && !retry) {
        args->json = true;
    } else if (id == DEAD_QUEUE) {
        args->queue = value;
    } else if (id == DEAD_LIMIT && !retry) {
        rc = number_parse (value, 1, UINT32_MAX, &args->limit);
    } else if (id == DEAD_ALL && retry) {
        args->all = true;
    } else if (id == CLIENT_ARG_OPERAND && retry) {
        rc = client_parse_id (value, &args->ids[args->n_ids++]);
    } else {
        snprintf (err, err_len, "unexpected argument '%s'",
                  id == CLIENT_ARG_OPERAND
                      ? value
                      : client_flag_name (s_dead_flags, id));
        return -1;
    }
    if (rc != 0) {
        snprintf (err, err_len, "bad value '%s'", value);
    }
    return rc;
}

/* Parses the arguments of dead or retry; returns 0 or -1 with err set. */
static int
s_dead_parse (int argc, char **argv, bool retry, s_dead_args_t *args, char *err,
              size_t err_len)
{
    client_args_t scan = {.argc = argc, .argv = argv, .index = 1};
    const char *value;
    int id, rc = 0;
    args->ids = calloc ((size_t) argc, sizeof *args->ids);
    while (rc == 0 && args->ids &&
           (id = client_args_next (&scan, s_dead_flags, &value, err,
                                   err_len)) != CLIENT_ARG_END) {
        rc = id == CLIENT_ARG_ERROR
                 ? -1
                 : s_dead_arg (args, retry, id, value, err, err_len);
    }
    if (rc == 0 && retry && !args->help && args->all == (args->n_ids > 0)) {
        snprintf (err, err_len, "give ID... or --all (with --queue Q)");
        rc = -1;
    } else if (rc == 0 && retry && args->queue && !args->all) {
        snprintf (err, err_len, "--queue goes with --all");
        rc = -1;
    }
    return args->ids ? rc : -1;
}

/* Writes finished_ms as UTC "YYYY-MM-DDTHH:MM:SSZ" into buf, "-" if 0. */
static const char *
s_time_text (uint64_t ms, char *buf, size_t len)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    if (ms == 0 || !gmtime_r (&seconds, &tm) ||
        strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf (buf, len, "-");
    }
    return buf;
}

static void
s_dead_row (const zjob_info_t *info, void *arg)
{
    s_dead_args_t *args = arg;
    if (args->array) {
        json_array_append_new (args->array, client_json_info (info));
        return;
    }
    if (args->rows++ == 0) {
        printf ("%-20s %-16s %8s %8s %5s %-20s %s\n", "ID", "QUEUE", "ATTEMPTS",
                "FAILURES", "LOST", "FINISHED", "ERROR");
    }
    char when[32];
    printf ("%-20llu %-16s %8u %8u %5u %-20s %s\n",
            (unsigned long long) info->id, info->queue, info->attempt,
            info->failures, info->lost,
            s_time_text (info->finished_ms, when, sizeof when), info->error);
}

/* Explains a refused dead-set request: an older broker has none. */
static int
s_dead_fail (zjob_client_t *client, const char *what, zjob_err_t err)
{
    int code = client_cli_fail (client, what, err);
    if (err == ZJOB_EREJECTED || err == ZJOB_EPROTO) {
        fprintf (stderr,
                 "zjob: %s: the broker may predate the dead set "
                 "(zjob-broker --version)\n",
                 what);
    }
    return code;
}

static int
s_dead_run (zjob_client_t *client, s_dead_args_t *args)
{
    args->array = args->json ? json_array () : NULL;
    zjob_err_t err = zjob_dead_list (client, args->queue,
                                     (uint32_t) args->limit, s_dead_row, args);
    if (err != ZJOB_OK) {
        json_decref (args->array);
        return s_dead_fail (client, "dead", err);
    }
    if (args->array) {
        client_json_print (args->array, stdout);
    } else if (args->rows == 0) {
        printf ("(no dead jobs)\n");
    }
    return CLI_EXIT_OK;
}

static void
s_retry_row (const zjob_info_t *info, void *arg)
{
    s_dead_args_t *args = arg;
    printf ("%llu %s %s\n", (unsigned long long) info->id,
            zjob_state_name (info->state), info->queue);
    for (size_t i = 0; i < args->n_ids; i++) {
        args->seen[i] = args->seen[i] || args->ids[i] == info->id;
    }
    args->rows++;
}

static int
s_retry_run (zjob_client_t *client, s_dead_args_t *args)
{
    args->seen = calloc (args->n_ids ? args->n_ids : 1, sizeof *args->seen);
    if (!args->seen) {
        return client_cli_fail (client, "retry", ZJOB_ENOMEM);
    }
    zjob_err_t err = zjob_dead_retry (client, args->queue, args->ids,
                                      args->n_ids, s_retry_row, args);
    fflush (stdout);
    int code = err ? s_dead_fail (client, "retry", err) : CLI_EXIT_OK;
    for (size_t i = 0; err == ZJOB_OK && i < args->n_ids; i++) {
        if (!args->seen[i]) {
            fprintf (stderr, "zjob: job %llu is not dead (or unknown)\n",
                     (unsigned long long) args->ids[i]);
            code = CLI_EXIT_JOB;
        }
    }
    if (err == ZJOB_OK && args->all) {
        fprintf (stderr, "zjob: retried %zu dead jobs\n", args->rows);
    }
    free (args->seen);
    return code;
}

/* Parses, answers --help, connects and runs dead or retry. */
static int
s_dead_command (const char *endpoint, int argc, char **argv, bool retry)
{
    s_dead_args_t args = {0};
    char err[256];
    int code = CLI_EXIT_USAGE;
    if (s_dead_parse (argc, argv, retry, &args, err, sizeof err) != 0) {
        fprintf (stderr, "zjob %s: %s\n", argv[0], err);
        client_cli_usage (argv[0], stderr);
    } else if (args.help) {
        client_cli_usage (argv[0], stdout);
        code = CLI_EXIT_OK;
    } else {
        zjob_client_t *client = client_cli_connect (endpoint);
        if (client) {
            code = retry ? s_retry_run (client, &args)
                         : s_dead_run (client, &args);
        }
        zjob_client_destroy (&client);
    }
    free (args.ids);
    return code;
}

int
client_cmd_dead (const char *endpoint, int argc, char **argv)
{
    return s_dead_command (endpoint, argc, argv, false);
}

int
client_cmd_retry (const char *endpoint, int argc, char **argv)
{
    return s_dead_command (endpoint, argc, argv, true);
}
