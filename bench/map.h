/* zjob-bench --mode map: times the `zjob map` command line end to end
 * over a file of distinct lines and checks that its output is the input. */
#ifndef ZJOB_BENCH_MAP_H
#define ZJOB_BENCH_MAP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* The largest input a run writes: count x (size + 1) bytes. */
#define BENCH_MAP_MAX_INPUT (4ull << 30)

/* What one map run does. */
typedef struct {
    const char *zjob;     /* path of the zjob program */
    const char *broker;   /* the broker's client endpoint */
    const char *queue;    /* queue the lines go to */
    uint64_t size;        /* bytes per line, its newline not counted */
    uint64_t count;       /* lines, 1 or more */
    int64_t window;       /* zjob map --window; 0: zjob's own default */
    uint64_t deadline_ms; /* zjob is killed when the run takes longer */
    bool json;            /* print the report as JSON */
} bench_map_t;

/* Returns 0 when run's count and size give distinct lines (line i is i
 * zero-padded to size digits) within BENCH_MAP_MAX_INPUT; else -1 with a
 * message on stderr. */
int bench_map_check (const bench_map_t *run);

/* Writes the lines to a temp file, runs `zjob --broker EP map QUEUE` as a
 * child with stdin from it and stdout to another, times it from spawn to
 * exit, compares the output with the input byte for byte, prints the
 * report and removes its temp files. Kills zjob (by pid) once the deadline
 * passes or *interrupted becomes non-zero. Returns an exit code:
 * CLI_EXIT_OK when zjob exited 0 and the output matched, CLI_EXIT_JOB when
 * zjob exited non-zero or the output differed, CLI_EXIT_UNREACHABLE when
 * zjob was killed, CLI_EXIT_USAGE when it could not be run. */
int bench_map_run (const bench_map_t *run, volatile sig_atomic_t *interrupted);

#endif
