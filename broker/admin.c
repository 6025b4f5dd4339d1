/* Admin replies: the registered workers, the queues and the counters. */
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

static void
s_admin_workers (broker_t *self, zframe_t *peer, Zjob__AdminReply *reply)
{
    size_t count = zhashx_size (self->worker_index);
    size_t names = 0;
    for (worker_t *w = self->worker_head; w; w = w->next) {
        names += w->queue_count;
    }
    Zjob__WorkerInfo *infos = calloc (count + 1, sizeof *infos);
    Zjob__WorkerInfo **pointers = calloc (count + 1, sizeof *pointers);
    char **queue_names = calloc (names + 1, sizeof *queue_names);
    if (infos && pointers && queue_names) {
        uint64_t now_ms = clock_mono_ms ();
        size_t i = 0;
        char **next_names = queue_names;
        for (worker_t *w = self->worker_head; w && i < count; w = w->next) {
            s_worker_info (w, &infos[i], next_names, now_ms);
            next_names += w->queue_count;
            pointers[i] = &infos[i];
            i++;
        }
        reply->n_workers = i;
        reply->workers = pointers;
        s_admin_send (self, peer, reply);
    }
    free (queue_names);
    free (pointers);
    free (infos);
}

static void
s_admin_queues (broker_t *self, zframe_t *peer, Zjob__AdminReply *reply)
{
    size_t count = zhashx_size (self->queues);
    Zjob__QueueInfo *infos = calloc (count + 1, sizeof *infos);
    Zjob__QueueInfo **pointers = calloc (count + 1, sizeof *pointers);
    if (infos && pointers) {
        size_t i = 0;
        for (queue_t *q = zhashx_first (self->queues); q && i < count;
             q = zhashx_next (self->queues)) {
            zjob__queue_info__init (&infos[i]);
            infos[i].name = q->name;
            infos[i].queued = q->queued;
            infos[i].scheduled = q->scheduled;
            infos[i].running = q->running;
            infos[i].succeeded = q->succeeded;
            infos[i].failed = q->failed;
            infos[i].workers = q->workers;
            pointers[i] = &infos[i];
            i++;
        }
        reply->n_queues = i;
        reply->queues = pointers;
        s_admin_send (self, peer, reply);
    }
    free (pointers);
    free (infos);
}

static void
s_admin_stats (broker_t *self, zframe_t *peer, Zjob__AdminReply *reply)
{
    Zjob__Stats stats = self->stats;
    stats.uptime_ms = clock_mono_ms () - self->started_ms;
    stats.workers = zhashx_size (self->worker_index);
    stats.results_kept = self->results_kept;
    stats.memory_bytes = self->payload_bytes + self->result_bytes;
    reply->stats = &stats;
    s_admin_send (self, peer, reply);
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
            s_admin_workers (self, peer, &reply);
            break;
        case ZJOB__ADMIN__WHAT__QUEUES:
            s_admin_queues (self, peer, &reply);
            break;
        case ZJOB__ADMIN__WHAT__STATS:
            s_admin_stats (self, peer, &reply);
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
