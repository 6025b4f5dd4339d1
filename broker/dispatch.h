/* Workers as the dispatcher sees them, and the credit accounting that
 * decides which queued jobs go to which worker.
 *
 * A worker registers with a credit (jobs it can take now) and, per queue, a
 * concurrency limit. dispatch_pick never hands a worker more jobs than its
 * credit, nor more running jobs of one queue than that queue's
 * concurrency. Across the worker's queues the job with the highest
 * priority goes first, and queues of equal priority take turns job by job
 * (round-robin), so one busy queue cannot starve the others. Every job
 * handed out is "held": it is linked on the worker's held list (through
 * job_t.prev/next) until the worker reports it or goes away. This module
 * touches no socket, so it is tested on its own.
 *
 * Lifetime: a worker_t is reference counted. The broker's registry holds
 * one reference while the worker is registered, and every job whose last
 * attempt ran there holds one (job_t.worker), so a finished job can still
 * name its worker after the worker left.
 */
#ifndef ZJOB_BROKER_DISPATCH_H
#define ZJOB_BROKER_DISPATCH_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/job.h"
#include "broker/queue.h"

/* One queue a worker serves. */
typedef struct {
    queue_t *queue;       /* not owned */
    uint32_t concurrency; /* most running jobs of it here; 0: no limit */
    uint32_t running;     /* held jobs of this queue */
} worker_queue_t;

/* One attempt the broker asked the worker to stop. */
typedef struct {
    uint64_t id;      /* job id */
    uint32_t attempt; /* the attempt to stop */
} worker_cancel_t;

struct worker_t {
    char *name;               /* owned, as the worker announced itself */
    zframe_t *routing_id;     /* owned, ROUTER identity; NULL once gone */
    char key[24];             /* routing id in hex, the registry's key */
    worker_queue_t *queues;   /* owned array of queue_count entries */
    size_t queue_count;       /* queues it serves */
    size_t queue_cursor;      /* where the next round-robin pick starts */
    uint32_t capacity;        /* its threads, as announced */
    uint32_t credit;          /* jobs the broker may still send it */
    uint32_t debt;            /* revoked credit not yet taken back: paid
                                 from credit that comes back first */
    uint32_t running;         /* jobs on its held list */
    uint32_t isolated;        /* held jobs that must run alone (0 or 1):
                                 while one is held it gets no other */
    uint64_t done;            /* outcomes received from it */
    uint64_t last_seen_ms;    /* monotonic, last message from it */
    uint64_t silence_ms;      /* silence after which it is dead: liveness
                                 x the longer heartbeat of the two */
    uint64_t instance;        /* the process's Register.instance */
    uint32_t refs;            /* registry + jobs naming it */
    bool draining;            /* said Drain: gets no more jobs */
    bool gone;                /* left or lost: no longer registered */
    job_t *held;              /* head of the held list */
    worker_cancel_t *cancels; /* owned, CancelJobs not yet sent */
    size_t cancel_count;      /* entries in cancels */
    size_t cancel_capacity;   /* entries allocated */
    uint64_t *acks;           /* owned, outcome ids to acknowledge */
    size_t ack_count;         /* entries in acks */
    size_t ack_capacity;      /* entries allocated */
    uint64_t ack_due_ms;      /* monotonic: when acks must go out */
    struct worker_t *prev;    /* registry order links */
    struct worker_t *next;
};

/* Most credit a worker can hold, whatever it announces. */
#define DISPATCH_MAX_CREDIT 1000000u

/* Adds count outcome ids to the worker's next DoneAck. Returns 0, or -1
 * when out of memory (nothing added). */
int dispatch_worker_ack_add (worker_t *self, const uint64_t *ids, size_t count);

/* Creates a worker called name (copied) with one reference. Returns NULL
 * when out of memory. */
worker_t *dispatch_worker_new (const char *name, uint32_t capacity,
                               uint32_t credit);

/* Drops one reference and nulls the pointer; frees the worker with the
 * last one. NULL is fine. */
void dispatch_worker_unref (worker_t **self_p);

/* Adds queue (served up to concurrency jobs at a time, 0: no limit) to the
 * worker and counts the worker on the queue. Returns 0, or -1 when out of
 * memory. */
int dispatch_worker_add_queue (worker_t *self, queue_t *queue,
                               uint32_t concurrency);

/* Forgets the worker's queues (uncounting it on each) and marks it gone. */
void dispatch_worker_retire (worker_t *self);

/* Adds credit, capped at DISPATCH_MAX_CREDIT, after paying any debt. */
void dispatch_worker_credit (worker_t *self, uint64_t credit);

/* Takes count credit back: what is left now, the rest as debt. */
void dispatch_worker_revoke (worker_t *self, uint32_t count);

/* Returns true when the worker can take at least one more job. */
bool dispatch_worker_ready (const worker_t *self);

/* Pops up to max jobs for worker from the queues it serves, within its
 * credit, each queue's concurrency and max_bytes of payload (at least one
 * job is taken if any fits the other limits), holds each one (see
 * dispatch_hold) and stores them in out. Returns the number taken. */
size_t dispatch_pick (worker_t *self, job_t **out, size_t max,
                      size_t max_bytes);

/* Makes worker hold job: takes one credit, counts it running on its queue,
 * links it on the held list and points job->worker at it (moving the
 * reference from any previous worker). */
void dispatch_hold (worker_t *self, job_t *job);

/* Unlinks job from its worker's held list and uncounts it; returns one
 * credit when return_credit is set. job->worker keeps pointing there. */
void dispatch_release (job_t *job, bool return_credit);

/* Moves a held job to worker to's held list, without touching to's
 * credit: the same worker process registered again, still has the job and
 * left room for it in the credit it announced. */
void dispatch_transfer (job_t *job, worker_t *to);

/* Remembers that the broker must send CancelJobs for (id, attempt).
 * Returns 0, or -1 when out of memory. */
int dispatch_worker_cancel_add (worker_t *self, uint64_t id, uint32_t attempt);

#endif
