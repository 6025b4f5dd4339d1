/* The dead set: jobs that ran out of attempts or kept killing their
 * workers. They keep their payload so that an operator can retry them, and
 * leave the set when retried, when it is over its count (oldest first) or
 * when their dead-ttl is over (an expiry timer, see jobs.c).
 *
 * The set is a ring of (job id, attempt) in the order they died. A retried or
 * expired job leaves a stale id behind, recognised by looking the job up;
 * stale ids are squeezed out when they outnumber the live ones.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/broker_impl.h"

/* Stale ids tolerated before the ring is squeezed. */
#define DEAD_SLACK 1024

/* Returns the job entry names when it is in the dead set now (the same
 * death: a job retried and dead again has a later attempt), or NULL. */
static job_t *
s_entry_job (broker_t *self, const dead_entry_t *entry)
{
    job_t *job = jobtable_find (self->jobs, entry->id);
    return job && job->state == ZJOB__STATE__STATE_DEAD &&
                   job->attempt == entry->attempt
               ? job
               : NULL;
}

/* Keeps only the ids of jobs still dead, in order. */
static void
s_squeeze (broker_t *self)
{
    size_t kept = 0;
    for (size_t i = self->dead_start; i < self->dead_end; i++) {
        if (s_entry_job (self, &self->dead_ids[i])) {
            self->dead_ids[kept++] = self->dead_ids[i];
        }
    }
    self->dead_start = 0;
    self->dead_end = kept;
}

/* Appends job's entry, growing or squeezing the ring. Returns 0 or -1. */
static int
s_push (broker_t *self, const job_t *job)
{
    if (self->dead_end - self->dead_start >
        2 * self->stats.dead_kept + DEAD_SLACK) {
        s_squeeze (self);
    }
    if (self->dead_end == self->dead_cap && self->dead_start > 0) {
        size_t count = self->dead_end - self->dead_start;
        memmove (self->dead_ids, self->dead_ids + self->dead_start,
                 count * sizeof *self->dead_ids);
        self->dead_start = 0;
        self->dead_end = count;
    }
    if (self->dead_end == self->dead_cap) {
        size_t cap = self->dead_cap ? self->dead_cap * 2 : 256;
        dead_entry_t *ids = realloc (self->dead_ids, cap * sizeof *ids);
        if (!ids) {
            return -1;
        }
        self->dead_ids = ids;
        self->dead_cap = cap;
    }
    self->dead_ids[self->dead_end++] = (dead_entry_t){job->id, job->attempt};
    return 0;
}

void
broker_dead_add (broker_t *self, job_t *job)
{
    self->stats.dead_kept++;
    if (s_push (self, job) != 0) {
        LOG_ERROR ("dead_set_failed", "job=%" PRIu64 " reason=no_memory",
                   job->id);
    }
    while (self->stats.dead_kept > self->config.dead_max &&
           self->dead_start < self->dead_end) {
        job_t *victim = s_entry_job (self, &self->dead_ids[self->dead_start++]);
        if (victim && victim != job && !victim->held) {
            LOG_INFO ("dead_evicted",
                      "job=%" PRIu64 " queue=%s reason=dead_set_full max=%u",
                      victim->id, victim->queue->name, self->config.dead_max);
            broker_job_forget (self, victim);
        }
    }
}

size_t
broker_dead_list (broker_t *self, const char *queue, size_t limit, job_t **out)
{
    size_t count = 0;
    for (size_t i = self->dead_end; i > self->dead_start && count < limit;
         i--) {
        job_t *job = s_entry_job (self, &self->dead_ids[i - 1]);
        if (!job) {
            continue;
        }
        if (queue && queue[0] && strcmp (job->queue->name, queue) != 0) {
            continue;
        }
        out[count++] = job;
    }
    return count;
}
