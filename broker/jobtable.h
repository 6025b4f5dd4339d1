/* The broker's indexes of jobs, by id and by idempotency key: open
 * addressing over job pointers.
 *
 * Linear probing with backward-shift deletion (no tombstones), grown at 70%
 * load. Slots hold only the job pointer; the id or key is read from the
 * job, so an index costs about 12 bytes per job. A key table also keeps
 * each job's key hash in job->key_hash, so that growing and deleting need
 * not walk keys again and a probe compares hashes before keys. The table
 * does not own the jobs. A job's id or key must not change while it is in
 * a table, and a key table holds only jobs with a key.
 */
#ifndef ZJOB_BROKER_JOBTABLE_H
#define ZJOB_BROKER_JOBTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/job.h"

typedef struct jobtable_t jobtable_t;

/* Creates an empty table of jobs by id. Returns NULL when out of memory. */
jobtable_t *jobtable_new (void);

/* Creates an empty table of jobs by key (jobtable_find_key). Returns NULL
 * when out of memory. */
jobtable_t *jobtable_new_by_key (void);

/* Frees the table (not the jobs) and nulls the pointer; NULL is fine. */
void jobtable_destroy (jobtable_t **self_p);

/* Adds job, whose id (or key) must not be in the table yet. Returns 0, or
 * -1 when out of memory (the table is unchanged). */
int jobtable_insert (jobtable_t *self, job_t *job);

/* Returns the job with id, or NULL (tables by id). */
job_t *jobtable_find (const jobtable_t *self, uint64_t id);

/* Returns the job with key, or NULL (tables by key). */
job_t *jobtable_find_key (const jobtable_t *self, const char *key);

/* Removes the job with id and returns it, or NULL when there is none
 * (tables by id). */
job_t *jobtable_remove (jobtable_t *self, uint64_t id);

/* Removes job itself, not another with its id or key. Returns true when
 * it was in the table. */
bool jobtable_remove_job (jobtable_t *self, const job_t *job);

/* Returns the number of jobs in the table. */
size_t jobtable_size (const jobtable_t *self);

/* Calls fn for every job (in no particular order); fn must not change the
 * table. Used at shutdown. */
void jobtable_each (const jobtable_t *self, void (*fn) (job_t *, void *),
                    void *arg);

#endif
