/* Admin replies: the registered workers, the queues and the counters;
 * the same lists, packed, are the HTTP side's snapshot. */
#include <stdlib.h>
#include <string.h>

#include "broker/broker_impl.h"
#include "common/clock.h"

/* Sends reply (whatever the caller filled) to peer. */
static void
s_admin_send (broker_t *self, zframe_t *peer, Zjob__AdminReply *reply)
{
    Zjob__Envelope out = ZJOB__ENVELOPE__INIT;
    out.body_case = ZJOB__ENVELOPE__BODY_ADMIN_REPLY;
    out.admin_reply = reply;
    codec_send (self->clients, peer, &out);
}

/* Fills info for worker; queue names are borrowed into names. */
static void
s_worker_info (const worker_t *worker, Zjob__WorkerInfo *info, char **names,
               uint64_t now_ms)
{
    zjob__worker_info__init (info);
    info->name = worker->name;
    for (size_t i = 0; i < worker->queue_count; i++) {
        names[i] = worker->queues[i].queue->name;
    }
    info->n_queues = worker->queue_count;
    info->queues = names;
    info->capacity = worker->capacity;
    info->running = worker->running;
    info->done = worker->done;
    info->idle_ms = now_ms - worker->last_seen_ms;
    info->draining = worker->draining;
}

/* The arrays behind an AdminReply's lists, owned until s_lists_free. */
typedef struct {
    Zjob__WorkerInfo *workers;      /* one entry per registered worker */
    Zjob__WorkerInfo **worker_refs; /* what reply->workers points to */
    char **queue_names;             /* names the worker entries borrow */
    Zjob__QueueInfo *queues;        /* one entry per queue */
    Zjob__QueueInfo **queue_refs;   /* what reply->queues points to */
    Zjob__Stats stats;              /* what reply->stats points to */
} admin_lists_t;

static void
s_lists_free (admin_lists_t *lists)
{
    free (lists->workers);
    free (lists->worker_refs);
    free (lists->queue_names);
    free (lists->queues);
    free (lists->queue_refs);
}

/* Lists every registered worker in reply, borrowing the broker's strings.
 * Returns 0, or -1 when out of memory. */
static int
s_fill_workers (broker_t *self, Zjob__AdminReply *reply, admin_lists_t *lists)
{
    size_t count = zhashx_size (self->worker_index);
    size_t names = 0;
    for (worker_t *w = self->worker_head; w; w = w->next) {
        names += w->queue_count;
    }
    lists->workers = calloc (count + 1, sizeof *lists->workers);
    lists->worker_refs = calloc (count + 1, sizeof *lists->worker_refs);
    lists->queue_names = calloc (names + 1, sizeof *lists->queue_names);
    if (!lists->workers || !lists->worker_refs || !lists->queue_names) {
        return -1;
    }
    uint64_t now_ms = clock_mono_ms ();
    size_t i = 0;
    char **next_names = lists->queue_names;
    for (worker_t *w = self->worker_head; w && i < count; w = w->next) {
        s_worker_info (w, &lists->workers[i], next_names, now_ms);
        next_names += w->queue_count;
        lists->worker_refs[i] = &lists->workers[i];
        i++;
    }
    reply->n_workers = i;
    reply->workers = lists->worker_refs;
    return 0;
}

/* Lists every queue in reply, borrowing the broker's strings. Returns 0,
 * or -1 when out of memory. */
static int
s_fill_queues (broker_t *self, Zjob__AdminReply *reply, admin_lists_t *lists)
{
    size_t count = zhashx_size (self->queues);
    lists->queues = calloc (count + 1, sizeof *lists->queues);
    lists->queue_refs = calloc (count + 1, sizeof *lists->queue_refs);
    if (!lists->queues || !lists->queue_refs) {
        return -1;
    }
    size_t i = 0;
    for (queue_t *q = zhashx_first (self->queues); q && i < count;
         q = zhashx_next (self->queues)) {
        Zjob__QueueInfo *info = &lists->queues[i];
        zjob__queue_info__init (info);
        info->name = q->name;
        info->queued = q->queued;
        info->scheduled = q->scheduled;
        info->running = q->running;
        info->succeeded = q->succeeded;
        info->failed = q->failed;
        info->workers = q->workers;
        lists->queue_refs[i++] = info;
    }
    reply->n_queues = i;
    reply->queues = lists->queue_refs;
    return 0;
}

/* Puts the counters, with the gauges filled in, in reply. */
static void
s_fill_stats (broker_t *self, Zjob__AdminReply *reply, admin_lists_t *lists)
{
    lists->stats = self->stats;
    lists->stats.uptime_ms = clock_mono_ms () - self->started_ms;
    lists->stats.workers = zhashx_size (self->worker_index);
    lists->stats.results_kept = self->results_kept;
    lists->stats.memory_bytes = self->payload_bytes + self->result_bytes;
    reply->stats = &lists->stats;
}

/* Answers WORKERS, QUEUES or STATS (what) with that list. */
static void
s_admin_report (broker_t *self, zframe_t *peer, Zjob__AdminReply *reply,
                Zjob__Admin__What what)
{
    admin_lists_t lists = {0};
    int rc = 0;
    if (what == ZJOB__ADMIN__WHAT__WORKERS) {
        rc = s_fill_workers (self, reply, &lists);
    } else if (what == ZJOB__ADMIN__WHAT__QUEUES) {
        rc = s_fill_queues (self, reply, &lists);
    } else {
        s_fill_stats (self, reply, &lists);
    }
    if (rc == 0) {
        s_admin_send (self, peer, reply);
    }
    s_lists_free (&lists);
}

int
broker_snapshot (broker_t *self, uint8_t **data, size_t *size)
{
    Zjob__AdminReply reply = ZJOB__ADMIN_REPLY__INIT;
    admin_lists_t lists = {0};
    int rc = -1;
    *data = NULL;
    *size = 0;
    if (s_fill_workers (self, &reply, &lists) == 0 &&
        s_fill_queues (self, &reply, &lists) == 0) {
        s_fill_stats (self, &reply, &lists);
        *size = zjob__admin_reply__get_packed_size (&reply);
        *data = malloc (*size + 1);
    }
    if (*data) {
        zjob__admin_reply__pack (&reply, *data);
        rc = 0;
    }
    s_lists_free (&lists);
    return rc;
}

/* Sends jobs[0, count) as the reply's job list. */
static void
s_admin_send_jobs (broker_t *self, zframe_t *peer, Zjob__AdminReply *reply,
                   job_t **jobs, size_t count)
{
    Zjob__JobInfo *infos = calloc (count + 1, sizeof *infos);
    Zjob__JobInfo **pointers = calloc (count + 1, sizeof *pointers);
    if (infos && pointers) {
        for (size_t i = 0; i < count; i++) {
            broker_job_info (jobs[i], &infos[i]);
            /* lists stay small: a result is fetched with status */
            infos[i].result_omitted = infos[i].result.len > 0;
            infos[i].result.len = 0;
            pointers[i] = &infos[i];
        }
        reply->n_jobs = count;
        reply->jobs = pointers;
        s_admin_send (self, peer, reply);
    } else {
        broker_reply_error (self, self->clients, peer,
                            ZJOB__ERROR_CODE__ERR_BUSY, reply->req_id,
                            "broker is out of memory");
    }
    free (pointers);
    free (infos);
}

/* Lists the dead set (newest first), as many as the limit and the
 * message size allow. */
static void
s_admin_dead (broker_t *self, zframe_t *peer, const Zjob__Admin *admin,
              Zjob__AdminReply *reply)
{
    size_t limit = admin->limit ? admin->limit : BROKER_DEAD_LIST;
    if (limit > self->config.limits.max_batch) {
        limit = self->config.limits.max_batch;
    }
    job_t **jobs = calloc (limit + 1, sizeof *jobs);
    size_t count =
        jobs ? broker_dead_list (self, admin->queue, limit, jobs) : 0;
    s_admin_send_jobs (self, peer, reply, jobs, count);
    free (jobs);
}

/* Retries the dead jobs named by id, or every dead job of the queue. */
static void
s_admin_retry (broker_t *self, zframe_t *peer, const Zjob__Admin *admin,
               Zjob__AdminReply *reply)
{
    size_t cap = admin->n_ids ? admin->n_ids : self->config.limits.max_batch;
    job_t **jobs = calloc (cap + 1, sizeof *jobs);
    size_t count = 0;
    if (jobs && admin->n_ids) {
        for (size_t i = 0; i < admin->n_ids; i++) {
            job_t *job = jobtable_find (self->jobs, admin->ids[i]);
            /* retried at once, so that an id given twice is one retry */
            if (job &&
                (!admin->queue[0] ||
                 strcmp (admin->queue, job->queue->name) == 0) &&
                broker_job_retry (self, job) == 0) {
                jobs[count++] = job;
            }
        }
    } else if (jobs) {
        count = broker_dead_list (self, admin->queue, cap, jobs);
        for (size_t i = 0; i < count; i++) {
            broker_job_retry (self, jobs[i]);
        }
    }
    if (count) {
        LOG_INFO ("dead_retried", "jobs=%zu queue=%s", count,
                  admin->queue[0] ? admin->queue : "*");
    }
    s_admin_send_jobs (self, peer, reply, jobs, count);
    free (jobs);
}

void
broker_on_admin (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    Zjob__AdminReply reply = ZJOB__ADMIN_REPLY__INIT;
    reply.req_id = env->admin->req_id;
    switch (env->admin->what) {
        case ZJOB__ADMIN__WHAT__WORKERS:
        case ZJOB__ADMIN__WHAT__QUEUES:
        case ZJOB__ADMIN__WHAT__STATS:
            s_admin_report (self, peer, &reply, env->admin->what);
            break;
        case ZJOB__ADMIN__WHAT__DEAD:
            s_admin_dead (self, peer, env->admin, &reply);
            break;
        case ZJOB__ADMIN__WHAT__RETRY:
            s_admin_retry (self, peer, env->admin, &reply);
            break;
        default:
            broker_reply_error (self, self->clients, peer,
                                ZJOB__ERROR_CODE__ERR_BAD_REQUEST,
                                env->admin->req_id, "unknown admin request %d",
                                env->admin->what);
            break;
    }
}
