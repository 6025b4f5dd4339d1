/* Job lifecycle: acceptance, the single state-transition function, worker
 * outcomes, retries with backoff and the timers that move jobs along. */
#include <stdlib.h>
#include <string.h>

#include "broker/broker_impl.h"
#include "common/text.h"
#include "common/clock.h"

/* Returns the max attempts configured for queue name ("NAME=N,..." in
 * queue-attempts), or 0. */
static uint32_t
s_queue_attempts (const broker_t *self, const char *name)
{
    const char *list = self->config.queue_attempts;
    size_t len = strlen (name);
    while (list && *list) {
        const char *end = strchr (list, ',');
        size_t item = end ? (size_t) (end - list) : strlen (list);
        if (item > len + 1 && strncmp (list, name, len) == 0 &&
            list[len] == '=') {
            return (uint32_t) strtoul (list + len + 1, NULL, 10);
        }
        list = end ? end + 1 : NULL;
    }
    return 0;
}

queue_t *
broker_queue_get (broker_t *self, const char *name)
{
    queue_t *queue = zhashx_lookup (self->queues, name);
    if (queue || zhashx_size (self->queues) >= BROKER_MAX_QUEUES) {
        return queue;
    }
    queue = queue_new (name);
    if (queue && zhashx_insert (self->queues, name, queue) != 0) {
        queue_destroy (&queue);
    }
    if (queue) {
        queue->max_attempts = s_queue_attempts (self, name);
    }
    return queue;
}

void
broker_job_free (job_t *job)
{
    while (job->waiters) {
        waiter_t *waiter = job->waiters;
        job->waiters = waiter->next;
        free (waiter);
    }
    dispatch_worker_unref (&job->worker);
    free (job->payload);
    free (job->result);
    free (job->error);
    free (job->key);
    free (job);
}

/* Arms job's state timer (wake-up, cancel grace or expiry) at due_ms. */
static void
s_arm (broker_t *self, job_t *job, uint64_t due_ms, timer_kind_t kind)
{
    job->timer_ms = due_ms;
    if (timer_heap_push (self->timers, due_ms, job->id, kind) != 0) {
        LOG_ERROR ("timer_failed", "job=%" PRIu64 " reason=out_of_memory",
                   job->id);
    }
}

/* Undoes the counters and links of the state the job is leaving. */
static void
s_leave (broker_t *self, job_t *job)
{
    switch (job->state) {
        case ZJOB__STATE__STATE_QUEUED:
            /* dispatch_pick already unlinked a job it hands to a worker */
            if (!job->held) {
                queue_remove (job->queue, job);
            }
            self->stats.queued--;
            break;
        case ZJOB__STATE__STATE_SCHEDULED:
            job->queue->scheduled--;
            break;
        case ZJOB__STATE__STATE_RUNNING:
            job->queue->running--;
            self->stats.running--;
            break;
        case ZJOB__STATE__STATE_DEAD:
            self->stats.dead_kept--;
            self->results_kept--;
            break;
        default:
            break;
    }
}

/* How long a final job stays: the dead set has its own time. */
static uint64_t
s_keep_ms (const broker_t *self, const job_t *job)
{
    return job->state == ZJOB__STATE__STATE_DEAD ? self->config.dead_ttl_ms
                                                 : self->config.result_ttl_ms;
}

/* Counts a final state and moves the job's waiters to their clients. */
static void
s_enter_final (broker_t *self, job_t *job)
{
    job->finished_ms = clock_wall_ms ();
    if (job->state != ZJOB__STATE__STATE_DEAD) {
        /* a dead job keeps its payload: it can be retried */
        self->payload_bytes -= job->payload_len;
        free (job->payload);
        job->payload = NULL;
        job->payload_len = 0;
    }
    switch (job->state) {
        case ZJOB__STATE__STATE_SUCCEEDED:
            self->stats.succeeded++;
            job->queue->succeeded++;
            break;
        case ZJOB__STATE__STATE_CANCELLED:
            self->stats.cancelled++;
            break;
        case ZJOB__STATE__STATE_TIMED_OUT:
            self->stats.timed_out++;
            job->queue->failed++;
            break;
        case ZJOB__STATE__STATE_DEAD:
            self->stats.dead++;
            job->queue->failed++;
            broker_dead_add (self, job);
            break;
        default:
            self->stats.failed++;
            job->queue->failed++;
            break;
    }
    self->results_kept++;
    s_arm (self, job, clock_mono_ms () + s_keep_ms (self, job), TIMER_EXPIRE);
    while (job->waiters) {
        waiter_t *waiter = job->waiters;
        job->waiters = waiter->next;
        broker_client_push (self, waiter->client, job->id);
        broker_client_unref (self, waiter->client);
        free (waiter);
    }
}

/* Applies the counters and links of the state the job enters. */
static void
s_enter (broker_t *self, job_t *job, Zjob__State from)
{
    switch (job->state) {
        case ZJOB__STATE__STATE_QUEUED: {
            bool front = from == ZJOB__STATE__STATE_RUNNING;
            int rc = front ? queue_push_front (job->queue, job)
                           : queue_push (job->queue, job);
            if (rc != 0) {
                LOG_ERROR ("queue_failed", "job=%" PRIu64 " reason=no_memory",
                           job->id);
            }
            self->stats.queued++;
            self->dispatch_needed = true;
            break;
        }
        case ZJOB__STATE__STATE_SCHEDULED:
            job->queue->scheduled++;
            s_arm (self, job, job->timer_ms, TIMER_WAKE);
            break;
        case ZJOB__STATE__STATE_RUNNING:
            job->queue->running++;
            self->stats.running++;
            job->attempt++;
            job->orphaned = false;
            job->started_ms = clock_wall_ms ();
            break;
        default:
            s_enter_final (self, job);
            break;
    }
}

void
broker_job_transition (broker_t *self, job_t *job, Zjob__State to)
{
    /* Every state change of every job passes here, and so through the
     * journal, before any peer can see it (see persist.c). */
    Zjob__State from = (Zjob__State) job->state;
    s_leave (self, job);
    job->state = (uint8_t) to;
    s_enter (self, job, from);
    broker_persist_job (self, job);
    LOG_DEBUG ("job_state", "job=%" PRIu64 " from=%s to=%s attempt=%u", job->id,
               codec_state_name (from), codec_state_name (to), job->attempt);
}

/* Checks one spec; returns ERR_NONE or a code with why filled. */
static Zjob__ErrorCode
s_spec_check (const broker_t *self, const Zjob__JobSpec *spec, char *why,
              size_t why_len)
{
    if (!text_is_name (spec->queue, BROKER_MAX_NAME)) {
        snprintf (why, why_len,
                  "queue name must be 1 to %d bytes of UTF-8 without control "
                  "characters",
                  BROKER_MAX_NAME);
        return ZJOB__ERROR_CODE__ERR_BAD_REQUEST;
    }
    if (spec->payload.len > self->config.limits.max_payload) {
        snprintf (why, why_len, "payload of %zu bytes exceeds the limit of %zu",
                  spec->payload.len, self->config.limits.max_payload);
        return ZJOB__ERROR_CODE__ERR_TOO_LARGE;
    }
    if (spec->max_attempts > BROKER_MAX_ATTEMPTS) {
        snprintf (why, why_len, "max_attempts %u exceeds the limit of %d",
                  spec->max_attempts, BROKER_MAX_ATTEMPTS);
        return ZJOB__ERROR_CODE__ERR_BAD_REQUEST;
    }
    if (spec->timeout_ms > BROKER_MAX_DURATION_MS ||
        spec->delay_ms > BROKER_MAX_DURATION_MS) {
        snprintf (why, why_len, "timeout and delay must be at most 10 years");
        return ZJOB__ERROR_CODE__ERR_BAD_REQUEST;
    }
    if (spec->key && spec->key[0] &&
        !text_is_name (spec->key, BROKER_MAX_NAME)) {
        snprintf (why, why_len,
                  "key must be at most %d bytes of UTF-8 without control "
                  "characters",
                  BROKER_MAX_NAME);
        return ZJOB__ERROR_CODE__ERR_BAD_REQUEST;
    }
    return ZJOB__ERROR_CODE__ERR_NONE;
}

/* Allocates a job record from spec, or NULL when out of memory. */
static job_t *
s_job_new (broker_t *self, const Zjob__JobSpec *spec, queue_t *queue)
{
    job_t *job = calloc (1, sizeof *job);
    if (!job) {
        return NULL;
    }
    if (spec->payload.len && !(job->payload = malloc (spec->payload.len))) {
        free (job);
        return NULL;
    }
    if (spec->payload.len) {
        memcpy (job->payload, spec->payload.data, spec->payload.len);
    }
    job->payload_len = (uint32_t) spec->payload.len;
    self->payload_bytes += job->payload_len;
    job->id = self->next_id++;
    job->queue = queue;
    job->priority = spec->priority;
    uint32_t attempts = spec->max_attempts    ? spec->max_attempts
                        : queue->max_attempts ? queue->max_attempts
                                              : self->config.max_attempts;
    job->max_attempts = (uint16_t) attempts;
    job->created_ms = clock_wall_ms ();
    return job;
}

/* Checks the queue length and memory limits for one more job. Returns
 * ERR_NONE, or ERR_BUSY with why filled. */
static Zjob__ErrorCode
s_admit (const broker_t *self, const Zjob__JobSpec *spec, const queue_t *queue,
         char *why, size_t why_len)
{
    uint64_t waiting = queue->queued + queue->scheduled;
    uint64_t max_queue = self->config.max_queue;
    uint64_t max_memory = self->config.max_memory;
    if (max_queue && waiting >= max_queue) {
        snprintf (why, why_len,
                  "queue %s is full (%" PRIu64 " jobs waiting, limit %" PRIu64
                  "); try later",
                  queue->name, waiting, max_queue);
        return ZJOB__ERROR_CODE__ERR_BUSY;
    }
    if (max_memory && spec->payload.len > max_memory) {
        snprintf (why, why_len,
                  "payload of %zu bytes is larger than the broker's memory "
                  "limit of %" PRIu64 " bytes",
                  spec->payload.len, max_memory);
        return ZJOB__ERROR_CODE__ERR_TOO_LARGE; /* later is no better */
    }
    if (max_memory && self->payload_bytes + spec->payload.len > max_memory) {
        snprintf (why, why_len,
                  "broker memory limit reached (%" PRIu64 " of %" PRIu64
                  " bytes of payloads waiting); try later",
                  self->payload_bytes, max_memory);
        return ZJOB__ERROR_CODE__ERR_BUSY;
    }
    return ZJOB__ERROR_CODE__ERR_NONE;
}

job_t *
broker_job_accept (broker_t *self, const Zjob__JobSpec *spec,
                   Zjob__ErrorCode *code, char *why, size_t why_len)
{
    *code = s_spec_check (self, spec, why, why_len);
    if (*code != ZJOB__ERROR_CODE__ERR_NONE) {
        return NULL;
    }
    bool keyed = spec->key && spec->key[0];
    job_t *first = keyed ? jobtable_find_key (self->keys, spec->key) : NULL;
    if (first) {
        return first; /* seen before: the first job stands for this one */
    }
    queue_t *queue = broker_queue_get (self, spec->queue);
    if (queue && (*code = s_admit (self, spec, queue, why, why_len)) !=
                     ZJOB__ERROR_CODE__ERR_NONE) {
        self->stats.rejected_busy++;
        return NULL;
    }
    job_t *job = queue ? s_job_new (self, spec, queue) : NULL;
    if (job && keyed && !(job->key = strdup (spec->key))) {
        broker_job_free (job);
        job = NULL;
    }
    if (!job || jobtable_insert (self->jobs, job) != 0 ||
        (keyed && jobtable_insert (self->keys, job) != 0)) {
        if (job && jobtable_find (self->jobs, job->id) == job) {
            jobtable_remove (self->jobs, job->id);
        }
        if (job) {
            self->payload_bytes -= job->payload_len;
            broker_job_free (job);
        }
        *code = ZJOB__ERROR_CODE__ERR_BUSY;
        snprintf (why, why_len, "%s",
                  queue ? "broker is out of memory" : "too many queues");
        return NULL;
    }
    self->stats.submitted++;
    uint64_t now = clock_mono_ms ();
    if (spec->timeout_ms) {
        job->deadline_ms = now + spec->timeout_ms;
        if (timer_heap_push (self->timers, job->deadline_ms, job->id,
                             TIMER_DEADLINE) != 0) {
            LOG_ERROR ("timer_failed", "job=%" PRIu64, job->id);
        }
    }
    if (spec->delay_ms) {
        job->timer_ms = now + spec->delay_ms;
        broker_job_transition (self, job, ZJOB__STATE__STATE_SCHEDULED);
    } else {
        broker_job_transition (self, job, ZJOB__STATE__STATE_QUEUED);
    }
    return job;
}

/* Replaces the job's result and error with copies of the outcome's. */
static void
s_store_output (broker_t *self, job_t *job, const Zjob__Outcome *outcome)
{
    self->result_bytes -= job->result_len;
    free (job->result);
    free (job->error);
    job->result = NULL;
    job->result_len = 0;
    job->error = NULL;
    if (outcome->result.len > self->config.limits.max_payload) {
        job->error = strdup ("result exceeds the broker's payload limit");
        return;
    }
    if (outcome->result.len && (job->result = malloc (outcome->result.len))) {
        memcpy (job->result, outcome->result.data, outcome->result.len);
        job->result_len = (uint32_t) outcome->result.len;
        self->result_bytes += job->result_len;
    }
    if (outcome->error && outcome->error[0]) {
        job->error = strndup (outcome->error, 4096);
        if (job->error) {
            text_utf8_fix (job->error, strlen (job->error));
        }
    }
}

/* Puts a job that ran back in line (state QUEUED, or SCHEDULED for a
 * retry), unless its deadline has passed meanwhile: then it ends
 * TIMED_OUT instead of reaching a worker with no time left. */
static void
s_requeue (broker_t *self, job_t *job, Zjob__State state)
{
    if (job->deadline_ms && clock_mono_ms () >= job->deadline_ms) {
        free (job->error);
        job->error = strdup ("deadline passed before the job could run again");
        broker_job_transition (self, job, ZJOB__STATE__STATE_TIMED_OUT);
        return;
    }
    broker_job_transition (self, job, state);
}

/* Returns the retry delay for the job's next attempt: exponential in the
 * failures so far, with jitter over its upper half. */
static uint64_t
s_backoff_ms (broker_t *self, const job_t *job)
{
    unsigned failures = job->failures;
    uint64_t delay = self->config.retry_backoff_ms;
    for (unsigned i = 1; i < failures && delay < BROKER_MAX_BACKOFF_MS; i++) {
        delay *= 2;
    }
    if (delay > BROKER_MAX_BACKOFF_MS) {
        delay = BROKER_MAX_BACKOFF_MS;
    }
    uint64_t x = self->random_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    self->random_state = x;
    uint64_t half = delay / 2;
    return half + (half ? x % (half + 1) : 0);
}

/* A FAILED outcome: retry when attempts are left, otherwise give up. */
static void
s_finish_failed (broker_t *self, job_t *job)
{
    if (job->failures < UINT16_MAX) {
        job->failures++;
    }
    if (job->failures < job->max_attempts) {
        self->stats.retried++;
        job->timer_ms = clock_mono_ms () + s_backoff_ms (self, job);
        s_requeue (self, job, ZJOB__STATE__STATE_SCHEDULED);
        return;
    }
    broker_job_transition (self, job,
                           job->max_attempts > 1 ? ZJOB__STATE__STATE_DEAD
                                                 : ZJOB__STATE__STATE_FAILED);
}

void
broker_job_finish (broker_t *self, job_t *job, const Zjob__Outcome *outcome)
{
    s_store_output (self, job, outcome);
    bool oversize = outcome->result.len > self->config.limits.max_payload;
    if (job->cancel_requested) {
        broker_job_transition (self, job, ZJOB__STATE__STATE_CANCELLED);
        return;
    }
    switch (oversize ? ZJOB__STATE__STATE_FAILED : outcome->state) {
        case ZJOB__STATE__STATE_SUCCEEDED:
        case ZJOB__STATE__STATE_TIMED_OUT:
            broker_job_transition (self, job, outcome->state);
            break;
        case ZJOB__STATE__STATE_CANCELLED:
            /* cancelled by a draining worker, not by a client: run again,
             * with nothing that reads like a failure */
            free (job->error);
            job->error = NULL;
            s_requeue (self, job, ZJOB__STATE__STATE_QUEUED);
            break;
        case ZJOB__STATE__STATE_FAILED:
            s_finish_failed (self, job);
            break;
        default:
            free (job->error);
            job->error = strdup ("worker reported a state that is not final");
            s_finish_failed (self, job);
            break;
    }
}

void
broker_job_orphan (broker_t *self, job_t *job, orphan_t how)
{
    dispatch_release (job, false);
    if (job->state != ZJOB__STATE__STATE_RUNNING) {
        return; /* already final (cancel grace ran out) */
    }
    if (job->cancel_requested) {
        broker_job_transition (self, job, ZJOB__STATE__STATE_CANCELLED);
        return;
    }
    if (how != ORPHAN_RETURNED) {
        self->stats.worker_lost++;
        job->lost++;
    }
    if (job->lost >= self->config.max_lost && how == ORPHAN_LOST_ALONE) {
        free (job->error);
        char why[160];
        snprintf (why, sizeof why,
                  "its worker died while running it, %u times, the last "
                  "time with no other job: the job kills its workers",
                  job->lost);
        job->error = strdup (why);
        broker_job_transition (self, job, ZJOB__STATE__STATE_DEAD);
        return;
    }
    if (job->lost >= self->config.max_lost && !job->isolate) {
        /* it or a job beside it kills workers: run it alone to know */
        job->isolate = true;
        LOG_INFO ("job_isolated", "job=%" PRIu64 " queue=%s lost=%u", job->id,
                  job->queue->name, job->lost);
    }
    job->orphaned = true;
    s_requeue (self, job, ZJOB__STATE__STATE_QUEUED);
}

void
broker_job_resume (broker_t *self, job_t *job, worker_t *worker)
{
    /* entering RUNNING counts a new attempt; this one goes on instead */
    job->attempt--;
    broker_job_transition (self, job, ZJOB__STATE__STATE_RUNNING);
    dispatch_transfer (job, worker);
}

/* Handles one due timer; stale entries (superseded) are ignored. */
static void
s_timer_fire (broker_t *self, const timer_entry_t *entry)
{
    job_t *job = jobtable_find (self->jobs, entry->id);
    if (!job) {
        return;
    }
    bool current = job->timer_ms == entry->due_ms;
    Zjob__State state = (Zjob__State) job->state;
    switch (entry->kind) {
        case TIMER_WAKE:
            if (current && state == ZJOB__STATE__STATE_SCHEDULED) {
                broker_job_transition (self, job, ZJOB__STATE__STATE_QUEUED);
            }
            break;
        case TIMER_DEADLINE:
            if (state == ZJOB__STATE__STATE_QUEUED ||
                state == ZJOB__STATE__STATE_SCHEDULED) {
                free (job->error);
                job->error = strdup ("deadline passed before dispatch");
                broker_job_transition (self, job, ZJOB__STATE__STATE_TIMED_OUT);
            }
            break;
        case TIMER_RECLAIM:
            if (state == ZJOB__STATE__STATE_RUNNING && !job->worker) {
                /* nobody claimed it after a restart: run it again */
                broker_job_orphan (self, job, ORPHAN_RETURNED);
            }
            break;
        case TIMER_CANCEL:
            if (current && state == ZJOB__STATE__STATE_RUNNING) {
                /* the worker did not confirm: end it, fence the attempt */
                broker_job_transition (self, job, ZJOB__STATE__STATE_CANCELLED);
            }
            break;
        default:
            break;
    }
}

/* Forgets a final job once its result time is over. */
static void
s_expire (broker_t *self, job_t *job, uint64_t now_ms)
{
    if (job->held) {
        /* a worker still holds its fenced attempt: keep the credit record */
        s_arm (self, job, now_ms + self->config.result_ttl_ms, TIMER_EXPIRE);
        return;
    }
    broker_job_forget (self, job);
}

void
broker_job_forget (broker_t *self, job_t *job)
{
    jobtable_remove (self->jobs, job->id);
    if (job->key) {
        jobtable_remove_job (self->keys, job);
    }
    if (job->state == ZJOB__STATE__STATE_DEAD) {
        self->stats.dead_kept--;
    }
    self->results_kept--;
    self->payload_bytes -= job->payload_len;
    self->result_bytes -= job->result_len;
    broker_persist_forget (self, job);
    broker_job_free (job);
}

/* A timer matters while its job exists and the timer is the job's current
 * one; a deadline matters until the job is final. */
static bool
s_timer_live (const timer_entry_t *entry, void *arg)
{
    broker_t *self = arg;
    job_t *job = jobtable_find (self->jobs, entry->id);
    if (!job) {
        return false;
    }
    if (entry->kind == TIMER_DEADLINE) {
        return !job_is_final (job);
    }
    return job->timer_ms == entry->due_ms;
}

void
broker_timers_run (broker_t *self, uint64_t now_ms)
{
    timer_entry_t entry;
    while (timer_heap_pop_due (self->timers, now_ms, &entry)) {
        if (entry.kind == TIMER_EXPIRE) {
            job_t *job = jobtable_find (self->jobs, entry.id);
            if (job && job_is_final (job) && job->timer_ms == entry.due_ms) {
                s_expire (self, job, now_ms);
            }
            continue;
        }
        s_timer_fire (self, &entry);
    }
    /* Stale entries (deadlines of jobs that finished early, superseded
     * wake-ups) would otherwise stay until they fall due. */
    if (timer_heap_size (self->timers) >
        2 * jobtable_size (self->jobs) + BROKER_TIMER_SLACK) {
        timer_heap_prune (self->timers, s_timer_live, self);
    }
}

void
broker_job_info (const job_t *job, Zjob__JobInfo *info)
{
    zjob__job_info__init (info);
    info->id = job->id;
    info->queue = job->queue->name;
    info->state = (Zjob__State) job->state;
    info->attempt = job->attempt;
    info->result.data = job->result;
    info->result.len = job->result_len;
    info->error = job->error ? job->error : "";
    info->worker = job->worker ? job->worker->name : "";
    info->priority = job->priority;
    info->created_ms = job->created_ms;
    info->started_ms = job->started_ms;
    info->finished_ms = job->finished_ms;
    info->failures = job->failures;
    info->lost = job->lost;
}

int
broker_job_retry (broker_t *self, job_t *job)
{
    if (job->state != ZJOB__STATE__STATE_DEAD) {
        return -1;
    }
    /* the attempt number keeps rising (it fences); the counts that decide
     * when to give up start again */
    job->failures = 0;
    job->lost = 0;
    job->isolate = false;
    job->finished_ms = 0;
    self->result_bytes -= job->result_len;
    free (job->result);
    job->result = NULL;
    job->result_len = 0;
    free (job->error);
    job->error = NULL;
    s_requeue (self, job, ZJOB__STATE__STATE_QUEUED);
    return 0;
}

/* Restores a replayed final job: counted as kept, expiring when its time
 * since it finished is over. */
static void
s_restore_final (broker_t *self, job_t *job, Zjob__State state,
                 uint64_t now_wall)
{
    job->state = (uint8_t) state;
    self->results_kept++;
    if (state == ZJOB__STATE__STATE_DEAD) {
        broker_dead_add (self, job);
    }
    uint64_t until = job->finished_ms + s_keep_ms (self, job);
    uint64_t left = until > now_wall ? until - now_wall : 0;
    s_arm (self, job, clock_mono_ms () + left, TIMER_EXPIRE);
}

void
broker_job_restore (broker_t *self, job_t *job, uint64_t now_wall)
{
    if (job->key && (jobtable_find_key (self->keys, job->key) ||
                     jobtable_insert (self->keys, job) != 0)) {
        LOG_WARN ("journal_key_clash", "job=%" PRIu64, job->id);
    }
    self->payload_bytes += job->payload_len;
    self->result_bytes += job->result_len;
    job->isolate = job->lost >= self->config.max_lost;
    Zjob__State state = (Zjob__State) job->state;
    job->state = ZJOB__STATE__STATE_UNKNOWN;
    if (state >= ZJOB__STATE__STATE_SUCCEEDED) {
        s_restore_final (self, job, state, now_wall);
        return;
    }
    if (job->deadline_ms) {
        timer_heap_push (self->timers, job->deadline_ms, job->id,
                         TIMER_DEADLINE);
    }
    if (state == ZJOB__STATE__STATE_RUNNING && job->cancel_requested) {
        broker_job_transition (self, job, ZJOB__STATE__STATE_CANCELLED);
    } else if (state == ZJOB__STATE__STATE_RUNNING) {
        /* its worker may still have it: wait one liveness window for it
         * to re-register and claim it (Register.holding) */
        job->state = (uint8_t) state;
        job->queue->running++;
        self->stats.running++;
        s_arm (self, job,
               clock_mono_ms () +
                   self->config.heartbeat_ms * self->config.liveness,
               TIMER_RECLAIM);
    } else if (state == ZJOB__STATE__STATE_SCHEDULED) {
        broker_job_transition (self, job, state);
    } else {
        broker_job_transition (self, job, ZJOB__STATE__STATE_QUEUED);
    }
}
