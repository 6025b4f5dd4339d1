/* The worker's thread pool: runs jobs handed over by the socket thread and
 * hands their outcomes back.
 *
 * The socket thread submits jobs into a bounded queue; pool threads take
 * them as POSIX semaphores allow (one for the whole pool, one per limited
 * queue), run them under their context and put the outcome on a completion
 * list; the first outcome to land on an empty list makes the wake
 * descriptor readable, and the socket thread takes the whole list at once.
 * The socket thread gets job blocks from the pool and puts them back once
 * done with them, so that blocks and their buffers are reused.
 */
#ifndef ZJOB_WORKER_POOL_H
#define ZJOB_WORKER_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "worker/handler.h"
#include "worker/jobctx.h"
#include "zjob.pb-c.h"

/* Buffers over this many bytes are freed once their job no longer needs
 * them rather than kept for the block's next job. */
#define POOL_KEEP_BYTES (16 * 1024)

/* Spare job blocks a pool keeps at most for reuse. */
#define POOL_SPARE_MAX 256

/* One job from its arrival to its acknowledged outcome. Whichever list
 * holds it (pending, running, done, the caller's, the pool's spares) owns
 * it. */
typedef struct pool_job_t {
    uint64_t id;             /* job id */
    uint32_t attempt;        /* attempt number, for fencing */
    size_t lane;             /* index of its queue in the pool's lanes */
    uint8_t *payload;        /* owned buffer of payload_cap bytes */
    size_t payload_len;      /* bytes of payload; 0 once the job has run */
    size_t payload_cap;      /* bytes allocated at payload */
    jobctx_t *ctx;           /* owned context */
    Zjob__State state;       /* the outcome, once done */
    handler_output_t output; /* result or error, once done */
    uint64_t started_us;     /* monotonic us when it started; 0 if never */
    uint64_t run_us;         /* how long its handler ran, once done */
    struct pool_job_t *next; /* link in whichever list holds it */
} pool_job_t;

/* Frees a job (not the ones linked after it) and nulls the pointer. */
void pool_job_destroy (pool_job_t **job_p);

/* Frees a whole list of jobs linked by next and nulls the pointer. */
void pool_job_destroy_list (pool_job_t **list_p);

/* One queue as the pool sees it. */
typedef struct {
    handler_t *handler;   /* runs its jobs; not owned */
    unsigned concurrency; /* at most this many at once; 0: threads only */
    uint64_t timeout_ms;  /* run time limit per attempt; 0: none */
    const char *name;     /* queue name, not owned: must outlive every job
                             from pool_job_get; NULL: "" */
} pool_lane_t;

typedef struct pool_t pool_t;

/* Makes a job for lane with a copy of payload; deadline_ms is monotonic
 * (0: none). It reuses a spare block of the pool when there is one, and
 * the job's queue name is the lane's (borrowed). A lane beyond the pool's
 * lanes gives an empty name, for an outcome decided without running.
 * Returns NULL when out of memory. Socket thread only. */
pool_job_t *pool_job_get (pool_t *self, uint64_t id, uint32_t attempt,
                          size_t lane, const uint8_t *payload, size_t len,
                          uint64_t deadline_ms);

/* Gives back a job the caller is done with (from pool_job_get, linked to
 * no list): the pool keeps it for reuse, or frees
 * it when it has enough spares. Nulls the pointer. Socket thread only. */
void pool_job_put (pool_t *self, pool_job_t **job_p);

/* Creates a pool of threads threads for lane_count lanes (copied) whose
 * pending queue holds at most max_pending jobs. Returns NULL when out of
 * memory or resources. */
pool_t *pool_new (unsigned threads, size_t max_pending,
                  const pool_lane_t *lanes, size_t lane_count);

/* Starts the threads. Returns 0, or -1 (then pool_destroy cleans up). */
int pool_start (pool_t *self);

/* Cancels running jobs and joins the threads; pending jobs stay pending
 * and are freed by pool_destroy. Idempotent. */
void pool_stop (pool_t *self);

/* Stops the pool, frees every job it still holds (spares included) and
 * nulls the pointer. */
void pool_destroy (pool_t **self_p);

/* Queues *job_p and nulls it. Returns 0, or -1 when the pending queue is
 * full or the pool is stopping (then *job_p is untouched). Socket thread. */
int pool_submit (pool_t *self, pool_job_t **job_p);

/* Cancels the job with id and attempt (0: any attempt): a pending job is
 * completed as CANCELLED without running, a running one has its context
 * cancelled. Returns true when the job was found. */
bool pool_cancel (pool_t *self, uint64_t id, uint32_t attempt);

/* Cancels every running job. Returns how many. */
size_t pool_cancel_running (pool_t *self);

/* Removes every pending job and returns them as a list (caller owns). */
pool_job_t *pool_discard_pending (pool_t *self);

/* Jobs submitted whose outcome is not yet on the completion list (pending
 * plus running). When it is 0, every outcome can be taken. */
size_t pool_busy (pool_t *self);

/* The descriptor that becomes readable when outcomes are waiting. */
int pool_wake_fd (const pool_t *self);

/* Takes every finished job (oldest first) and clears the wake descriptor.
 * Returns the list (caller owns) or NULL. */
pool_job_t *pool_take_done (pool_t *self);

/* Calls fn (id, attempt, arg) for every job the pool still has: waiting,
 * running, or finished and not yet taken. Call from the socket thread. */
void pool_for_each_held (pool_t *self,
                         void (*fn) (uint64_t id, uint32_t attempt, void *arg),
                         void *arg);

#endif
