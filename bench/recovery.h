/* zjob-bench --mode recovery: fill a journaled broker with jobs, SIGKILL
 * it, restart it on the same journal and endpoints, measure how soon it
 * answers, then run every job and check that none was lost. */
#ifndef ZJOB_BENCH_RECOVERY_H
#define ZJOB_BENCH_RECOVERY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/cluster.h"

/* What one recovery run does. */
typedef struct {
    const char *bin_dir;     /* where zjob-broker and zjob-worker are */
    const char *queue;       /* queue the jobs go to (a builtin's name) */
    uint64_t size;           /* payload bytes per job */
    uint64_t count;          /* jobs to submit before the crash */
    uint64_t window;         /* submitted jobs not yet acknowledged, at most */
    uint64_t deadline_ms;    /* the whole run gives up after this */
    bool json;               /* print the report as JSON */
    bench_workers_t workers; /* started after the restart; its fsync and
                                log level are the broker's */
} bench_recovery_t;

/* Runs the recovery benchmark on a cluster of its own (started and
 * stopped here, logs kept when the run fails) and prints its report.
 * Stops early when *interrupted becomes non-zero. Returns an exit code:
 * CLI_EXIT_OK when every job succeeded, CLI_EXIT_JOB when one was refused,
 * lost or did not succeed, CLI_EXIT_UNREACHABLE when the broker did not
 * answer or the deadline passed, CLI_EXIT_USAGE when nothing could start. */
int bench_recovery_run (const bench_recovery_t *run,
                        volatile sig_atomic_t *interrupted);

#endif
