/* The broker's index of jobs by id: open addressing over job pointers.
 *
 * Linear probing with backward-shift deletion (no tombstones), grown at 70%
 * load. Slots hold only the job pointer; the id is read from the job, so the
 * index costs about 12 bytes per job. The table does not own the jobs.
 */
#ifndef ZJOB_BROKER_JOBTABLE_H
#define ZJOB_BROKER_JOBTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "broker/job.h"

typedef struct jobtable_t jobtable_t;

/* Creates an empty table. Returns NULL when out of memory. */
jobtable_t *jobtable_new (void);

/* Frees the table (not the jobs) and nulls the pointer; NULL is fine. */
void jobtable_destroy (jobtable_t **self_p);

/* Adds job, whose id must not be in the table yet. Returns 0, or -1 when
 * out of memory (the table is unchanged). */
int jobtable_insert (jobtable_t *self, job_t *job);

/* Returns the job with id, or NULL. */
job_t *jobtable_find (const jobtable_t *self, uint64_t id);

/* Removes the job with id and returns it, or NULL when there is none. */
job_t *jobtable_remove (jobtable_t *self, uint64_t id);

/* Returns the number of jobs in the table. */
size_t jobtable_size (const jobtable_t *self);

/* Calls fn for every job (in no particular order); fn must not change the
 * table. Used at shutdown. */
void jobtable_each (const jobtable_t *self, void (*fn) (job_t *, void *),
                    void *arg);

#endif
