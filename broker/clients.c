/* Client requests (Submit, Wait, Status, Cancel, Heartbeat) and the batched
 * Results pushes to clients waiting for final states. */
#include <stdlib.h>
#include <string.h>

#include "broker/broker_impl.h"
#include "common/clock.h"

client_t *
broker_client_get (broker_t *self, zframe_t *peer)
{
    char key[BROKER_KEY_LEN];
    broker_peer_key (peer, key);
    client_t *client = zhashx_lookup (self->client_index, key);
    if (client) {
        return client;
    }
    client = calloc (1, sizeof *client);
    if (!client || !(client->routing_id = zframe_dup (peer))) {
        free (client);
        return NULL;
    }
    zhashx_insert (self->client_index, key, client);
    return client;
}

/* Frees client when nothing refers to it and nothing is left to push. */
static void
s_client_release (broker_t *self, client_t *client)
{
    if (client->refs > 0 || client->dirty) {
        return;
    }
    char key[BROKER_KEY_LEN];
    broker_peer_key (client->routing_id, key);
    zhashx_delete (self->client_index, key);
    zframe_destroy (&client->routing_id);
    free (client->pending);
    free (client);
}

void
broker_client_unref (broker_t *self, client_t *client)
{
    if (client->refs > 0) {
        client->refs--;
    }
    s_client_release (self, client);
}

void
broker_client_push (broker_t *self, client_t *client, uint64_t id)
{
    if (client->pending_count == client->pending_capacity) {
        size_t capacity =
            client->pending_capacity ? client->pending_capacity * 2 : 16;
        uint64_t *grown = realloc (client->pending, capacity * sizeof *grown);
        if (!grown) {
            return;
        }
        client->pending = grown;
        client->pending_capacity = capacity;
    }
    client->pending[client->pending_count++] = id;
    if (!client->dirty) {
        client->dirty = true;
        client->next_dirty = self->dirty_clients;
        self->dirty_clients = client;
    }
}

/* Makes client wait for job's final state. Returns 0, or -1 (no memory). */
static int
s_waiter_add (job_t *job, client_t *client)
{
    for (waiter_t *known = job->waiters; known; known = known->next) {
        if (known->client == client) {
            return 0; /* one push per client, however often it asks */
        }
    }
    waiter_t *waiter = malloc (sizeof *waiter);
    if (!waiter) {
        return -1;
    }
    waiter->client = client;
    waiter->next = job->waiters;
    job->waiters = waiter;
    client->refs++;
    return 0;
}

/* Sends pending[from, to) to client as one Results message. */
static void
s_results_send (broker_t *self, client_t *client, size_t from, size_t to)
{
    size_t count = to - from;
    Zjob__JobInfo *infos = calloc (count, sizeof *infos);
    Zjob__JobInfo **pointers = calloc (count, sizeof *pointers);
    if (infos && pointers) {
        for (size_t i = 0; i < count; i++) {
            uint64_t id = client->pending[from + i];
            job_t *job = jobtable_find (self->jobs, id);
            if (job) {
                broker_job_info (job, &infos[i]);
            } else {
                zjob__job_info__init (&infos[i]);
                infos[i].id = id;
            }
            pointers[i] = &infos[i];
        }
        Zjob__Results results = ZJOB__RESULTS__INIT;
        results.n_jobs = count;
        results.jobs = pointers;
        Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
        env.body_case = ZJOB__ENVELOPE__BODY_RESULTS;
        env.results = &results;
        broker_send_durable (self, self->clients, client->routing_id, &env);
    }
    free (pointers);
    free (infos);
}

/* Sends all of client's pending results, split by batch and size limits. */
static void
s_results_flush_client (broker_t *self, client_t *client)
{
    size_t budget = self->config.limits.max_message / 2;
    size_t from = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < client->pending_count; i++) {
        job_t *job = jobtable_find (self->jobs, client->pending[i]);
        size_t size = 64 + (job ? job->result_len : 0);
        bool full = i - from >= self->config.limits.max_batch ||
                    (i > from && bytes + size > budget);
        if (full) {
            s_results_send (self, client, from, i);
            from = i;
            bytes = 0;
        }
        bytes += size;
    }
    if (from < client->pending_count) {
        s_results_send (self, client, from, client->pending_count);
    }
    client->pending_count = 0;
}

void
broker_results_flush (broker_t *self)
{
    while (self->dirty_clients) {
        client_t *client = self->dirty_clients;
        self->dirty_clients = client->next_dirty;
        client->next_dirty = NULL;
        s_results_flush_client (self, client);
        client->dirty = false;
        s_client_release (self, client);
    }
}

/* Sends a reply envelope with the given body to a client, once the
 * journal holds what it reports. */
static void
s_reply (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    if (broker_send_durable (self, self->clients, peer, env) != 0) {
        LOG_DEBUG ("reply_failed", "reason=peer_gone");
    }
}

/* Makes client (when not NULL) hear of job's final state: at once when it
 * is final already (a repeated idempotency key), else when it ends. */
static void
s_notify (broker_t *self, client_t *client, job_t *job)
{
    if (!client) {
        return;
    }
    if (job_is_final (job)) {
        broker_client_push (self, client, job->id);
    } else if (s_waiter_add (job, client) != 0) {
        LOG_WARN ("notify_failed", "job=%" PRIu64, job->id);
    }
}

/* Accepts each job of a Submit; with notify the client waits on each. */
void
broker_on_submit (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    Zjob__Submit *submit = env->submit;
    size_t count = submit->n_jobs;
    Zjob__JobAck *acks = calloc (count ? count : 1, sizeof *acks);
    Zjob__JobAck **pointers = calloc (count ? count : 1, sizeof *pointers);
    char *whys = calloc (count ? count : 1, 128);
    client_t *client = submit->notify ? broker_client_get (self, peer) : NULL;
    if (!acks || !pointers || !whys || (submit->notify && !client)) {
        broker_reply_error (self, self->clients, peer,
                            ZJOB__ERROR_CODE__ERR_BUSY, submit->req_id,
                            "broker is out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        zjob__job_ack__init (&acks[i]);
        pointers[i] = &acks[i];
        char *why = whys + i * 128;
        job_t *job =
            broker_job_accept (self, submit->jobs[i], &acks[i].code, why, 128);
        if (job) {
            acks[i].id = job->id;
            s_notify (self, client, job);
        } else {
            acks[i].error = why;
        }
    }
    Zjob__SubmitReply reply = ZJOB__SUBMIT_REPLY__INIT;
    reply.req_id = submit->req_id;
    reply.n_acks = count;
    reply.acks = pointers;
    Zjob__Envelope out = ZJOB__ENVELOPE__INIT;
    out.body_case = ZJOB__ENVELOPE__BODY_SUBMIT_REPLY;
    out.submit_reply = &reply;
    s_reply (self, peer, &out);
cleanup:
    if (client) {
        s_client_release (self, client);
    }
    free (whys);
    free (pointers);
    free (acks);
}

/* Pushes final (or unknown) jobs at once, others when they end. */
void
broker_on_wait (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    Zjob__Wait *wait = env->wait;
    client_t *client = broker_client_get (self, peer);
    if (!client) {
        broker_reply_error (self, self->clients, peer,
                            ZJOB__ERROR_CODE__ERR_BUSY, wait->req_id,
                            "broker is out of memory");
        return;
    }
    for (size_t i = 0; i < wait->n_ids; i++) {
        job_t *job = jobtable_find (self->jobs, wait->ids[i]);
        if (!job || job_is_final (job) || s_waiter_add (job, client) != 0) {
            broker_client_push (self, client, wait->ids[i]);
        }
    }
    s_client_release (self, client);
}

/* Keeps one reply within the message limit: a result that does not fit in
 * what is left of *budget is left out and marked so, unless it is alone
 * in its reply (asking for it alone is how a client gets it). */
static void
s_fit_result (Zjob__JobInfo *info, size_t *budget, bool alone)
{
    if (alone || info->result.len <= *budget) {
        *budget -= info->result.len < *budget ? info->result.len : *budget;
        return;
    }
    info->result.data = NULL;
    info->result.len = 0;
    info->result_omitted = true;
}

/* Sends a reply holding one JobInfo per id (StatusReply or CancelReply),
 * results included as far as the message limit allows. */
static void
s_reply_infos (broker_t *self, zframe_t *peer, uint64_t req_id,
               const uint64_t *ids, size_t count, bool cancel)
{
    Zjob__JobInfo *infos = calloc (count ? count : 1, sizeof *infos);
    Zjob__JobInfo **pointers = calloc (count ? count : 1, sizeof *pointers);
    if (!infos || !pointers) {
        broker_reply_error (self, self->clients, peer,
                            ZJOB__ERROR_CODE__ERR_BUSY, req_id,
                            "broker is out of memory");
        free (infos);
        free (pointers);
        return;
    }
    size_t budget = self->config.limits.max_message / 2;
    for (size_t i = 0; i < count; i++) {
        job_t *job = jobtable_find (self->jobs, ids[i]);
        zjob__job_info__init (&infos[i]);
        infos[i].id = ids[i];
        if (job) {
            broker_job_info (job, &infos[i]);
            s_fit_result (&infos[i], &budget, count == 1);
        }
        pointers[i] = &infos[i];
    }
    Zjob__StatusReply status = ZJOB__STATUS_REPLY__INIT;
    Zjob__CancelReply cancelled = ZJOB__CANCEL_REPLY__INIT;
    Zjob__Envelope out = ZJOB__ENVELOPE__INIT;
    if (cancel) {
        cancelled.req_id = req_id;
        cancelled.n_jobs = count;
        cancelled.jobs = pointers;
        out.body_case = ZJOB__ENVELOPE__BODY_CANCEL_REPLY;
        out.cancel_reply = &cancelled;
    } else {
        status.req_id = req_id;
        status.n_jobs = count;
        status.jobs = pointers;
        out.body_case = ZJOB__ENVELOPE__BODY_STATUS_REPLY;
        out.status_reply = &status;
    }
    s_reply (self, peer, &out);
    free (pointers);
    free (infos);
}

void
broker_on_status (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    s_reply_infos (self, peer, env->status->req_id, env->status->ids,
                   env->status->n_ids, false);
}

/* Cancels one job: at once when not running, through its worker when it
 * is (the job ends CANCELLED when the worker confirms or the grace ends). */
static void
s_cancel_one (broker_t *self, job_t *job)
{
    switch (job->state) {
        case ZJOB__STATE__STATE_QUEUED:
        case ZJOB__STATE__STATE_SCHEDULED:
            broker_job_transition (self, job, ZJOB__STATE__STATE_CANCELLED);
            break;
        case ZJOB__STATE__STATE_RUNNING:
            if (job->cancel_requested) {
                break;
            }
            job->cancel_requested = true;
            if (!job->worker) {
                /* running before a restart, not claimed yet: nobody to
                 * stop */
                broker_job_transition (self, job, ZJOB__STATE__STATE_CANCELLED);
                break;
            }
            broker_persist_job (self, job);
            job->timer_ms = clock_mono_ms () + BROKER_CANCEL_GRACE_MS;
            timer_heap_push (self->timers, job->timer_ms, job->id,
                             TIMER_CANCEL);
            if (job->worker && dispatch_worker_cancel_add (job->worker, job->id,
                                                           job->attempt) == 0) {
                self->cancels_pending = true;
            }
            break;
        default:
            break;
    }
}

void
broker_on_cancel (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    Zjob__Cancel *cancel = env->cancel;
    for (size_t i = 0; i < cancel->n_ids; i++) {
        job_t *job = jobtable_find (self->jobs, cancel->ids[i]);
        if (job) {
            s_cancel_one (self, job);
        }
    }
    s_reply_infos (self, peer, cancel->req_id, cancel->ids, cancel->n_ids,
                   true);
}

void
broker_on_client_heartbeat (broker_t *self, zframe_t *peer, Zjob__Envelope *env)
{
    Zjob__Heartbeat beat;
    Zjob__Envelope out;
    codec_heartbeat (&out, &beat);
    beat.instance = self->instance;
    codec_send (self->clients, peer, &out);
}
