/* zjob-worker: serves queues for a zjob broker with a pool of threads.
 *
 * Settings come from one table (s_options) that serves the YAML file, the
 * ZJOB_* environment and the flags, applied in that order. Exit codes: 0
 * after a clean drain, 1 when handlers did not stop after the drain, 2 for
 * a usage or configuration error.
 */
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/codec.h"
#include "common/config.h"
#include "common/text.h"
#include "common/log.h"
#include "worker/handler.h"
#include "worker/worker.h"

/* Every setting, as the table fills it. */
typedef struct {
    char *broker;           /* broker's worker endpoint */
    char *name;             /* worker name; NULL: hostname.pid */
    int64_t threads;        /* pool threads */
    config_queues_t queues; /* queues served */
    char *log_level;        /* debug, info, warn, error, off */
    uint64_t heartbeat_ms;  /* heartbeat interval */
    int64_t liveness;       /* missed heartbeats before reconnecting */
    uint64_t grace_ms;      /* drain grace */
    char *prefetch;         /* "auto" or jobs held beyond one per thread */
    uint64_t max_payload;   /* payload and result limit, bytes */
} s_settings_t;

static s_settings_t s_settings;

static const char *const s_levels[] = {"debug", "info", "warn",
                                       "error", "off",  NULL};

static const config_option_t s_options[] = {
    {"broker", CONFIG_STRING, &s_settings.broker, 0, 0, NULL,
     "broker's worker endpoint (tcp://127.0.0.1:5571)"},
    {"threads", CONFIG_INT, &s_settings.threads, 1, 4096, NULL,
     "threads that run jobs (number of CPUs)"},
    {"queue", CONFIG_QUEUES, &s_settings.queues, 0, 0, NULL,
     "NAME[=HANDLER] to serve; HANDLER is builtin:NAME, exec:COMMAND ARG... "
     "or plugin:PATH (repeatable)"},
    {"queues", CONFIG_QUEUES, &s_settings.queues, 0, 0, NULL,
     "same as --queue (the YAML key: a list of name/builtin/exec/plugin/"
     "concurrency/timeout mappings)"},
    {"name", CONFIG_STRING, &s_settings.name, 0, 0, NULL,
     "name the broker shows (hostname.pid)"},
    {"log-level", CONFIG_CHOICE, &s_settings.log_level, 0, 0, s_levels,
     "debug, info, warn, error or off (info)"},
    {"heartbeat", CONFIG_DURATION, &s_settings.heartbeat_ms, 0, 0, NULL,
     "heartbeat interval (1s)"},
    {"liveness", CONFIG_INT, &s_settings.liveness, 1, 1000, NULL,
     "missed heartbeats before the broker counts as lost (3)"},
    {"grace", CONFIG_DURATION, &s_settings.grace_ms, 0, 0, NULL,
     "drain: time running jobs get to finish on SIGTERM (30s)"},
    {"prefetch", CONFIG_STRING, &s_settings.prefetch, 0, 0, NULL,
     "jobs held beyond one per thread: auto (adapts to how long jobs run) "
     "or a number (auto)"},
    {"max-payload", CONFIG_SIZE, &s_settings.max_payload, 0, 0, NULL,
     "largest payload or result; keep it the broker's (1MiB)"},
};

#define S_OPTION_COUNT (sizeof s_options / sizeof s_options[0])

static void
s_usage (FILE *stream)
{
    fprintf (stream,
             "usage: zjob-worker [-c FILE] [--broker EP] [--threads N]\n"
             "                   [--queue NAME[=HANDLER]]... [--name NAME]\n"
             "                   [--log-level L] [options]\n\n"
             "Serves queues for a zjob broker. Settings come from FILE, then\n"
             "ZJOB_<KEY> environment variables, then flags; queues given by\n"
             "a later source replace those of an earlier one.\n\n"
             "  -c, --config FILE       YAML file with the keys below\n");
    config_print_help (s_options, S_OPTION_COUNT, stream);
    fprintf (stream, "  -h, --help              this text\n"
                     "  -V, --version           the version\n\n"
                     "Exit codes: 0 drained cleanly, 1 jobs did not stop, 2 "
                     "usage or configuration error.\n");
}

static void
s_defaults (void)
{
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    s_settings.threads = cpus > 0 ? cpus : 1;
    s_settings.heartbeat_ms = 1000;
    s_settings.liveness = 3;
    s_settings.grace_ms = 30000;
    s_settings.max_payload = 1u << 20; /* the broker's default too */
}

/* The prefetch setting: -1 for auto (the default), 0 to 100000, or -2
 * when it is neither. */
static long
s_prefetch (void)
{
    const char *text = s_settings.prefetch;
    if (!text || strcmp (text, "auto") == 0) {
        return -1;
    }
    char *end = NULL;
    errno = 0;
    long value = strtol (text, &end, 10);
    bool number = *text && *end == '\0' && errno == 0;
    return number && value >= 0 && value <= 100000 ? value : -2;
}

/* Loads file, environment and flags over the defaults, then checks them.
 * Returns -1 to go on, or an exit code. */
static int
s_configure (int argc, char **argv)
{
    char err[CONFIG_ERROR_LEN];
    s_defaults ();
    switch (config_load_args (s_options, S_OPTION_COUNT, argc, argv, err)) {
        case CONFIG_ARGS_HELP:
            s_usage (stdout);
            return 0;
        case CONFIG_ARGS_VERSION:
            printf ("zjob-worker %s\n", ZJOB_VERSION);
            return 0;
        case CONFIG_ARGS_ERROR:
            fprintf (stderr, "zjob-worker: %s\nTry 'zjob-worker --help'.\n",
                     err);
            return 2;
        default:
            break;
    }
    const char *why = NULL;
    if (s_prefetch () < -1) {
        why = "prefetch must be auto or a number from 0 to 100000";
    } else if (s_settings.heartbeat_ms < 10) {
        why = "heartbeat must be at least 10ms";
    } else if (s_settings.max_payload == 0 ||
               s_settings.max_payload > (1u << 30)) {
        why = "max-payload must be from 1 byte to 1GiB";
    } else if (s_settings.log_level &&
               log_set_level (s_settings.log_level) != 0) {
        why = "bad log level";
    } else if (!text_endpoint_port_ok (s_settings.broker)) {
        why = "broker: a port must be at most 65535";
    }
    if (why) {
        fprintf (stderr, "zjob-worker: %s\n", why);
        return 2;
    }
    return -1;
}

/* Blocks SIGTERM and SIGINT in every thread (call before any thread
 * starts) and returns a signalfd that reads them, or -1. */
static int
s_signal_fd (void)
{
    sigset_t stop;
    sigemptyset (&stop);
    sigaddset (&stop, SIGTERM);
    sigaddset (&stop, SIGINT);
    if (pthread_sigmask (SIG_BLOCK, &stop, NULL) != 0) {
        return -1;
    }
    signal (SIGPIPE, SIG_IGN);
    return signalfd (-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int
s_run (void)
{
    char name[300];
    if (!s_settings.name) {
        char host[256] = "worker";
        gethostname (host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        snprintf (name, sizeof name, "%s.%ld", host, (long) getpid ());
    }
    worker_config_t config = {.broker = s_settings.broker
                                            ? s_settings.broker
                                            : "tcp://127.0.0.1:5571",
                              .name = s_settings.name ? s_settings.name : name,
                              .threads = (unsigned) s_settings.threads,
                              .prefetch = s_prefetch (),
                              .heartbeat_ms = s_settings.heartbeat_ms,
                              .liveness = (unsigned) s_settings.liveness,
                              .grace_ms = s_settings.grace_ms,
                              .max_payload = (size_t) s_settings.max_payload,
                              .queues = &s_settings.queues};
    char err[HANDLER_ERROR_LEN + 128];
    worker_t *worker = worker_new (&config, err, sizeof err);
    if (!worker) {
        fprintf (stderr, "zjob-worker: %s\n", err);
        return 2;
    }
    int stop_fd = s_signal_fd ();
    int code = stop_fd < 0 ? 2 : worker_run (worker, stop_fd);
    if (code == 1) {
        fflush (stderr);
        _exit (1); /* handlers still running: do not wait for them */
    }
    worker_destroy (&worker);
    if (stop_fd >= 0) {
        close (stop_fd);
    }
    return code;
}

int
main (int argc, char **argv)
{
    log_set_program ("worker");
    zsys_handler_set (NULL); /* signals arrive through a signalfd instead */
    int code = s_configure (argc, argv);
    if (code == -1) {
        code = s_run ();
    }
    config_free (s_options, S_OPTION_COUNT);
    return code;
}
