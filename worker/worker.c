/* The worker's socket thread: talks to the broker and drives the pool.
 *
 * Design notes.
 * - Threads. Everything in this file runs on the one thread that called
 *   worker_run: it alone owns the DEALER socket, the zloop, the list of
 *   unacknowledged outcomes and every counter here. Pool threads never see
 *   the socket; they reach this thread only through the pool's completion
 *   list and its eventfd, which the loop polls next to the socket.
 * - Locks. This file takes no lock itself; the pool functions it calls take
 *   the pool's mutexes briefly and never across socket I/O.
 * - One loop turn. The socket reader handles one message; the wake handler
 *   takes every finished outcome and sends them all in ONE Done (split only
 *   by the batch and message limits); a 100 ms tick sends heartbeats,
 *   notices a silent broker, reconnects and moves a drain along.
 * - Outcomes. Each outcome stays in `unacked` from the moment it is taken
 *   from the pool until a DoneAck names it, even while disconnected; after
 *   every Register all of them are sent again (the broker ignores the ones
 *   it already has). Register's credit is threads + prefetch minus the jobs
 *   held (busy in the pool, or unacked): every outcome sent afterwards
 *   returns one credit to the broker, so the broker's view of free slots
 *   ends up right. Job blocks come from the pool (pool_job_get) and go back
 *   to it (pool_job_put) once acknowledged or refused, so that the
 *   steady state allocates none per job.
 * - Drain. The first stop request sends Drain, drops jobs not yet started
 *   (Goodbye makes the broker requeue them), lets running jobs finish
 *   within the grace, then cancels them; once the pool is idle the last
 *   outcomes go out, then Goodbye, and the loop ends.
 */
#include "worker/worker.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/codec.h"
#include "common/log.h"
#include "worker/exec.h"
#include "worker/handler.h"
#include "worker/pool.h"
#include "worker/prefetch.h"

/* Housekeeping interval of the loop. */
#define S_TICK_MS 100

struct worker_t {
    char *broker;              /* endpoint */
    char *name;                /* worker name */
    worker_config_t config;    /* numbers; string fields point at the above */
    size_t lane_count;         /* queues served */
    char **lane_names;         /* queue names, by lane */
    handler_t **handlers;      /* handlers, by lane */
    pool_lane_t *lanes;        /* the pool's view of each lane */
    pool_t *pool;              /* threads that run jobs */
    codec_limits_t limits;     /* what we accept from the broker */
    zloop_t *loop;             /* the event loop (worker_run only) */
    zsock_t *sock;             /* DEALER to the broker; NULL when lost */
    uint64_t heard_ms;         /* last message from the broker */
    uint64_t beat_ms;          /* last heartbeat sent */
    uint64_t backoff_ms;       /* next reconnect delay */
    uint64_t reconnect_ms;     /* when to reconnect while sock is NULL */
    pool_job_t *fresh;         /* outcomes made on this thread, unsent */
    pool_job_t *unacked;       /* outcomes sent or to send, until DoneAck */
    size_t unacked_count;      /* entries in unacked */
    Zjob__Outcome *done_items; /* s_send_batch's outcomes, reused */
    Zjob__Outcome **done_refs; /* pointers to done_items, reused */
    size_t done_cap;           /* entries allocated in both */
    uint64_t finished;         /* outcomes produced since start */
    prefetch_t prefetch;       /* credit beyond threads, and its changes */
    bool accepted;             /* the broker sent more than Errors since the
                                  last Register: it knows this worker */
    uint64_t register_ms;      /* when the last Register went out */
    uint64_t instance;         /* random, this process: see Register */
    uint64_t peer_instance;    /* the broker process's instance, from its
                                  first Heartbeat after our last Register */
    uint64_t peer_interval_ms; /* the broker's heartbeat interval, from
                                  its Heartbeats (0: not known) */
    bool draining;             /* Drain sent; no new jobs */
    bool cancelled_rest;       /* drain grace over; running jobs cancelled */
    uint64_t drain_end_ms;     /* end of the drain grace */
    int exit_code;             /* worker_run's result */
};

/* A random id for this process, never 0, so that the broker can tell a
 * reconnect of this worker from another process that took its name. */
static uint64_t
s_instance (void)
{
    uint64_t value = 0;
    if (getrandom (&value, sizeof value, 0) != (ssize_t) sizeof value) {
        value = clock_wall_ms () * 1000003u ^ (uint64_t) getpid ();
    }
    return value ? value : 1;
}

/* ---- construction --------------------------------------------------- */

static int
s_add_lane (worker_t *self, const config_queue_t *queue, char *err,
            size_t err_len)
{
    char why[HANDLER_ERROR_LEN];
    for (size_t i = 0; i < self->lane_count; i++) {
        if (strcmp (self->lane_names[i], queue->name) == 0) {
            snprintf (err, err_len, "queue '%s' is configured twice",
                      queue->name);
            return -1;
        }
    }
    size_t at = self->lane_count;
    self->handlers[at] =
        handler_new (queue->handler, self->config.max_payload, why, sizeof why);
    if (!self->handlers[at]) {
        snprintf (err, err_len, "queue '%s': %s", queue->name, why);
        return -1;
    }
    self->lane_names[at] = strdup (queue->name);
    self->lanes[at].handler = self->handlers[at];
    self->lanes[at].name = self->lane_names[at];
    self->lanes[at].concurrency =
        queue->concurrency > 0 ? (unsigned) queue->concurrency : 0;
    self->lanes[at].timeout_ms = queue->timeout_ms;
    self->lane_count++;
    return self->lane_names[at] ? 0 : -1;
}

static int
s_build_lanes (worker_t *self, const config_queues_t *queues, char *err,
               size_t err_len)
{
    if (!queues || queues->count == 0) {
        snprintf (err, err_len,
                  "no queues to serve (use --queue NAME[=HANDLER] or "
                  "queues: in the config file)");
        return -1;
    }
    self->lane_names = calloc (queues->count, sizeof *self->lane_names);
    self->handlers = calloc (queues->count, sizeof *self->handlers);
    self->lanes = calloc (queues->count, sizeof *self->lanes);
    if (!self->lane_names || !self->handlers || !self->lanes) {
        snprintf (err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < queues->count; i++) {
        if (s_add_lane (self, &queues->items[i], err, err_len) != 0) {
            return -1;
        }
    }
    return 0;
}

worker_t *
worker_new (const worker_config_t *config, char *err, size_t err_len)
{
    worker_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_len, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->config.threads = config->threads ? config->threads : 1;
    self->broker = strdup (config->broker);
    self->name = strdup (config->name);
    self->config.broker = self->broker;
    self->config.name = self->name;
    codec_limits_default (&self->limits);
    if (self->limits.max_message < config->max_payload + 4096) {
        self->limits.max_message = config->max_payload + 4096;
    }
    /* A payload over our limit fails its own job in s_accept_job; it must
     * not make the whole Dispatch undecodable. */
    self->limits.max_payload = self->limits.max_message;
    self->backoff_ms = WORKER_BACKOFF_MIN_MS;
    self->instance = s_instance ();
    if (!self->broker || !self->name ||
        s_build_lanes (self, config->queues, err, err_len) != 0) {
        worker_destroy (&self);
        return NULL;
    }
    prefetch_init (&self->prefetch, self->config.threads,
                   self->config.prefetch);
    size_t credit = (size_t) self->config.threads + self->prefetch.cap;
    self->pool = pool_new (self->config.threads, 2 * credit, self->lanes,
                           self->lane_count);
    if (!self->pool) {
        snprintf (err, err_len, "cannot create the thread pool");
        worker_destroy (&self);
    }
    return self;
}

void
worker_destroy (worker_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    worker_t *self = *self_p;
    pool_job_destroy_list (&self->fresh);
    pool_job_destroy_list (&self->unacked);
    pool_destroy (&self->pool); /* before the handlers and names it uses */
    for (size_t i = 0; i < self->lane_count; i++) {
        handler_destroy (&self->handlers[i]);
        free (self->lane_names[i]);
    }
    free (self->handlers);
    free (self->lane_names);
    free (self->lanes);
    free (self->done_items);
    free (self->done_refs);
    zsock_destroy (&self->sock);
    zloop_destroy (&self->loop);
    free (self->broker);
    free (self->name);
    free (self);
    *self_p = NULL;
}

/* ---- sending ---------------------------------------------------------- */

static void
s_send (worker_t *self, Zjob__Envelope *env)
{
    if (self->sock && codec_send (self->sock, NULL, env) != 0) {
        LOG_DEBUG ("send_failed", "body=%d", (int) env->body_case);
    }
}

static void
s_send_heartbeat (worker_t *self)
{
    Zjob__Heartbeat beat;
    Zjob__Envelope env;
    codec_heartbeat (&env, &beat);
    s_send (self, &env);
    self->beat_ms = clock_mono_ms ();
}

static void
s_send_drain (worker_t *self)
{
    Zjob__Drain drain = ZJOB__DRAIN__INIT;
    uint64_t now = clock_mono_ms ();
    drain.grace_ms = self->drain_end_ms > now ? self->drain_end_ms - now : 0;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_DRAIN;
    env.drain = &drain;
    s_send (self, &env);
}

static void
s_send_goodbye (worker_t *self)
{
    Zjob__Goodbye goodbye = ZJOB__GOODBYE__INIT;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_GOODBYE;
    env.goodbye = &goodbye;
    s_send (self, &env);
}

/* Makes the reused outcome arrays hold at least count entries. Returns 0,
 * or -1 when out of memory. */
static int
s_batch_reserve (worker_t *self, size_t count)
{
    if (count <= self->done_cap) {
        return 0;
    }
    Zjob__Outcome *items = malloc (count * sizeof *items);
    Zjob__Outcome **refs = malloc (count * sizeof *refs);
    if (!items || !refs) {
        free (items);
        free (refs);
        return -1;
    }
    free (self->done_items);
    free (self->done_refs);
    self->done_items = items;
    self->done_refs = refs;
    self->done_cap = count;
    return 0;
}

/* Sends count outcomes starting at first as one Done. */
static void
s_send_batch (worker_t *self, const pool_job_t *first, size_t count)
{
    if (s_batch_reserve (self, count) != 0) {
        return; /* stays unacked; goes again after the next Register */
    }
    Zjob__Outcome *items = self->done_items;
    Zjob__Outcome **refs = self->done_refs;
    const pool_job_t *job = first;
    for (size_t i = 0; i < count; i++, job = job->next) {
        zjob__outcome__init (&items[i]);
        items[i].id = job->id;
        items[i].attempt = job->attempt;
        items[i].state = job->state;
        items[i].result.data = job->output.result;
        items[i].result.len = job->output.result_len;
        items[i].error = job->output.error ? job->output.error : "";
        refs[i] = &items[i];
    }
    Zjob__Done done = ZJOB__DONE__INIT;
    done.n_outcomes = count;
    done.outcomes = refs;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_DONE;
    env.done = &done;
    s_send (self, &env);
}

/* Sends a list of outcomes in as few Done messages as the limits allow. */
static void
s_send_outcomes (worker_t *self, const pool_job_t *list)
{
    size_t budget = self->limits.max_message / 2;
    while (list && self->sock) {
        const pool_job_t *first = list;
        size_t count = 0, bytes = 0;
        while (
            list && count < self->limits.max_batch &&
            (count == 0 || bytes + list->output.result_len + 256 <= budget)) {
            bytes += list->output.result_len + 256;
            count++;
            list = list->next;
        }
        s_send_batch (self, first, count);
    }
}

/* Credit for Register: free slots, counting every outcome still to be
 * (re)sent as a slot it will return. */
static uint32_t
s_credit (worker_t *self)
{
    size_t total = (size_t) self->config.threads + self->prefetch.current;
    size_t held = pool_busy (self->pool) + self->unacked_count;
    return self->draining || held >= total ? 0 : (uint32_t) (total - held);
}

/* The (id, attempt) pairs of Register.holding, being collected. */
typedef struct {
    Zjob__Outcome *refs;  /* owned array of capacity entries */
    Zjob__Outcome **ptrs; /* owned, one pointer per entry */
    size_t count;         /* entries filled */
    size_t capacity;      /* entries allocated */
} s_holding_t;

static void
s_holding_add (uint64_t id, uint32_t attempt, void *arg)
{
    s_holding_t *holding = arg;
    if (holding->count == holding->capacity) {
        size_t capacity = holding->capacity ? holding->capacity * 2 : 64;
        Zjob__Outcome *refs = realloc (holding->refs, capacity * sizeof *refs);
        if (!refs) {
            return; /* the broker requeues what it is not told about */
        }
        holding->refs = refs;
        holding->capacity = capacity;
    }
    Zjob__Outcome *ref = &holding->refs[holding->count++];
    zjob__outcome__init (ref);
    ref->id = id;
    ref->attempt = attempt;
}

/* Fills holding with every job this process still has: in the pool, and
 * finished but not acknowledged. Returns false when out of memory. */
static bool
s_holding_collect (worker_t *self, s_holding_t *holding)
{
    pool_for_each_held (self->pool, s_holding_add, holding);
    for (pool_job_t *job = self->fresh; job; job = job->next) {
        s_holding_add (job->id, job->attempt, holding);
    }
    for (pool_job_t *job = self->unacked; job; job = job->next) {
        s_holding_add (job->id, job->attempt, holding);
    }
    holding->ptrs =
        calloc (holding->count ? holding->count : 1, sizeof *holding->ptrs);
    for (size_t i = 0; holding->ptrs && i < holding->count; i++) {
        holding->ptrs[i] = &holding->refs[i]; /* refs no longer moves */
    }
    return holding->ptrs != NULL;
}

/* Registers (again) and re-sends every unacknowledged outcome. */
static void
s_register (worker_t *self)
{
    Zjob__QueueCap *caps = calloc (self->lane_count, sizeof *caps);
    Zjob__QueueCap **refs = calloc (self->lane_count, sizeof *refs);
    if (!caps || !refs) {
        free (caps);
        free (refs);
        return;
    }
    for (size_t i = 0; i < self->lane_count; i++) {
        zjob__queue_cap__init (&caps[i]);
        caps[i].name = self->lane_names[i];
        caps[i].concurrency = self->lanes[i].concurrency;
        refs[i] = &caps[i];
    }
    Zjob__Register reg = ZJOB__REGISTER__INIT;
    reg.name = self->name;
    reg.n_queues = self->lane_count;
    reg.queues = refs;
    reg.capacity = self->config.threads;
    reg.credit = s_credit (self);
    reg.instance = self->instance;
    reg.heartbeat_ms = self->config.heartbeat_ms;
    s_holding_t holding = {0};
    if (s_holding_collect (self, &holding)) {
        reg.n_holding = holding.count;
        reg.holding = holding.ptrs;
    }
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_REGISTER;
    env.register_ = &reg;
    s_send (self, &env);
    self->accepted = false;
    self->peer_instance = 0; /* learned again from the next Heartbeat */
    self->register_ms = clock_mono_ms ();
    free (caps);
    free (refs);
    free (holding.refs);
    free (holding.ptrs);
    LOG_DEBUG ("worker_register", "credit=%u resend=%zu", reg.credit,
               self->unacked_count);
    s_send_outcomes (self, self->unacked);
    if (self->draining) {
        s_send_drain (self);
    }
}

/* Follows the jobs' run times with the prefetch (see prefetch.h): the
 * broker is told at once how much more or less credit it has. Only while
 * the broker knows this worker and it takes jobs. */
static void
s_prefetch_adjust (worker_t *self)
{
    if (!self->sock || !self->accepted || self->draining) {
        return;
    }
    int change = prefetch_adjust (&self->prefetch);
    if (change) {
        Zjob__Credit credit = ZJOB__CREDIT__INIT;
        credit.credit = change > 0 ? (uint32_t) change : 0;
        credit.revoke = change < 0 ? (uint32_t) -change : 0;
        Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
        env.body_case = ZJOB__ENVELOPE__BODY_CREDIT;
        env.credit = &credit;
        s_send (self, &env);
    }
}

/* Sends everything finished since the last turn in one Done and keeps it
 * until acknowledged. */
static void
s_flush (worker_t *self)
{
    pool_job_t *list = self->fresh;
    self->fresh = NULL;
    pool_job_t **tail = &list;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = pool_take_done (self->pool);
    if (!list) {
        return;
    }
    s_send_outcomes (self, list);
    size_t count = 0;
    for (pool_job_t *job = list; job; job = job->next) {
        if (job->started_us) {
            prefetch_sample (&self->prefetch, job->run_us);
        }
        count++;
        tail = &job->next;
    }
    s_prefetch_adjust (self);
    *tail = self->unacked; /* newest first; order does not matter here */
    self->unacked = list;
    self->unacked_count += count;
    self->finished += count;
}

/* ---- receiving ---------------------------------------------------------- */

/* Records an outcome decided on this thread (no handler ran). */
static void
s_outcome_now (worker_t *self, const Zjob__Job *job, Zjob__State state,
               const char *error)
{
    pool_job_t *outcome = /* lane SIZE_MAX: none, it never runs */
        pool_job_get (self->pool, job->id, job->attempt, SIZE_MAX, NULL, 0, 0);
    if (!outcome) {
        return; /* the broker sees the job lost with this worker */
    }
    outcome->state = state;
    handler_fail (&outcome->output, "%s", error);
    outcome->next = self->fresh;
    self->fresh = outcome;
}

static int
s_lane_find (const worker_t *self, const char *queue)
{
    for (size_t i = 0; i < self->lane_count; i++) {
        if (strcmp (self->lane_names[i], queue) == 0) {
            return (int) i;
        }
    }
    return -1;
}

/* Hands one dispatched job to the pool. */
static void
s_accept_job (worker_t *self, const Zjob__Job *job)
{
    int lane = s_lane_find (self, job->queue);
    if (lane < 0) {
        s_outcome_now (self, job, ZJOB__STATE__STATE_FAILED,
                       "this worker does not serve the queue");
        return;
    }
    if (job->payload.len > self->config.max_payload) {
        s_outcome_now (self, job, ZJOB__STATE__STATE_FAILED,
                       "payload exceeds the worker's max-payload");
        return;
    }
    uint64_t deadline =
        job->timeout_ms ? clock_mono_ms () + job->timeout_ms : 0;
    pool_job_t *taken =
        pool_job_get (self->pool, job->id, job->attempt, (size_t) lane,
                      job->payload.data, job->payload.len, deadline);
    if (!taken) {
        s_outcome_now (self, job, ZJOB__STATE__STATE_FAILED,
                       "worker out of memory");
    } else if (pool_submit (self->pool, &taken) != 0) {
        pool_job_put (self->pool, &taken);
        /* Handed back, not failed: the broker requeues a CANCELLED
         * outcome it did not ask for. */
        s_outcome_now (self, job, ZJOB__STATE__STATE_CANCELLED,
                       "worker has no free slot: more jobs than credit");
    }
    LOG_DEBUG ("job_accepted", "id=%llu attempt=%u queue=%s",
               (unsigned long long) job->id, job->attempt, job->queue);
}

static void
s_on_dispatch (worker_t *self, const Zjob__Dispatch *dispatch)
{
    for (size_t i = 0; i < dispatch->n_jobs; i++) {
        if (self->draining) {
            /* sent before our Drain arrived: hand it straight back */
            s_outcome_now (self, dispatch->jobs[i],
                           ZJOB__STATE__STATE_CANCELLED,
                           "handed back: the worker is draining");
        } else {
            s_accept_job (self, dispatch->jobs[i]);
        }
    }
}

static void
s_on_cancel (worker_t *self, const Zjob__CancelJobs *cancel)
{
    for (size_t i = 0; i < cancel->n_jobs; i++) {
        const Zjob__Outcome *which = cancel->jobs[i];
        bool found = pool_cancel (self->pool, which->id, which->attempt);
        LOG_DEBUG ("job_cancel", "id=%llu attempt=%u found=%d",
                   (unsigned long long) which->id, which->attempt, found);
    }
}

/* True when id is one of the acknowledged ids. The search starts at *next
 * and, on a match, *next moves past it: the outcomes of one Done sit in
 * unacked in the order of the ids, so most searches end at their first
 * look. */
static bool
s_acked (const Zjob__DoneAck *ack, uint64_t id, size_t *next)
{
    size_t at = *next;
    for (size_t looked = 0; looked < ack->n_ids; looked++) {
        if (ack->ids[at] == id) {
            *next = at + 1 < ack->n_ids ? at + 1 : 0;
            return true;
        }
        at = at + 1 < ack->n_ids ? at + 1 : 0;
    }
    return false;
}

/* Forgets every unacked outcome whose id the broker acknowledged, in one
 * pass over unacked: the ids of one Done are close together, so the range
 * test spares the outcomes of other Dones the search. */
static void
s_on_done_ack (worker_t *self, const Zjob__DoneAck *ack)
{
    if (ack->n_ids == 0) {
        return;
    }
    uint64_t low = ack->ids[0], high = ack->ids[0];
    for (size_t i = 1; i < ack->n_ids; i++) {
        low = ack->ids[i] < low ? ack->ids[i] : low;
        high = ack->ids[i] > high ? ack->ids[i] : high;
    }
    size_t next = 0;
    pool_job_t **at = &self->unacked;
    while (*at) {
        pool_job_t *job = *at;
        if (job->id >= low && job->id <= high &&
            s_acked (ack, job->id, &next)) {
            *at = job->next;
            pool_job_put (self->pool, &job);
            self->unacked_count--;
        } else {
            at = &job->next;
        }
    }
}

/* Handles an Error from the broker. Returns -1 when it is fatal: the broker
 * refuses this worker's Register (another protocol version, or a bad
 * request such as a Register sent to the broker's client socket), which no
 * retry can fix. Once the broker has accepted us, a refusal is logged. */
static int
s_on_error (worker_t *self, const Zjob__Error *error)
{
    const char *message = error->message ? error->message : "";
    if (error->code == ZJOB__ERROR_CODE__ERR_UNKNOWN_WORKER) {
        /* Several messages sent before the broker learned of us each get
         * this answer: one Register per heartbeat interval is enough. */
        if (self->accepted ||
            clock_mono_ms () - self->register_ms >= self->config.heartbeat_ms) {
            LOG_INFO ("worker_reregister", "broker=%s", self->broker);
            s_register (self);
        }
        return 0;
    }
    bool refused = error->code == ZJOB__ERROR_CODE__ERR_VERSION ||
                   error->code == ZJOB__ERROR_CODE__ERR_BAD_REQUEST;
    if (refused && !self->accepted) {
        LOG_ERROR ("broker_refused", "broker=%s code=%s message=\"%s\"%s",
                   self->broker, codec_error_name (error->code), message,
                   strstr (message, "client socket")
                       ? " hint=\"workers connect to the broker's worker "
                         "endpoint (default port 5571)\""
                       : "");
        self->exit_code = 2;
        return -1;
    }
    LOG_WARN ("broker_error", "code=%s message=\"%s\"",
              codec_error_name (error->code), message);
    return 0;
}

/* Notes the broker's instance from its Heartbeat. Another value than the
 * one learned since our last Register means the broker process changed
 * under the same endpoint (restarted): the new one may know the jobs from
 * its journal but not this worker, so register again at once, naming the
 * jobs held and re-sending every unacknowledged outcome. */
static void
s_on_heartbeat (worker_t *self, const Zjob__Heartbeat *beat)
{
    if (beat->interval_ms != self->peer_interval_ms) {
        self->peer_interval_ms = beat->interval_ms;
        if (beat->interval_ms > self->config.heartbeat_ms) {
            LOG_WARN ("broker_heartbeat_slower",
                      "broker_ms=%" PRIu64 " worker_ms=%" PRIu64
                      " note=\"liveness follows the slower heartbeat\"",
                      beat->interval_ms, self->config.heartbeat_ms);
        }
    }
    if (beat->instance == 0 || beat->instance == self->peer_instance) {
        return;
    }
    if (self->peer_instance == 0) {
        self->peer_instance = beat->instance;
        return;
    }
    LOG_INFO ("broker_restarted", "broker=%s resend=%zu", self->broker,
              self->unacked_count);
    s_register (self);
    self->peer_instance = beat->instance;
}

/* Handles one decoded message; returns -1 when the worker must stop. */
static int
s_on_envelope (worker_t *self, const Zjob__Envelope *env)
{
    switch (env->body_case) {
        case ZJOB__ENVELOPE__BODY_DISPATCH:
            s_on_dispatch (self, env->dispatch);
            break;
        case ZJOB__ENVELOPE__BODY_CANCEL_JOBS:
            s_on_cancel (self, env->cancel_jobs);
            break;
        case ZJOB__ENVELOPE__BODY_DONE_ACK:
            s_on_done_ack (self, env->done_ack);
            break;
        case ZJOB__ENVELOPE__BODY_ERROR:
            return s_on_error (self, env->error);
        case ZJOB__ENVELOPE__BODY_HEARTBEAT:
            s_on_heartbeat (self, env->heartbeat);
            break;
        default:
            /* Not answered: the broker takes no Error from workers. */
            LOG_WARN ("bad_message", "why=\"unexpected body %d\"",
                      (int) env->body_case);
    }
    return 0;
}

static int
s_on_socket (zloop_t *loop, zsock_t *reader, void *arg)
{
    worker_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg) {
        return 0;
    }
    self->heard_ms = clock_mono_ms ();
    self->backoff_ms = WORKER_BACKOFF_MIN_MS;

    char why[256];
    Zjob__Envelope *env = NULL;
    zframe_t *frame = zmsg_first (msg);
    Zjob__ErrorCode code =
        zmsg_size (msg) == 1
            ? codec_decode (zframe_data (frame), zframe_size (frame),
                            &self->limits, &env, NULL, why, sizeof why)
            : ZJOB__ERROR_CODE__ERR_MALFORMED;
    if (zmsg_size (msg) != 1) {
        snprintf (why, sizeof why, "message has %zu frames, not 1",
                  zmsg_size (msg));
    }
    int rc = 0;
    if (code != ZJOB__ERROR_CODE__ERR_NONE) {
        /* Logged, not answered: the broker takes no Error from workers. */
        LOG_WARN ("bad_message", "code=%s why=\"%s\"", codec_error_name (code),
                  why);
    } else {
        self->accepted |= env->body_case != ZJOB__ENVELOPE__BODY_ERROR;
        rc = s_on_envelope (self, env);
    }
    codec_free (&env);
    zmsg_destroy (&msg);
    s_flush (self); /* outcomes decided while handling it */
    return rc;
}

/* ---- connection ------------------------------------------------------- */

/* Opens a new DEALER to the broker and registers. Returns 0, or -1 when
 * the endpoint is unusable. */
static int
s_connect (worker_t *self)
{
    self->sock = zsock_new (ZMQ_DEALER);
    if (!self->sock) {
        return -1;
    }
    codec_configure_socket (self->sock, &self->limits, 2000);
    if (zsock_connect (self->sock, "%s", self->broker) != 0) {
        LOG_ERROR ("broker_endpoint", "endpoint=%s error=\"%s\"", self->broker,
                   zmq_strerror (zmq_errno ()));
        zsock_destroy (&self->sock);
        return -1;
    }
    zloop_reader (self->loop, self->sock, s_on_socket, self);
    zloop_reader_set_tolerant (self->loop, self->sock);
    self->heard_ms = clock_mono_ms ();
    s_register (self);
    s_send_heartbeat (self);
    return 0;
}

/* Drops the socket of a silent broker and schedules a reconnect. */
static void
s_disconnect (worker_t *self)
{
    LOG_WARN ("broker_lost", "broker=%s silent_ms=%llu retry_ms=%llu",
              self->broker,
              (unsigned long long) (clock_mono_ms () - self->heard_ms),
              (unsigned long long) self->backoff_ms);
    zloop_reader_end (self->loop, self->sock);
    zsock_destroy (&self->sock);
    self->reconnect_ms = clock_mono_ms () + self->backoff_ms;
    /* Never longer than one heartbeat: a broker back from a pause gives
     * its workers one liveness window to show up before it requeues. */
    uint64_t max_ms = self->config.heartbeat_ms < WORKER_BACKOFF_MAX_MS
                          ? self->config.heartbeat_ms
                          : WORKER_BACKOFF_MAX_MS;
    self->backoff_ms *= 2;
    if (self->backoff_ms > max_ms) {
        self->backoff_ms = max_ms;
    }
}

/* Heartbeats, liveness and reconnects. */
static void
s_keep_alive (worker_t *self)
{
    uint64_t now = clock_mono_ms ();
    uint64_t beat = self->config.heartbeat_ms;
    if (self->peer_interval_ms > beat) {
        beat = self->peer_interval_ms < WORKER_MAX_PEER_BEAT_MS
                   ? self->peer_interval_ms
                   : WORKER_MAX_PEER_BEAT_MS;
    }
    uint64_t silent_limit = self->config.liveness * beat;
    if (self->sock && now - self->heard_ms > silent_limit) {
        s_disconnect (self);
    } else if (self->sock && now - self->beat_ms >= self->config.heartbeat_ms) {
        s_send_heartbeat (self);
    } else if (!self->sock && now >= self->reconnect_ms) {
        if (s_connect (self) == 0) {
            LOG_INFO ("broker_reconnect", "broker=%s resend=%zu", self->broker,
                      self->unacked_count);
        } else {
            self->reconnect_ms = now + self->backoff_ms;
        }
    }
}

/* ---- drain -------------------------------------------------------------- */

static void
s_drain_begin (worker_t *self)
{
    /* Jobs not started yet go back at once, as CANCELLED outcomes the
     * broker requeues without spending an attempt, rather than waiting
     * for Goodbye at the end of the grace period. */
    pool_job_t *dropped = pool_discard_pending (self->pool);
    size_t count = 0;
    while (dropped) {
        pool_job_t *job = dropped;
        dropped = job->next;
        handler_output_reset (&job->output, POOL_KEEP_BYTES);
        job->state = ZJOB__STATE__STATE_CANCELLED;
        handler_fail (&job->output, "handed back: the worker is draining");
        job->next = self->fresh;
        self->fresh = job;
        count++;
    }
    self->draining = true;
    self->drain_end_ms = clock_mono_ms () + self->config.grace_ms;
    s_send_drain (self);
    s_flush (self);
    LOG_INFO ("worker_drain", "grace_ms=%llu running=%zu returned=%zu",
              (unsigned long long) self->config.grace_ms,
              pool_busy (self->pool), count);
}

/* Moves a drain along. Returns -1 to end the loop. */
static int
s_drain_step (worker_t *self)
{
    uint64_t now = clock_mono_ms ();
    if (pool_busy (self->pool) == 0) {
        s_flush (self);
        s_send_goodbye (self);
        LOG_INFO ("worker_goodbye", "finished=%llu unacked=%zu",
                  (unsigned long long) self->finished, self->unacked_count);
        return -1;
    }
    if (!self->cancelled_rest && now >= self->drain_end_ms) {
        size_t count = pool_cancel_running (self->pool);
        self->cancelled_rest = true;
        LOG_WARN ("drain_cancel", "running=%zu", count);
    }
    if (now >= self->drain_end_ms + EXEC_KILL_GRACE_MS + WORKER_STUCK_MS) {
        s_flush (self);
        s_send_goodbye (self);
        LOG_ERROR ("drain_stuck", "running=%zu", pool_busy (self->pool));
        self->exit_code = 1;
        return -1;
    }
    return 0;
}

/* ---- loop handlers ---------------------------------------------------- */

static int
s_on_wake (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    worker_t *self = arg;
    s_flush (self);
    return self->draining ? s_drain_step (self) : 0;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    worker_t *self = arg;
    s_keep_alive (self);
    return self->draining ? s_drain_step (self) : 0;
}

static int
s_on_stop (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    worker_t *self = arg;
    char buffer[128];
    ssize_t rc = read (item->fd, buffer, sizeof buffer);
    (void) rc; /* the content does not matter, only that it came */
    if (!self->draining) {
        s_drain_begin (self);
    } else if (!self->cancelled_rest) {
        LOG_INFO ("worker_drain_now", "running=%zu", pool_busy (self->pool));
        self->drain_end_ms = clock_mono_ms ();
    }
    return s_drain_step (self);
}

int
worker_run (worker_t *self, int stop_fd)
{
    if (pool_start (self->pool) != 0) {
        LOG_ERROR ("pool_start", "threads=%u", self->config.threads);
        return 2;
    }
    self->loop = zloop_new ();
    if (!self->loop) {
        return 2;
    }
    zloop_set_nonstop (self->loop, true); /* stop only through a drain */
    zmq_pollitem_t wake = {NULL, pool_wake_fd (self->pool), ZMQ_POLLIN, 0};
    zmq_pollitem_t stop = {NULL, stop_fd, ZMQ_POLLIN, 0};
    zloop_poller (self->loop, &wake, s_on_wake, self);
    zloop_poller (self->loop, &stop, s_on_stop, self);
    zloop_timer (self->loop, S_TICK_MS, 0, s_on_tick, self);
    if (s_connect (self) != 0) {
        return 2;
    }
    char prefetch[16] = "auto";
    if (!self->prefetch.adaptive) {
        snprintf (prefetch, sizeof prefetch, "%u", self->prefetch.current);
    }
    LOG_INFO ("worker_start",
              "name=%s broker=%s threads=%u prefetch=%s queues=%zu", self->name,
              self->broker, self->config.threads, prefetch, self->lane_count);
    zloop_start (self->loop);
    return self->exit_code;
}
