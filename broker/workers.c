/* Workers: registration, credit, outcomes, drain and goodbye, heartbeats
 * and dead-worker detection, and the batched Dispatch and CancelJobs. */
#include <stdlib.h>
#include <string.h>

#include "broker/broker_impl.h"
#include "common/text.h"
#include "common/clock.h"

worker_t *
broker_worker_find (broker_t *self, zframe_t *peer)
{
    char key[BROKER_KEY_LEN];
    broker_peer_key (peer, key);
    return zhashx_lookup (self->worker_index, key);
}

/* Sends env to worker; returns as codec_send. */
static int
s_send (broker_t *self, worker_t *worker, Zjob__Envelope *env)
{
    return codec_send (self->workers, worker->routing_id, env);
}

/* Unregisters worker: its held jobs go back in line (counted as lost when
 * lost is set) and the registry drops its reference. */
static void
s_worker_remove (broker_t *self, worker_t *worker, bool lost)
{
    orphan_t how = !lost                 ? ORPHAN_RETURNED
                   : worker->running > 1 ? ORPHAN_LOST
                                         : ORPHAN_LOST_ALONE;
    while (worker->held) {
        broker_job_orphan (self, worker->held, how);
    }
    char key[BROKER_KEY_LEN];
    broker_peer_key (worker->routing_id, key);
    zhashx_delete (self->worker_index, key);
    if (worker->prev) {
        worker->prev->next = worker->next;
    } else {
        self->worker_head = worker->next;
    }
    if (worker->next) {
        worker->next->prev = worker->prev;
    } else {
        self->worker_tail = worker->prev;
    }
    worker->prev = worker->next = NULL;
    dispatch_worker_retire (worker);
    self->stats.workers = zhashx_size (self->worker_index);
    dispatch_worker_unref (&worker);
}

/* Appends worker to the registry (dispatch order and index). */
static void
s_worker_add (broker_t *self, worker_t *worker, const char *key)
{
    zhashx_insert (self->worker_index, key, worker);
    worker->prev = self->worker_tail;
    if (self->worker_tail) {
        self->worker_tail->next = worker;
    } else {
        self->worker_head = worker;
    }
    self->worker_tail = worker;
    self->stats.workers = zhashx_size (self->worker_index);
}

/* Orders (id, attempt) pairs for bsearch. */
static int
s_ref_compare (const void *a, const void *b)
{
    const Zjob__Outcome *x = *(Zjob__Outcome *const *) a;
    const Zjob__Outcome *y = *(Zjob__Outcome *const *) b;
    if (x->id != y->id) {
        return x->id < y->id ? -1 : 1;
    }
    return x->attempt < y->attempt ? -1 : x->attempt > y->attempt;
}

/* Returns true when the process lists job's current attempt among the
 * jobs it still has (reg->holding, sorted). */
static bool
s_still_held (const Zjob__Register *reg, const job_t *job)
{
    Zjob__Outcome key = ZJOB__OUTCOME__INIT;
    Zjob__Outcome *probe = &key;
    key.id = job->id;
    key.attempt = job->attempt;
    return reg->n_holding &&
           bsearch (&probe, reg->holding, reg->n_holding, sizeof *reg->holding,
                    s_ref_compare) != NULL;
}

/* Ends the registration old in favour of worker. When both are the same
 * process (same instance), the jobs it says it still has move over; the
 * rest (dispatches lost with a connection it had already dropped) are
 * requeued, as are all of another process's. */
static void
s_worker_replace (broker_t *self, worker_t *old, worker_t *worker,
                  const Zjob__Register *reg)
{
    if (worker->instance != 0 && old->instance == worker->instance) {
        job_t *next;
        for (job_t *job = old->held; job; job = next) {
            next = job->next;
            if (s_still_held (reg, job)) {
                dispatch_transfer (job, worker);
            }
        }
    }
    s_worker_remove (self, old, false);
}

/* Returns false when a Heartbeat cannot be sent to worker: its connection
 * is gone (a crashed process's socket is closed by the kernel at once). */
static bool
s_worker_reachable (broker_t *self, worker_t *worker)
{
    Zjob__Heartbeat beat;
    Zjob__Envelope env;
    codec_heartbeat (&env, &beat);
    beat.instance = self->instance;
    return s_send (self, worker, &env) == 0;
}

/* Retires what a new registration supersedes: an earlier one on the same
 * connection, one of the same process on a connection it dropped (a
 * reconnect the broker has not noticed yet), and one of another process
 * under the same name that has been silent for two heartbeat intervals (a
 * restarted worker: its jobs are requeued now, not when its liveness runs
 * out), or whose connection is gone (a worker restarted at once). A live
 * worker of another process under the same name is left alone: names
 * should be unique, and the broker says so. */
static void
s_worker_supersede (broker_t *self, worker_t *worker, zframe_t *peer,
                    Zjob__Register *reg)
{
    if (reg->n_holding > 1) {
        qsort (reg->holding, reg->n_holding, sizeof *reg->holding,
               s_ref_compare);
    }
    worker_t *same_peer = broker_worker_find (self, peer);
    if (same_peer) {
        s_worker_replace (self, same_peer, worker, reg);
    }
    uint64_t now_ms = clock_mono_ms ();
    worker_t *next;
    for (worker_t *named = self->worker_head; named; named = next) {
        next = named->next;
        if (strcmp (named->name, worker->name) != 0) {
            continue;
        }
        if (worker->instance != 0 && named->instance == worker->instance) {
            s_worker_replace (self, named, worker, reg);
        } else if (now_ms - named->last_seen_ms >=
                       2 * self->config.heartbeat_ms ||
                   !s_worker_reachable (self, named)) {
            LOG_WARN ("worker_lost", "worker=%s reason=restarted", named->name);
            s_worker_remove (self, named, true);
        } else {
            LOG_WARN ("worker_name_shared",
                      "worker=%s note=\"two live workers use one name; give "
                      "each its own\"",
                      named->name);
        }
    }
}

/* Settles each job worker says it still has (reg->holding), running or
 * finished with its outcome not acknowledged. When its attempt is the
 * job's current one, the worker gets it back if no worker holds it:
 * because it was running when the broker restarted, or because the broker
 * gave up on the worker and requeued it (orphaned) and nobody took it
 * since. A job queued for a retry after its outcome arrived is not taken
 * back: the worker only re-sends that outcome. Any other attempt is stale
 * (the job ended, or runs again elsewhere or here): the worker is told to
 * cancel it rather than run work whose outcome would be fenced. Returns how
 * many jobs worker got back. */
static size_t
s_worker_claim (broker_t *self, worker_t *worker, const Zjob__Register *reg)
{
    size_t claimed = 0;
    for (size_t i = 0; i < reg->n_holding; i++) {
        const Zjob__Outcome *held = reg->holding[i];
        job_t *job = jobtable_find (self->jobs, held->id);
        bool current = job && job->attempt == held->attempt;
        if (current && job->state == ZJOB__STATE__STATE_RUNNING &&
            !job->worker) {
            dispatch_transfer (job, worker);
            claimed++;
        } else if (current && job->state == ZJOB__STATE__STATE_QUEUED &&
                   job->orphaned) {
            broker_job_resume (self, job, worker);
            claimed++;
        } else if (!current || job->state != ZJOB__STATE__STATE_RUNNING ||
                   job->worker != worker) {
            int rc =
                dispatch_worker_cancel_add (worker, held->id, held->attempt);
            self->cancels_pending |= rc == 0;
        }
    }
    return claimed;
}

/* Checks a Register; returns NULL or the reason it is refused. */
static const char *
s_register_check (const Zjob__Register *reg)
{
    if (reg->name && reg->name[0] &&
        !text_is_name (reg->name, BROKER_MAX_NAME)) {
        return "worker name must be 1 to 255 bytes of UTF-8 without "
               "control characters";
    }
    if (reg->n_queues == 0 || reg->n_queues > BROKER_MAX_WORKER_QUEUES) {
        return "a worker must serve 1 to 1024 queues";
    }
    if (reg->capacity == 0 || reg->capacity > BROKER_MAX_CAPACITY) {
        return "capacity must be 1 to 100000 threads";
    }
    for (size_t i = 0; i < reg->n_queues; i++) {
        if (!text_is_name (reg->queues[i]->name, BROKER_MAX_NAME)) {
            return "queue names must be 1 to 255 bytes of UTF-8 without "
                   "control characters";
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp (reg->queues[i]->name, reg->queues[j]->name) == 0) {
                return "a queue is listed twice";
            }
        }
    }
    return NULL;
}

/* Builds a worker record from a valid Register, or NULL (no memory). */
static worker_t *
s_worker_build (broker_t *self, zframe_t *peer, const Zjob__Register *reg)
{
    worker_t *worker = dispatch_worker_new (
        reg->name[0] ? reg->name : "unnamed", reg->capacity, reg->credit);
    if (!worker || !(worker->routing_id = zframe_dup (peer))) {
        dispatch_worker_unref (&worker);
        return NULL;
    }
    for (size_t i = 0; i < reg->n_queues; i++) {
        queue_t *queue = broker_queue_get (self, reg->queues[i]->name);
        if (!queue || dispatch_worker_add_queue (
                          worker, queue, reg->queues[i]->concurrency) != 0) {
            dispatch_worker_unref (&worker);
            return NULL;
        }
    }
    worker->last_seen_ms = clock_mono_ms ();
    return worker;
}

void
broker_on_register (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    Zjob__Register *reg = env->register_;
    const char *why = s_register_check (reg);
    if (why) {
        broker_reply_error (self, self->workers, peer,
                            ZJOB__ERROR_CODE__ERR_BAD_REQUEST, 0, "%s", why);
        return;
    }
    worker_t *worker = s_worker_build (self, peer, reg);
    if (!worker) {
        broker_reply_error (self, self->workers, peer,
                            ZJOB__ERROR_CODE__ERR_BUSY, 0,
                            "broker cannot register more queues or workers");
        return;
    }
    worker->instance = reg->instance;
    uint64_t beat = self->config.heartbeat_ms;
    if (reg->heartbeat_ms > beat) {
        LOG_WARN ("worker_heartbeat_slower",
                  "worker=%s worker_ms=%" PRIu64 " broker_ms=%" PRIu64
                  " note=\"liveness follows the slower heartbeat\"",
                  worker->name, reg->heartbeat_ms, beat);
        beat = reg->heartbeat_ms < BROKER_MAX_HEARTBEAT_MS
                   ? reg->heartbeat_ms
                   : BROKER_MAX_HEARTBEAT_MS;
    }
    worker->silence_ms = beat * self->config.liveness;
    s_worker_supersede (self, worker, peer, reg);
    char key[BROKER_KEY_LEN];
    broker_peer_key (peer, key);
    s_worker_add (self, worker, key);
    size_t claimed = s_worker_claim (self, worker, reg);
    self->dispatch_needed = true;
    LOG_INFO ("worker_joined",
              "worker=%s peer=%s queues=%zu capacity=%u credit=%u "
              "claimed=%zu",
              worker->name, key, worker->queue_count, worker->capacity,
              worker->credit, claimed);
}

void
broker_worker_unreachable (broker_t *self, zframe_t *peer,
                           const uint64_t *unsent, size_t count)
{
    worker_t *worker = broker_worker_find (self, peer);
    if (!worker) {
        return;
    }
    LOG_WARN ("worker_lost", "worker=%s reason=unreachable running=%u",
              worker->name, worker->running);
    for (size_t i = 0; i < count; i++) {
        job_t *job = jobtable_find (self->jobs, unsent[i]);
        if (job && job->worker == worker && job->held) {
            /* it never got there */
            broker_job_orphan (self, job, ORPHAN_RETURNED);
        }
    }
    /* the connection is gone: what it was running was lost with it */
    s_worker_remove (self, worker, true);
}

void
broker_on_credit (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    worker_t *worker = broker_worker_find (self, peer);
    dispatch_worker_credit (worker, env->credit->credit);
    dispatch_worker_revoke (worker, env->credit->revoke);
    self->dispatch_needed = true;
}

/* Applies one outcome: one credit back, whatever the outcome is for (the
 * worker counted every job it runs and every outcome it re-sends as a slot
 * it will return, across registrations), then the result if it is for the
 * current attempt of a job running on this registration (a reconnecting
 * process gets its jobs moved over first), else it counts as stale. */
static void
s_outcome (broker_t *self, worker_t *worker, const Zjob__Outcome *outcome)
{
    job_t *job = jobtable_find (self->jobs, outcome->id);
    bool mine =
        job && job->worker == worker && job->attempt == outcome->attempt;
    if (mine && job->held) {
        dispatch_release (job, false);
    }
    dispatch_worker_credit (worker, 1);
    self->dispatch_needed = true;
    if (!mine || job->state != ZJOB__STATE__STATE_RUNNING) {
        self->stats.stale_results++;
        return;
    }
    worker->done++;
    broker_job_finish (self, job, outcome);
}

/* Sends worker one DoneAck with every id it waits for. */
static void
s_acks_send (broker_t *self, worker_t *worker)
{
    Zjob__DoneAck ack = ZJOB__DONE_ACK__INIT;
    ack.n_ids = worker->ack_count;
    ack.ids = worker->acks;
    Zjob__Envelope out = ZJOB__ENVELOPE__INIT;
    out.body_case = ZJOB__ENVELOPE__BODY_DONE_ACK;
    out.done_ack = &ack;
    /* the worker forgets what is acknowledged: only once it is on disk */
    broker_send_durable (self, self->workers, worker->routing_id, &out);
    worker->ack_count = 0;
}

void
broker_on_done (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    worker_t *worker = broker_worker_find (self, peer);
    Zjob__Done *done = env->done;
    bool waiting = worker->ack_count > 0;
    for (size_t i = 0; i < done->n_outcomes; i++) {
        s_outcome (self, worker, done->outcomes[i]);
        /* no room: the worker re-sends what was not acked */
        dispatch_worker_ack_add (worker, &done->outcomes[i]->id, 1);
    }
    if (worker->ack_count >= BROKER_ACK_BATCH) {
        s_acks_send (self, worker);
    } else if (worker->ack_count > 0 && !waiting) {
        worker->ack_due_ms = clock_mono_ms () + BROKER_ACK_DELAY_MS;
        if (worker->ack_due_ms < self->next_ack_ms) {
            self->next_ack_ms = worker->ack_due_ms;
        }
    }
}

void
broker_acks_flush (broker_t *self, uint64_t now_ms)
{
    if (now_ms < self->next_ack_ms) {
        return;
    }
    self->next_ack_ms = UINT64_MAX;
    for (worker_t *worker = self->worker_head; worker; worker = worker->next) {
        if (worker->ack_count == 0) {
            continue;
        }
        if (worker->ack_due_ms <= now_ms) {
            s_acks_send (self, worker);
        } else if (worker->ack_due_ms < self->next_ack_ms) {
            self->next_ack_ms = worker->ack_due_ms;
        }
    }
}

void
broker_on_drain (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    worker_t *worker = broker_worker_find (self, peer);
    worker->draining = true;
    LOG_INFO ("worker_draining", "worker=%s running=%u grace_ms=%" PRIu64,
              worker->name, worker->running, env->drain->grace_ms);
}

void
broker_on_goodbye (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    worker_t *worker = broker_worker_find (self, peer);
    LOG_INFO ("worker_left", "worker=%s requeued=%u done=%" PRIu64,
              worker->name, worker->running, worker->done);
    s_worker_remove (self, worker, false);
}

void
broker_on_worker_heartbeat (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    /* last_seen_ms is updated for every message before handlers run */
}

/* Sends every registered worker a Heartbeat. */
static void
s_heartbeat_all (broker_t *self)
{
    Zjob__Heartbeat beat;
    Zjob__Envelope env;
    codec_heartbeat (&env, &beat);
    beat.instance = self->instance;
    beat.interval_ms = self->config.heartbeat_ms;
    for (worker_t *worker = self->worker_head; worker; worker = worker->next) {
        s_send (self, worker, &env);
    }
}

void
broker_workers_tick (broker_t *self, uint64_t now_ms)
{
    if (now_ms < self->next_heartbeat_ms) {
        return;
    }
    uint64_t late_ms = now_ms - self->next_heartbeat_ms;
    if (self->next_heartbeat_ms && late_ms > self->config.heartbeat_ms) {
        /* The broker itself did not run (stopped, starved of CPU): it
         * cannot hold that time against its workers. */
        LOG_WARN ("broker_stalled", "late_ms=%" PRIu64, late_ms);
        for (worker_t *w = self->worker_head; w; w = w->next) {
            w->last_seen_ms = now_ms;
        }
    }
    self->next_heartbeat_ms = now_ms + self->config.heartbeat_ms;
    worker_t *worker = self->worker_head;
    while (worker) {
        worker_t *next = worker->next;
        if (now_ms - worker->last_seen_ms > worker->silence_ms) {
            LOG_WARN ("worker_lost", "worker=%s running=%u silent_ms=%" PRIu64,
                      worker->name, worker->running,
                      now_ms - worker->last_seen_ms);
            s_worker_remove (self, worker, true);
        }
        worker = next;
    }
    s_heartbeat_all (self);
}

/* Sends jobs[0, count) to worker in one Dispatch. Returns as codec_send. */
static int
s_dispatch_send (broker_t *self, worker_t *worker, job_t **jobs, size_t count,
                 uint64_t now_ms)
{
    Zjob__Job *msgs = calloc (count, sizeof *msgs);
    Zjob__Job **pointers = calloc (count, sizeof *pointers);
    int rc = -1;
    if (msgs && pointers) {
        for (size_t i = 0; i < count; i++) {
            job_t *job = jobs[i];
            zjob__job__init (&msgs[i]);
            msgs[i].id = job->id;
            msgs[i].queue = job->queue->name;
            msgs[i].payload.data = job->payload;
            msgs[i].payload.len = job->payload_len;
            msgs[i].attempt = job->attempt;
            if (job->deadline_ms) {
                msgs[i].timeout_ms =
                    job->deadline_ms > now_ms ? job->deadline_ms - now_ms : 1;
            }
            pointers[i] = &msgs[i];
        }
        Zjob__Dispatch dispatch = ZJOB__DISPATCH__INIT;
        dispatch.n_jobs = count;
        dispatch.jobs = pointers;
        Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
        env.body_case = ZJOB__ENVELOPE__BODY_DISPATCH;
        env.dispatch = &dispatch;
        rc =
            broker_send_durable (self, self->workers, worker->routing_id, &env);
    }
    free (pointers);
    free (msgs);
    return rc;
}

/* Gives worker up to allowed jobs from its queues, within its credit.
 * Returns false when the worker could not be reached (it has been removed
 * then). */
static bool
s_dispatch_worker (broker_t *self, worker_t *worker, uint64_t now_ms,
                   size_t allowed)
{
    size_t budget = self->config.limits.max_message / 2;
    size_t batch = self->config.limits.max_batch;
    size_t count;
    while (allowed > 0 &&
           (count = dispatch_pick (worker, self->pick,
                                   allowed < batch ? allowed : batch, budget)) >
               0) {
        allowed -= count;
        for (size_t i = 0; i < count; i++) {
            broker_job_transition (self, self->pick[i],
                                   ZJOB__STATE__STATE_RUNNING);
        }
        if (s_dispatch_send (self, worker, self->pick, count, now_ms) != 0) {
            uint64_t *ids = calloc (count, sizeof *ids);
            for (size_t i = 0; ids && i < count; i++) {
                ids[i] = self->pick[i]->id;
            }
            broker_worker_unreachable (self, worker->routing_id, ids,
                                       ids ? count : 0);
            free (ids);
            return false;
        }
    }
    return true;
}

void
broker_dispatch_flush (broker_t *self)
{
    if (!self->dispatch_needed) {
        return;
    }
    self->dispatch_needed = false;
    uint64_t now_ms = clock_mono_ms ();
    /* Idle threads first, everywhere; only then prefetch (credit beyond
     * the threads), so no worker hoards jobs while another has threads
     * with nothing to do. */
    for (int pass = 0; pass < 2; pass++) {
        worker_t *worker = self->worker_head;
        while (worker) {
            worker_t *next = worker->next;
            size_t idle = worker->capacity > worker->running
                              ? worker->capacity - worker->running
                              : 0;
            if (dispatch_worker_ready (worker)) {
                s_dispatch_worker (self, worker, now_ms,
                                   pass == 0 ? idle : SIZE_MAX);
            }
            worker = next;
        }
    }
    /* rotate so the next turn starts with another worker */
    worker_t *first = self->worker_head;
    if (first && first->next) {
        self->worker_head = first->next;
        self->worker_head->prev = NULL;
        first->prev = self->worker_tail;
        first->next = NULL;
        self->worker_tail->next = first;
        self->worker_tail = first;
    }
}

/* Sends one worker its pending CancelJobs. */
static void
s_cancels_send (broker_t *self, worker_t *worker)
{
    size_t count = worker->cancel_count;
    Zjob__Outcome *msgs = calloc (count, sizeof *msgs);
    Zjob__Outcome **pointers = calloc (count, sizeof *pointers);
    if (msgs && pointers) {
        for (size_t i = 0; i < count; i++) {
            zjob__outcome__init (&msgs[i]);
            msgs[i].id = worker->cancels[i].id;
            msgs[i].attempt = worker->cancels[i].attempt;
            msgs[i].state = ZJOB__STATE__STATE_CANCELLED;
            pointers[i] = &msgs[i];
        }
        Zjob__CancelJobs cancel = ZJOB__CANCEL_JOBS__INIT;
        cancel.n_jobs = count;
        cancel.jobs = pointers;
        Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
        env.body_case = ZJOB__ENVELOPE__BODY_CANCEL_JOBS;
        env.cancel_jobs = &cancel;
        /* through the outbox, so that it never overtakes the Dispatch of
         * the jobs it cancels */
        broker_send_durable (self, self->workers, worker->routing_id, &env);
    }
    free (pointers);
    free (msgs);
    worker->cancel_count = 0;
}

void
broker_cancels_flush (broker_t *self)
{
    if (!self->cancels_pending) {
        return;
    }
    self->cancels_pending = false;
    for (worker_t *worker = self->worker_head; worker; worker = worker->next) {
        if (worker->cancel_count) {
            s_cancels_send (self, worker);
        }
    }
}

void
broker_workers_clear (broker_t *self)
{
    while (self->worker_head) {
        worker_t *worker = self->worker_head;
        while (worker->held) {
            dispatch_release (worker->held, false);
        }
        s_worker_remove (self, worker, false);
    }
}
