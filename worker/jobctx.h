/* The context of one running job: identity, deadline and cancellation.
 *
 * A context is created when the job arrives, read by the handler that runs
 * it on a pool thread and cancelled from the socket thread (CancelJobs,
 * drain). Every function is thread-safe. Handlers either poll
 * jobctx_should_stop, sleep in jobctx_wait_ms (which a cancel wakes), or
 * poll the file descriptor from jobctx_cancel_fd next to their own I/O.
 */
#ifndef ZJOB_WORKER_JOBCTX_H
#define ZJOB_WORKER_JOBCTX_H

#include <stdbool.h>
#include <stdint.h>

typedef struct jobctx_t jobctx_t;

/* Creates a context for attempt of job id on queue (copied; NULL: "").
 * deadline_ms is on the monotonic clock (clock_mono_ms), 0 for none.
 * Returns NULL when out of memory. */
jobctx_t *jobctx_new (uint64_t id, uint32_t attempt, const char *queue,
                      uint64_t deadline_ms);

/* Destroys the context and nulls the pointer; NULL is fine. No thread may
 * use it any more. */
void jobctx_destroy (jobctx_t **self_p);

/* Sets the context up again as jobctx_new would, for another job, except
 * that queue is borrowed (it must outlive this job's use of the context;
 * NULL: ""). Closes the cancel descriptor if one was made. As for
 * jobctx_destroy, no other thread may use the context meanwhile. */
void jobctx_reset (jobctx_t *self, uint64_t id, uint32_t attempt,
                   const char *queue, uint64_t deadline_ms);

/* Moves the deadline earlier to deadline_ms if that is earlier (or if there
 * was none); 0 leaves it as is. */
void jobctx_tighten (jobctx_t *self, uint64_t deadline_ms);

/* Requests cancellation: sets the flag and wakes jobctx_wait_ms and the
 * cancel descriptor. Idempotent. */
void jobctx_cancel (jobctx_t *self);

/* True once jobctx_cancel was called. */
bool jobctx_cancelled (const jobctx_t *self);

/* True once the deadline has passed (never when there is none). */
bool jobctx_expired (const jobctx_t *self);

/* True when the handler should give up: cancelled or expired. */
bool jobctx_should_stop (const jobctx_t *self);

/* Milliseconds until the deadline: 0 when passed, -1 when there is none. */
int64_t jobctx_time_left_ms (const jobctx_t *self);

/* Sleeps up to ms milliseconds, waking early on cancel or at the deadline.
 * Returns 0 after the full time, -1 when woken to stop. */
int jobctx_wait_ms (jobctx_t *self, uint64_t ms);

/* Returns a descriptor that becomes readable when the job is cancelled
 * (created on first call; owned by the context), or -1 on failure. The
 * deadline does not make it readable: use jobctx_time_left_ms as a poll
 * timeout. */
int jobctx_cancel_fd (jobctx_t *self);

/* The job's id, attempt, queue name and deadline (0: none). */
uint64_t jobctx_id (const jobctx_t *self);
uint32_t jobctx_attempt (const jobctx_t *self);
const char *jobctx_queue (const jobctx_t *self);
uint64_t jobctx_deadline_ms (const jobctx_t *self);

#endif
