/* `zjob map`: one job per input line, results in input order. */
#ifndef ZJOB_CLIENT_CLI_MAP_H
#define ZJOB_CLIENT_CLI_MAP_H

#include <stdbool.h>
#include <stdio.h>

#include "zjob/zjob.h"

/* How map submits its jobs. */
typedef struct {
    zjob_spec_t base; /* queue and options copied into every job */
    size_t window;    /* jobs in flight (and lines held) at most, > 0 */
    size_t batch;     /* jobs per Submit at most, 1..ZJOB_MAX_BATCH */
    bool progress;    /* draw a progress line on err */
    bool files;       /* each line names a file whose content is the job's
                         payload, instead of being the payload */
} client_map_options_t;

/* Reads lines from in (the trailing newline stripped), runs one job per
 * line through client and writes each result to out in input order, with
 * one trailing newline removed and then a newline. A failed or refused job
 * writes an empty line, and "zjob: line N (job ID): ERROR" to err. With
 * options->files a line is a path, and a file that cannot be read fails its
 * line without a job. Returns the exit code: 0, 1 when a job failed, 3 when
 * the broker is unreachable (2 when in cannot be read or memory ran out). */
int client_map_run (zjob_client_t *client, const client_map_options_t *options,
                    FILE *in, FILE *out, FILE *err);

#endif
