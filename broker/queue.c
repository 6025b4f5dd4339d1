/* Per-priority FIFO buckets of jobs; see queue.h. */
#include "broker/queue.h"

#include <stdlib.h>
#include <string.h>

queue_t *
queue_new (const char *name)
{
    queue_t *self = calloc (1, sizeof *self);
    if (!self) {
        return NULL;
    }
    self->name = strdup (name);
    if (!self->name) {
        free (self);
        return NULL;
    }
    return self;
}

void
queue_destroy (queue_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->buckets);
        free ((*self_p)->name);
        free (*self_p);
        *self_p = NULL;
    }
}

/* Returns the index of the bucket for priority, or where it would go
 * (buckets are sorted highest first); sets *found accordingly. */
static size_t
s_bucket_search (const queue_t *self, int32_t priority, int *found)
{
    size_t low = 0;
    size_t high = self->bucket_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int32_t here = self->buckets[mid].priority;
        if (here == priority) {
            *found = 1;
            return mid;
        }
        if (here > priority) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    *found = 0;
    return low;
}

/* Returns the bucket for priority, inserting an empty one if needed, or
 * NULL when out of memory. */
static queue_bucket_t *
s_bucket_get (queue_t *self, int32_t priority)
{
    int found;
    size_t at = s_bucket_search (self, priority, &found);
    if (found) {
        return &self->buckets[at];
    }
    if (self->bucket_count == self->bucket_capacity) {
        size_t capacity = self->bucket_capacity ? self->bucket_capacity * 2 : 4;
        queue_bucket_t *grown =
            realloc (self->buckets, capacity * sizeof *grown);
        if (!grown) {
            return NULL;
        }
        self->buckets = grown;
        self->bucket_capacity = capacity;
    }
    memmove (&self->buckets[at + 1], &self->buckets[at],
             (self->bucket_count - at) * sizeof *self->buckets);
    self->bucket_count++;
    self->buckets[at] = (queue_bucket_t){priority, NULL, NULL};
    return &self->buckets[at];
}

int
queue_push (queue_t *self, job_t *job)
{
    queue_bucket_t *bucket = s_bucket_get (self, job->priority);
    if (!bucket) {
        return -1;
    }
    job->next = NULL;
    job->prev = bucket->tail;
    if (bucket->tail) {
        bucket->tail->next = job;
    } else {
        bucket->head = job;
    }
    bucket->tail = job;
    self->queued++;
    return 0;
}

int
queue_push_front (queue_t *self, job_t *job)
{
    queue_bucket_t *bucket = s_bucket_get (self, job->priority);
    if (!bucket) {
        return -1;
    }
    job->prev = NULL;
    job->next = bucket->head;
    if (bucket->head) {
        bucket->head->prev = job;
    } else {
        bucket->tail = job;
    }
    bucket->head = job;
    self->queued++;
    return 0;
}

job_t *
queue_peek (const queue_t *self)
{
    return self->bucket_count ? self->buckets[0].head : NULL;
}

/* Drops the bucket at index at, which must be empty. */
static void
s_bucket_drop (queue_t *self, size_t at)
{
    self->bucket_count--;
    memmove (&self->buckets[at], &self->buckets[at + 1],
             (self->bucket_count - at) * sizeof *self->buckets);
}

void
queue_remove (queue_t *self, job_t *job)
{
    int found;
    size_t at = s_bucket_search (self, job->priority, &found);
    if (!found) {
        return; /* not linked here: a programmer error, but harmless */
    }
    queue_bucket_t *bucket = &self->buckets[at];
    if (job->prev) {
        job->prev->next = job->next;
    } else {
        bucket->head = job->next;
    }
    if (job->next) {
        job->next->prev = job->prev;
    } else {
        bucket->tail = job->prev;
    }
    job->prev = job->next = NULL;
    self->queued--;
    if (!bucket->head) {
        s_bucket_drop (self, at);
    }
}

job_t *
queue_pop (queue_t *self)
{
    job_t *job = queue_peek (self);
    if (job) {
        queue_remove (self, job);
    }
    return job;
}
