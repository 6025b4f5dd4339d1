/* zjob-bench --mode recovery: how long a broker takes to come back after
 * a crash with a full journal, and whether every accepted job survives.
 *
 * Design notes: one thread, four phases on a cluster of its own. Fill:
 * a broker with no workers accepts --count jobs through the pipelined
 * path; the bench keeps only their ids (8 bytes a job). Crash: SIGKILL,
 * then a new broker on the same journal and the same ports; a fresh
 * client asks for stats until it answers. Drain: workers start and the
 * ids are waited for in slices, so neither the bench nor one Wait holds
 * more than a slice's state. Every phase ends by the run's deadline. */
#include "bench/recovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli_args.h"
#include "client/cli_json.h"
#include "common/clock.h"
#include "zjob/zjob.h"

#define RECOVERY_BATCH      500
#define RECOVERY_POLL_MS    100
#define RECOVERY_TRY_MS     1000   /* one stats attempt after the restart */
#define RECOVERY_HEARTBEAT  100    /* ms between heartbeats while it is down */
#define RECOVERY_WAIT_SLICE 100000 /* ids per zjob_wait call */

/* Progress and figures of one run. */
typedef struct {
    const bench_recovery_t *run;        /* the settings (borrowed) */
    volatile sig_atomic_t *interrupted; /* non-zero: stop early */
    bench_cluster_t cluster;            /* the broker and workers */
    uint64_t deadline_ms;               /* monotonic ms when the run gives up */
    uint64_t *ids;                      /* accepted ids, in ack order */
    uint64_t sent;                      /* jobs submitted */
    uint64_t accepted;                  /* acks with an id (entries in ids) */
    uint64_t refused;                   /* acks without one */
    bool batch_refused;                 /* the broker refused a whole Submit */
    uint64_t submit_us;                 /* first submit to last ack */
    uint64_t journal_bytes;             /* on disk just before the kill */
    uint64_t rss_before_kb;             /* broker VmRSS just before the kill */
    uint64_t answer_us;     /* SIGKILL to the first answer after it */
    bool replay_known;      /* the log had a journal_replayed line */
    uint64_t replay_jobs;   /* its jobs field */
    uint64_t replay_ms;     /* its took_ms field */
    uint64_t rss_after_kb;  /* broker VmRSS once it answered */
    uint64_t recovered;     /* the broker's recovered counter */
    uint64_t succeeded;     /* waited jobs that succeeded */
    uint64_t unsucceeded;   /* waited jobs final in another state */
    uint64_t unknown;       /* waited jobs the broker did not know */
    uint64_t drain_us;      /* workers started to the last result */
    uint64_t bench_peak_kb; /* this program's VmHWM at the end */
    int phases;             /* phases done: 1 filled, 2 restarted, 3 drained */
} s_run_t;

/* Returns the ms left before the deadline (0 when passed or stopped). */
static uint64_t
s_left_ms (const s_run_t *self)
{
    uint64_t now = clock_mono_ms ();
    if (*self->interrupted || now >= self->deadline_ms) {
        return 0;
    }
    return self->deadline_ms - now;
}

static void
s_on_ack (const zjob_event_t *event, void *arg)
{
    s_run_t *self = arg;
    if (event->type == ZJOB_EVENT_ERROR) {
        fprintf (stderr, "zjob-bench: broker refused a batch: %s\n",
                 event->error);
        self->batch_refused = true;
    } else if (event->type == ZJOB_EVENT_ACK && event->id != 0 &&
               self->accepted < self->run->count) {
        self->ids[self->accepted++] = event->id;
    } else if (event->type == ZJOB_EVENT_ACK) {
        self->refused++;
    }
}

/* Submits every job in batches, at most window unacknowledged, and
 * returns once each has its ack. */
static zjob_err_t
s_fill (s_run_t *self, zjob_client_t *client, const zjob_spec_t *specs)
{
    const bench_recovery_t *run = self->run;
    uint64_t started_us = clock_mono_us ();
    zjob_err_t err = ZJOB_OK;
    while (err == ZJOB_OK && self->accepted + self->refused < run->count) {
        uint64_t acked = self->accepted + self->refused;
        uint64_t room = run->window - (self->sent - acked);
        uint64_t count = run->count - self->sent;
        count = count < room ? count : room;
        count = count < RECOVERY_BATCH ? count : RECOVERY_BATCH;
        uint64_t req_id;
        if (self->batch_refused || s_left_ms (self) == 0) {
            err = self->batch_refused ? ZJOB_EREJECTED : ZJOB_ETIMEDOUT;
        } else if (count > 0) {
            err = zjob_submit_async (client, specs, count, &req_id);
            self->sent += err == ZJOB_OK ? count : 0;
        }
        if (err == ZJOB_OK) {
            err = zjob_client_poll (client, count ? 0 : RECOVERY_POLL_MS,
                                    s_on_ack, self);
        }
    }
    self->submit_us = clock_mono_us () - started_us;
    return err;
}

/* Starts a broker without workers and fills it; the client is gone when
 * this returns, so nothing of it survives into the restart. */
static zjob_err_t
s_fill_phase (s_run_t *self)
{
    const bench_recovery_t *run = self->run;
    zjob_spec_t *specs = calloc (RECOVERY_BATCH, sizeof *specs);
    char *payload = malloc (run->size + 1);
    zjob_client_t *client = zjob_client_new (self->cluster.clients);
    if (!specs || !payload || !client) {
        free (specs);
        free (payload);
        zjob_client_destroy (&client);
        return ZJOB_ENOMEM;
    }
    memset (payload, 'x', run->size);
    for (size_t i = 0; i < RECOVERY_BATCH; i++) {
        specs[i] = (zjob_spec_t){
            .queue = run->queue, .payload = payload, .payload_len = run->size};
    }
    zjob_err_t err = s_fill (self, client, specs);
    if (err == ZJOB_ETIMEDOUT) {
        fprintf (stderr, "zjob-bench: filling the broker: deadline passed "
                         "or interrupted\n");
    } else if (err != ZJOB_OK) {
        fprintf (stderr, "zjob-bench: filling the broker: %s%s%s\n",
                 zjob_strerror (err), *zjob_client_error (client) ? ": " : "",
                 zjob_client_error (client));
    }
    zjob_client_destroy (&client);
    free (payload);
    free (specs);
    return err;
}

/* Asks for stats until the restarted broker answers. */
static zjob_err_t
s_await_answer (s_run_t *self, zjob_client_t *client, uint64_t killed_us)
{
    zjob_client_set_timeout (client, RECOVERY_TRY_MS);
    zjob_client_set_heartbeat (client, RECOVERY_HEARTBEAT,
                               RECOVERY_TRY_MS / RECOVERY_HEARTBEAT);
    zjob_stats_t stats;
    zjob_err_t err = ZJOB_EUNREACHABLE;
    while (err == ZJOB_EUNREACHABLE && s_left_ms (self) > 0 &&
           bench_cluster_broker_running (&self->cluster)) {
        err = zjob_stats (client, &stats);
    }
    uint64_t since_kill_us = clock_mono_us () - killed_us;
    if (err == ZJOB_OK && (!bench_cluster_broker_running (&self->cluster) ||
                           stats.uptime_ms * 1000 > since_kill_us)) {
        fprintf (stderr, "zjob-bench: another process took the broker's "
                         "port while it was down; see its log\n");
        return ZJOB_EUNREACHABLE;
    }
    if (err == ZJOB_OK) {
        self->answer_us = since_kill_us;
        self->recovered = stats.recovered;
        return ZJOB_OK;
    }
    fprintf (stderr, "zjob-bench: the restarted broker %s\n",
             bench_cluster_broker_running (&self->cluster)
                 ? "did not answer in time"
                 : "exited; see its log");
    return ZJOB_EUNREACHABLE;
}

/* Kills the broker, starts it again on the same journal and ports and
 * measures its way back. */
static zjob_err_t
s_crash_phase (s_run_t *self, zjob_client_t *client)
{
    const bench_recovery_t *run = self->run;
    self->rss_before_kb = bench_proc_status_kb (self->cluster.broker, "VmRSS");
    self->journal_bytes = bench_cluster_journal_bytes (&self->cluster);
    uint64_t killed_us = clock_mono_us ();
    if (bench_cluster_kill_broker (&self->cluster) != 0 ||
        bench_cluster_restart_broker (&self->cluster, run->bin_dir,
                                      &run->workers) != 0) {
        fprintf (stderr, "zjob-bench: could not restart the broker\n");
        return ZJOB_EUNREACHABLE;
    }
    zjob_err_t err = s_await_answer (self, client, killed_us);
    if (err == ZJOB_OK) {
        self->rss_after_kb =
            bench_proc_status_kb (self->cluster.broker, "VmRSS");
        self->replay_known =
            bench_cluster_replay_figures (&self->cluster, &self->replay_jobs,
                                          &self->replay_ms) == 0;
    }
    return err;
}

static void
s_on_final (const zjob_info_t *info, void *arg)
{
    s_run_t *self = arg;
    if (info->state == ZJOB_STATE_SUCCEEDED) {
        self->succeeded++;
    } else if (info->state == ZJOB_STATE_UNKNOWN) {
        self->unknown++;
    } else {
        self->unsucceeded++;
    }
}

/* Starts the workers and waits for every accepted job, a slice of ids
 * at a time. */
static zjob_err_t
s_drain_phase (s_run_t *self, zjob_client_t *client)
{
    const bench_recovery_t *run = self->run;
    if (bench_cluster_add_workers (&self->cluster, run->bin_dir,
                                   &run->workers) != 0) {
        return ZJOB_EUNREACHABLE;
    }
    uint64_t started_us = clock_mono_us ();
    zjob_err_t err = ZJOB_OK;
    for (uint64_t start = 0; err == ZJOB_OK && start < self->accepted;
         start += RECOVERY_WAIT_SLICE) {
        uint64_t count = self->accepted - start;
        count = count < RECOVERY_WAIT_SLICE ? count : RECOVERY_WAIT_SLICE;
        uint64_t left_ms = s_left_ms (self);
        err = left_ms == 0 ? ZJOB_ETIMEDOUT
                           : zjob_wait (client, self->ids + start, count,
                                        (int64_t) left_ms, s_on_final, self);
    }
    self->drain_us = clock_mono_us () - started_us;
    if (err != ZJOB_OK) {
        fprintf (stderr, "zjob-bench: waiting for the jobs: %s%s%s\n",
                 zjob_strerror (err), *zjob_client_error (client) ? ": " : "",
                 zjob_client_error (client));
    }
    return err;
}

/* Prints the figures as JSON. */
static void
s_report_json (const s_run_t *self, uint64_t finished, double drain_s)
{
    const bench_recovery_t *run = self->run;
    json_t *report = json_pack (
        "{s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:f, s:I, s:I, s:f, s:o, s:o,"
        " s:I, s:I, s:I, s:I, s:I, s:f, s:I}",
        "mode", "recovery", "queue", run->queue, "size", (json_int_t) run->size,
        "count", (json_int_t) run->count, "fsync", run->workers.fsync,
        "accepted", (json_int_t) self->accepted, "refused",
        (json_int_t) self->refused, "submit_seconds",
        (double) self->submit_us / 1e6, "journal_bytes",
        (json_int_t) self->journal_bytes, "broker_rss_kb_before",
        (json_int_t) self->rss_before_kb, "kill_to_answer_ms",
        (double) self->answer_us / 1e3, "replay_took_ms",
        self->replay_known ? json_integer ((json_int_t) self->replay_ms)
                           : json_null (),
        "replayed_jobs",
        self->replay_known ? json_integer ((json_int_t) self->replay_jobs)
                           : json_null (),
        "broker_rss_kb_after", (json_int_t) self->rss_after_kb, "recovered",
        (json_int_t) self->recovered, "finished", (json_int_t) finished,
        "succeeded", (json_int_t) self->succeeded, "missing",
        (json_int_t) (self->accepted - finished), "drain_seconds", drain_s,
        "bench_peak_rss_kb", (json_int_t) self->bench_peak_kb);
    client_json_print (report, stdout);
}

/* Prints the text lines of the crash and restart. */
static void
s_report_crash (const s_run_t *self)
{
    printf ("before the kill: journal %.1f MB on disk, broker RSS %.1f MiB\n"
            "SIGKILL to answering again: %.0f ms; replay took %lld ms for "
            "%lld jobs (broker log); recovered %llu\n"
            "after the replay: broker RSS %.1f MiB\n",
            (double) self->journal_bytes / 1e6,
            (double) self->rss_before_kb / 1024.0,
            (double) self->answer_us / 1e3,
            self->replay_known ? (long long) self->replay_ms : -1LL,
            self->replay_known ? (long long) self->replay_jobs : -1LL,
            (unsigned long long) self->recovered,
            (double) self->rss_after_kb / 1024.0);
}

/* Prints the report, as text (only the phases reached) or JSON. */
static void
s_report (const s_run_t *self)
{
    const bench_recovery_t *run = self->run;
    uint64_t finished = self->succeeded + self->unsucceeded;
    double submit_s = (double) self->submit_us / 1e6;
    double drain_s = (double) self->drain_us / 1e6;
    if (run->json) {
        s_report_json (self, finished, drain_s);
        return;
    }
    printf ("mode recovery, queue %s, %llu-byte payloads, fsync %s\n"
            "accepted %llu of %llu jobs in %.3f s (%.0f jobs/s), "
            "refused %llu\n",
            run->queue, (unsigned long long) run->size, run->workers.fsync,
            (unsigned long long) self->accepted,
            (unsigned long long) run->count, submit_s,
            submit_s > 0 ? (double) self->accepted / submit_s : 0.0,
            (unsigned long long) self->refused);
    if (self->phases >= 2) {
        s_report_crash (self);
    }
    if (self->phases >= 3) {
        printf ("finished %llu of %llu accepted jobs in %.3f s after the "
                "workers started (%.0f jobs/s): succeeded %llu, other %llu, "
                "missing %llu\n",
                (unsigned long long) finished,
                (unsigned long long) self->accepted, drain_s,
                drain_s > 0 ? (double) finished / drain_s : 0.0,
                (unsigned long long) self->succeeded,
                (unsigned long long) self->unsucceeded,
                (unsigned long long) (self->accepted - finished));
    }
    printf ("zjob-bench peak RSS %.1f MiB\n",
            (double) self->bench_peak_kb / 1024.0);
}

/* Runs the crash and drain phases with one client. */
static zjob_err_t
s_restart_and_drain (s_run_t *self)
{
    zjob_client_t *client = zjob_client_new (self->cluster.clients);
    if (!client) {
        return ZJOB_ENOMEM;
    }
    zjob_err_t err = s_crash_phase (self, client);
    self->phases += err == ZJOB_OK ? 1 : 0;
    if (err == ZJOB_OK) {
        err = s_drain_phase (self, client);
        self->phases++; /* partly drained still has figures to show */
    }
    zjob_client_destroy (&client);
    return err;
}

int
bench_recovery_run (const bench_recovery_t *run,
                    volatile sig_atomic_t *interrupted)
{
    s_run_t self = {.run = run, .interrupted = interrupted};
    self.deadline_ms = clock_mono_ms () + run->deadline_ms;
    self.ids = malloc (run->count * sizeof *self.ids);
    bench_workers_t none = run->workers;
    none.count = 0;
    none.random_ports = true;
    if (!self.ids ||
        bench_cluster_start (&self.cluster, run->bin_dir, &none) != 0) {
        free (self.ids);
        return CLI_EXIT_USAGE;
    }
    zjob_err_t err = s_fill_phase (&self);
    self.phases = 1; /* a partial fill still has figures to show */
    if (err == ZJOB_OK) {
        err = s_restart_and_drain (&self);
    }
    self.bench_peak_kb = bench_proc_status_kb (0, "VmHWM");
    s_report (&self);
    int code = err != ZJOB_OK                 ? CLI_EXIT_UNREACHABLE
               : self.succeeded != run->count ? CLI_EXIT_JOB
                                              : CLI_EXIT_OK;
    bench_cluster_stop (&self.cluster, code != CLI_EXIT_OK);
    free (self.ids);
    return code;
}
