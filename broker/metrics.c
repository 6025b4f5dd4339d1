/* Prometheus text and JSON documents from a broker snapshot; see
 * metrics.h. */
#include "broker/metrics.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_wire.h"
#include "client/cli_json.h"
#include "common/text.h"

/* One broker-wide series read from a uint64_t field of Zjob__Stats. */
typedef struct {
    const char *name; /* series name; counters end in _total */
    const char *type; /* "counter" or "gauge" */
    size_t offset;    /* of its field in Zjob__Stats */
    bool journal;     /* exported only when a journal is on */
    const char *help; /* one line, no backslash or newline */
} stat_series_t;

#define STAT(name, type, field, journal, help)                                 \
    {                                                                          \
        name, type, offsetof (Zjob__Stats, field), journal, help               \
    }

static const stat_series_t s_stat_series[] = {
    STAT ("zjob_jobs_submitted_total", "counter", submitted, false,
          "Jobs accepted from clients."),
    STAT ("zjob_jobs_succeeded_total", "counter", succeeded, false,
          "Jobs that ended succeeded."),
    STAT ("zjob_jobs_failed_total", "counter", failed, false,
          "Jobs that ended failed."),
    STAT ("zjob_jobs_cancelled_total", "counter", cancelled, false,
          "Jobs that ended cancelled."),
    STAT ("zjob_jobs_timed_out_total", "counter", timed_out, false,
          "Jobs that ended past their deadline."),
    STAT ("zjob_jobs_dead_total", "counter", dead, false,
          "Jobs that ended dead: out of attempts or quarantined."),
    STAT ("zjob_jobs_retried_total", "counter", retried, false,
          "Failed attempts scheduled to run again."),
    STAT ("zjob_worker_lost_total", "counter", worker_lost, false,
          "Attempts ended because their worker died or vanished."),
    STAT ("zjob_stale_results_total", "counter", stale_results, false,
          "Results ignored because their attempt was superseded."),
    STAT ("zjob_messages_rejected_total", "counter", clients_rejected, false,
          "Messages from clients or workers answered with an error."),
    STAT ("zjob_jobs_rejected_busy_total", "counter", rejected_busy, false,
          "Jobs refused by a queue length or memory limit."),
    STAT ("zjob_jobs_queued", "gauge", queued, false,
          "Jobs waiting for a worker."),
    STAT ("zjob_jobs_running", "gauge", running, false, "Jobs on workers."),
    STAT ("zjob_results_kept", "gauge", results_kept, false,
          "Finished jobs kept so that clients can read their result."),
    STAT ("zjob_dead_kept", "gauge", dead_kept, false, "Jobs in the dead set."),
    STAT ("zjob_memory_bytes", "gauge", memory_bytes, false,
          "Payload and result bytes held."),
    STAT ("zjob_jobs_recovered", "gauge", recovered, false,
          "Jobs read back from the journal at start."),
    STAT ("zjob_workers", "gauge", workers, false, "Workers registered."),
    STAT ("zjob_journal_bytes", "gauge", journal_bytes, true,
          "Size of the journal on disk."),
    STAT ("zjob_journal_syncs_total", "counter", journal_syncs, true,
          "Journal fsyncs since start."),
};

#define STAT_SERIES_COUNT (sizeof s_stat_series / sizeof s_stat_series[0])

/* Per-queue series; values in s_queue_values come in this order. */
static const struct {
    const char *name;
    const char *type;
    const char *help;
} s_queue_series[] = {
    {"zjob_queue_queued", "gauge", "Jobs of the queue waiting for a worker."},
    {"zjob_queue_scheduled", "gauge",
     "Jobs of the queue waiting for a delay or a retry backoff."},
    {"zjob_queue_running", "gauge", "Jobs of the queue on workers."},
    {"zjob_queue_workers", "gauge", "Workers serving the queue."},
    {"zjob_queue_succeeded_total", "counter",
     "Jobs of the queue that ended succeeded."},
    {"zjob_queue_failed_total", "counter",
     "Jobs of the queue that ended failed, timed out or dead."},
};

#define QUEUE_SERIES_COUNT (sizeof s_queue_series / sizeof s_queue_series[0])

static const Zjob__Stats s_no_stats = ZJOB__STATS__INIT;

/* Returns snap's stats, or zeros when it has none. */
static const Zjob__Stats *
s_stats (const Zjob__AdminReply *snap)
{
    return snap->stats ? snap->stats : &s_no_stats;
}

static void
s_write_header (FILE *out, const char *name, const char *type, const char *help)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_write_label (FILE *out, const char *value)
{
    size_t len = strlen (value);
    char *fixed = NULL;
    if (!text_utf8_valid (value, len) && (fixed = strdup (value))) {
        text_utf8_fix (fixed, len);
        value = fixed;
    }
    for (const char *c = value; *c; c++) {
        if (*c == '\\' || *c == '"') {
            fputc ('\\', out);
            fputc (*c, out);
        } else if (*c == '\n') {
            fputs ("\\n", out);
        } else {
            fputc (*c, out);
        }
    }
    free (fixed);
}

/* Fills values[QUEUE_SERIES_COUNT] from queue, in s_queue_series order. */
static void
s_queue_values (const Zjob__QueueInfo *queue, uint64_t *values)
{
    values[0] = queue->queued;
    values[1] = queue->scheduled;
    values[2] = queue->running;
    values[3] = queue->workers;
    values[4] = queue->succeeded;
    values[5] = queue->failed;
}

static void
s_write_queues (FILE *out, const Zjob__AdminReply *snap)
{
    uint64_t values[QUEUE_SERIES_COUNT];
    for (size_t s = 0; s < QUEUE_SERIES_COUNT; s++) {
        s_write_header (out, s_queue_series[s].name, s_queue_series[s].type,
                        s_queue_series[s].help);
        for (size_t q = 0; q < snap->n_queues; q++) {
            s_queue_values (snap->queues[q], values);
            fprintf (out, "%s{queue=\"", s_queue_series[s].name);
            metrics_write_label (out, snap->queues[q]->name);
            fprintf (out, "\"} %" PRIu64 "\n", values[s]);
        }
    }
}

static void
s_write_gauge (FILE *out, const char *name, const char *help, uint64_t value)
{
    s_write_header (out, name, "gauge", help);
    fprintf (out, "%s %" PRIu64 "\n", name, value);
}

/* The worker slots: threads announced, those busy, workers draining. */
static void
s_write_slots (FILE *out, const Zjob__AdminReply *snap)
{
    uint64_t slots = 0;
    uint64_t busy = 0;
    uint64_t draining = 0;
    for (size_t i = 0; i < snap->n_workers; i++) {
        slots += snap->workers[i]->capacity;
        busy += snap->workers[i]->running;
        draining += snap->workers[i]->draining;
    }
    s_write_gauge (out, "zjob_worker_slots",
                   "Job slots (threads) the registered workers announced.",
                   slots);
    s_write_gauge (out, "zjob_worker_slots_busy",
                   "Job slots running a job now.", busy);
    s_write_gauge (out, "zjob_workers_draining",
                   "Workers finishing their jobs before they leave.", draining);
    s_write_gauge (out, "zjob_queues", "Queues the broker knows.",
                   snap->n_queues);
}

static void
s_write_process (FILE *out, const Zjob__AdminReply *snap,
                 const metrics_info_t *info)
{
    s_write_header (out, "zjob_build_info", "gauge",
                    "Always 1; the version label names the build.");
    fputs ("zjob_build_info{version=\"", out);
    metrics_write_label (out, info->version ? info->version : "");
    fputs ("\"} 1\n", out);
    s_write_header (out, "zjob_uptime_seconds", "gauge",
                    "Seconds since the broker started.");
    fprintf (out, "zjob_uptime_seconds %.3f\n",
             (double) s_stats (snap)->uptime_ms / 1000.0);
}

char *
metrics_prometheus (const Zjob__AdminReply *snap, const metrics_info_t *info,
                    size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream (&text, len);
    if (!out) {
        return NULL;
    }
    s_write_process (out, snap, info);
    const Zjob__Stats *stats = s_stats (snap);
    for (size_t i = 0; i < STAT_SERIES_COUNT; i++) {
        const stat_series_t *series = &s_stat_series[i];
        if (series->journal && !info->journal) {
            continue;
        }
        uint64_t value;
        memcpy (&value, (const char *) stats + series->offset, sizeof value);
        s_write_header (out, series->name, series->type, series->help);
        fprintf (out, "%s %" PRIu64 "\n", series->name, value);
    }
    s_write_slots (out, snap);
    s_write_queues (out, snap);
    bool failed = ferror (out) != 0;
    if (fclose (out) != 0 || failed) {
        free (text);
        return NULL;
    }
    return text;
}

/* Dumps value compactly and drops the reference; NULL in, NULL out. */
static char *
s_dump (json_t *value, size_t *len)
{
    char *text = value ? json_dumps (value, JSON_COMPACT) : NULL;
    json_decref (value);
    *len = text ? strlen (text) : 0;
    return text;
}

char *
metrics_json_stats (const Zjob__AdminReply *snap, const metrics_info_t *info,
                    size_t *len)
{
    const Zjob__Stats *wire = s_stats (snap);
    zjob_stats_t stats;
    admin_wire_stats (wire, &stats);
    return s_dump (client_json_stats (&stats), len);
}

char *
metrics_json_queues (const Zjob__AdminReply *snap, const metrics_info_t *info,
                     size_t *len)
{
    json_t *array = json_array ();
    for (size_t i = 0; array && i < snap->n_queues; i++) {
        const Zjob__QueueInfo *wire = snap->queues[i];
        zjob_queue_info_t queue;
        admin_wire_queue (wire, &queue);
        if (json_array_append_new (array, client_json_queue (&queue)) != 0) {
            json_decref (array);
            array = NULL;
        }
    }
    return s_dump (array, len);
}

char *
metrics_json_workers (const Zjob__AdminReply *snap, const metrics_info_t *info,
                      size_t *len)
{
    json_t *array = json_array ();
    for (size_t i = 0; array && i < snap->n_workers; i++) {
        const Zjob__WorkerInfo *wire = snap->workers[i];
        zjob_worker_info_t worker;
        admin_wire_worker (wire, &worker);
        if (json_array_append_new (array, client_json_worker (&worker)) != 0) {
            json_decref (array);
            array = NULL;
        }
    }
    return s_dump (array, len);
}

static int
s_compare_queues (const void *a, const void *b)
{
    const Zjob__QueueInfo *left = *(const Zjob__QueueInfo *const *) a;
    const Zjob__QueueInfo *right = *(const Zjob__QueueInfo *const *) b;
    return strcmp (left->name ? left->name : "",
                   right->name ? right->name : "");
}

void
metrics_sort_queues (Zjob__AdminReply *snap)
{
    if (snap->n_queues > 1) {
        qsort (snap->queues, snap->n_queues, sizeof *snap->queues,
               s_compare_queues);
    }
}
