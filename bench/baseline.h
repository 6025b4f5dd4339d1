/* zjob-bench --mode zmq: round trips through a bare ZeroMQ proxy to echo
 * processes on this machine, the baseline to put zjob's figures next to. */
#ifndef ZJOB_BENCH_BASELINE_H
#define ZJOB_BENCH_BASELINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The hidden first argument that makes zjob-bench one of the baseline's
 * child processes. */
#define BENCH_BASELINE_ROLE "--zmq-role"

/* The smallest body: its first 8 bytes carry the send time. */
#define BENCH_BASELINE_MIN_SIZE 8

/* The most bytes a run may have in flight (window x size): with no
 * high-water marks, ZeroMQ queues all of them. */
#define BENCH_BASELINE_MAX_QUEUED (1ull << 30)

/* What one baseline run does. */
typedef struct {
    uint64_t size;        /* message body bytes, BENCH_BASELINE_MIN_SIZE or
                             more */
    uint64_t count;       /* round trips, 1 or more */
    uint64_t window;      /* messages in flight at most, 1 or more;
                             window x size <= BENCH_BASELINE_MAX_QUEUED */
    size_t workers;       /* echo processes, 1..CLUSTER_MAX_WORKERS */
    uint64_t deadline_ms; /* the run gives up after this */
    bool json;            /* print the report as JSON */
} bench_baseline_t;

/* Starts the proxy and the echo processes (this program again, with
 * BENCH_BASELINE_ROLE) on ephemeral loopback ports, runs count round trips
 * with window in flight, prints the report and stops every child by pid
 * (SIGTERM, then SIGKILL after 5 s), also on error and once *interrupted
 * becomes non-zero. Logs and files live in a temp dir, removed unless the
 * run failed. Returns an exit code: CLI_EXIT_OK when every reply came back
 * intact and every child exited cleanly, CLI_EXIT_JOB when not,
 * CLI_EXIT_UNREACHABLE when the deadline passed, the run was interrupted
 * or ZeroMQ failed, CLI_EXIT_USAGE when the children did not start. */
int bench_baseline_run (const bench_baseline_t *run,
                        volatile sig_atomic_t *interrupted);

/* Runs one child's part; argv[0] is BENCH_BASELINE_ROLE, then either
 * "proxy DIR PARENT_PID LIMIT_S" or "echo DIR BACK_EP INDEX PARENT_PID
 * LIMIT_S". The child ends on SIGTERM or SIGINT, with its parent, or after
 * LIMIT_S seconds. Returns the process's exit code. */
int bench_baseline_role (int argc, char **argv);

#endif
