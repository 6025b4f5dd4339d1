/* The job commands of the zjob command line: submit, map, wait, status,
 * result and cancel; the command table. */
#include "client/cli_commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/cli_args.h"
#include "client/cli_json.h"
#include "client/cli_map.h"
#include "common/codec.h"
#include "common/units.h"

#define CANCEL_WAIT_MS 10000

enum {
    FLAG_HELP = 1,
    FLAG_JSON,
    FLAG_WAIT,
    FLAG_PRIORITY,
    FLAG_TIMEOUT,
    FLAG_ATTEMPTS,
    FLAG_KEY,
    FLAG_DELAY,
    FLAG_FILE,
    FLAG_WINDOW,
    FLAG_FILES
};

/* Says once per run why a command waits: the broker went quiet. */
static void
s_on_down (zjob_client_t *client, int64_t down_timeout_ms, void *arg)
{
    static bool said;
    (void) arg;
    if (said) {
        return;
    }
    said = true;
    bool whole = down_timeout_ms % 1000 == 0;
    fprintf (stderr,
             "zjob: broker at %s not answering; waiting up to %lld%s "
             "(ZJOB_DOWN_TIMEOUT)\n",
             zjob_client_endpoint (client),
             (long long) (whole ? down_timeout_ms / 1000 : down_timeout_ms),
             whole ? "s" : "ms");
}

/* Checks $ZJOB_DOWN_TIMEOUT (the library ignores a bad value; the
 * command line refuses it). Returns 0, or -1 after saying why. */
static int
s_check_down_env (void)
{
    const char *text = getenv ("ZJOB_DOWN_TIMEOUT");
    uint64_t ms;
    if (!text || (duration_parse (text, &ms) == 0 && ms > 0 &&
                  ms <= (uint64_t) INT64_MAX)) {
        return 0;
    }
    fprintf (stderr,
             "zjob: ZJOB_DOWN_TIMEOUT: bad duration '%s' (want a time over "
             "0 such as 30s, 2m or 500ms)\n",
             text);
    return -1;
}

zjob_client_t *
client_cli_connect (const char *endpoint)
{
    if (s_check_down_env () != 0) {
        return NULL;
    }
    zjob_client_t *client = zjob_client_new (endpoint);
    if (client) {
        zjob_client_on_down (client, s_on_down, NULL);
    } else {
        const char *from_env = getenv ("ZJOB_BROKER");
        fprintf (stderr, "zjob: cannot use broker endpoint '%s'%s: %s\n",
                 endpoint   ? endpoint
                 : from_env ? from_env
                            : ZJOB_DEFAULT_ENDPOINT,
                 !endpoint && from_env ? " (from ZJOB_BROKER)" : "",
                 errno == ENOMEM ? "out of memory" : "malformed endpoint");
    }
    return client;
}

int
client_cli_fail (zjob_client_t *client, const char *what, zjob_err_t err)
{
    const char *detail = client ? zjob_client_error (client) : "";
    fprintf (stderr, "zjob: %s: %s%s%s%s\n", what, zjob_strerror (err),
             *detail ? " (" : "", detail, *detail ? ")" : "");
    return client_exit_code (err);
}

/* Prints a usage error and returns the exit code for it. */
static int
s_usage_error (const char *name, const char *message)
{
    fprintf (stderr, "zjob %s: %s\n", name, message);
    client_cli_usage (name, stderr);
    return CLI_EXIT_USAGE;
}

/* Reads all of stream (at most CODEC_MAX_PAYLOAD bytes) into *data. */
static int
s_read_all (FILE *stream, char **data, size_t *len)
{
    size_t cap = 4096, used = 0;
    char *buffer = malloc (cap);
    while (buffer) {
        used += fread (buffer + used, 1, cap - used, stream);
        if (used < cap || used > CODEC_MAX_PAYLOAD) {
            break;
        }
        char *grown = realloc (buffer, cap * 2);
        if (!grown) {
            free (buffer);
        }
        buffer = grown;
        cap *= 2;
    }
    if (!buffer || ferror (stream) || used > CODEC_MAX_PAYLOAD) {
        free (buffer);
        return -1;
    }
    *data = buffer;
    *len = used;
    return 0;
}

/* Prints one final job for wait/submit --wait; returns true if it
 * succeeded. raw: the result exactly as it is (submit --wait), but for a
 * newline added at a terminal when it does not end with one. */
static bool
s_print_final (const zjob_info_t *info, bool json, bool raw)
{
    bool ok = info->state == ZJOB_STATE_SUCCEEDED;
    if (json) {
        client_json_print (client_json_info (info), stdout);
    } else if (ok) {
        size_t len = raw ? info->result_len
                         : client_trim_newline (info->result, info->result_len);
        if (len > 0) { /* an empty result may have no buffer at all */
            fwrite (info->result, 1, len, stdout);
        }
        /* Raw bytes stay raw in a pipe; a person at a terminal gets the
         * prompt on a line of its own. */
        if (!raw || (isatty (STDOUT_FILENO) && len > 0 &&
                     ((const char *) info->result)[len - 1] != '\n')) {
            fputc ('\n', stdout);
        }
    }
    if (!ok && info->state == ZJOB_STATE_UNKNOWN) {
        fprintf (stderr, "zjob: job %llu: unknown job\n",
                 (unsigned long long) info->id);
    } else if (!ok) {
        fprintf (stderr, "zjob: job %llu %s%s%s\n",
                 (unsigned long long) info->id, zjob_state_name (info->state),
                 *info->error ? ": " : "", info->error);
    }
    fflush (stdout);
    return ok;
}

/* Options of `submit`, filled from its arguments. */
typedef struct {
    zjob_spec_t spec;      /* the job */
    const char *payload;   /* operand payload, "-" for stdin, or NULL */
    const char *file;      /* -f FILE, or NULL */
    bool wait, json, help; /* flags */
    bool succeeded;        /* --wait: the job succeeded */
} s_submit_args_t;

static const client_flag_t s_submit_flags[] = {
    {"help", 'h', false, FLAG_HELP},    {"json", 0, false, FLAG_JSON},
    {"wait", 'w', false, FLAG_WAIT},    {"priority", 0, true, FLAG_PRIORITY},
    {"timeout", 0, true, FLAG_TIMEOUT}, {"attempts", 0, true, FLAG_ATTEMPTS},
    {"key", 0, true, FLAG_KEY},         {"delay", 0, true, FLAG_DELAY},
    {"file", 'f', true, FLAG_FILE},     {NULL, 0, false, 0}};

/* Applies one submit flag; returns 0 or -1 with err set. */
static int
s_submit_flag (s_submit_args_t *args, int id, const char *value, char *err,
               size_t err_len)
{
    int64_t number;
    int rc = 0;
    switch (id) {
        case FLAG_HELP:
            args->help = true;
            break;
        case FLAG_JSON:
            args->json = true;
            break;
        case FLAG_WAIT:
            args->wait = true;
            break;
        case FLAG_KEY:
            args->spec.key = value;
            break;
        case FLAG_FILE:
            args->file = value;
            break;
        case FLAG_TIMEOUT:
            rc = duration_parse (value, &args->spec.timeout_ms);
            break;
        case FLAG_DELAY:
            rc = duration_parse (value, &args->spec.delay_ms);
            break;
        case FLAG_PRIORITY:
            rc = number_parse (value, INT32_MIN, INT32_MAX, &number);
            args->spec.priority = rc == 0 ? (int32_t) number : 0;
            break;
        case FLAG_ATTEMPTS:
            rc = number_parse (value, 1, 1000, &number);
            args->spec.max_attempts = rc == 0 ? (uint32_t) number : 0;
            break;
    }
    if (rc != 0) {
        snprintf (err, err_len, "--%s: bad value '%s'",
                  client_flag_name (s_submit_flags, id), value);
    }
    return rc;
}

/* Parses submit's arguments; returns 0 or -1 with err set. */
static int
s_submit_parse (int argc, char **argv, s_submit_args_t *args, char *err,
                size_t err_len)
{
    client_args_t scan = {.argc = argc, .argv = argv, .index = 1};
    const char *value;
    int id;
    while ((id = client_args_next (&scan, s_submit_flags, &value, err,
                                   err_len)) != CLIENT_ARG_END) {
        if (id == CLIENT_ARG_ERROR) {
            return -1;
        } else if (id != CLIENT_ARG_OPERAND) {
            if (s_submit_flag (args, id, value, err, err_len) != 0) {
                return -1;
            }
        } else if (!args->spec.queue) {
            args->spec.queue = value;
        } else if (!args->payload) {
            args->payload = value;
        } else {
            snprintf (err, err_len, "too many arguments");
            return -1;
        }
    }
    if (!args->help && (!args->spec.queue || !*args->spec.queue)) {
        snprintf (err, err_len, "missing QUEUE");
        return -1;
    }
    if (args->payload && args->file) {
        snprintf (err, err_len, "give PAYLOAD or -f FILE, not both");
        return -1;
    }
    return 0;
}

/* Loads the payload from the operand, -f FILE or stdin. */
static int
s_submit_payload (s_submit_args_t *args, char **owned)
{
    *owned = NULL;
    if (args->payload && strcmp (args->payload, "-") != 0) {
        args->spec.payload = args->payload;
        args->spec.payload_len = strlen (args->payload);
        return 0;
    }
    if (!args->payload && !args->file) {
        return 0;
    }
    FILE *stream = args->file ? fopen (args->file, "rb") : stdin;
    int rc = stream ? s_read_all (stream, owned, &args->spec.payload_len) : -1;
    if (stream && stream != stdin) {
        fclose (stream);
    }
    if (rc != 0) {
        fprintf (stderr, "zjob submit: cannot read %s (or over %u bytes)\n",
                 args->file ? args->file : "stdin", CODEC_MAX_PAYLOAD);
        return -1;
    }
    args->spec.payload = *owned;
    return 0;
}

static void
s_submit_waited (const zjob_info_t *info, void *arg)
{
    s_submit_args_t *args = arg;
    args->succeeded = s_print_final (info, args->json, true);
}

/* How long submit --wait waits before it checks that a worker serves the
 * job's queue. */
#define SUBMIT_HINT_MS 3000

/* What s_queue_workers looks for and finds. */
typedef struct {
    const char *queue; /* the queue asked about */
    int64_t workers;   /* workers serving it; -1: the broker does not know
                          it */
} s_queue_probe_t;

static void
s_queue_workers (const zjob_queue_info_t *queue, void *arg)
{
    s_queue_probe_t *probe = arg;
    if (strcmp (queue->name, probe->queue) == 0) {
        probe->workers = queue->workers;
    }
}

/* Says on stderr, once, when no worker serves the queue a waiting submit
 * is stuck on: the job waits in line for one, perhaps for ever. */
static void
s_hint_no_worker (zjob_client_t *client, const char *queue)
{
    s_queue_probe_t probe = {queue, -1};
    if (zjob_queues (client, s_queue_workers, &probe) == ZJOB_OK &&
        probe.workers == 0) {
        fprintf (stderr,
                 "zjob: no worker serves queue '%s'; the job waits for one "
                 "(Ctrl-C stops waiting, the job stays queued)\n",
                 queue);
    }
}

/* Submits the one job, prints its id or waits and prints its result. */
static int
s_submit_run (zjob_client_t *client, s_submit_args_t *args)
{
    uint64_t id = 0;
    zjob_err_t job_err = ZJOB_OK;
    zjob_client_set_patient (client, args->wait); /* it waits for the job */
    zjob_err_t err = zjob_submit (client, &args->spec, 1, &id, &job_err);
    if (err != ZJOB_OK) {
        return client_cli_fail (client, "submit", err);
    }
    if (job_err == ZJOB_EBUSY) {
        fprintf (stderr, "zjob: submit: broker busy: %s\n",
                 zjob_client_error (client));
        return CLI_EXIT_UNREACHABLE;
    }
    if (job_err != ZJOB_OK) {
        fprintf (stderr, "zjob: submit refused: %s (%s)\n",
                 zjob_strerror (job_err), zjob_client_error (client));
        return CLI_EXIT_JOB;
    }
    if (!args->wait) {
        if (args->json) {
            client_json_print (json_pack ("{s:I}", "id", (json_int_t) id),
                               stdout);
        } else {
            printf ("%llu\n", (unsigned long long) id);
        }
        return CLI_EXIT_OK;
    }
    err = zjob_wait (client, &id, 1, SUBMIT_HINT_MS, s_submit_waited, args);
    if (err == ZJOB_ETIMEDOUT) {
        s_hint_no_worker (client, args->spec.queue);
        err = zjob_wait (client, &id, 1, -1, s_submit_waited, args);
    }
    if (err != ZJOB_OK) {
        return client_cli_fail (client, "wait", err);
    }
    return args->succeeded ? CLI_EXIT_OK : CLI_EXIT_JOB;
}

static int
s_cmd_submit (const char *endpoint, int argc, char **argv)
{
    s_submit_args_t args = {0};
    char err[256];
    if (s_submit_parse (argc, argv, &args, err, sizeof err) != 0) {
        return s_usage_error ("submit", err);
    }
    if (args.help) {
        client_cli_usage ("submit", stdout);
        return CLI_EXIT_OK;
    }
    char *owned = NULL;
    if (s_submit_payload (&args, &owned) != 0) {
        return CLI_EXIT_USAGE;
    }
    zjob_client_t *client = client_cli_connect (endpoint);
    int code = client ? s_submit_run (client, &args) : CLI_EXIT_USAGE;
    zjob_client_destroy (&client);
    free (owned);
    return code;
}

/* Arguments of map and of the commands that take ids. */
typedef struct {
    uint64_t *ids;      /* owned: the ids given */
    size_t n_ids;       /* entries in ids */
    const char *queue;  /* map: the queue */
    const char *input;  /* map: FILE, "-" or NULL for stdin */
    int64_t window;     /* map: jobs in flight */
    bool files;         /* map: each line names a file to send */
    int64_t timeout_ms; /* wait: --timeout, < 0 none */
    bool json, help;    /* flags */
} s_ids_args_t;

static const client_flag_t s_ids_flags[] = {
    {"help", 'h', false, FLAG_HELP},    {"json", 0, false, FLAG_JSON},
    {"timeout", 0, true, FLAG_TIMEOUT}, {"window", 0, true, FLAG_WINDOW},
    {"files", 0, false, FLAG_FILES},    {NULL, 0, false, 0}};

/* Applies one flag of s_ids_flags; returns 0 or -1 with err set. */
static int
s_ids_flag (s_ids_args_t *args, int id, const char *value, char *err,
            size_t err_len)
{
    uint64_t ms;
    int rc = 0;
    if (id == FLAG_HELP) {
        args->help = true;
    } else if (id == FLAG_JSON) {
        args->json = true;
    } else if (id == FLAG_TIMEOUT) {
        rc = duration_parse (value, &ms) != 0 || ms > INT64_MAX ? -1 : 0;
        args->timeout_ms = (int64_t) ms;
    } else if (id == FLAG_WINDOW) {
        rc = number_parse (value, 1, 100000, &args->window);
    } else if (id == FLAG_FILES) {
        args->files = true;
    }
    if (rc != 0) {
        snprintf (err, err_len, "--%s: bad value '%s'",
                  client_flag_name (s_ids_flags, id), value);
    }
    return rc;
}

/* Takes one operand: map's QUEUE and FILE, or an id. */
static int
s_ids_operand (s_ids_args_t *args, bool map, const char *value, char *err,
               size_t err_len)
{
    if (map && !args->queue) {
        args->queue = value;
    } else if (map && !args->input) {
        args->input = value;
    } else if (map) {
        snprintf (err, err_len, "too many arguments");
        return -1;
    } else if (client_parse_id (value, &args->ids[args->n_ids++]) != 0) {
        snprintf (err, err_len, "'%s' is not a job id", value);
        return -1;
    }
    return 0;
}

/* Parses the arguments of map (map = true) or of an id command. */
static int
s_ids_parse (int argc, char **argv, bool map, s_ids_args_t *args, char *err,
             size_t err_len)
{
    client_args_t scan = {.argc = argc, .argv = argv, .index = 1};
    const char *value;
    int id, rc = 0;
    args->ids = calloc ((size_t) argc, sizeof *args->ids);
    args->window = 2000;
    args->timeout_ms = -1;
    while (rc == 0 && args->ids &&
           (id = client_args_next (&scan, s_ids_flags, &value, err, err_len)) !=
               CLIENT_ARG_END) {
        if (id == CLIENT_ARG_ERROR) {
            rc = -1;
        } else if (id == CLIENT_ARG_OPERAND) {
            rc = s_ids_operand (args, map, value, err, err_len);
        } else {
            rc = s_ids_flag (args, id, value, err, err_len);
        }
    }
    if (rc == 0 && !args->help && (map ? !args->queue : args->n_ids == 0)) {
        snprintf (err, err_len, map ? "missing QUEUE" : "missing ID");
        rc = -1;
    }
    return args->ids ? rc : -1;
}

static int
s_cmd_map (const char *endpoint, int argc, char **argv)
{
    s_ids_args_t args = {0};
    char err[256];
    int code = CLI_EXIT_USAGE;
    if (s_ids_parse (argc, argv, true, &args, err, sizeof err) != 0) {
        free (args.ids);
        return s_usage_error ("map", err);
    }
    free (args.ids);
    if (args.help) {
        client_cli_usage ("map", stdout);
        return CLI_EXIT_OK;
    }
    bool from_stdin = !args.input || strcmp (args.input, "-") == 0;
    FILE *in = from_stdin ? stdin : fopen (args.input, "r");
    if (!in) {
        fprintf (stderr, "zjob map: cannot open %s: %s\n", args.input,
                 strerror (errno));
        return CLI_EXIT_USAGE;
    }
    client_map_options_t options = {
        .base = {.queue = args.queue},
        .window = (size_t) args.window,
        .batch = args.window < 500 ? (size_t) args.window : 500,
        .progress = isatty (STDERR_FILENO),
        .files = args.files};
    zjob_client_t *client = client_cli_connect (endpoint);
    if (client) {
        zjob_client_set_patient (client, true);
        code = client_map_run (client, &options, in, stdout, stderr);
    }
    zjob_client_destroy (&client);
    if (!from_stdin) {
        fclose (in);
    }
    return code;
}

/* What an id command's callbacks share. */
typedef struct {
    s_ids_args_t *args;    /* the parsed arguments */
    size_t failed;         /* jobs that did not succeed (or are unknown) */
    size_t index;          /* cancel: position of the next reply */
    zjob_state_t *states;  /* cancel: state per argument */
    zjob_client_t *client; /* the connection the command uses */
    bool refetching;       /* result: asking for one omitted result */
} s_ids_run_t;

typedef int (s_ids_fn) (zjob_client_t *client, s_ids_run_t *run);

/* Parses, answers --help, connects and runs fn. */
static int
s_ids_command (const char *endpoint, int argc, char **argv, s_ids_fn *fn)
{
    s_ids_args_t args = {0};
    char err[256];
    int code = CLI_EXIT_USAGE;
    if (s_ids_parse (argc, argv, false, &args, err, sizeof err) != 0) {
        code = s_usage_error (argv[0], err);
    } else if (args.help) {
        client_cli_usage (argv[0], stdout);
        code = CLI_EXIT_OK;
    } else {
        s_ids_run_t run = {.args = &args};
        zjob_client_t *client = client_cli_connect (endpoint);
        run.client = client;
        code = client ? fn (client, &run) : CLI_EXIT_USAGE;
        zjob_client_destroy (&client);
    }
    free (args.ids);
    return code;
}

static void
s_wait_one (const zjob_info_t *info, void *arg)
{
    s_ids_run_t *run = arg;
    if (!s_print_final (info, run->args->json, false)) {
        run->failed++;
    }
}

static int
s_wait_run (zjob_client_t *client, s_ids_run_t *run)
{
    zjob_client_set_patient (client, true);
    zjob_err_t err = zjob_wait (client, run->args->ids, run->args->n_ids,
                                run->args->timeout_ms, s_wait_one, run);
    if (err != ZJOB_OK) {
        return client_cli_fail (client, "wait", err);
    }
    return run->failed ? CLI_EXIT_JOB : CLI_EXIT_OK;
}

static int
s_cmd_wait (const char *endpoint, int argc, char **argv)
{
    return s_ids_command (endpoint, argc, argv, s_wait_run);
}

static void
s_status_one (const zjob_info_t *info, void *arg)
{
    s_ids_run_t *run = arg;
    run->failed += info->state == ZJOB_STATE_UNKNOWN;
    if (run->args->json) {
        client_json_print (client_json_info (info), stdout);
        return;
    }
    if (run->index++ == 0) {
        printf ("%-20s %-10s %7s %-16s %-16s %s\n", "ID", "STATE", "ATTEMPT",
                "QUEUE", "WORKER", "ERROR");
    }
    printf ("%-20llu %-10s %7u %-16s %-16s %s", (unsigned long long) info->id,
            zjob_state_name (info->state), info->attempt,
            *info->queue ? info->queue : "-",
            *info->worker ? info->worker : "-", info->error);
    if (info->failures || info->lost) {
        printf ("%s(failures %u, worker lost %u)", *info->error ? " " : "",
                info->failures, info->lost);
    }
    printf ("\n");
}

static int
s_status_run (zjob_client_t *client, s_ids_run_t *run)
{
    zjob_err_t err = zjob_status (client, run->args->ids, run->args->n_ids,
                                  s_status_one, run);
    if (err) {
        return client_cli_fail (client, "status", err);
    }
    return run->failed ? CLI_EXIT_JOB : CLI_EXIT_OK; /* an unknown id */
}

static int
s_cmd_status (const char *endpoint, int argc, char **argv)
{
    return s_ids_command (endpoint, argc, argv, s_status_run);
}

static void
s_result_one (const zjob_info_t *info, void *arg)
{
    s_ids_run_t *run = arg;
    if (info->result_omitted && !run->refetching) {
        /* too large to come with the others: ask for it alone */
        run->refetching = true;
        zjob_err_t err =
            zjob_status (run->client, &info->id, 1, s_result_one, run);
        run->refetching = false;
        if (err != ZJOB_OK) {
            run->failed++;
            client_cli_fail (run->client, "result", err);
        }
        return;
    }
    if (zjob_state_is_final (info->state) ||
        info->state == ZJOB_STATE_UNKNOWN) {
        if (!s_print_final (info, run->args->json, false)) {
            run->failed++;
        }
        return;
    }
    fprintf (stderr, "zjob: job %llu is %s, not finished\n",
             (unsigned long long) info->id, zjob_state_name (info->state));
    run->failed++;
}

static int
s_result_run (zjob_client_t *client, s_ids_run_t *run)
{
    zjob_err_t err = zjob_status (client, run->args->ids, run->args->n_ids,
                                  s_result_one, run);
    if (err != ZJOB_OK) {
        return client_cli_fail (client, "result", err);
    }
    return run->failed ? CLI_EXIT_JOB : CLI_EXIT_OK;
}

static int
s_cmd_result (const char *endpoint, int argc, char **argv)
{
    return s_ids_command (endpoint, argc, argv, s_result_run);
}

/* Records the state of every argument equal to info's id. */
static void
s_cancel_one (const zjob_info_t *info, void *arg)
{
    s_ids_run_t *run = arg;
    for (size_t i = 0; i < run->args->n_ids; i++) {
        if (run->args->ids[i] == info->id) {
            run->states[i] = info->state;
        }
    }
}

/* Waits (bounded) for the ids the cancel left running. */
static zjob_err_t
s_cancel_settle (zjob_client_t *client, s_ids_run_t *run)
{
    uint64_t *left = calloc (run->args->n_ids, sizeof *left);
    size_t n_left = 0;
    if (!left) {
        return ZJOB_ENOMEM;
    }
    for (size_t i = 0; i < run->args->n_ids; i++) {
        if (!zjob_state_is_final (run->states[i]) &&
            run->states[i] != ZJOB_STATE_UNKNOWN) {
            left[n_left++] = run->args->ids[i];
        }
    }
    zjob_err_t err = ZJOB_OK;
    if (n_left > 0) {
        err =
            zjob_wait (client, left, n_left, CANCEL_WAIT_MS, s_cancel_one, run);
    }
    free (left);
    return err;
}

static int
s_cancel_run (zjob_client_t *client, s_ids_run_t *run)
{
    zjob_state_t *states = calloc (run->args->n_ids, sizeof *states);
    run->states = states;
    zjob_err_t err = states ? ZJOB_OK : ZJOB_ENOMEM;
    if (err == ZJOB_OK) {
        err = zjob_cancel (client, run->args->ids, run->args->n_ids,
                           s_cancel_one, run);
    }
    if (err == ZJOB_OK) {
        err = s_cancel_settle (client, run);
    }
    for (size_t i = 0; states && i < run->args->n_ids; i++) {
        printf ("%llu %s\n", (unsigned long long) run->args->ids[i],
                zjob_state_name (states[i]));
        run->failed += states[i] == ZJOB_STATE_UNKNOWN;
    }
    free (states);
    if (err != ZJOB_OK) {
        return client_cli_fail (client, "cancel", err);
    }
    return run->failed ? CLI_EXIT_JOB : CLI_EXIT_OK;
}

static int
s_cmd_cancel (const char *endpoint, int argc, char **argv)
{
    return s_ids_command (endpoint, argc, argv, s_cancel_run);
}

const client_command_t client_commands[] = {
    {"submit", s_cmd_submit,
     "QUEUE [PAYLOAD | -f FILE | -] [--wait] [--priority N] [--timeout DUR]\n"
     "       [--attempts N] [--key KEY] [--delay DUR] [--json]",
     "submit one job; print its id, or its result with --wait"},
    {"map", s_cmd_map, "QUEUE [FILE | -] [--window N] [--files]",
     "one job per input line; results in input order"},
    {"wait", s_cmd_wait, "ID... [--timeout DUR] [--json]",
     "wait for jobs to finish and print their results"},
    {"status", s_cmd_status, "ID... [--json]", "print the state of jobs"},
    {"result", s_cmd_result, "ID... [--json]",
     "print the results of finished jobs"},
    {"cancel", s_cmd_cancel, "ID...",
     "cancel jobs and print their final states"},
    {"workers", client_cmd_workers, "[--json]", "list connected workers"},
    {"queues", client_cmd_queues, "[--json]", "list queues and their counts"},
    {"stats", client_cmd_stats, "[--json]", "print the broker's counters"},
    {"dead", client_cmd_dead, "[--queue Q] [--limit N] [--json]",
     "list dead jobs (out of attempts or killed their workers)"},
    {"retry", client_cmd_retry, "ID... | [--queue Q] --all",
     "put dead jobs back in line, attempts reset"},
    {NULL, NULL, NULL, NULL}};

const client_command_t *
client_command_find (const char *name)
{
    for (const client_command_t *command = client_commands; command->name;
         command++) {
        if (strcmp (command->name, name) == 0) {
            return command;
        }
    }
    return NULL;
}

void
client_cli_usage (const char *name, void *stream)
{
    const client_command_t *command = client_command_find (name);
    if (command) {
        fprintf (stream, "usage: zjob [-b EP] %s %s\n", command->name,
                 command->usage);
    }
}
