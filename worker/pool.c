/* The worker's thread pool; see pool.h.
 *
 * Design notes.
 * - Threads. The socket thread calls pool_submit, pool_cancel*,
 *   pool_discard_pending, pool_busy and pool_take_done; pool threads run
 *   s_thread. Nothing here touches a ZeroMQ socket.
 * - Locks. `mutex` guards the pending list, the running list, `busy` and
 *   `stopping`; `done_mutex` guards the completion list only. No lock is
 *   held while a handler runs or while anything is written to a socket;
 *   the system calls made under a lock are sem_trywait and the eventfd
 *   write of a completion. Where both mutexes are held (a job moving from
 *   running to done, pool_for_each_held), `mutex` is taken first.
 * - Semaphores. `overall` starts at the thread count and every lane with a
 *   concurrency limit has `slots` starting at that limit. A pool thread
 *   takes a job only after sem_trywait succeeded on both, and posts both
 *   back once the job has run: that is the hard cap, whatever the broker
 *   sends. Taking the first pending job whose lane has a free slot (not
 *   simply the head) keeps one saturated queue from blocking the others.
 * - Wake-up. A finished job is appended to the completion list; only the
 *   append that finds the list empty writes to the eventfd, and the socket
 *   thread reads the eventfd before taking the list, so no wake-up is lost
 *   and a burst of outcomes costs one wake-up.
 * - Invariant. busy = pending + running, and it only drops after the job
 *   is on the completion list: busy == 0 means every outcome is takeable.
 */
#include "worker/pool.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"

/* A lane and its semaphore. */
typedef struct {
    pool_lane_t spec; /* handler, concurrency, timeout */
    sem_t slots;      /* free run slots when spec.concurrency > 0 */
} s_lane_t;

struct pool_t {
    pthread_mutex_t mutex;      /* guards pending, running, busy, stopping */
    pthread_cond_t work;        /* a job arrived, a slot freed or stopping */
    pool_job_t *pending;        /* FIFO of jobs waiting to run */
    pool_job_t *running;        /* jobs being run (unordered) */
    size_t pending_count;       /* jobs in pending */
    size_t max_pending;         /* pool_submit refuses beyond this */
    size_t busy;                /* pending + running, see the invariant */
    bool stopping;              /* threads exit instead of taking work */
    sem_t overall;              /* free run slots in the whole pool */
    s_lane_t *lanes;            /* lane_count lanes */
    size_t lane_count;          /* lanes in use */
    pthread_t *threads;         /* thread_count handles */
    unsigned thread_count;      /* threads wanted */
    unsigned started;           /* threads started (to join) */
    pthread_mutex_t done_mutex; /* guards done and done_tail */
    pool_job_t *done;           /* finished jobs, oldest first */
    pool_job_t *done_tail;      /* last of done */
    int wake_fd;                /* eventfd: readable when done is non-empty */
};

pool_job_t *
pool_job_new (uint64_t id, uint32_t attempt, const char *queue, size_t lane,
              const uint8_t *payload, size_t len, uint64_t deadline_ms)
{
    pool_job_t *job = calloc (1, sizeof *job);
    if (!job) {
        return NULL;
    }
    job->payload = malloc (len ? len : 1);
    job->ctx = jobctx_new (id, attempt, queue, deadline_ms);
    if (!job->payload || !job->ctx) {
        pool_job_destroy (&job);
        return NULL;
    }
    if (len > 0) {
        memcpy (job->payload, payload, len);
    }
    job->payload_len = len;
    job->id = id;
    job->attempt = attempt;
    job->lane = lane;
    job->state = ZJOB__STATE__STATE_RUNNING;
    return job;
}

void
pool_job_destroy (pool_job_t **job_p)
{
    if (!job_p || !*job_p) {
        return;
    }
    pool_job_t *job = *job_p;
    free (job->payload);
    jobctx_destroy (&job->ctx);
    handler_output_clear (&job->output);
    free (job);
    *job_p = NULL;
}

void
pool_job_destroy_list (pool_job_t **list_p)
{
    while (list_p && *list_p) {
        pool_job_t *next = (*list_p)->next;
        pool_job_destroy (list_p);
        *list_p = next;
    }
}

pool_t *
pool_new (unsigned threads, size_t max_pending, const pool_lane_t *lanes,
          size_t lane_count)
{
    pool_t *self = calloc (1, sizeof *self);
    if (!self) {
        return NULL;
    }
    self->thread_count = threads ? threads : 1;
    self->max_pending = max_pending;
    self->lane_count = lane_count;
    self->lanes = calloc (lane_count ? lane_count : 1, sizeof *self->lanes);
    self->threads = calloc (self->thread_count, sizeof *self->threads);
    self->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init (&self->mutex, NULL);
    pthread_mutex_init (&self->done_mutex, NULL);
    pthread_cond_init (&self->work, NULL);
    sem_init (&self->overall, 0, self->thread_count);
    for (size_t i = 0; self->lanes && i < lane_count; i++) {
        self->lanes[i].spec = lanes[i];
        sem_init (&self->lanes[i].slots, 0, lanes[i].concurrency);
    }
    if (!self->lanes || !self->threads || self->wake_fd < 0) {
        pool_destroy (&self);
    }
    return self;
}

/* Appends job to a list given by its head and tail pointers. */
static void
s_append (pool_job_t **head, pool_job_t **tail, pool_job_t *job)
{
    job->next = NULL;
    if (*head) {
        (*tail)->next = job;
    } else {
        *head = job;
    }
    *tail = job;
}

/* Unlinks job from the list at *head (which must hold it). */
static void
s_unlink (pool_job_t **head, pool_job_t *job)
{
    for (pool_job_t **at = head; *at; at = &(*at)->next) {
        if (*at == job) {
            *at = job->next;
            job->next = NULL;
            return;
        }
    }
}

/* Puts a finished job on the completion list; wakes the socket thread if
 * the list was empty. Takes ownership of job. Called without `mutex`. */
static void
s_complete (pool_t *self, pool_job_t *job)
{
    free (job->payload); /* not needed any more; outcomes can wait long */
    job->payload = NULL;
    job->payload_len = 0;

    pthread_mutex_lock (&self->done_mutex);
    bool was_empty = self->done == NULL;
    s_append (&self->done, &self->done_tail, job);
    pthread_mutex_unlock (&self->done_mutex);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t rc = write (self->wake_fd, &one, sizeof one);
        (void) rc; /* cannot fail short of counter overflow */
    }
}

/* Takes the first pending job whose lane (and the pool) has a free slot,
 * acquiring both semaphores. Called with `mutex` held. */
static pool_job_t *
s_pick (pool_t *self)
{
    if (!self->pending || sem_trywait (&self->overall) != 0) {
        return NULL;
    }
    for (pool_job_t **at = &self->pending; *at; at = &(*at)->next) {
        s_lane_t *lane = &self->lanes[(*at)->lane];
        if (lane->spec.concurrency == 0 || sem_trywait (&lane->slots) == 0) {
            pool_job_t *job = *at;
            *at = job->next;
            job->next = self->running;
            self->running = job;
            self->pending_count--;
            return job;
        }
    }
    sem_post (&self->overall);
    return NULL;
}

/* Maps what the handler returned and what happened to the context onto
 * the job's final state. A handler that finished its work reports it, even
 * if a cancel arrived meanwhile (the broker ends a job a client cancelled
 * CANCELLED whatever we report, and a draining worker must not make the
 * broker run finished work again); one that stopped early was cancelled,
 * or else stopped at the deadline. */
static void
s_settle (pool_job_t *job, handler_status_t status)
{
    if (status == HANDLER_OK) {
        free (job->output.error);
        job->output.error = NULL;
        job->state = ZJOB__STATE__STATE_SUCCEEDED;
    } else if (jobctx_cancelled (job->ctx)) {
        handler_output_clear (&job->output);
        job->state = ZJOB__STATE__STATE_CANCELLED;
        handler_fail (&job->output, "cancelled");
    } else if (status == HANDLER_STOPPED) {
        handler_output_clear (&job->output);
        job->state = ZJOB__STATE__STATE_TIMED_OUT;
        handler_fail (&job->output, "deadline passed");
    } else {
        job->state = ZJOB__STATE__STATE_FAILED;
    }
}

/* Runs one job on the calling pool thread. */
static void
s_execute (pool_t *self, pool_job_t *job)
{
    const s_lane_t *lane = &self->lanes[job->lane];
    job->started_us = clock_mono_us ();
    if (lane->spec.timeout_ms) {
        jobctx_tighten (job->ctx, clock_mono_ms () + lane->spec.timeout_ms);
    }
    handler_status_t status = HANDLER_STOPPED;
    if (!jobctx_should_stop (job->ctx)) {
        status = handler_run (lane->spec.handler, job->ctx, job->payload,
                              job->payload_len, &job->output);
    }
    s_settle (job, status);
    job->run_us = clock_mono_us () - job->started_us;
}

/* Waits for a job this thread may run; NULL when the pool stops. */
static pool_job_t *
s_next (pool_t *self)
{
    pool_job_t *job = NULL;
    pthread_mutex_lock (&self->mutex);
    while (!self->stopping && !(job = s_pick (self))) {
        pthread_cond_wait (&self->work, &self->mutex);
    }
    pthread_mutex_unlock (&self->mutex);
    return job;
}

static void *
s_thread (void *arg)
{
    pool_t *self = arg;
    pool_job_t *job;
    while ((job = s_next (self)) != NULL) {
        s_execute (self, job);
        s_lane_t *lane = &self->lanes[job->lane];

        /* From running to done in one step, so that pool_for_each_held
         * never misses a job between the two lists. */
        pthread_mutex_lock (&self->mutex);
        s_unlink (&self->running, job);
        s_complete (self, job);
        pthread_mutex_unlock (&self->mutex);

        if (lane->spec.concurrency) {
            sem_post (&lane->slots);
        }
        sem_post (&self->overall);
        pthread_mutex_lock (&self->mutex);
        self->busy--;
        pthread_cond_broadcast (&self->work);
        pthread_mutex_unlock (&self->mutex);
    }
    return NULL;
}

int
pool_start (pool_t *self)
{
    while (self->started < self->thread_count) {
        if (pthread_create (&self->threads[self->started], NULL, s_thread,
                            self) != 0) {
            return -1;
        }
        self->started++;
    }
    return 0;
}

void
pool_stop (pool_t *self)
{
    pthread_mutex_lock (&self->mutex);
    self->stopping = true;
    for (pool_job_t *job = self->running; job; job = job->next) {
        jobctx_cancel (job->ctx);
    }
    pthread_cond_broadcast (&self->work);
    pthread_mutex_unlock (&self->mutex);

    while (self->started > 0) {
        pthread_join (self->threads[--self->started], NULL);
    }
}

void
pool_destroy (pool_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    pool_t *self = *self_p;
    if (self->threads) {
        pool_stop (self);
    }
    pool_job_destroy_list (&self->pending);
    pool_job_destroy_list (&self->done);
    for (size_t i = 0; self->lanes && i < self->lane_count; i++) {
        sem_destroy (&self->lanes[i].slots);
    }
    sem_destroy (&self->overall);
    pthread_cond_destroy (&self->work);
    pthread_mutex_destroy (&self->done_mutex);
    pthread_mutex_destroy (&self->mutex);
    if (self->wake_fd >= 0) {
        close (self->wake_fd);
    }
    free (self->lanes);
    free (self->threads);
    free (self);
    *self_p = NULL;
}

int
pool_submit (pool_t *self, pool_job_t **job_p)
{
    pool_job_t *job = *job_p;
    if (job->lane >= self->lane_count) {
        return -1;
    }
    pthread_mutex_lock (&self->mutex);
    int rc = -1;
    if (!self->stopping && self->pending_count < self->max_pending) {
        pool_job_t **at = &self->pending;
        while (*at) {
            at = &(*at)->next;
        }
        job->next = NULL;
        *at = job;
        self->pending_count++;
        self->busy++;
        pthread_cond_signal (&self->work);
        *job_p = NULL;
        rc = 0;
    }
    pthread_mutex_unlock (&self->mutex);
    return rc;
}

/* Finds a job by id and attempt (0: any) in a list. */
static pool_job_t *
s_find (pool_job_t *list, uint64_t id, uint32_t attempt)
{
    for (; list; list = list->next) {
        if (list->id == id && (attempt == 0 || list->attempt == attempt)) {
            return list;
        }
    }
    return NULL;
}

bool
pool_cancel (pool_t *self, uint64_t id, uint32_t attempt)
{
    pthread_mutex_lock (&self->mutex);
    pool_job_t *job = s_find (self->pending, id, attempt);
    if (job) {
        s_unlink (&self->pending, job);
        self->pending_count--;
    } else if ((job = s_find (self->running, id, attempt)) != NULL) {
        jobctx_cancel (job->ctx);
        pthread_mutex_unlock (&self->mutex);
        return true;
    }
    pthread_mutex_unlock (&self->mutex);
    if (!job) {
        return false;
    }
    jobctx_cancel (job->ctx);
    s_settle (job, HANDLER_STOPPED);
    s_complete (self, job);
    pthread_mutex_lock (&self->mutex);
    self->busy--;
    pthread_mutex_unlock (&self->mutex);
    return true;
}

size_t
pool_cancel_running (pool_t *self)
{
    size_t count = 0;
    pthread_mutex_lock (&self->mutex);
    for (pool_job_t *job = self->running; job; job = job->next) {
        jobctx_cancel (job->ctx);
        count++;
    }
    pthread_mutex_unlock (&self->mutex);
    return count;
}

pool_job_t *
pool_discard_pending (pool_t *self)
{
    pthread_mutex_lock (&self->mutex);
    pool_job_t *list = self->pending;
    self->pending = NULL;
    self->busy -= self->pending_count;
    self->pending_count = 0;
    pthread_mutex_unlock (&self->mutex);
    return list;
}

size_t
pool_busy (pool_t *self)
{
    pthread_mutex_lock (&self->mutex);
    size_t busy = self->busy;
    pthread_mutex_unlock (&self->mutex);
    return busy;
}

int
pool_wake_fd (const pool_t *self)
{
    return self->wake_fd;
}

pool_job_t *
pool_take_done (pool_t *self)
{
    uint64_t count;
    ssize_t rc = read (self->wake_fd, &count, sizeof count);
    (void) rc; /* EAGAIN when a previous take already emptied the list */

    pthread_mutex_lock (&self->done_mutex);
    pool_job_t *list = self->done;
    self->done = NULL;
    self->done_tail = NULL;
    pthread_mutex_unlock (&self->done_mutex);
    return list;
}

/* Calls fn for every job of list. */
static void
s_each (const pool_job_t *list,
        void (*fn) (uint64_t id, uint32_t attempt, void *arg), void *arg)
{
    for (; list; list = list->next) {
        fn (list->id, list->attempt, arg);
    }
}

void
pool_for_each_held (pool_t *self,
                    void (*fn) (uint64_t id, uint32_t attempt, void *arg),
                    void *arg)
{
    pthread_mutex_lock (&self->mutex);
    s_each (self->pending, fn, arg);
    s_each (self->running, fn, arg);
    pthread_mutex_lock (&self->done_mutex);
    s_each (self->done, fn, arg);
    pthread_mutex_unlock (&self->done_mutex);
    pthread_mutex_unlock (&self->mutex);
}
