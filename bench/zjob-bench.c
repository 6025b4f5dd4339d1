/* zjob-bench: measures jobs per second and submit-to-result latency of a
 * zjob cluster, through libzjob's pipelined path or the zjob command line,
 * and the same figures for bare ZeroMQ as a baseline.
 *
 * Design notes: one thread. A window of jobs is kept in flight; each batch
 * remembers its send time (req_id -> µs), each accepted job inherits it
 * (id -> µs), and the result's arrival closes its latency sample. A result
 * that overtakes its ack waits in a second map until the ack arrives.
 * Every loop ends by count or by --deadline. The other modes live in files
 * of their own: recovery (recovery.c), map (map.c: `zjob map` run as a
 * child on a file of lines) and zmq (baseline.c: a ZeroMQ proxy and echo
 * processes, which are this program again started with the hidden first
 * argument BENCH_BASELINE_ROLE; main hands those over before anything
 * else). Every child process of every mode is stopped by pid. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/baseline.h"
#include "bench/cluster.h"
#include "bench/map.h"
#include "bench/recovery.h"
#include "client/cli_args.h"
#include "client/cli_json.h"
#include "client/idmap.h"
#include "common/clock.h"
#include "common/units.h"
#include "zjob/zjob.h"

#define BENCH_BATCH     500
#define BENCH_POLL_MS   100
#define BENCH_MAX_COUNT 10000000

/* What --mode measures. */
typedef enum {
    MODE_THROUGHPUT, /* jobs/s through libzjob, --window in flight */
    MODE_LATENCY,    /* the same, one job at a time */
    MODE_RECOVERY,   /* a journaled broker's return from SIGKILL */
    MODE_MAP,        /* `zjob map` end to end */
    MODE_ZMQ         /* bare ZeroMQ round trips, the baseline */
} s_mode_t;

/* Settings from the command line. */
typedef struct {
    const char *broker;     /* --broker EP, or NULL with --spawn */
    const char *bin_dir;    /* --bin-dir, or NULL: next to this program */
    const char *queue;      /* --queue */
    s_mode_t mode;          /* --mode */
    bool spawn, json, help; /* flags */
    bool window_given;      /* --window was on the line */
    uint64_t size;          /* --size, payload bytes */
    const char *payload;    /* --payload; NULL: size x's */
    int64_t count, window, workers, threads; /* --count ... --threads */
    int64_t prefetch;                        /* --prefetch */
    const char *fsync;                       /* --fsync, or NULL */
    uint64_t deadline_ms;                    /* --deadline */
} s_options_t;

/* Progress and measurements of one run. */
typedef struct {
    zjob_client_t *client;
    const s_options_t *options;
    client_idmap_t *batch_sent; /* req_id -> send time, µs */
    client_idmap_t *job_sent;   /* job id -> send time, µs */
    client_idmap_t *early;      /* job id -> result time, µs (before ack) */
    uint64_t *latency_us;       /* one sample per completed job */
    uint64_t submitted, finished, failed, in_flight;
    uint64_t started_us, ended_us;
} s_bench_t;

static volatile sig_atomic_t s_interrupted;

static void
s_on_signal (int signal_number)
{
    s_interrupted = 1;
}

static void
s_usage (FILE *stream)
{
    fprintf (
        stream,
        "usage: zjob-bench (--broker EP | --spawn) [options]\n"
        "  --broker EP       drive a running cluster\n"
        "  --spawn           start a broker and workers on loopback\n"
        "  --bin-dir DIR     where zjob-broker/zjob-worker are "
        "(default: next to zjob-bench)\n"
        "  --queue Q         queue (echo)\n"
        "  --size BYTES      payload size (100)\n"
        "  --payload TEXT    this payload instead (e.g. 10 for sleep)\n"
        "  --count N         jobs (100000)\n"
        "  --window N        jobs in flight (1000)\n"
        "  --workers N       --spawn: workers (2)\n"
        "  --threads T       --spawn: threads per worker (2)\n"
        "  --prefetch P      --spawn: worker --prefetch: auto or N (auto)\n"
        "  --fsync MODE      --spawn: broker journal (always, batch, "
        "never);\n"
        "                    without it the broker keeps no journal\n"
        "  --mode M          throughput | latency (one job at a time) |\n"
        "                    recovery (--spawn: submit --count jobs "
        "with no\n"
        "                    workers, SIGKILL the broker, restart it on "
        "its\n"
        "                    journal, time its return, then run the "
        "jobs;\n"
        "                    --fsync defaults to batch) |\n"
        "                    map (`zjob map QUEUE`, zjob from the bin "
        "dir, on\n"
        "                    --count distinct lines of --size bytes: "
        "time it end\n"
        "                    to end and check that the output is the "
        "input;\n"
        "                    exit 1 when not or when zjob failed; "
        "--window only\n"
        "                    when given) |\n"
        "                    zmq (--spawn only: a bare ZeroMQ baseline, "
        "a\n"
        "                    ROUTER/DEALER proxy and --workers REP "
        "echo\n"
        "                    processes; --count round trips of --size "
        "bytes,\n"
        "                    --window in flight)\n"
        "  --deadline DUR    give up after DUR (5m)\n"
        "  --json            print the report as JSON\n"
        "Exit: 0 ok, 1 some jobs failed, 2 usage, 3 broker "
        "unreachable or deadline passed.\n");
}

enum {
    OPT_BROKER = 1,
    OPT_SPAWN,
    OPT_BIN_DIR,
    OPT_QUEUE,
    OPT_SIZE,
    OPT_PAYLOAD,
    OPT_COUNT,
    OPT_WINDOW,
    OPT_WORKERS,
    OPT_THREADS,
    OPT_PREFETCH,
    OPT_MODE,
    OPT_DEADLINE,
    OPT_JSON,
    OPT_FSYNC,
    OPT_HELP,
    OPT_VERSION
};

static const client_flag_t s_flags[] = {
    {"broker", 'b', true, OPT_BROKER},   {"spawn", 0, false, OPT_SPAWN},
    {"bin-dir", 0, true, OPT_BIN_DIR},   {"queue", 0, true, OPT_QUEUE},
    {"size", 0, true, OPT_SIZE},         {"payload", 0, true, OPT_PAYLOAD},
    {"count", 0, true, OPT_COUNT},       {"window", 0, true, OPT_WINDOW},
    {"workers", 0, true, OPT_WORKERS},   {"threads", 0, true, OPT_THREADS},
    {"prefetch", 0, true, OPT_PREFETCH}, {"mode", 0, true, OPT_MODE},
    {"deadline", 0, true, OPT_DEADLINE}, {"json", 0, false, OPT_JSON},
    {"fsync", 0, true, OPT_FSYNC},       {"help", 'h', false, OPT_HELP},
    {"version", 0, false, OPT_VERSION},  {NULL, 0, false, 0}};

/* Parses a --mode name; returns 0 or -1. */
static int
s_mode_parse (const char *value, s_mode_t *mode)
{
    /* in the order of s_mode_t */
    static const char *const names[] = {"throughput", "latency", "recovery",
                                        "map", "zmq"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp (value, names[i]) == 0) {
            *mode = (s_mode_t) i;
            return 0;
        }
    }
    return -1;
}

/* Applies one option; returns 0 or -1 for a bad value. */
static int
s_option (s_options_t *options, int id, const char *value)
{
    switch (id) {
        case OPT_BROKER:
            options->broker = value;
            return 0;
        case OPT_SPAWN:
            options->spawn = true;
            return 0;
        case OPT_BIN_DIR:
            options->bin_dir = value;
            return 0;
        case OPT_QUEUE:
            options->queue = value;
            return 0;
        case OPT_FSYNC:
            options->fsync = value;
            return strcmp (value, "always") == 0 ||
                           strcmp (value, "batch") == 0 ||
                           strcmp (value, "never") == 0
                       ? 0
                       : -1;
        case OPT_JSON:
            options->json = true;
            return 0;
        case OPT_HELP:
            options->help = true;
            return 0;
        case OPT_PAYLOAD:
            options->payload = value;
            return 0;
        case OPT_SIZE:
            return size_parse (value, &options->size) != 0 ||
                           options->size > 16u << 20
                       ? -1
                       : 0;
        case OPT_COUNT:
            return number_parse (value, 1, BENCH_MAX_COUNT, &options->count);
        case OPT_WINDOW:
            options->window_given = true;
            return number_parse (value, 1, 100000, &options->window);
        case OPT_WORKERS:
            return number_parse (value, 1, CLUSTER_MAX_WORKERS,
                                 &options->workers);
        case OPT_THREADS:
            return number_parse (value, 1, 1024, &options->threads);
        case OPT_PREFETCH:
            if (strcmp (value, "auto") == 0) {
                options->prefetch = -1;
                return 0;
            }
            return number_parse (value, 0, 100000, &options->prefetch);
        case OPT_DEADLINE:
            return duration_parse (value, &options->deadline_ms);
        case OPT_MODE:
            return s_mode_parse (value, &options->mode);
        default:
            return -1;
    }
}

/* Checks the options --mode map and zmq need, and that recovery and zmq
 * come with --spawn. Returns 0, or -1 after printing why. */
static int
s_check_mode (const s_options_t *options)
{
    const char *why = NULL;
    if (options->mode == MODE_RECOVERY && !options->spawn) {
        why = "--mode recovery needs --spawn (it kills the broker)";
    } else if (options->mode == MODE_ZMQ && !options->spawn) {
        why = "--mode zmq needs --spawn (it starts its own processes; "
              "--broker does not apply)";
    } else if (options->payload &&
               (options->mode == MODE_MAP || options->mode == MODE_ZMQ)) {
        why = "--payload does not apply to --mode map or zmq";
    } else if (options->mode == MODE_ZMQ &&
               options->size < BENCH_BASELINE_MIN_SIZE) {
        why = "--mode zmq needs --size 8 or more (the send time rides in "
              "the body)";
    } else if (options->mode == MODE_ZMQ &&
               (uint64_t) options->window * options->size >
                   BENCH_BASELINE_MAX_QUEUED) {
        why = "--mode zmq: --window x --size is more than 1 GiB in flight";
    }
    if (why) {
        fprintf (stderr, "zjob-bench: %s\n", why);
        return -1;
    }
    bench_map_t map = {.size = options->size,
                       .count = (uint64_t) options->count};
    return options->mode == MODE_MAP ? bench_map_check (&map) : 0;
}

/* Parses argv; returns -1 (after printing why), 0, or 1 when done
 * (--help, --version). */
static int
s_parse (int argc, char **argv, s_options_t *options)
{
    *options = (s_options_t){.queue = "echo",
                             .size = 100,
                             .count = 100000,
                             .window = 1000,
                             .prefetch = -1,
                             .workers = 2,
                             .threads = 2,
                             .deadline_ms = 5 * 60 * 1000};
    client_args_t scan = {.argc = argc, .argv = argv, .index = 1};
    const char *value;
    char err[128] = "unexpected argument";
    int id;
    while ((id = client_args_next (&scan, s_flags, &value, err, sizeof err)) !=
           CLIENT_ARG_END) {
        if (id == OPT_VERSION) {
            printf ("zjob-bench %s\n", ZJOB_VERSION);
            return 1;
        }
        if (id <= 0 || s_option (options, id, value) != 0) {
            fprintf (stderr, "zjob-bench: %s\n",
                     id > 0 ? "bad option value" : err);
            s_usage (stderr);
            return -1;
        }
    }
    if (options->help) {
        s_usage (stdout);
        return 1;
    }
    if (options->payload) {
        options->size = strlen (options->payload); /* what the report says */
    }
    if (options->spawn == (options->broker != NULL)) {
        fprintf (stderr, "zjob-bench: give exactly one of --broker, "
                         "--spawn\n");
        return -1;
    }
    return s_check_mode (options);
}

/* Closes one latency sample. */
static void
s_finish (s_bench_t *bench, uint64_t sent_us, uint64_t now_us, bool ok)
{
    bench->latency_us[bench->finished++] = now_us - sent_us;
    bench->failed += ok ? 0 : 1;
    bench->in_flight--;
    bench->ended_us = now_us;
}

/* batch_sent values: send time (µs since start) and job count, packed. */
#define BENCH_COUNT_BITS 16

static void
s_on_ack (s_bench_t *bench, const zjob_event_t *event, uint64_t now_us)
{
    uint64_t packed, result_us;
    if (!client_idmap_take (bench->batch_sent, event->req_id, &packed)) {
        return;
    }
    uint64_t count = packed & ((1u << BENCH_COUNT_BITS) - 1);
    uint64_t sent_us = bench->started_us + (packed >> BENCH_COUNT_BITS);
    if (event->index + 1 < count) {
        client_idmap_put (bench->batch_sent, event->req_id, packed);
    }
    if (event->err != ZJOB_OK) {
        s_finish (bench, sent_us, now_us, false);
    } else if (client_idmap_take (bench->early, event->id, &result_us)) {
        s_finish (bench, sent_us, result_us, true);
    } else {
        client_idmap_put (bench->job_sent, event->id, sent_us);
    }
}

static void
s_on_event (const zjob_event_t *event, void *arg)
{
    s_bench_t *bench = arg;
    uint64_t now_us = clock_mono_us ();
    uint64_t sent_us;
    if (event->type == ZJOB_EVENT_ACK) {
        s_on_ack (bench, event, now_us);
    } else if (event->type == ZJOB_EVENT_ERROR) {
        fprintf (stderr, "zjob-bench: broker refused a batch: %s\n",
                 event->error);
        s_interrupted = 1;
    } else if (client_idmap_take (bench->job_sent, event->info->id, &sent_us)) {
        s_finish (bench, sent_us, now_us,
                  event->info->state == ZJOB_STATE_SUCCEEDED);
    } else {
        client_idmap_put (bench->early, event->info->id, now_us);
    }
}

/* Sends one batch of up to room jobs. */
static zjob_err_t
s_send_batch (s_bench_t *bench, zjob_spec_t *specs, uint64_t room)
{
    uint64_t left = (uint64_t) bench->options->count - bench->submitted;
    size_t count = (size_t) (room < left ? room : left);
    if (count > BENCH_BATCH) {
        count = BENCH_BATCH;
    }
    uint64_t req_id;
    uint64_t sent_us = clock_mono_us ();
    zjob_err_t err = zjob_submit_async (bench->client, specs, count, &req_id);
    if (err == ZJOB_OK) {
        client_idmap_put (bench->batch_sent, req_id,
                          (sent_us - bench->started_us) << BENCH_COUNT_BITS |
                              count);
        bench->submitted += count;
        bench->in_flight += count;
    }
    return err;
}

/* Keeps the window full and collects results until every job finished,
 * the deadline passed or a signal came. */
static zjob_err_t
s_run (s_bench_t *bench, zjob_spec_t *specs)
{
    const s_options_t *options = bench->options;
    uint64_t window =
        options->mode == MODE_LATENCY ? 1 : (uint64_t) options->window;
    uint64_t deadline = clock_mono_ms () + options->deadline_ms;
    zjob_err_t err = ZJOB_OK;
    bench->started_us = clock_mono_us ();
    while (err == ZJOB_OK && bench->finished < (uint64_t) options->count) {
        if (s_interrupted || clock_mono_ms () >= deadline) {
            return ZJOB_ETIMEDOUT;
        }
        if (bench->in_flight < window &&
            bench->submitted < (uint64_t) options->count) {
            err = s_send_batch (bench, specs, window - bench->in_flight);
        }
        if (err == ZJOB_OK) {
            err = zjob_client_poll (
                bench->client, bench->in_flight < window ? 0 : BENCH_POLL_MS,
                s_on_event, bench);
        }
    }
    return err;
}

/* Prints the report; samples are sorted in place. */
static void
s_report (s_bench_t *bench)
{
    const s_options_t *options = bench->options;
    uint64_t n = bench->finished;
    bench_percentiles_t pct = bench_percentiles (bench->latency_us, n);
    uint64_t p50 = pct.p50, p99 = pct.p99, max = pct.max;
    double seconds =
        n ? (double) (bench->ended_us - bench->started_us) / 1e6 : 0.0;
    double rate = seconds > 0 ? (double) n / seconds : 0.0;
    bool latency = options->mode == MODE_LATENCY;
    const char *mode = latency ? "latency" : "throughput";
    if (options->json) {
        json_t *report = json_pack (
            "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:{s:I, s:I, s:I}}",
            "mode", mode, "queue", options->queue, "size",
            (json_int_t) options->size, "count", (json_int_t) options->count,
            "window", (json_int_t) (latency ? 1 : options->window), "completed",
            (json_int_t) n, "failed", (json_int_t) bench->failed, "seconds",
            seconds, "jobs_per_s", rate, "latency_us", "p50", (json_int_t) p50,
            "p99", (json_int_t) p99, "max", (json_int_t) max);
        client_json_print (report, stdout);
        return;
    }
    printf ("mode %s, queue %s, %llu-byte payloads, window %lld\n"
            "completed %llu of %lld jobs in %.3f s: %.0f jobs/s\n"
            "latency p50 %llu us, p99 %llu us, max %llu us\n"
            "failed %llu\n",
            mode, options->queue, (unsigned long long) options->size,
            (long long) (latency ? 1 : options->window), (unsigned long long) n,
            (long long) options->count, seconds, rate, (unsigned long long) p50,
            (unsigned long long) p99, (unsigned long long) max,
            (unsigned long long) bench->failed);
}

/* Allocates the maps and the sample array. */
static int
s_bench_init (s_bench_t *bench, const s_options_t *options)
{
    size_t window = (size_t) options->window;
    *bench = (s_bench_t){.options = options};
    bench->batch_sent = client_idmap_new (window);
    bench->job_sent = client_idmap_new (window);
    bench->early = client_idmap_new (window);
    bench->latency_us = calloc ((size_t) options->count, sizeof (uint64_t));
    return bench->batch_sent && bench->job_sent && bench->early &&
                   bench->latency_us
               ? 0
               : -1;
}

static void
s_bench_free (s_bench_t *bench)
{
    client_idmap_destroy (&bench->batch_sent);
    client_idmap_destroy (&bench->job_sent);
    client_idmap_destroy (&bench->early);
    free (bench->latency_us);
    zjob_client_destroy (&bench->client);
}

/* Connects, runs and reports; returns the exit code. */
static int
s_bench_main (const s_options_t *options, const char *endpoint)
{
    s_bench_t bench = {0};
    zjob_spec_t *specs = calloc (BENCH_BATCH, sizeof *specs);
    size_t len = options->size;
    char *payload = malloc (len + 1);
    int code = CLI_EXIT_USAGE;
    if (specs && payload && s_bench_init (&bench, options) == 0 &&
        (bench.client = zjob_client_new (endpoint))) {
        if (options->payload) {
            memcpy (payload, options->payload, len);
        } else {
            memset (payload, 'x', len);
        }
        for (size_t i = 0; i < BENCH_BATCH; i++) {
            specs[i] = (zjob_spec_t){.queue = options->queue,
                                     .payload = payload,
                                     .payload_len = len};
        }
        zjob_err_t err = s_run (&bench, specs);
        s_report (&bench);
        if (err != ZJOB_OK) {
            fprintf (stderr, "zjob-bench: %s%s%s\n", zjob_strerror (err),
                     *zjob_client_error (bench.client) ? ": " : "",
                     zjob_client_error (bench.client));
        }
        code = err != ZJOB_OK ? CLI_EXIT_UNREACHABLE
               : bench.failed ? CLI_EXIT_JOB
                              : CLI_EXIT_OK;
    } else {
        fprintf (stderr, "zjob-bench: out of memory or bad endpoint\n");
    }
    s_bench_free (&bench);
    free (payload);
    free (specs);
    return code;
}

/* Runs --mode recovery; returns the exit code. */
static int
s_recovery_main (const s_options_t *options, const char *bin_dir,
                 bench_workers_t workers)
{
    workers.fsync = options->fsync ? options->fsync : "batch";
    workers.broker_log_level = "info"; /* for its journal_replayed line */
    bench_recovery_t run = {.bin_dir = bin_dir,
                            .queue = options->queue,
                            .size = options->size,
                            .count = (uint64_t) options->count,
                            .window = (uint64_t) options->window,
                            .deadline_ms = options->deadline_ms,
                            .json = options->json,
                            .workers = workers};
    return bench_recovery_run (&run, &s_interrupted);
}

/* Runs --mode map against endpoint with the zjob of bin_dir; returns the
 * exit code. */
static int
s_map_main (const s_options_t *options, const char *bin_dir,
            const char *endpoint)
{
    char zjob[3200];
    snprintf (zjob, sizeof zjob, "%s/zjob", bin_dir);
    bench_map_t run = {.zjob = zjob,
                       .broker = endpoint,
                       .queue = options->queue,
                       .size = options->size,
                       .count = (uint64_t) options->count,
                       .window = options->window_given ? options->window : 0,
                       .deadline_ms = options->deadline_ms,
                       .json = options->json};
    return bench_map_run (&run, &s_interrupted);
}

/* Runs --mode zmq; returns the exit code. */
static int
s_zmq_main (const s_options_t *options)
{
    bench_baseline_t run = {.size = options->size,
                            .count = (uint64_t) options->count,
                            .window = (uint64_t) options->window,
                            .workers = (size_t) options->workers,
                            .deadline_ms = options->deadline_ms,
                            .json = options->json};
    return bench_baseline_run (&run, &s_interrupted);
}

/* Runs throughput, latency or map against a cluster, started here with
 * --spawn; returns the exit code. */
static int
s_cluster_main (const s_options_t *options, const char *bin_dir)
{
    bench_cluster_t cluster = {0};
    bench_workers_t workers = {.queue = options->queue,
                               .count = (size_t) options->workers,
                               .threads = (size_t) options->threads,
                               .prefetch = (long) options->prefetch,
                               .fsync = options->fsync};
    if (options->mode == MODE_RECOVERY) {
        return s_recovery_main (options, bin_dir, workers);
    }
    if (options->spawn &&
        bench_cluster_start (&cluster, bin_dir, &workers) != 0) {
        return CLI_EXIT_USAGE;
    }
    const char *endpoint = options->spawn ? cluster.clients : options->broker;
    int code = options->mode == MODE_MAP
                   ? s_map_main (options, bin_dir, endpoint)
                   : s_bench_main (options, endpoint);
    if (options->spawn) {
        bench_cluster_stop (&cluster, code != CLI_EXIT_OK);
    }
    return code;
}

int
main (int argc, char **argv)
{
    if (argc > 1 && strcmp (argv[1], BENCH_BASELINE_ROLE) == 0) {
        return bench_baseline_role (argc - 1, argv + 1);
    }
    s_options_t options;
    int parsed = s_parse (argc, argv, &options);
    if (parsed != 0) {
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    signal (SIGPIPE, SIG_IGN);
    if (options.mode == MODE_ZMQ) {
        return s_zmq_main (&options);
    }
    char self_dir[3072];
    const char *bin_dir = options.bin_dir;
    if (!bin_dir && bench_self_dir (self_dir, sizeof self_dir) == 0) {
        bin_dir = self_dir;
    }
    if (!bin_dir && (options.spawn || options.mode == MODE_MAP)) {
        fprintf (stderr, "zjob-bench: cannot find my own folder; give "
                         "--bin-dir\n");
        return CLI_EXIT_USAGE;
    }
    return s_cluster_main (&options, bin_dir);
}
