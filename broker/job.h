/* One job as the broker keeps it: a compact record shared by every module.
 *
 * The record is kept small on purpose (one million queued jobs must fit in a
 * few hundred megabytes): times are stored once, counters are narrow, and
 * the two list links serve whichever list the job is on in its state — its
 * queue's priority bucket while QUEUED, its worker's held list while a
 * worker holds it. A job is on at most one of those lists at a time.
 */
#ifndef ZJOB_BROKER_JOB_H
#define ZJOB_BROKER_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "zjob.pb-c.h"

typedef struct queue_t queue_t;
typedef struct worker_t worker_t;
typedef struct client_t client_t;

/* One client waiting for a job's final state (Submit.notify or Wait). */
typedef struct waiter_t {
    client_t *client;      /* holds one reference on the client */
    struct waiter_t *next; /* next waiter of the same job */
} waiter_t;

typedef struct job_t {
    uint64_t id;           /* broker-assigned, unique across restarts */
    queue_t *queue;        /* the queue it was submitted to (not owned) */
    struct job_t *prev;    /* queue bucket or worker held list links */
    struct job_t *next;    /* (see the file comment) */
    uint8_t *payload;      /* owned; freed once the job is final */
    uint8_t *result;       /* owned; the handler's output, or NULL */
    char *error;           /* owned; the reason it failed, or NULL */
    char *key;             /* owned; its idempotency key, or NULL */
    worker_t *worker;      /* worker of the last attempt (one reference) */
    waiter_t *waiters;     /* owned list of clients waiting for it */
    uint64_t created_ms;   /* wall clock, when accepted */
    uint64_t started_ms;   /* wall clock, last dispatch; 0: never */
    uint64_t finished_ms;  /* wall clock, when final; 0: not yet */
    uint64_t deadline_ms;  /* monotonic; 0: no deadline */
    uint64_t timer_ms;     /* monotonic due time of its state timer */
    uint32_t payload_len;  /* bytes in payload */
    uint32_t result_len;   /* bytes in result */
    int32_t priority;      /* higher runs first */
    uint32_t key_hash;     /* the key's hash, kept by the key table while
                              the job is in it (fits in padding) */
    uint16_t attempt;      /* dispatches so far; 1 on the first run */
    uint16_t max_attempts; /* FAILED outcomes allowed before giving up */
    uint16_t failures;     /* FAILED outcomes so far; attempts that ended
                              by a drain, a lost worker or a requeue do
                              not count */
    uint8_t state;         /* Zjob__State */
    uint8_t lost;          /* attempts ended by a lost worker */
    bool held;             /* on its worker's held list (credit taken) */
    bool cancel_requested; /* a client asked to cancel it while running */
    bool journaled;        /* its full record is in the journal */
    bool isolate;          /* lost max-lost workers: runs alone */
    bool orphaned;         /* queued again because its worker was lost or
                              did not come back after a restart: that
                              worker may still run this attempt */
} job_t;

/* Returns true for the final states (succeeded ... dead). */
static inline bool
job_is_final (const job_t *job)
{
    return job->state >= ZJOB__STATE__STATE_SUCCEEDED;
}

#endif
