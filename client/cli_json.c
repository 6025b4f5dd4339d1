/* JSON output of the zjob command line; see cli_json.h. */
#include "client/cli_json.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

/* A JSON string of text; bytes that are not UTF-8 become '?' rather than
 * making the whole object vanish. Never NULL but when out of memory. */
static json_t *
s_text (const char *text)
{
    json_t *value = json_string (text ? text : "");
    if (value) {
        return value;
    }
    char *copy = text ? strdup (text) : NULL;
    if (!copy) {
        return NULL;
    }
    text_utf8_fix (copy, strlen (copy));
    value = json_string (copy);
    free (copy);
    return value;
}

/* Sets result, or result_base64 when the bytes are not valid UTF-8. */
static void
s_set_result (json_t *object, const void *data, size_t len)
{
    json_t *text = json_stringn (len ? data : "", len);
    if (text) {
        json_object_set_new (object, "result", text);
        return;
    }
    size_t encoded_len = 4 * ((len + 2) / 3) + 1;
    unsigned char *encoded = malloc (encoded_len);
    if (encoded) {
        EVP_EncodeBlock (encoded, data, (int) len);
        json_object_set_new (object, "result_base64",
                             json_string ((char *) encoded));
        free (encoded);
    }
}

json_t *
client_json_info (const zjob_info_t *info)
{
    json_t *object = json_pack (
        "{s:I, s:o, s:s, s:I, s:o, s:o, s:I, s:I, s:I, s:I}", "id",
        (json_int_t) info->id, "queue", s_text (info->queue), "state",
        zjob_state_name (info->state), "attempt", (json_int_t) info->attempt,
        "error", s_text (info->error), "worker", s_text (info->worker),
        "priority", (json_int_t) info->priority, "created_ms",
        (json_int_t) info->created_ms, "started_ms",
        (json_int_t) info->started_ms, "finished_ms",
        (json_int_t) info->finished_ms);
    if (object) {
        json_object_set_new (object, "failures",
                             json_integer ((json_int_t) info->failures));
        json_object_set_new (object, "lost",
                             json_integer ((json_int_t) info->lost));
    }
    if (object && info->result_omitted) {
        json_object_set_new (object, "result_omitted", json_true ());
    } else if (object && info->state == ZJOB_STATE_SUCCEEDED) {
        s_set_result (object, info->result, info->result_len);
    }
    return object;
}

json_t *
client_json_worker (const zjob_worker_info_t *worker)
{
    json_t *queues = json_array ();
    for (size_t i = 0; queues && i < worker->n_queues; i++) {
        json_array_append_new (queues, s_text (worker->queues[i]));
    }
    return json_pack (
        "{s:o, s:o, s:I, s:I, s:I, s:I, s:b}", "name", s_text (worker->name),
        "queues", queues, "capacity", (json_int_t) worker->capacity, "running",
        (json_int_t) worker->running, "done", (json_int_t) worker->done,
        "idle_ms", (json_int_t) worker->idle_ms, "draining", worker->draining);
}

json_t *
client_json_queue (const zjob_queue_info_t *queue)
{
    return json_pack (
        "{s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "name", s_text (queue->name),
        "queued", (json_int_t) queue->queued, "scheduled",
        (json_int_t) queue->scheduled, "running", (json_int_t) queue->running,
        "succeeded", (json_int_t) queue->succeeded, "failed",
        (json_int_t) queue->failed, "workers", (json_int_t) queue->workers);
}

json_t *
client_json_stats (const zjob_stats_t *stats)
{
    const struct {
        const char *key;
        uint64_t value;
    } fields[] = {{"uptime_ms", stats->uptime_ms},
                  {"submitted", stats->submitted},
                  {"succeeded", stats->succeeded},
                  {"failed", stats->failed},
                  {"cancelled", stats->cancelled},
                  {"timed_out", stats->timed_out},
                  {"dead", stats->dead},
                  {"retried", stats->retried},
                  {"queued", stats->queued},
                  {"running", stats->running},
                  {"workers", stats->workers},
                  {"clients_rejected", stats->clients_rejected},
                  {"stale_results", stats->stale_results},
                  {"worker_lost", stats->worker_lost},
                  {"results_kept", stats->results_kept},
                  {"dead_kept", stats->dead_kept},
                  {"rejected_busy", stats->rejected_busy},
                  {"journal_bytes", stats->journal_bytes},
                  {"journal_syncs", stats->journal_syncs},
                  {"memory_bytes", stats->memory_bytes},
                  {"recovered", stats->recovered}};
    json_t *object = json_object ();
    for (size_t i = 0; object && i < sizeof fields / sizeof fields[0]; i++) {
        json_object_set_new (object, fields[i].key,
                             json_integer ((json_int_t) fields[i].value));
    }
    return object;
}

int
client_json_print (json_t *value, FILE *stream)
{
    if (!value) {
        return -1;
    }
    int rc = json_dumpf (value, stream, JSON_COMPACT | JSON_REAL_PRECISION (9));
    json_decref (value);
    if (rc != 0 || fputc ('\n', stream) == EOF) {
        return -1;
    }
    return 0;
}
