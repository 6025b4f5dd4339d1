/* zjob-bench --mode map: `zjob map` end to end, as an operator runs it.
 *
 * Design notes: one thread and no library client: the figure is the
 * command line's, its start, its file I/O and its reorder buffer included.
 * Line i (from 0) is i in decimal, zero-padded to --size bytes, so lines
 * are distinct and an echo queue's output is the input byte for byte. zjob
 * runs as a child with stdin, stdout and stderr on files in this run's
 * temp dir; it is reaped by pid, polled every millisecond (the time is
 * good to about that), and killed by pid when the deadline passes. The
 * temp dir and its three files are removed at the end, whatever
 * happened. */
#include "bench/map.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/cluster.h"
#include "client/cli_args.h"
#include "client/cli_json.h"
#include "common/clock.h"

#define MAP_REAP_POLL_NS (1000 * 1000)
#define MAP_CHUNK        65536
#define MAP_ERROR_LINES  5 /* lines of zjob's stderr shown when it failed */

/* Files and figures of one run. */
typedef struct {
    const bench_map_t *run; /* the settings (borrowed) */
    char dir[256];          /* temp dir of this run, "" when none */
    char input[320];        /* the lines, in dir */
    char output[320];       /* zjob's stdout, in dir */
    char log[320];          /* zjob's stderr, in dir */
    uint64_t took_us;       /* spawn to reaped */
    int status;             /* zjob's wait status */
    bool killed;            /* killed at the deadline or on a signal */
    long peak_rss_kb;       /* zjob's ru_maxrss */
    bool matched;           /* the output equals the input */
    uint64_t differs_at;    /* first differing byte when !matched */
} s_map_t;

static unsigned
s_digits (uint64_t value)
{
    unsigned digits = 1;
    while (value >= 10) {
        value /= 10;
        digits++;
    }
    return digits;
}

int
bench_map_check (const bench_map_t *run)
{
    unsigned digits = s_digits (run->count - 1);
    if (run->size < digits) {
        fprintf (stderr,
                 "zjob-bench: --mode map needs --size %u or more for %llu "
                 "distinct lines\n",
                 digits, (unsigned long long) run->count);
        return -1;
    }
    if (run->count > BENCH_MAP_MAX_INPUT / (run->size + 1)) {
        fprintf (stderr, "zjob-bench: --mode map writes --count x (--size "
                         "+ 1) bytes, 4 GiB at most\n");
        return -1;
    }
    return 0;
}

/* Makes the run's temp dir and names its files. */
static int
s_make_dir (s_map_t *self)
{
    const char *tmp = getenv ("TMPDIR");
    snprintf (self->dir, sizeof self->dir, "%s/zjob-bench-map.XXXXXX",
              tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (self->dir)) {
        fprintf (stderr, "zjob-bench: mkdtemp: %s\n", strerror (errno));
        self->dir[0] = '\0';
        return -1;
    }
    snprintf (self->input, sizeof self->input, "%s/input", self->dir);
    snprintf (self->output, sizeof self->output, "%s/output", self->dir);
    snprintf (self->log, sizeof self->log, "%s/zjob.log", self->dir);
    return 0;
}

/* Removes the files and the temp dir. */
static void
s_remove_dir (s_map_t *self)
{
    if (self->dir[0]) {
        remove (self->input);
        remove (self->output);
        remove (self->log);
        rmdir (self->dir);
        self->dir[0] = '\0';
    }
}

/* Writes the count lines of size bytes, each with a newline, to path.
 * Numbers only grow, so the zeros left of each one are still there. */
static int
s_write_input (const bench_map_t *run, const char *path)
{
    FILE *file = fopen (path, "w");
    char *line = malloc (run->size + 1);
    int rc = file && line ? 0 : -1;
    if (rc == 0) {
        memset (line, '0', run->size);
        line[run->size] = '\n';
    }
    for (uint64_t i = 0; rc == 0 && i < run->count; i++) {
        char *at = line + run->size;
        uint64_t value = i;
        do {
            *--at = (char) ('0' + value % 10);
            value /= 10;
        } while (value > 0);
        rc = fwrite (line, 1, run->size + 1, file) == run->size + 1 ? 0 : -1;
    }
    if (file && fclose (file) != 0) {
        rc = -1;
    }
    if (rc != 0) {
        fprintf (stderr, "zjob-bench: writing %s: %s\n", path,
                 strerror (errno));
    }
    free (line);
    return rc;
}

/* Starts zjob map with its standard streams on the run's files; returns
 * its pid, or 0 with a message on stderr. */
static pid_t
s_spawn_zjob (const s_map_t *self)
{
    const bench_map_t *run = self->run;
    char window[24];
    snprintf (window, sizeof window, "%lld", (long long) run->window);
    char *argv[] = {(char *) run->zjob,
                    "--broker",
                    (char *) run->broker,
                    "map",
                    (char *) run->queue,
                    run->window > 0 ? "--window" : NULL,
                    window,
                    NULL};
    return bench_spawn_io (argv, self->input, self->output, self->log, false);
}

/* Reaps zjob, killing it once deadline_ms passes or on a signal. */
static void
s_await (s_map_t *self, pid_t pid, uint64_t deadline_ms,
         volatile sig_atomic_t *interrupted)
{
    struct rusage usage = {0};
    pid_t got;
    while ((got = wait4 (pid, &self->status, WNOHANG, &usage)) == 0) {
        if (*interrupted || clock_mono_ms () >= deadline_ms) {
            kill (pid, SIGKILL);
            self->killed = true;
            while (wait4 (pid, &self->status, 0, &usage) < 0 &&
                   errno == EINTR) {
            }
            break;
        }
        nanosleep (&(struct timespec){0, MAP_REAP_POLL_NS}, NULL);
    }
    if (got < 0) {
        self->status = -1;
    }
    self->peak_rss_kb = usage.ru_maxrss;
}

/* Compares two files byte for byte; stores the first differing offset. */
static bool
s_same (const char *path_a, const char *path_b, uint64_t *differs_at)
{
    FILE *a = fopen (path_a, "rb"), *b = fopen (path_b, "rb");
    char *chunk_a = malloc (MAP_CHUNK), *chunk_b = malloc (MAP_CHUNK);
    bool same = a && b && chunk_a && chunk_b;
    *differs_at = 0;
    while (same) {
        size_t got_a = fread (chunk_a, 1, MAP_CHUNK, a);
        size_t got_b = fread (chunk_b, 1, MAP_CHUNK, b);
        size_t n = got_a < got_b ? got_a : got_b, i = 0;
        if (memcmp (chunk_a, chunk_b, n) != 0) {
            while (chunk_a[i] == chunk_b[i]) {
                i++;
            }
        } else {
            i = n;
        }
        *differs_at += i;
        same = i == n && got_a == got_b && !ferror (a) && !ferror (b);
        if (got_a == 0) {
            break;
        }
    }
    free (chunk_a);
    free (chunk_b);
    if (a) {
        fclose (a);
    }
    if (b) {
        fclose (b);
    }
    return same;
}

/* zjob's exit status, or 128 + the signal that ended it (shell style). */
static int
s_exit_code (const s_map_t *self)
{
    if (self->status >= 0 && WIFEXITED (self->status)) {
        return WEXITSTATUS (self->status);
    }
    if (self->status >= 0 && WIFSIGNALED (self->status)) {
        return 128 + WTERMSIG (self->status);
    }
    return -1;
}

/* Prints the report as JSON. */
static void
s_report_json (const s_map_t *self, double seconds, double rate)
{
    const bench_map_t *run = self->run;
    json_t *report = json_pack (
        "{s:s, s:s, s:I, s:I, s:o, s:f, s:f, s:i, s:b, s:I, s:b}", "mode",
        "map", "queue", run->queue, "size", (json_int_t) run->size, "count",
        (json_int_t) run->count, "window",
        run->window > 0 ? json_integer ((json_int_t) run->window)
                        : json_null (),
        "seconds", seconds, "jobs_per_s", rate, "zjob_exit", s_exit_code (self),
        "killed", self->killed, "zjob_peak_rss_kb",
        (json_int_t) self->peak_rss_kb, "matched", self->matched);
    client_json_print (report, stdout);
}

/* Prints the report, as text or JSON. A killed run has no rate and an
 * unchecked output. */
static void
s_report (const s_map_t *self)
{
    const bench_map_t *run = self->run;
    double seconds = (double) self->took_us / 1e6;
    double rate =
        seconds > 0 && !self->killed ? (double) run->count / seconds : 0.0;
    if (run->json) {
        s_report_json (self, seconds, rate);
        return;
    }
    char window[32] = "zjob's default";
    if (run->window > 0) {
        snprintf (window, sizeof window, "%lld", (long long) run->window);
    }
    printf ("mode map, queue %s, %llu lines of %llu bytes, window %s\n",
            run->queue, (unsigned long long) run->count,
            (unsigned long long) run->size, window);
    if (self->killed) {
        printf ("zjob map killed after %.3f s: deadline passed or "
                "interrupted\n",
                seconds);
    } else {
        printf ("zjob map took %.3f s: %.0f jobs/s, exit %d\n", seconds, rate,
                s_exit_code (self));
    }
    printf ("zjob peak RSS %.1f MiB\n", (double) self->peak_rss_kb / 1024.0);
    if (self->killed) {
        printf ("output matched the input: not checked\n");
    } else if (self->matched) {
        printf ("output matched the input: yes\n");
    } else {
        printf ("output matched the input: no (first difference at byte "
                "%llu, line %llu)\n",
                (unsigned long long) self->differs_at,
                (unsigned long long) (self->differs_at / (run->size + 1) + 1));
    }
}

/* Copies the first lines zjob wrote to its stderr to ours. */
static void
s_show_errors (const s_map_t *self)
{
    FILE *file = fopen (self->log, "r");
    char line[512];
    for (int i = 0;
         file && i < MAP_ERROR_LINES && fgets (line, sizeof line, file); i++) {
        fprintf (stderr, "zjob-bench: zjob said: %s%s", line,
                 strchr (line, '\n') ? "" : "\n");
    }
    if (file) {
        fclose (file);
    }
}

/* Runs zjob on the written input and checks its output. */
static int
s_measure (s_map_t *self, uint64_t deadline_ms,
           volatile sig_atomic_t *interrupted)
{
    uint64_t started_us = clock_mono_us ();
    pid_t pid = *interrupted ? 0 : s_spawn_zjob (self);
    if (pid <= 0) {
        return CLI_EXIT_USAGE;
    }
    s_await (self, pid, deadline_ms, interrupted);
    self->took_us = clock_mono_us () - started_us;
    self->matched =
        !self->killed && s_same (self->input, self->output, &self->differs_at);
    s_report (self);
    if (!self->killed && (s_exit_code (self) != 0 || !self->matched)) {
        s_show_errors (self);
    }
    return self->killed                                ? CLI_EXIT_UNREACHABLE
           : s_exit_code (self) != 0 || !self->matched ? CLI_EXIT_JOB
                                                       : CLI_EXIT_OK;
}

int
bench_map_run (const bench_map_t *run, volatile sig_atomic_t *interrupted)
{
    s_map_t self = {.run = run};
    uint64_t deadline_ms = clock_mono_ms () + run->deadline_ms;
    if (access (run->zjob, X_OK) != 0) {
        fprintf (stderr, "zjob-bench: %s: %s (see --bin-dir)\n", run->zjob,
                 strerror (errno));
        return CLI_EXIT_USAGE;
    }
    int code = CLI_EXIT_USAGE;
    if (s_make_dir (&self) == 0 && s_write_input (run, self.input) == 0) {
        code = s_measure (&self, deadline_ms, interrupted);
    }
    s_remove_dir (&self);
    return code;
}
