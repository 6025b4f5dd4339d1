/* Worker records and credit-based job picking; see dispatch.h. */
#include "broker/dispatch.h"

#include <stdlib.h>
#include <string.h>

worker_t *
dispatch_worker_new (const char *name, uint32_t capacity, uint32_t credit)
{
    worker_t *self = calloc (1, sizeof *self);
    if (!self) {
        return NULL;
    }
    self->name = strdup (name);
    if (!self->name) {
        free (self);
        return NULL;
    }
    self->capacity = capacity;
    self->credit = credit < DISPATCH_MAX_CREDIT ? credit : DISPATCH_MAX_CREDIT;
    self->refs = 1;
    return self;
}

void
dispatch_worker_unref (worker_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    worker_t *self = *self_p;
    *self_p = NULL;
    if (--self->refs > 0) {
        return;
    }
    dispatch_worker_retire (self);
    zframe_destroy (&self->routing_id);
    free (self->cancels);
    free (self->acks);
    free (self->queues);
    free (self->name);
    free (self);
}

int
dispatch_worker_add_queue (worker_t *self, queue_t *queue, uint32_t concurrency)
{
    worker_queue_t *grown =
        realloc (self->queues, (self->queue_count + 1) * sizeof *grown);
    if (!grown) {
        return -1;
    }
    self->queues = grown;
    self->queues[self->queue_count++] = (worker_queue_t){queue, concurrency, 0};
    queue->workers++;
    return 0;
}

void
dispatch_worker_retire (worker_t *self)
{
    for (size_t i = 0; i < self->queue_count; i++) {
        self->queues[i].queue->workers--;
    }
    free (self->queues);
    self->queues = NULL;
    self->queue_count = 0;
    self->gone = true;
}

void
dispatch_worker_credit (worker_t *self, uint64_t credit)
{
    uint64_t paid = credit < self->debt ? credit : self->debt;
    self->debt -= (uint32_t) paid;
    uint64_t total = (uint64_t) self->credit + credit - paid;
    self->credit =
        total < DISPATCH_MAX_CREDIT ? (uint32_t) total : DISPATCH_MAX_CREDIT;
}

void
dispatch_worker_revoke (worker_t *self, uint32_t count)
{
    uint32_t now = count < self->credit ? count : self->credit;
    self->credit -= now;
    uint64_t debt = (uint64_t) self->debt + (count - now);
    self->debt =
        debt < DISPATCH_MAX_CREDIT ? (uint32_t) debt : DISPATCH_MAX_CREDIT;
}

bool
dispatch_worker_ready (const worker_t *self)
{
    return self->credit > 0 && !self->draining && !self->gone &&
           self->queue_count > 0 && self->isolated == 0;
}

/* Returns the worker's entry for queue, or NULL when it does not serve it. */
static worker_queue_t *
s_slot (worker_t *self, const queue_t *queue)
{
    for (size_t i = 0; i < self->queue_count; i++) {
        if (self->queues[i].queue == queue) {
            return &self->queues[i];
        }
    }
    return NULL;
}

/* Returns the next job the slot may take within max_bytes (ignored when
 * nothing was taken yet), or NULL. */
static job_t *
s_slot_next (const worker_t *worker, const worker_queue_t *slot, size_t bytes,
             size_t max_bytes, size_t taken)
{
    if (slot->concurrency && slot->running >= slot->concurrency) {
        return NULL;
    }
    job_t *job = queue_peek (slot->queue);
    if (job && job->isolate && worker->running > 0) {
        return NULL; /* it runs alone: on a worker with nothing else */
    }
    if (job && taken > 0 && bytes + job->payload_len > max_bytes) {
        return NULL;
    }
    return job;
}

/* Returns the index of the slot whose next job goes first, or -1: the
 * highest priority at a queue's head wins, and among equal priorities the
 * first slot in round-robin order from the cursor. */
static long
s_best_slot (const worker_t *self, size_t bytes, size_t max_bytes, size_t taken)
{
    long best = -1;
    int32_t best_priority = 0;
    for (size_t n = 0; n < self->queue_count; n++) {
        size_t at = (self->queue_cursor + n) % self->queue_count;
        job_t *job =
            s_slot_next (self, &self->queues[at], bytes, max_bytes, taken);
        if (job && (best < 0 || job->priority > best_priority)) {
            best = (long) at;
            best_priority = job->priority;
        }
    }
    return best;
}

size_t
dispatch_pick (worker_t *self, job_t **out, size_t max, size_t max_bytes)
{
    size_t taken = 0;
    size_t bytes = 0;
    long at;
    while (taken < max && dispatch_worker_ready (self) &&
           (at = s_best_slot (self, bytes, max_bytes, taken)) >= 0) {
        worker_queue_t *slot = &self->queues[at];
        job_t *job = queue_peek (slot->queue);
        queue_remove (slot->queue, job);
        dispatch_hold (self, job);
        bytes += job->payload_len;
        out[taken++] = job;
        /* The queue served last goes to the back of the round. */
        self->queue_cursor = ((size_t) at + 1) % self->queue_count;
    }
    return taken;
}

void
dispatch_hold (worker_t *self, job_t *job)
{
    if (job->worker != self) {
        dispatch_worker_unref (&job->worker);
        job->worker = self;
        self->refs++;
    }
    worker_queue_t *slot = s_slot (self, job->queue);
    if (slot) {
        slot->running++;
    }
    if (self->credit > 0) {
        self->credit--;
    }
    self->running++;
    self->isolated += job->isolate;
    job->prev = NULL;
    job->next = self->held;
    if (self->held) {
        self->held->prev = job;
    }
    self->held = job;
    job->held = true;
}

void
dispatch_release (job_t *job, bool return_credit)
{
    worker_t *self = job->worker;
    if (!self || !job->held) {
        return;
    }
    if (job->prev) {
        job->prev->next = job->next;
    } else {
        self->held = job->next;
    }
    if (job->next) {
        job->next->prev = job->prev;
    }
    job->prev = job->next = NULL;
    job->held = false;
    self->running--;
    self->isolated -= job->isolate && self->isolated > 0;
    worker_queue_t *slot = s_slot (self, job->queue);
    if (slot && slot->running > 0) {
        slot->running--;
    }
    if (return_credit) {
        dispatch_worker_credit (self, 1);
    }
}

int
dispatch_worker_cancel_add (worker_t *self, uint64_t id, uint32_t attempt)
{
    if (self->cancel_count == self->cancel_capacity) {
        size_t capacity = self->cancel_capacity ? self->cancel_capacity * 2 : 8;
        worker_cancel_t *grown =
            realloc (self->cancels, capacity * sizeof *grown);
        if (!grown) {
            return -1;
        }
        self->cancels = grown;
        self->cancel_capacity = capacity;
    }
    self->cancels[self->cancel_count++] = (worker_cancel_t){id, attempt};
    return 0;
}

int
dispatch_worker_ack_add (worker_t *self, const uint64_t *ids, size_t count)
{
    if (self->ack_capacity - self->ack_count < count) {
        size_t capacity = self->ack_capacity ? self->ack_capacity : 64;
        while (capacity - self->ack_count < count) {
            capacity *= 2;
        }
        uint64_t *grown = realloc (self->acks, capacity * sizeof *grown);
        if (!grown) {
            return -1;
        }
        self->acks = grown;
        self->ack_capacity = capacity;
    }
    memcpy (self->acks + self->ack_count, ids, count * sizeof *ids);
    self->ack_count += count;
    return 0;
}

void
dispatch_transfer (job_t *job, worker_t *to)
{
    dispatch_release (job, false);
    uint32_t credit = to->credit;
    dispatch_hold (to, job);
    to->credit = credit;
}
