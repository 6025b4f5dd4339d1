/* zjob-bench's own loopback cluster: one broker and N workers started as
 * child processes and always stopped by pid. */
#ifndef ZJOB_BENCH_CLUSTER_H
#define ZJOB_BENCH_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CLUSTER_MAX_WORKERS 64

typedef struct {
    char dir[256];                      /* temp dir: endpoints file and logs */
    char clients[256];                  /* the broker's bound client endpoint */
    char workers_ep[256];               /* the broker's bound worker endpoint */
    pid_t broker;                       /* 0 when not running */
    pid_t workers[CLUSTER_MAX_WORKERS]; /* 0 when not running */
    size_t n_workers;                   /* entries used in workers */
} bench_cluster_t;

/* The workers a spawned cluster runs. */
typedef struct {
    const char *queue; /* the queue they serve (a builtin's name) */
    size_t count;      /* how many workers */
    size_t threads;    /* pool threads each */
    size_t prefetch;   /* jobs each holds beyond one per thread */
    const char *fsync; /* broker journal mode (always, batch, never), or
                          NULL: no journal */
} bench_workers_t;

/* Starts zjob-broker (from bin_dir) on ephemeral loopback ports with
 * --fsync never, waits up to 10 s for its endpoints file, then starts
 * the workers described by workers.
 * Logs go to files in cluster->dir. Returns 0, or -1 with a message on
 * stderr (whatever started is stopped again). */
int bench_cluster_start (bench_cluster_t *cluster, const char *bin_dir,
                         const bench_workers_t *workers);

/* Stops every process it started (SIGTERM, then SIGKILL after 5 s) and
 * removes the temp dir unless keep_logs. Safe to call twice. */
void bench_cluster_stop (bench_cluster_t *cluster, int keep_logs);

/* Writes the directory holding this program into buf (len bytes).
 * Returns 0 or -1. */
int bench_self_dir (char *buf, size_t len);

#endif
