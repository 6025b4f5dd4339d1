/* A named queue of jobs: per-priority FIFO buckets plus its counters.
 *
 * Buckets are kept in a small array sorted by priority, highest first; each
 * bucket is an intrusive doubly linked list through job_t.prev/next, so
 * push, pop and removal of any queued job are O(1) apart from finding the
 * bucket (a binary search over the distinct priorities in use). The queue
 * does not own its jobs; it only links them.
 */
#ifndef ZJOB_BROKER_QUEUE_H
#define ZJOB_BROKER_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "broker/job.h"

/* One priority level: a FIFO list of jobs. */
typedef struct {
    int32_t priority; /* the priority of every job in it */
    job_t *head;      /* oldest job, popped first */
    job_t *tail;      /* newest job */
} queue_bucket_t;

struct queue_t {
    char *name;              /* owned, as clients and workers spell it */
    queue_bucket_t *buckets; /* owned, non-empty buckets, highest first */
    size_t bucket_count;     /* buckets in use */
    size_t bucket_capacity;  /* buckets allocated */
    uint64_t queued;         /* jobs linked in the buckets */
    uint64_t scheduled;      /* jobs of this queue waiting for a timer */
    uint64_t running;        /* jobs of this queue on workers */
    uint64_t succeeded;      /* jobs that ended SUCCEEDED */
    uint64_t failed;         /* jobs that ended FAILED, TIMED_OUT or DEAD */
    uint32_t workers;        /* registered workers serving it */
    uint32_t max_attempts;   /* for its jobs that do not say; 0: the
                                broker's default */
};

/* Creates an empty queue called name (copied). Returns NULL when out of
 * memory. */
queue_t *queue_new (const char *name);

/* Frees the queue (not its jobs) and nulls the pointer; NULL is fine. */
void queue_destroy (queue_t **self_p);

/* Appends job behind the jobs of its priority. Returns 0, or -1 when out of
 * memory (the job is not linked). */
int queue_push (queue_t *self, job_t *job);

/* Puts job in front of the jobs of its priority (a requeued job keeps its
 * place ahead of newer ones). Returns 0, or -1 when out of memory. */
int queue_push_front (queue_t *self, job_t *job);

/* Returns the job that would be popped next, or NULL when empty. */
job_t *queue_peek (const queue_t *self);

/* Unlinks and returns the oldest job of the highest priority, or NULL. */
job_t *queue_pop (queue_t *self);

/* Unlinks job, which must be linked in this queue. */
void queue_remove (queue_t *self, job_t *job);

#endif
