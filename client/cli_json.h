/* JSON output of the zjob command line (jansson): jobs, workers, queues
 * and stats as objects with stable keys. */
#ifndef ZJOB_CLIENT_CLI_JSON_H
#define ZJOB_CLIENT_CLI_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "zjob/zjob.h"

/* Returns a new object for a job: id, queue, state, attempt, result (a
 * string when the bytes are UTF-8, else result_base64), error, worker,
 * priority, created_ms, started_ms, finished_ms. NULL when out of memory.
 * The caller owns the reference (json_decref). */
json_t *client_json_info (const zjob_info_t *info);

/* Returns a new object for a worker (name, queues, capacity, running,
 * done, idle_ms, draining); caller owns it. */
json_t *client_json_worker (const zjob_worker_info_t *worker);

/* Returns a new object for a queue (name, queued, scheduled, running,
 * succeeded, failed, workers); caller owns it. */
json_t *client_json_queue (const zjob_queue_info_t *queue);

/* Returns a new object with every counter of stats; caller owns it. */
json_t *client_json_stats (const zjob_stats_t *stats);

/* Prints value compactly on one line to stream and drops the reference.
 * Returns 0, or -1 when value is NULL or the write failed. */
int client_json_print (json_t *value, FILE *stream);

#endif
