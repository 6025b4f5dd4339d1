/* The documents of the broker's HTTP side, rendered from a snapshot: the
 * Prometheus text exposition and the JSON of /api/stats, /api/queues and
 * /api/workers. Pure functions of their input, callable from any thread.
 *
 * A snapshot is the AdminReply that broker_snapshot packs: every worker,
 * every queue and the stats. The JSON is made by the code that makes
 * `zjob workers|queues|stats --json`, so both speak one vocabulary.
 */
#ifndef ZJOB_BROKER_METRICS_H
#define ZJOB_BROKER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "zjob.pb-c.h"

/* What the snapshot does not say: facts about this broker process. */
typedef struct {
    const char *version; /* build version, for zjob_build_info */
    bool journal;        /* a journal is on: its series are exported */
} metrics_info_t;

/* Renders one document from snap. Returns a NUL-terminated string of *len
 * bytes that the caller frees, or NULL when out of memory. */
typedef char *(metrics_render_fn) (const Zjob__AdminReply *snap,
                                   const metrics_info_t *info, size_t *len);

/* The Prometheus text format 0.0.4: broker-wide counters and gauges, the
 * worker slots, and per-queue series labelled queue="NAME". */
metrics_render_fn metrics_prometheus;

/* `zjob stats --json`: one object of counters. */
metrics_render_fn metrics_json_stats;

/* `zjob queues --json`: an array with one object per queue. */
metrics_render_fn metrics_json_queues;

/* `zjob workers --json`: an array with one object per worker. */
metrics_render_fn metrics_json_workers;

/* Writes value to out as the inside of a quoted Prometheus label value:
 * backslash, double quote and newline escaped, and any byte that is not
 * part of valid UTF-8 written as '?'. */
void metrics_write_label (FILE *out, const char *value);

/* Sorts snap's queues by name, in place (a stable order for scrapes and
 * for the dashboard). */
void metrics_sort_queues (Zjob__AdminReply *snap);

#endif
