/* zjob-broker: reads its settings (file, environment, flags) and runs the
 * broker until SIGINT or SIGTERM. Exit codes: 0 clean stop, 1 start-up
 * failure (such as a port in use), 2 usage or configuration error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/http.h"
#include "common/config.h"
#include "common/text.h"

#include "common/log.h"

#define EXIT_USAGE 2

/* Settings as the option table fills them. */
typedef struct {
    char *clients;          /* client endpoint */
    char *workers;          /* worker endpoint */
    char *http;             /* ADDR:PORT of the HTTP side; NULL: off */
    char *journal;          /* journal directory; memory only without */
    char *fsync;            /* always, batch or never */
    char *log_level;        /* debug, info, warn, error, off */
    char *endpoints_file;   /* where to write the bound endpoints */
    uint64_t heartbeat_ms;  /* heartbeat interval */
    int64_t liveness;       /* silent intervals before "dead" */
    uint64_t result_ttl_ms; /* how long results are kept */
    uint64_t retry_backoff_ms;
    uint64_t max_payload;     /* bytes */
    uint64_t max_message;     /* bytes */
    int64_t max_batch;        /* jobs per message */
    int64_t max_attempts;     /* default for jobs that give 0 */
    uint64_t journal_compact; /* bytes before compaction is considered */
    int64_t max_lost;         /* lost workers before a job is dead */
    int64_t dead_max;         /* jobs kept in the dead set */
    uint64_t dead_ttl_ms;     /* how long dead jobs are kept */
    int64_t max_queue;        /* waiting jobs per queue; 0: no limit */
    uint64_t max_memory;      /* payload and result bytes; 0: no limit */
    char *queue_attempts;     /* NAME=N,... */
} settings_t;

static settings_t s_settings;

static const char *const s_fsync_modes[] = {"always", "batch", "never", NULL};
static const char *const s_log_levels[] = {"debug", "info", "warn",
                                           "error", "off",  NULL};

/* The one description of every setting: YAML key, ZJOB_* variable, flag. */
static const config_option_t s_options[] = {
    {"clients", CONFIG_STRING, &s_settings.clients, 0, 0, NULL,
     "client endpoint (tcp://*:5570)"},
    {"workers", CONFIG_STRING, &s_settings.workers, 0, 0, NULL,
     "worker endpoint (tcp://*:5571)"},
    {"http", CONFIG_STRING, &s_settings.http, 0, 0, NULL,
     "ADDR:PORT of /healthz, /metrics, /api/* and the dashboard "
     "(off; 127.0.0.1:0 picks a free port)"},
    {"journal", CONFIG_STRING, &s_settings.journal, 0, 0, NULL,
     "journal directory; without it jobs live in memory only"},
    {"fsync", CONFIG_CHOICE, &s_settings.fsync, 0, 0, s_fsync_modes,
     "journal durability: always, batch or never (batch)"},
    {"journal-compact", CONFIG_SIZE, &s_settings.journal_compact, 0, 0, NULL,
     "journal size before compaction is considered (64MiB)"},
    {"log-level", CONFIG_CHOICE, &s_settings.log_level, 0, 0, s_log_levels,
     "debug, info, warn, error or off (info)"},
    {"heartbeat", CONFIG_DURATION, &s_settings.heartbeat_ms, 0, 0, NULL,
     "heartbeat interval, both ways (1s)"},
    {"liveness", CONFIG_INT, &s_settings.liveness, 1, 1000, NULL,
     "silent heartbeat intervals before a worker is dead (3)"},
    {"result-ttl", CONFIG_DURATION, &s_settings.result_ttl_ms, 0, 0, NULL,
     "how long final jobs stay answerable (10m)"},
    {"retry-backoff", CONFIG_DURATION, &s_settings.retry_backoff_ms, 0, 0, NULL,
     "first retry delay, doubled per failure, with jitter (1s)"},
    {"max-payload", CONFIG_SIZE, &s_settings.max_payload, 0, 0, NULL,
     "largest payload or result (1MiB)"},
    {"max-message", CONFIG_SIZE, &s_settings.max_message, 0, 0, NULL,
     "largest message, also ZMQ_MAXMSGSIZE (64MiB)"},
    {"max-batch", CONFIG_INT, &s_settings.max_batch, 1, 1000000, NULL,
     "most jobs, ids or outcomes in one message (10000)"},
    {"max-attempts", CONFIG_INT, &s_settings.max_attempts, 1, 1000, NULL,
     "attempts for jobs that do not say (1: no retry)"},
    {"queue-attempts", CONFIG_STRING, &s_settings.queue_attempts, 0, 0, NULL,
     "per-queue attempts, as NAME=N,NAME=N (over max-attempts)"},
    {"max-lost", CONFIG_INT, &s_settings.max_lost, 1, 1000, NULL,
     "workers a job may take down before it is dead (3)"},
    {"dead-max", CONFIG_INT, &s_settings.dead_max, 1, 100000000, NULL,
     "dead jobs kept, oldest evicted first (10000)"},
    {"dead-ttl", CONFIG_DURATION, &s_settings.dead_ttl_ms, 0, 0, NULL,
     "how long dead jobs are kept (7d)"},
    {"max-queue", CONFIG_INT, &s_settings.max_queue, 0, INT64_MAX, NULL,
     "waiting jobs per queue before submits get 'try later' (0: no limit)"},
    {"max-memory", CONFIG_SIZE, &s_settings.max_memory, 0, 0, NULL,
     "payload bytes of unfinished and dead jobs before submits get "
     "'try later' (1GiB; 0: no limit)"},
    {"endpoints-file", CONFIG_STRING, &s_settings.endpoints_file, 0, 0, NULL,
     "write the bound endpoints here after binding"},
};

#define OPTION_COUNT (sizeof s_options / sizeof s_options[0])

/* Fills the defaults; strings are heap copies so config_free can free
 * them. Returns 0, or -1 when out of memory. */
static int
s_defaults (void)
{
    s_settings.clients = strdup ("tcp://*:5570");
    s_settings.workers = strdup ("tcp://*:5571");
    s_settings.fsync = strdup ("batch");
    s_settings.log_level = strdup ("info");
    s_settings.heartbeat_ms = 1000;
    s_settings.liveness = 3;
    s_settings.result_ttl_ms = 10 * 60 * 1000;
    s_settings.retry_backoff_ms = 1000;
    s_settings.max_payload = 1u << 20;
    s_settings.max_message = CODEC_MAX_MESSAGE;
    s_settings.max_batch = CODEC_MAX_BATCH;
    s_settings.max_attempts = 1;
    s_settings.journal_compact = 64u << 20;
    s_settings.max_lost = 3;
    s_settings.dead_max = 10000;
    s_settings.dead_ttl_ms = 7ull * 24 * 3600 * 1000;
    s_settings.max_memory = 1ull << 30;
    return s_settings.clients && s_settings.workers && s_settings.fsync &&
                   s_settings.log_level
               ? 0
               : -1;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
             "usage: zjob-broker [-c FILE] [--clients EP] [--workers EP] "
             "[--http ADDR:PORT]\n"
             "                   [--journal DIR] [--fsync MODE] "
             "[--log-level L] [OPTION VALUE]...\n\n"
             "Takes jobs from clients and hands them to workers.\n\n"
             "  -c, --config FILE      YAML settings (keys as the long "
             "flags)\n"
             "  -h, --help             this text\n"
             "  -V, --version          the version\n");
    config_print_help (s_options, OPTION_COUNT, stream);
    fprintf (stream, "\nEvery setting can also be given as ZJOB_<KEY> in "
                     "the environment (ZJOB_RESULT_TTL=5m).\n"
                     "Exit codes: 0 stopped by a signal, 1 could not start, "
                     "2 usage or configuration error.\n");
}

/* Loads file (when given), environment and flags. Returns -1 to go on, or
 * an exit code. */
static int
s_configure (int argc, char **argv)
{
    char err[CONFIG_ERROR_LEN];
    switch (config_load_args (s_options, OPTION_COUNT, argc, argv, err)) {
        case CONFIG_ARGS_HELP:
            s_usage (stdout);
            return 0;
        case CONFIG_ARGS_VERSION:
            printf ("zjob-broker %s\n", ZJOB_VERSION);
            return 0;
        case CONFIG_ARGS_ERROR:
            fprintf (stderr, "zjob-broker: %s\nTry 'zjob-broker --help'.\n",
                     err);
            return EXIT_USAGE;
        default:
            return -1;
    }
}

/* Checks one "NAME=N" of queue-attempts and cuts it at the '='. Returns
 * 0, or -1 when it is not a name and a number from 1 to 1000. */
static int
s_check_attempts_item (char *item)
{
    char *eq = strchr (item, '=');
    char *end = NULL;
    long n = eq ? strtol (eq + 1, &end, 10) : 0;
    if (!eq || eq == item || end == eq + 1 || *end || n < 1 || n > 1000) {
        return -1;
    }
    *eq = '\0';
    return 0;
}

/* Checks "NAME=N,..." of queue-attempts: N from 1 to 1000, each queue
 * once. Returns NULL or the reason it is refused. */
static const char *
s_check_queue_attempts (const char *list)
{
    static char why[320];
    char *copy = strdup (list ? list : "");
    size_t cap = 1;
    for (const char *c = copy ? copy : ""; *c; c++) {
        cap += *c == ',';
    }
    char **names = calloc (cap, sizeof *names);
    size_t count = 0;
    char *save = NULL;
    why[0] = '\0';
    for (char *item = copy && names ? strtok_r (copy, ",", &save) : NULL;
         item && !why[0]; item = strtok_r (NULL, ",", &save)) {
        if (s_check_attempts_item (item) != 0) {
            snprintf (why, sizeof why,
                      "queue-attempts: '%.200s' is not NAME=N with N from 1 "
                      "to 1000",
                      item);
        }
        for (size_t i = 0; i < count && !why[0]; i++) {
            if (strcmp (names[i], item) == 0) {
                snprintf (why, sizeof why,
                          "queue-attempts: queue '%.200s' is listed twice",
                          item);
            }
        }
        names[count++] = item;
    }
    free (names);
    free (copy);
    return why[0] ? why : NULL;
}

/* Checks the settings against each other. Returns 0, or -1 after
 * printing the reason. */
static int
s_validate (void)
{
    static char http_why[320];
    struct sockaddr_storage http_addr;
    socklen_t http_len;
    const char *why = s_check_queue_attempts (s_settings.queue_attempts);
    if (why) {
        /* reported below */
    } else if (s_settings.http &&
               http_parse_address (s_settings.http, &http_addr, &http_len,
                                   http_why, sizeof http_why) != 0) {
        why = http_why;
    } else if (s_settings.heartbeat_ms < 10) {
        why = "heartbeat must be at least 10ms";
    } else if (s_settings.max_payload == 0 ||
               s_settings.max_payload > UINT32_MAX) {
        why = "max-payload must be from 1 byte to 4GiB";
    } else if (s_settings.max_message < s_settings.max_payload + 4096 ||
               s_settings.max_message > INT32_MAX) {
        why = "max-message must exceed max-payload by 4k and stay "
              "under 2GiB";
    } else if (s_settings.journal && !s_settings.journal[0]) {
        why = "journal: the directory must not be empty (leave the "
              "setting out to run without a journal)";
    } else if (!s_settings.clients[0] || !s_settings.workers[0]) {
        why = "clients and workers endpoints must not be empty";
    } else if (!text_endpoint_port_ok (s_settings.clients) ||
               !text_endpoint_port_ok (s_settings.workers)) {
        why = "clients and workers: a port must be at most 65535";
    } else if (s_settings.result_ttl_ms < 1000 ||
               s_settings.dead_ttl_ms < 1000) {
        why = "result-ttl and dead-ttl must be at least 1s: a waiting "
              "client must be able to read the result it is told about";
    }
    if (why) {
        fprintf (stderr, "zjob-broker: %s\n", why);
        return -1;
    }
    return 0;
}

/* Says what running without a journal means. */
static void
s_log_pending_features (void)
{
    if (!s_settings.journal || !s_settings.journal[0]) {
        LOG_WARN ("no_journal",
                  "note=\"jobs live in memory only: a broker restart loses "
                  "them; give --journal DIR to keep them\"");
    }
}

static void
s_fill_config (broker_config_t *config)
{
    config->clients_endpoint = s_settings.clients;
    config->workers_endpoint = s_settings.workers;
    config->endpoints_file = s_settings.endpoints_file;
    config->heartbeat_ms = s_settings.heartbeat_ms;
    config->liveness = (uint32_t) s_settings.liveness;
    config->result_ttl_ms = s_settings.result_ttl_ms;
    config->retry_backoff_ms = s_settings.retry_backoff_ms;
    config->max_attempts = (uint32_t) s_settings.max_attempts;
    config->limits.max_message = s_settings.max_message;
    config->limits.max_payload = s_settings.max_payload;
    config->limits.max_batch = (size_t) s_settings.max_batch;
    config->journal_dir = s_settings.journal;
    config->fsync = strcmp (s_settings.fsync, "always") == 0  ? JOURNAL_ALWAYS
                    : strcmp (s_settings.fsync, "never") == 0 ? JOURNAL_NEVER
                                                              : JOURNAL_BATCH;
    config->journal_compact = s_settings.journal_compact;
    config->max_lost = (uint32_t) s_settings.max_lost;
    config->dead_max = (uint32_t) s_settings.dead_max;
    config->dead_ttl_ms = s_settings.dead_ttl_ms;
    config->max_queue = (uint64_t) s_settings.max_queue;
    config->max_memory = s_settings.max_memory;
    config->queue_attempts = s_settings.queue_attempts;
}

/* Starts the HTTP side when --http is set and hooks it to the broker's
 * loop through config. Returns 0, or -1 after logging (port in use). */
static int
s_http_start (http_t **http, broker_config_t *config)
{
    if (!s_settings.http) {
        return 0;
    }
    http_config_t http_config = {.address = s_settings.http,
                                 .journal = s_settings.journal != NULL};
    *http = http_start (&http_config);
    if (!*http) {
        return -1;
    }
    config->http_address = http_address (*http);
    config->observer = http_observe;
    config->observer_arg = *http;
    config->observe_ms = HTTP_SNAPSHOT_MS;
    return 0;
}

int
main (int argc, char **argv)
{
    log_set_program ("broker");
    if (s_defaults () != 0) {
        return 1;
    }
    int rc = s_configure (argc, argv);
    if (rc == -1 && s_validate () != 0) {
        rc = EXIT_USAGE;
    }
    if (rc == -1) {
        log_set_level (s_settings.log_level);
        s_log_pending_features ();
        broker_config_t config = {0};
        s_fill_config (&config);
        http_t *http = NULL;
        broker_t *broker =
            s_http_start (&http, &config) == 0 ? broker_new (&config) : NULL;
        rc = broker ? broker_run (broker) : 1;
        http_stop (&http);
        broker_destroy (&broker);
    }
    config_free (s_options, OPTION_COUNT);
    return rc;
}
