/* Starting and stopping zjob-bench's loopback cluster; see cluster.h. */
#include "bench/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <dirent.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

extern char **environ;

#define CLUSTER_START_MS 10000
#define CLUSTER_STOP_MS  5000

/* A random free loopback port above the usual kernel ephemeral range. */
#define CLUSTER_RANDOM_PORT "tcp://127.0.0.1:![61000-65535]"

int
bench_self_dir (char *buf, size_t len)
{
    char path[4096];
    ssize_t n = readlink ("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) {
        return -1;
    }
    path[n] = '\0';
    return snprintf (buf, len, "%s", dirname (path)) < (int) len ? 0 : -1;
}

pid_t
bench_spawn_io (char *const argv[], const char *in_path, const char *out_path,
                const char *err_path, bool append)
{
    int out_flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    if (in_path) {
        posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, in_path,
                                          O_RDONLY, 0);
    }
    posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, out_path,
                                      out_flags, 0644);
    if (err_path) {
        posix_spawn_file_actions_addopen (&actions, STDERR_FILENO, err_path,
                                          out_flags, 0644);
    } else {
        posix_spawn_file_actions_adddup2 (&actions, STDOUT_FILENO,
                                          STDERR_FILENO);
    }
    pid_t pid = 0;
    int rc = posix_spawn (&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    if (rc != 0) {
        fprintf (stderr, "zjob-bench: cannot start %s: %s\n", argv[0],
                 strerror (rc));
        return 0;
    }
    return pid;
}

pid_t
bench_spawn (char *const argv[], const char *log)
{
    return bench_spawn_io (argv, NULL, log, NULL, true);
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

bench_percentiles_t
bench_percentiles (uint64_t *samples, uint64_t n)
{
    bench_percentiles_t out = {0, 0, 0};
    if (n == 0) {
        return out;
    }
    qsort (samples, n, sizeof *samples, s_cmp_u64);
    out.p50 = samples[(n - 1) / 2];
    out.p99 = samples[(n - 1) * 99 / 100];
    out.max = samples[n - 1];
    return out;
}

/* Reads "clients EP" and "workers EP" from the endpoints file. */
static int
s_read_endpoints (bench_cluster_t *cluster, const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        return -1;
    }
    char key[32], value[256];
    while (fscanf (file, "%31s %255s", key, value) == 2) {
        if (strcmp (key, "clients") == 0) {
            snprintf (cluster->clients, sizeof cluster->clients, "%s", value);
        } else if (strcmp (key, "workers") == 0) {
            snprintf (cluster->workers_ep, sizeof cluster->workers_ep, "%s",
                      value);
        }
    }
    fclose (file);
    return cluster->clients[0] && cluster->workers_ep[0] ? 0 : -1;
}

/* Starts the broker on the given endpoints; returns 0 or -1. */
static int
s_spawn_broker (bench_cluster_t *cluster, const char *bin_dir,
                const bench_workers_t *workers, const char *clients_ep,
                const char *workers_ep)
{
    char program[512], file[320], log[320], journal[320];
    snprintf (program, sizeof program, "%s/zjob-broker", bin_dir);
    snprintf (file, sizeof file, "%s/endpoints", cluster->dir);
    snprintf (log, sizeof log, "%s/broker.log", cluster->dir);
    snprintf (journal, sizeof journal, "%s/journal", cluster->dir);
    const char *level =
        workers->broker_log_level ? workers->broker_log_level : "error";
    const char *fsync = workers->fsync;
    char *argv[] = {program,
                    "--clients",
                    (char *) clients_ep,
                    "--workers",
                    (char *) workers_ep,
                    "--endpoints-file",
                    file,
                    "--log-level",
                    (char *) level,
                    fsync ? "--fsync" : NULL,
                    (char *) fsync,
                    "--journal",
                    journal,
                    NULL};
    cluster->broker = bench_spawn (argv, log);
    return cluster->broker ? 0 : -1;
}

/* Starts the broker on ephemeral ports and waits for its endpoints file. */
static int
s_start_broker (bench_cluster_t *cluster, const char *bin_dir,
                const bench_workers_t *workers)
{
    char file[320];
    snprintf (file, sizeof file, "%s/endpoints", cluster->dir);
    const char *any =
        workers->random_ports ? CLUSTER_RANDOM_PORT : "tcp://127.0.0.1:*";
    if (s_spawn_broker (cluster, bin_dir, workers, any, any) != 0) {
        return -1;
    }
    uint64_t deadline = clock_mono_ms () + CLUSTER_START_MS;
    while (clock_mono_ms () < deadline) {
        if (s_read_endpoints (cluster, file) == 0) {
            return 0;
        }
        if (!bench_cluster_broker_running (cluster)) {
            break;
        }
        nanosleep (&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    fprintf (stderr, "zjob-bench: broker did not start; see %s/broker.log\n",
             cluster->dir);
    return -1;
}

bool
bench_cluster_broker_running (bench_cluster_t *cluster)
{
    if (cluster->broker > 0 &&
        waitpid (cluster->broker, NULL, WNOHANG) == cluster->broker) {
        cluster->broker = 0;
    }
    return cluster->broker > 0;
}

int
bench_cluster_kill_broker (bench_cluster_t *cluster)
{
    if (cluster->broker <= 0) {
        return -1;
    }
    kill (cluster->broker, SIGKILL);
    waitpid (cluster->broker, NULL, 0);
    cluster->broker = 0;
    return 0;
}

int
bench_cluster_restart_broker (bench_cluster_t *cluster, const char *bin_dir,
                              const bench_workers_t *workers)
{
    if (cluster->broker > 0 || !cluster->clients[0]) {
        return -1;
    }
    return s_spawn_broker (cluster, bin_dir, workers, cluster->clients,
                           cluster->workers_ep);
}

/* Starts worker number index. */
static int
s_start_worker (bench_cluster_t *cluster, const char *bin_dir,
                const bench_workers_t *workers, size_t index)
{
    char program[512], log[320], name[32], threads_text[16], prefetch[24];
    snprintf (program, sizeof program, "%s/zjob-worker", bin_dir);
    snprintf (log, sizeof log, "%s/worker-%zu.log", cluster->dir, index);
    snprintf (name, sizeof name, "bench-%zu", index);
    snprintf (threads_text, sizeof threads_text, "%zu", workers->threads);
    if (workers->prefetch < 0) {
        snprintf (prefetch, sizeof prefetch, "auto");
    } else {
        snprintf (prefetch, sizeof prefetch, "%ld", workers->prefetch);
    }
    char *argv[] = {program,     "--broker",   cluster->workers_ep,
                    "--threads", threads_text, "--prefetch",
                    prefetch,    "--queue",    (char *) workers->queue,
                    "--name",    name,         "--log-level",
                    "warn",      NULL};
    pid_t pid = bench_spawn (argv, log);
    cluster->workers[cluster->n_workers++] = pid;
    return pid ? 0 : -1;
}

/* Checks that both programs are in bin_dir before anything starts. */
static int
s_check_programs (const char *bin_dir)
{
    const char *const names[] = {"zjob-broker", "zjob-worker"};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        snprintf (path, sizeof path, "%s/%s", bin_dir, names[i]);
        if (access (path, X_OK) != 0) {
            fprintf (stderr, "zjob-bench: %s: %s (see --bin-dir)\n", path,
                     strerror (errno));
            return -1;
        }
    }
    return 0;
}

int
bench_cluster_start (bench_cluster_t *cluster, const char *bin_dir,
                     const bench_workers_t *workers)
{
    memset (cluster, 0, sizeof *cluster);
    if (s_check_programs (bin_dir) != 0) {
        return -1;
    }
    const char *tmp = getenv ("TMPDIR");
    snprintf (cluster->dir, sizeof cluster->dir, "%s/zjob-bench.XXXXXX",
              tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (cluster->dir)) {
        fprintf (stderr, "zjob-bench: mkdtemp: %s\n", strerror (errno));
        cluster->dir[0] = '\0';
        return -1;
    }
    int rc = s_start_broker (cluster, bin_dir, workers);
    if (rc == 0) {
        rc = bench_cluster_add_workers (cluster, bin_dir, workers);
    }
    if (rc != 0) {
        bench_cluster_stop (cluster, 1);
    }
    return rc;
}

int
bench_cluster_add_workers (bench_cluster_t *cluster, const char *bin_dir,
                           const bench_workers_t *workers)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < workers->count &&
                       cluster->n_workers < CLUSTER_MAX_WORKERS;
         i++) {
        rc = s_start_worker (cluster, bin_dir, workers, cluster->n_workers);
    }
    return rc;
}

/* Reaps *pid (already sent SIGTERM) by deadline_ms, else kills it.
 * Returns true when it exited with status 0 (or was not running). */
static bool
s_reap (pid_t *pid, uint64_t deadline_ms)
{
    int status = 0;
    if (*pid <= 0) {
        return true;
    }
    pid_t got;
    while ((got = waitpid (*pid, &status, WNOHANG)) == 0) {
        if (clock_mono_ms () >= deadline_ms) {
            kill (*pid, SIGKILL);
            waitpid (*pid, &status, 0);
            break;
        }
        nanosleep (&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    *pid = 0;
    return got > 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

size_t
bench_stop_pids (pid_t *pids, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (pids[i] > 0) {
            kill (pids[i], SIGTERM);
        }
    }
    uint64_t deadline = clock_mono_ms () + CLUSTER_STOP_MS;
    size_t failed = 0;
    for (size_t i = 0; i < count; i++) {
        failed += s_reap (&pids[i], deadline) ? 0 : 1;
    }
    return failed;
}

/* Stops the workers together, then the broker. */
static void
s_stop_all (bench_cluster_t *cluster)
{
    bench_stop_pids (cluster->workers, cluster->n_workers);
    bench_stop_pids (&cluster->broker, 1);
}

/* Removes the broker's journal folder (its segments and lock). */
static void
s_remove_journal (bench_cluster_t *cluster)
{
    char path[400], file[700];
    snprintf (path, sizeof path, "%s/journal", cluster->dir);
    DIR *dir = opendir (path);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (entry->d_name[0] != '.') {
            snprintf (file, sizeof file, "%s/%s", path, entry->d_name);
            remove (file);
        }
    }
    if (dir) {
        closedir (dir);
    }
    rmdir (path);
}

/* Removes the temp dir's known files and the dir itself. */
static void
s_remove_dir (bench_cluster_t *cluster)
{
    char path[400];
    s_remove_journal (cluster);
    snprintf (path, sizeof path, "%s/endpoints", cluster->dir);
    remove (path);
    snprintf (path, sizeof path, "%s/broker.log", cluster->dir);
    remove (path);
    for (size_t i = 0; i < cluster->n_workers; i++) {
        snprintf (path, sizeof path, "%s/worker-%zu.log", cluster->dir, i);
        remove (path);
    }
    rmdir (cluster->dir);
}

void
bench_cluster_stop (bench_cluster_t *cluster, int keep_logs)
{
    s_stop_all (cluster);
    if (cluster->dir[0] && !keep_logs) {
        s_remove_dir (cluster);
    } else if (cluster->dir[0] && rmdir (cluster->dir) != 0) {
        fprintf (stderr, "zjob-bench: logs kept in %s\n", cluster->dir);
    }
    cluster->dir[0] = '\0';
}

uint64_t
bench_cluster_journal_bytes (const bench_cluster_t *cluster)
{
    char path[400], file[700];
    snprintf (path, sizeof path, "%s/journal", cluster->dir);
    DIR *dir = opendir (path);
    struct dirent *entry;
    struct stat info;
    uint64_t bytes = 0;
    while (dir && (entry = readdir (dir))) {
        snprintf (file, sizeof file, "%s/%s", path, entry->d_name);
        if (entry->d_name[0] != '.' && stat (file, &info) == 0 &&
            S_ISREG (info.st_mode)) {
            bytes += (uint64_t) info.st_size;
        }
    }
    if (dir) {
        closedir (dir);
    }
    return bytes;
}

uint64_t
bench_proc_status_kb (pid_t pid, const char *field)
{
    char path[64], line[256], format[64];
    if (pid > 0) {
        snprintf (path, sizeof path, "/proc/%ld/status", (long) pid);
    } else {
        snprintf (path, sizeof path, "/proc/self/status");
    }
    snprintf (format, sizeof format, "%s: %%llu kB", field);
    FILE *file = pid >= 0 ? fopen (path, "r") : NULL;
    unsigned long long kb = 0;
    while (file && fgets (line, sizeof line, file)) {
        if (sscanf (line, format, &kb) == 1) {
            break;
        }
    }
    if (file) {
        fclose (file);
    }
    return kb;
}

/* Stores the unsigned number after " name=" in line; returns 0 or -1. */
static int
s_log_field (const char *line, const char *name, uint64_t *value)
{
    char key[64];
    snprintf (key, sizeof key, " %s=", name);
    const char *at = strstr (line, key);
    if (!at) {
        return -1;
    }
    char *end;
    *value = strtoull (at + strlen (key), &end, 10);
    return end != at + strlen (key) ? 0 : -1;
}

int
bench_cluster_replay_figures (const bench_cluster_t *cluster, uint64_t *jobs,
                              uint64_t *took_ms)
{
    char path[320];
    snprintf (path, sizeof path, "%s/broker.log", cluster->dir);
    FILE *file = fopen (path, "r");
    char *line = NULL;
    size_t len = 0;
    int rc = -1;
    while (file && getline (&line, &len, file) > 0) {
        if (strstr (line, " event=journal_replayed ") &&
            s_log_field (line, "jobs", jobs) == 0 &&
            s_log_field (line, "took_ms", took_ms) == 0) {
            rc = 0; /* keep reading: the last replay counts */
        }
    }
    free (line);
    if (file) {
        fclose (file);
    }
    return rc;
}
