/* zjob-bench's own loopback cluster: one broker and N workers started as
 * child processes and always stopped by pid; the spawn and stop helpers
 * are shared with the modes that start processes of their own. */
#ifndef ZJOB_BENCH_CLUSTER_H
#define ZJOB_BENCH_CLUSTER_H

#include <stdbool.h>
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
    long prefetch;     /* jobs each holds beyond one per thread; -1:
                          auto */
    const char *fsync; /* broker journal mode (always, batch, never), or
                          NULL: no journal */
    const char *broker_log_level; /* broker --log-level, NULL: error */
    bool random_ports; /* bind random ports of 61000-65535 rather than the
                          lowest free ones, which the next broker started
                          on this machine would take while ours is down */
} bench_workers_t;

/* Starts zjob-broker (from bin_dir) on ephemeral loopback ports with a
 * journal in the temp dir when workers->fsync is set, waits up to 10 s
 * for its endpoints file, then starts the workers described by workers
 * (none when workers->count is 0).
 * Logs go to files in cluster->dir. Returns 0, or -1 with a message on
 * stderr (whatever started is stopped again). */
int bench_cluster_start (bench_cluster_t *cluster, const char *bin_dir,
                         const bench_workers_t *workers);

/* Starts the workers described by workers next to those running (up to
 * CLUSTER_MAX_WORKERS in all). Returns 0, or -1 with a message on stderr
 * (the workers that started keep running). */
int bench_cluster_add_workers (bench_cluster_t *cluster, const char *bin_dir,
                               const bench_workers_t *workers);

/* Kills the broker with SIGKILL and reaps it. Returns 0, or -1 when no
 * broker was running. */
int bench_cluster_kill_broker (bench_cluster_t *cluster);

/* Starts a broker again on the same journal and on the endpoints the
 * first one bound (cluster->clients, cluster->workers_ep), with the
 * settings of workers. Returns at once (a broker replaying a large
 * journal answers later): 0, or -1 with a message on stderr. */
int bench_cluster_restart_broker (bench_cluster_t *cluster, const char *bin_dir,
                                  const bench_workers_t *workers);

/* Returns true while the broker process runs (reaps it once it ended). */
bool bench_cluster_broker_running (bench_cluster_t *cluster);

/* Returns the bytes in the broker's journal folder (0 when there is none). */
uint64_t bench_cluster_journal_bytes (const bench_cluster_t *cluster);

/* Returns a KiB field of /proc/PID/status (e.g. "VmRSS", "VmHWM") of
 * process pid (0: this process), or 0 when unknown. */
uint64_t bench_proc_status_kb (pid_t pid, const char *field);

/* Reads the broker log's last journal_replayed line (needs the broker at
 * log level info): stores its jobs and took_ms fields. Returns 0, or -1
 * when there is no such line. */
int bench_cluster_replay_figures (const bench_cluster_t *cluster,
                                  uint64_t *jobs, uint64_t *took_ms);

/* Stops every process it started (SIGTERM, then SIGKILL after 5 s) and
 * removes the temp dir unless keep_logs. Safe to call twice. */
void bench_cluster_stop (bench_cluster_t *cluster, int keep_logs);

/* Starts argv[0] with argv and this program's environment: stdin from
 * in_path (NULL: inherited), stdout to out_path (appended to when append,
 * else truncated), stderr to err_path or, when NULL, with stdout. Returns
 * the pid, or 0 with a message on stderr. */
pid_t bench_spawn_io (char *const argv[], const char *in_path,
                      const char *out_path, const char *err_path, bool append);

/* bench_spawn_io with both output streams appended to log. */
pid_t bench_spawn (char *const argv[], const char *log);

/* Latency percentiles of a set of samples. */
typedef struct {
    uint64_t p50, p99, max;
} bench_percentiles_t;

/* Sorts samples[0, n) in place and returns their p50, p99 and max (all 0
 * when n is 0). */
bench_percentiles_t bench_percentiles (uint64_t *samples, uint64_t n);

/* Sends SIGTERM to each running process of pids (count entries, 0 for
 * none), reaps them, sends SIGKILL to those still running after 5 s and
 * sets every entry to 0. Returns how many did not exit with status 0
 * (killed by a signal included). */
size_t bench_stop_pids (pid_t *pids, size_t count);

/* Writes the directory holding this program into buf (len bytes).
 * Returns 0 or -1. */
int bench_self_dir (char *buf, size_t len);

#endif
