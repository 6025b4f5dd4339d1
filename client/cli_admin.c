/* The admin commands of the zjob command line: workers, queues, stats,
 * as tables for people or JSON with --json. */
#include <stdio.h>
#include <string.h>

#include "client/cli_args.h"
#include "client/cli_commands.h"
#include "client/cli_json.h"

/* Parses [--json] [--help]; returns -1 (usage printed), 0, or 1 for help. */
static int
s_admin_parse (int argc, char **argv, bool *json)
{
    static const client_flag_t flags[] = {
        {"help", 'h', false, 1}, {"json", 0, false, 2}, {NULL, 0, false, 0}};
    client_args_t scan = {.argc = argc, .argv = argv, .index = 1};
    const char *value;
    char err[128] = "unexpected argument";
    int id;
    *json = false;
    while ((id = client_args_next (&scan, flags, &value, err, sizeof err)) !=
           CLIENT_ARG_END) {
        if (id == 1) {
            client_cli_usage (argv[0], stdout);
            return 1;
        }
        if (id != 2) {
            fprintf (stderr, "zjob %s: %s\n", argv[0],
                     id == CLIENT_ARG_OPERAND ? "unexpected argument" : err);
            client_cli_usage (argv[0], stderr);
            return -1;
        }
        *json = true;
    }
    return 0;
}

/* Collects JSON objects into an array, or prints table rows. */
typedef struct {
    json_t *array; /* --json: the objects; NULL: table */
    size_t rows;   /* rows printed */
} s_admin_out_t;

static void
s_worker_header (void)
{
    printf ("%-24s %8s %8s %10s %8s %-5s %s\n", "NAME", "CAPACITY", "RUNNING",
            "DONE", "IDLE_MS", "DRAIN", "QUEUES");
}

static void
s_queue_header (void)
{
    printf ("%-24s %10s %10s %10s %12s %10s %8s\n", "QUEUE", "QUEUED",
            "SCHEDULED", "RUNNING", "SUCCEEDED", "FAILED", "WORKERS");
}

static void
s_worker_row (const zjob_worker_info_t *worker, void *arg)
{
    s_admin_out_t *out = arg;
    if (out->array) {
        json_array_append_new (out->array, client_json_worker (worker));
        return;
    }
    if (out->rows++ == 0) {
        s_worker_header ();
    }
    printf ("%-24s %8u %8u %10llu %8llu %-5s ", worker->name, worker->capacity,
            worker->running, (unsigned long long) worker->done,
            (unsigned long long) worker->idle_ms,
            worker->draining ? "yes" : "no");
    for (size_t i = 0; i < worker->n_queues; i++) {
        printf ("%s%s", i ? "," : "", worker->queues[i]);
    }
    printf ("\n");
}

static void
s_queue_row (const zjob_queue_info_t *queue, void *arg)
{
    s_admin_out_t *out = arg;
    if (out->array) {
        json_array_append_new (out->array, client_json_queue (queue));
        return;
    }
    if (out->rows++ == 0) {
        s_queue_header ();
    }
    printf ("%-24s %10llu %10llu %10llu %12llu %10llu %8u\n", queue->name,
            (unsigned long long) queue->queued,
            (unsigned long long) queue->scheduled,
            (unsigned long long) queue->running,
            (unsigned long long) queue->succeeded,
            (unsigned long long) queue->failed, queue->workers);
}

/* Runs a listing admin command: workers (queues = false) or queues. */
static int
s_admin_list (const char *endpoint, int argc, char **argv, bool queues)
{
    bool json;
    int parsed = s_admin_parse (argc, argv, &json);
    if (parsed != 0) {
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    zjob_client_t *client = client_cli_connect (endpoint);
    if (!client) {
        return CLI_EXIT_USAGE;
    }
    s_admin_out_t out = {.array = json ? json_array () : NULL};
    zjob_err_t err = queues ? zjob_queues (client, s_queue_row, &out)
                            : zjob_workers (client, s_worker_row, &out);
    int code = err ? client_cli_fail (client, argv[0], err) : CLI_EXIT_OK;
    if (out.array && err == ZJOB_OK) {
        client_json_print (out.array, stdout);
    } else if (!out.array && err == ZJOB_OK && out.rows == 0) {
        queues ? s_queue_header () : s_worker_header ();
        printf ("(none)\n");
    } else if (out.array) {
        json_decref (out.array);
    }
    zjob_client_destroy (&client);
    return code;
}

int
client_cmd_workers (const char *endpoint, int argc, char **argv)
{
    return s_admin_list (endpoint, argc, argv, false);
}

int
client_cmd_queues (const char *endpoint, int argc, char **argv)
{
    return s_admin_list (endpoint, argc, argv, true);
}

/* Prints stats as "name value" lines, in the JSON object's key order. */
static void
s_stats_table (const zjob_stats_t *stats)
{
    json_t *object = client_json_stats (stats);
    const char *key;
    json_t *value;
    json_object_foreach (object, key, value)
    {
        printf ("%-18s %lld\n", key, (long long) json_integer_value (value));
    }
    json_decref (object);
}

int
client_cmd_stats (const char *endpoint, int argc, char **argv)
{
    bool json;
    int parsed = s_admin_parse (argc, argv, &json);
    if (parsed != 0) {
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    zjob_client_t *client = client_cli_connect (endpoint);
    if (!client) {
        return CLI_EXIT_USAGE;
    }
    zjob_stats_t stats;
    zjob_err_t err = zjob_stats (client, &stats);
    int code = err ? client_cli_fail (client, "stats", err) : CLI_EXIT_OK;
    if (err == ZJOB_OK && json) {
        client_json_print (client_json_stats (&stats), stdout);
    } else if (err == ZJOB_OK) {
        s_stats_table (&stats);
    }
    zjob_client_destroy (&client);
    return code;
}
