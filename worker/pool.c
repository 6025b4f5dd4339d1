/* The worker's thread pool; see pool.h.
 *
 * Design notes.
 * - Threads. The socket thread calls pool_submit, pool_cancel*,
 *   pool_discard_pending, pool_busy, pool_take_done, pool_job_get and
 *   pool_job_put; pool threads run s_thread. Nothing here touches a
 *   ZeroMQ socket.
 * - Locks. `mutex` guards the pending list, the running list, `busy` and
 *   `stopping`; `done_mutex` guards the completion list only. No lock is
 *   held while a handler runs or while anything is written to a socket;
 *   the system calls made under a lock are sem_trywait and the eventfd
 *   write of a completion. Where both mutexes are held (a job moving from
 *   running to done, pool_for_each_held), `mutex` is taken first. A pool
 *   thread takes `mutex` once per job: finishing one job and picking the
 *   next happen in the same critical section.
 * - Semaphores. `overall` starts at the thread count and every lane with a
 *   concurrency limit has `slots` starting at that limit. A pool thread
 *   takes a job only after sem_trywait succeeded on both, and posts both
 *   back once the job has run: that is the hard cap, whatever the broker
 *   sends. Taking the first pending job whose lane has a free slot (not
 *   simply the head) keeps one saturated queue from blocking the others.
 * - Waking pool threads. A thread sleeps on `work` only after s_pick found
 *   nothing it may run, under `mutex`. Call a pending job runnable when its
 *   lane has a free slot; `overall` never holds a thread back, since a
 *   thread in s_pick holds no slot and so at most threads - 1 are taken.
 *   A job becomes runnable in two ways only. (1) pool_submit adds it: it
 *   signals `work` once, under `mutex`, so one sleeper wakes to pick, or
 *   none sleeps and every thread will call s_pick when its job is done.
 *   (2) A finished job frees a slot of its lane, which makes at most one
 *   more job runnable, and the thread that freed it (having posted its
 *   slots) calls s_pick right after: it is the picker that slot needs;
 *   should another thread take the slot first, the job it made runnable
 *   is picked all the same. Every event that makes a job runnable is thus
 *   followed by an s_pick, so a finished job wakes nobody. Removing pending
 * jobs (pool_cancel, pool_discard_pending) never makes another one runnable,
 * and cancelling a running job ends it on its own thread. Only stopping
 * broadcasts: every thread must leave.
 * - Waking the socket thread. A finished job is appended to the completion
 *   list; only the append that finds the list empty writes to the eventfd,
 *   and the socket thread reads the eventfd before taking the list, so no
 *   wake-up is lost and a burst of outcomes costs one wake-up.
 * - Invariant. busy = pending + running, and it only drops after the job
 *   is on the completion list: busy == 0 means every outcome is takeable.
 * - Job blocks. Jobs are made (pool_job_get) and finally given back
 *   (pool_job_put) on the socket thread only, so the list of spare blocks
 *   needs no lock. A block keeps its context (reset for each job), its
 *   payload buffer and its output's spare buffer, each only up to
 *   POOL_KEEP_BYTES; at most spare_max blocks are kept, so a burst's
 *   memory goes back once it is over. The payload buffer is not needed
 *   once the job has run; a large one is freed then, as an outcome can
 *   wait long for its DoneAck. A kept one adds no new bound: the jobs a
 *   worker holds, waiting or finished, are limited by its credit anyway.
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
    pool_lane_t spec; /* handler, concurrency, timeout, name */
    sem_t slots;      /* free run slots when spec.concurrency > 0 */
} s_lane_t;

struct pool_t {
    pthread_mutex_t mutex;      /* guards pending, running, busy, stopping */
    pthread_cond_t work;        /* a job arrived or stopping */
    pool_job_t *pending;        /* FIFO of jobs waiting to run */
    pool_job_t *pending_tail;   /* last of pending */
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
    pool_job_t *spare;          /* blocks for reuse; socket thread only */
    size_t spare_count;         /* blocks in spare */
    size_t spare_max;           /* most blocks spare may hold */
};

/* Makes the job's payload buffer hold a copy of len bytes of payload
 * (never NULL, even for 0 bytes). Returns 0, or -1 when out of memory. */
static int
s_job_set_payload (pool_job_t *job, const uint8_t *payload, size_t len)
{
    size_t need = len ? len : 1;
    if (job->payload_cap < need) {
        free (job->payload);
        job->payload_cap = 0;
        job->payload = malloc (need);
        if (!job->payload) {
            return -1;
        }
        job->payload_cap = need;
    }
    if (len > 0) {
        memcpy (job->payload, payload, len);
    }
    job->payload_len = len;
    return 0;
}

/* Sets the fields of a job about to be handed to the pool. */
static void
s_job_setup (pool_job_t *job, uint64_t id, uint32_t attempt, size_t lane)
{
    job->id = id;
    job->attempt = attempt;
    job->lane = lane;
    job->state = ZJOB__STATE__STATE_RUNNING;
    job->started_us = 0;
    job->run_us = 0;
    job->next = NULL;
}

/* Frees a payload buffer too large to keep once the job has run; a
 * smaller one stays for the block's next job. */
static void
s_job_drop_payload (pool_job_t *job)
{
    job->payload_len = 0;
    if (job->payload_cap > POOL_KEEP_BYTES) {
        free (job->payload);
        job->payload = NULL;
        job->payload_cap = 0;
    }
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

/* A spare block, or a new one with an empty context; NULL when out of
 * memory. */
static pool_job_t *
s_job_block (pool_t *self)
{
    pool_job_t *job = self->spare;
    if (job) {
        self->spare = job->next;
        self->spare_count--;
        return job;
    }
    job = calloc (1, sizeof *job);
    if (job && !(job->ctx = jobctx_new (0, 0, NULL, 0))) {
        free (job);
        job = NULL;
    }
    return job;
}

pool_job_t *
pool_job_get (pool_t *self, uint64_t id, uint32_t attempt, size_t lane,
              const uint8_t *payload, size_t len, uint64_t deadline_ms)
{
    pool_job_t *job = s_job_block (self);
    if (!job) {
        return NULL;
    }
    if (s_job_set_payload (job, payload, len) != 0) {
        pool_job_put (self, &job);
        return NULL;
    }
    const char *queue =
        lane < self->lane_count ? self->lanes[lane].spec.name : NULL;
    jobctx_reset (job->ctx, id, attempt, queue, deadline_ms);
    s_job_setup (job, id, attempt, lane);
    return job;
}

void
pool_job_put (pool_t *self, pool_job_t **job_p)
{
    pool_job_t *job = *job_p;
    if (!job) {
        return;
    }
    *job_p = NULL;
    if (self->spare_count >= self->spare_max) {
        pool_job_destroy (&job);
        return;
    }
    s_job_drop_payload (job);
    handler_output_reset (&job->output, POOL_KEEP_BYTES);
    jobctx_reset (job->ctx, 0, 0, NULL, 0); /* closes its cancel fd now */
    job->next = self->spare;
    self->spare = job;
    self->spare_count++;
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
    self->spare_max =
        max_pending < POOL_SPARE_MAX ? max_pending : POOL_SPARE_MAX;
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

/* Unlinks job from the pending list; prev is the job before it, NULL when
 * it is the head. Called with `mutex` held. */
static void
s_pending_unlink (pool_t *self, pool_job_t *prev, pool_job_t *job)
{
    if (prev) {
        prev->next = job->next;
    } else {
        self->pending = job->next;
    }
    if (self->pending_tail == job) {
        self->pending_tail = prev;
    }
    job->next = NULL;
    self->pending_count--;
}

/* Puts a finished job on the completion list; wakes the socket thread if
 * the list was empty. Takes ownership of job. */
static void
s_complete (pool_t *self, pool_job_t *job)
{
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
    pool_job_t *prev = NULL;
    for (pool_job_t *job = self->pending; job; prev = job, job = job->next) {
        s_lane_t *lane = &self->lanes[job->lane];
        if (lane->spec.concurrency == 0 || sem_trywait (&lane->slots) == 0) {
            s_pending_unlink (self, prev, job);
            job->next = self->running;
            self->running = job;
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
        handler_output_reset (&job->output, POOL_KEEP_BYTES);
        job->state = ZJOB__STATE__STATE_CANCELLED;
        handler_fail (&job->output, "cancelled");
    } else if (status == HANDLER_STOPPED) {
        handler_output_reset (&job->output, POOL_KEEP_BYTES);
        job->state = ZJOB__STATE__STATE_TIMED_OUT;
        handler_fail (&job->output, "deadline passed");
    } else {
        job->state = ZJOB__STATE__STATE_FAILED;
    }
}

/* Runs one job on the calling pool thread, then gives back its slots. */
static void
s_execute (pool_t *self, pool_job_t *job)
{
    s_lane_t *lane = &self->lanes[job->lane];
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
    s_job_drop_payload (job);

    if (lane->spec.concurrency) {
        sem_post (&lane->slots);
    }
    sem_post (&self->overall);
}

/* Waits for a job this thread may run; NULL when the pool stops. Called
 * with `mutex` held, which the wait releases meanwhile. */
static pool_job_t *
s_next (pool_t *self)
{
    pool_job_t *job = NULL;
    while (!self->stopping && !(job = s_pick (self))) {
        pthread_cond_wait (&self->work, &self->mutex);
    }
    return job;
}

static void *
s_thread (void *arg)
{
    pool_t *self = arg;
    pool_job_t *job;
    pthread_mutex_lock (&self->mutex);
    while ((job = s_next (self)) != NULL) {
        pthread_mutex_unlock (&self->mutex);
        s_execute (self, job);

        /* From running to done in one step, so that pool_for_each_held
         * never misses a job between the two lists; no wake-up for other
         * threads (see the design notes): this one picks next. */
        pthread_mutex_lock (&self->mutex);
        s_unlink (&self->running, job);
        s_complete (self, job);
        self->busy--;
    }
    pthread_mutex_unlock (&self->mutex);
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
    pool_job_destroy_list (&self->spare);
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
        s_append (&self->pending, &self->pending_tail, job);
        self->pending_count++;
        self->busy++;
        pthread_cond_signal (&self->work);
        *job_p = NULL;
        rc = 0;
    }
    pthread_mutex_unlock (&self->mutex);
    return rc;
}

/* True when job is attempt (0: any) of job id. */
static bool
s_matches (const pool_job_t *job, uint64_t id, uint32_t attempt)
{
    return job->id == id && (attempt == 0 || job->attempt == attempt);
}

/* Finds a job by id and attempt (0: any) in a list. */
static pool_job_t *
s_find (pool_job_t *list, uint64_t id, uint32_t attempt)
{
    for (; list; list = list->next) {
        if (s_matches (list, id, attempt)) {
            return list;
        }
    }
    return NULL;
}

bool
pool_cancel (pool_t *self, uint64_t id, uint32_t attempt)
{
    pthread_mutex_lock (&self->mutex);
    pool_job_t *prev = NULL;
    pool_job_t *job = self->pending;
    while (job && !s_matches (job, id, attempt)) {
        prev = job;
        job = job->next;
    }
    if (job) {
        s_pending_unlink (self, prev, job);
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
    s_job_drop_payload (job);
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
    self->pending_tail = NULL;
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
