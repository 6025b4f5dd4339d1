/* Job contexts: deadline, cancel flag and the waits that honour them.
 *
 * Design notes. The cancel flag is an atomic so polling costs one load.
 * The deadline is also atomic because jobctx_tighten may run on the pool
 * thread while the socket thread reads it. Waiters sleep on a condition
 * variable bound to CLOCK_MONOTONIC; jobctx_cancel broadcasts it under the
 * mutex, so a waiter can never miss a cancel between its check and its
 * sleep. The cancel descriptor is an eventfd created lazily under the same
 * mutex and written once by the first cancel (or at creation when the job
 * was already cancelled). A context can be reset for another job (the
 * worker reuses job blocks): the mutex and condition variable stay, the
 * flag, deadline and identity are set anew and the descriptor, tied to the
 * old job's cancel, is closed. The queue name is either the context's own
 * copy or, after a reset, borrowed from the caller.
 */
#include "worker/jobctx.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

struct jobctx_t {
    uint64_t id;                  /* job id */
    uint32_t attempt;             /* 1-based attempt */
    const char *queue;            /* queue name: queue_copy or borrowed */
    char *queue_copy;             /* owned copy from jobctx_new; or NULL */
    _Atomic uint64_t deadline_ms; /* monotonic ms; 0: none */
    atomic_bool cancelled;        /* set once by jobctx_cancel */
    pthread_mutex_t mutex;        /* guards cond and cancel_fd */
    pthread_cond_t cond;          /* broadcast on cancel */
    int cancel_fd;                /* eventfd, -1 until asked for */
};

jobctx_t *
jobctx_new (uint64_t id, uint32_t attempt, const char *queue,
            uint64_t deadline_ms)
{
    jobctx_t *self = calloc (1, sizeof *self);
    if (!self) {
        return NULL;
    }
    if (queue && !(self->queue_copy = strdup (queue))) {
        free (self);
        return NULL;
    }
    self->queue = self->queue_copy ? self->queue_copy : "";
    self->id = id;
    self->attempt = attempt;
    atomic_init (&self->deadline_ms, deadline_ms);
    atomic_init (&self->cancelled, false);
    self->cancel_fd = -1;

    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&self->cond, &attr);
    pthread_condattr_destroy (&attr);
    pthread_mutex_init (&self->mutex, NULL);
    return self;
}

void
jobctx_destroy (jobctx_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    jobctx_t *self = *self_p;
    if (self->cancel_fd >= 0) {
        close (self->cancel_fd);
    }
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->mutex);
    free (self->queue_copy);
    free (self);
    *self_p = NULL;
}

void
jobctx_reset (jobctx_t *self, uint64_t id, uint32_t attempt, const char *queue,
              uint64_t deadline_ms)
{
    if (self->cancel_fd >= 0) {
        close (self->cancel_fd);
        self->cancel_fd = -1;
    }
    free (self->queue_copy);
    self->queue_copy = NULL;
    self->queue = queue ? queue : "";
    self->id = id;
    self->attempt = attempt;
    atomic_store (&self->deadline_ms, deadline_ms);
    atomic_store (&self->cancelled, false);
}

void
jobctx_tighten (jobctx_t *self, uint64_t deadline_ms)
{
    uint64_t current = atomic_load (&self->deadline_ms);
    while (deadline_ms != 0 && (current == 0 || deadline_ms < current)) {
        if (atomic_compare_exchange_weak (&self->deadline_ms, &current,
                                          deadline_ms)) {
            break;
        }
    }
}

void
jobctx_cancel (jobctx_t *self)
{
    pthread_mutex_lock (&self->mutex);
    bool was = atomic_exchange (&self->cancelled, true);
    if (!was && self->cancel_fd >= 0) {
        uint64_t one = 1;
        ssize_t rc = write (self->cancel_fd, &one, sizeof one);
        (void) rc; /* an eventfd write of 1 cannot fail short of overflow */
    }
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->mutex);
}

bool
jobctx_cancelled (const jobctx_t *self)
{
    return atomic_load (&self->cancelled);
}

bool
jobctx_expired (const jobctx_t *self)
{
    uint64_t deadline = atomic_load (&self->deadline_ms);
    return deadline != 0 && clock_mono_ms () >= deadline;
}

bool
jobctx_should_stop (const jobctx_t *self)
{
    return jobctx_cancelled (self) || jobctx_expired (self);
}

int64_t
jobctx_time_left_ms (const jobctx_t *self)
{
    uint64_t deadline = atomic_load (&self->deadline_ms);
    if (deadline == 0) {
        return -1;
    }
    uint64_t now = clock_mono_ms ();
    return now >= deadline ? 0 : (int64_t) (deadline - now);
}

/* Converts a monotonic ms instant into a timespec for pthread_cond_timedwait.
 */
static struct timespec
s_timespec (uint64_t mono_ms)
{
    struct timespec at;
    at.tv_sec = (time_t) (mono_ms / 1000);
    at.tv_nsec = (long) (mono_ms % 1000) * 1000000L;
    return at;
}

int
jobctx_wait_ms (jobctx_t *self, uint64_t ms)
{
    uint64_t until = clock_mono_ms () + ms;
    uint64_t deadline = atomic_load (&self->deadline_ms);
    bool capped = deadline != 0 && deadline <= until;
    uint64_t wake = capped ? deadline : until;

    pthread_mutex_lock (&self->mutex);
    while (!jobctx_cancelled (self) && clock_mono_ms () < wake) {
        struct timespec at = s_timespec (wake);
        pthread_cond_timedwait (&self->cond, &self->mutex, &at);
    }
    pthread_mutex_unlock (&self->mutex);
    return jobctx_should_stop (self) ? -1 : 0;
}

int
jobctx_cancel_fd (jobctx_t *self)
{
    pthread_mutex_lock (&self->mutex);
    if (self->cancel_fd < 0) {
        self->cancel_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (self->cancel_fd >= 0 && jobctx_cancelled (self)) {
            uint64_t one = 1;
            ssize_t rc = write (self->cancel_fd, &one, sizeof one);
            (void) rc;
        }
    }
    int fd = self->cancel_fd;
    pthread_mutex_unlock (&self->mutex);
    return fd;
}

uint64_t
jobctx_id (const jobctx_t *self)
{
    return self->id;
}

uint32_t
jobctx_attempt (const jobctx_t *self)
{
    return self->attempt;
}

const char *
jobctx_queue (const jobctx_t *self)
{
    return self->queue;
}

uint64_t
jobctx_deadline_ms (const jobctx_t *self)
{
    return atomic_load (&self->deadline_ms);
}
