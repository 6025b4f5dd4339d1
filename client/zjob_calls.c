/* libzjob: the blocking calls (submit, wait, status, cancel, admin). */
#include "client/client_internal.h"

#include <stdlib.h>
#include <string.h>

#include "client/admin_wire.h"
#include "common/clock.h"

/* Jobs per Submit: the batch limit, and about half the frame limit in
 * payload bytes so the message stays under ZMQ_MAXMSGSIZE. */
static size_t
s_batch_end (const zjob_spec_t *specs, size_t start, size_t n,
             const codec_limits_t *limits)
{
    size_t bytes = 0;
    size_t end = start;
    while (end < n && end - start < limits->max_batch) {
        bytes += specs[end].payload_len + 64;
        if (end > start && bytes > limits->max_message / 2) {
            break;
        }
        end++;
    }
    return end;
}

/* Copies the acks of one SubmitReply into the caller's arrays; the first
 * refused job's reason becomes the client's error detail. */
static zjob_err_t
s_take_acks (zjob_client_t *client, const Zjob__SubmitReply *reply,
             size_t count, uint64_t *ids_out, zjob_err_t *errs_out)
{
    if (reply->n_acks != count) {
        return client_fail (client, ZJOB_EPROTO,
                            "broker acknowledged %zu of %zu jobs",
                            reply->n_acks, count);
    }
    for (size_t i = 0; i < count; i++) {
        const Zjob__JobAck *ack = reply->acks[i];
        zjob_err_t err = client_err_from_code (ack->code);
        if (err == ZJOB_OK && ack->id == 0) {
            err = ZJOB_EPROTO;
        }
        ids_out[i] = err == ZJOB_OK ? ack->id : 0;
        errs_out[i] = err;
        if (err != ZJOB_OK && client->error[0] == '\0') {
            client_fail (client, err, "%s", ack->error ? ack->error : "");
        }
    }
    return ZJOB_OK;
}

/* Submits specs[start, end) in one round trip. */
static zjob_err_t
s_submit_batch (zjob_client_t *client, const zjob_spec_t *specs, size_t count,
                uint64_t *ids_out, zjob_err_t *errs_out)
{
    Zjob__JobSpec *wire = calloc (count, sizeof *wire);
    Zjob__JobSpec **ptrs = calloc (count, sizeof *ptrs);
    char *keys = calloc (count, ZJOB_KEY_LEN);
    zjob_err_t err = (wire && ptrs && keys) ? ZJOB_OK : ZJOB_ENOMEM;
    for (size_t i = 0; err == ZJOB_OK && i < count; i++) {
        err = client_spec_to_wire (client, &specs[i], &wire[i],
                                   keys + i * ZJOB_KEY_LEN);
        ptrs[i] = &wire[i];
    }
    Zjob__Submit submit = ZJOB__SUBMIT__INIT;
    submit.req_id = client_req_id (client);
    submit.n_jobs = count;
    submit.jobs = ptrs;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_SUBMIT;
    env.submit = &submit;

    /* client_request sends the same envelope again when needed: same
     * req_id, same keys. */
    Zjob__Envelope *reply = NULL;
    if (err == ZJOB_OK) {
        err = client_request (client, &env, submit.req_id, &reply);
    }
    if (err == ZJOB_OK &&
        reply->body_case != ZJOB__ENVELOPE__BODY_SUBMIT_REPLY) {
        err = client_fail (client, ZJOB_EPROTO, "unexpected reply to Submit");
    }
    if (err == ZJOB_OK) {
        err =
            s_take_acks (client, reply->submit_reply, count, ids_out, errs_out);
    }
    codec_free (&reply);
    free (keys);
    free (ptrs);
    free (wire);
    return err;
}

zjob_err_t
zjob_submit (zjob_client_t *client, const zjob_spec_t *specs, size_t n,
             uint64_t *ids_out, zjob_err_t *errs_out)
{
    if (!client || (n && (!specs || !ids_out))) {
        return ZJOB_EINVAL;
    }
    zjob_err_t *errs = errs_out ? errs_out : calloc (n ? n : 1, sizeof *errs);
    if (!errs) {
        return ZJOB_ENOMEM;
    }
    memset (ids_out, 0, n * sizeof *ids_out);
    client->error[0] = '\0';
    zjob_err_t err = ZJOB_OK;
    for (size_t start = 0; err == ZJOB_OK && start < n;) {
        size_t end = s_batch_end (specs, start, n, &client->limits);
        err = s_submit_batch (client, specs + start, end - start,
                              ids_out + start, errs + start);
        start = end;
    }
    for (size_t i = 0; !errs_out && err == ZJOB_OK && i < n; i++) {
        err = errs[i];
    }
    if (errs != errs_out) {
        free (errs);
    }
    return err;
}

/* Ids still awaited by zjob_wait: a sorted array with done flags. */
typedef struct {
    uint64_t *ids; /* sorted, distinct */
    bool *done;    /* per id: already reported */
    size_t count;  /* distinct ids */
    size_t left;   /* ids not yet reported */
} s_waitset_t;

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a;
    uint64_t y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

/* Builds the set of distinct ids; returns false when out of memory. */
static bool
s_waitset_init (s_waitset_t *set, const uint64_t *ids, size_t n)
{
    set->ids = malloc ((n ? n : 1) * sizeof *set->ids);
    set->done = calloc (n ? n : 1, sizeof *set->done);
    if (!set->ids || !set->done) {
        free (set->ids);
        free (set->done);
        return false;
    }
    memcpy (set->ids, ids, n * sizeof *ids);
    qsort (set->ids, n, sizeof *set->ids, s_cmp_u64);
    set->count = 0;
    for (size_t i = 0; i < n; i++) {
        if (set->count == 0 || set->ids[set->count - 1] != set->ids[i]) {
            set->ids[set->count++] = set->ids[i];
        }
    }
    set->left = set->count;
    return true;
}

/* Marks id reported; returns true when it was awaited and not yet done. */
static bool
s_waitset_take (s_waitset_t *set, uint64_t id)
{
    uint64_t *hit = bsearch (&id, set->ids, set->count, sizeof id, s_cmp_u64);
    if (!hit || set->done[hit - set->ids]) {
        return false;
    }
    set->done[hit - set->ids] = true;
    set->left--;
    return true;
}

/* Sends Wait for the ids of the set not reported yet. */
static zjob_err_t
s_send_waits (zjob_client_t *client, const s_waitset_t *set)
{
    uint64_t *left = malloc ((set->left ? set->left : 1) * sizeof *left);
    if (!left) {
        return ZJOB_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < set->count; i++) {
        if (!set->done[i]) {
            left[n++] = set->ids[i];
        }
    }
    zjob_err_t err = client_send_waits (client, left, n);
    free (left);
    return err;
}

/* Reports the awaited jobs of one message; an Error ends the wait. */
static zjob_err_t
s_wait_handle (zjob_client_t *client, s_waitset_t *set,
               const Zjob__Envelope *env, zjob_info_fn *fn, void *arg)
{
    if (env->body_case == ZJOB__ENVELOPE__BODY_ERROR) {
        zjob_err_t err = client_err_from_code (env->error->code);
        return client_fail (client, err ? err : ZJOB_EPROTO, "broker: %s",
                            env->error->message);
    }
    if (env->body_case != ZJOB__ENVELOPE__BODY_RESULTS) {
        return ZJOB_OK;
    }
    for (size_t i = 0; i < env->results->n_jobs; i++) {
        const Zjob__JobInfo *wire = env->results->jobs[i];
        if (s_waitset_take (set, wire->id)) {
            zjob_info_t info;
            client_info_from_wire (wire, &info);
            fn (&info, arg);
        }
    }
    return ZJOB_OK;
}

zjob_err_t
zjob_wait (zjob_client_t *client, const uint64_t *ids, size_t n,
           int64_t timeout_ms, zjob_info_fn *fn, void *arg)
{
    if (!client || !fn || (n && !ids)) {
        return ZJOB_EINVAL;
    }
    client->error[0] = '\0';
    s_waitset_t set;
    if (!s_waitset_init (&set, ids, n)) {
        return ZJOB_ENOMEM;
    }
    uint64_t deadline =
        timeout_ms < 0 ? UINT64_MAX : clock_mono_ms () + (uint64_t) timeout_ms;
    zjob_err_t err = s_send_waits (client, &set);
    uint64_t epoch = client->epoch;
    client_expect (client);
    while (err == ZJOB_OK && set.left > 0) {
        Zjob__Envelope *env = NULL;
        err = client_recv (client, deadline, timeout_ms >= 0, &env);
        if (err == ZJOB_OK && client->epoch != epoch) {
            epoch = client->epoch; /* a new broker knows no waiters */
            err = s_send_waits (client, &set);
        }
        if (err == ZJOB_OK) {
            err = s_wait_handle (client, &set, env, fn, arg);
        }
        codec_free (&env);
    }
    if (err == ZJOB_ETIMEDOUT) {
        client_fail (client, err, "%zu of %zu jobs not final after %lld ms",
                     set.left, set.count, (long long) timeout_ms);
    }
    free (set.ids);
    free (set.done);
    return err;
}

/* Finds the jobs of a CancelReply (cancel) or StatusReply; returns false
 * when reply is neither. */
static bool
s_reply_jobs (const Zjob__Envelope *reply, bool cancel, Zjob__JobInfo ***jobs,
              size_t *n_jobs)
{
    if (cancel && reply->body_case == ZJOB__ENVELOPE__BODY_CANCEL_REPLY) {
        *jobs = reply->cancel_reply->jobs;
        *n_jobs = reply->cancel_reply->n_jobs;
        return true;
    }
    if (!cancel && reply->body_case == ZJOB__ENVELOPE__BODY_STATUS_REPLY) {
        *jobs = reply->status_reply->jobs;
        *n_jobs = reply->status_reply->n_jobs;
        return true;
    }
    return false;
}

/* Sends Status or Cancel for ids[0, count) and reports the reply's jobs. */
static zjob_err_t
s_ids_request (zjob_client_t *client, bool cancel, const uint64_t *ids,
               size_t count, zjob_info_fn *fn, void *arg)
{
    Zjob__Status status = ZJOB__STATUS__INIT;
    Zjob__Cancel cancel_msg = ZJOB__CANCEL__INIT;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    uint64_t req_id = client_req_id (client);
    if (cancel) {
        cancel_msg.req_id = req_id;
        cancel_msg.n_ids = count;
        cancel_msg.ids = (uint64_t *) ids;
        env.body_case = ZJOB__ENVELOPE__BODY_CANCEL;
        env.cancel = &cancel_msg;
    } else {
        status.req_id = req_id;
        status.n_ids = count;
        status.ids = (uint64_t *) ids;
        env.body_case = ZJOB__ENVELOPE__BODY_STATUS;
        env.status = &status;
    }
    Zjob__Envelope *reply = NULL;
    zjob_err_t err = client_request (client, &env, req_id, &reply);
    if (err != ZJOB_OK) {
        return err;
    }
    Zjob__JobInfo **jobs = NULL;
    size_t n_jobs = 0;
    if (!s_reply_jobs (reply, cancel, &jobs, &n_jobs)) {
        err = client_fail (client, ZJOB_EPROTO, "unexpected reply");
    }
    for (size_t i = 0; i < n_jobs; i++) {
        zjob_info_t info;
        client_info_from_wire (jobs[i], &info);
        fn (&info, arg);
    }
    codec_free (&reply);
    return err;
}

/* Runs s_ids_request over ids in batches of the limit. */
static zjob_err_t
s_ids_batches (zjob_client_t *client, bool cancel, const uint64_t *ids,
               size_t n, zjob_info_fn *fn, void *arg)
{
    if (!client || !fn || (n && !ids)) {
        return ZJOB_EINVAL;
    }
    client->error[0] = '\0';
    for (size_t start = 0; start < n; start += client->limits.max_batch) {
        size_t count = n - start;
        if (count > client->limits.max_batch) {
            count = client->limits.max_batch;
        }
        zjob_err_t err =
            s_ids_request (client, cancel, ids + start, count, fn, arg);
        if (err != ZJOB_OK) {
            return err;
        }
    }
    return ZJOB_OK;
}

zjob_err_t
zjob_status (zjob_client_t *client, const uint64_t *ids, size_t n,
             zjob_info_fn *fn, void *arg)
{
    return s_ids_batches (client, false, ids, n, fn, arg);
}

zjob_err_t
zjob_cancel (zjob_client_t *client, const uint64_t *ids, size_t n,
             zjob_info_fn *fn, void *arg)
{
    return s_ids_batches (client, true, ids, n, fn, arg);
}

/* Sends admin (its req_id is set here) and returns its AdminReply in
 * *reply. */
static zjob_err_t
s_admin_send (zjob_client_t *client, Zjob__Admin *admin, Zjob__Envelope **reply)
{
    admin->req_id = client_req_id (client);
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_ADMIN;
    env.admin = admin;
    zjob_err_t err = client_request (client, &env, admin->req_id, reply);
    if (err == ZJOB_OK &&
        (*reply)->body_case != ZJOB__ENVELOPE__BODY_ADMIN_REPLY) {
        codec_free (reply);
        err = client_fail (client, ZJOB_EPROTO, "unexpected reply to Admin");
    }
    return err;
}

/* Sends Admin{what} and returns its AdminReply in *reply. */
static zjob_err_t
s_admin (zjob_client_t *client, Zjob__Admin__What what, Zjob__Envelope **reply)
{
    client->error[0] = '\0';
    Zjob__Admin admin = ZJOB__ADMIN__INIT;
    admin.what = what;
    return s_admin_send (client, &admin, reply);
}

/* Sends admin and calls fn with each job of its reply. */
static zjob_err_t
s_admin_jobs (zjob_client_t *client, Zjob__Admin *admin, zjob_info_fn *fn,
              void *arg)
{
    Zjob__Envelope *reply = NULL;
    zjob_err_t err = s_admin_send (client, admin, &reply);
    for (size_t i = 0; err == ZJOB_OK && i < reply->admin_reply->n_jobs; i++) {
        zjob_info_t info;
        client_info_from_wire (reply->admin_reply->jobs[i], &info);
        fn (&info, arg);
    }
    codec_free (&reply);
    return err;
}

zjob_err_t
zjob_dead_list (zjob_client_t *client, const char *queue, uint32_t limit,
                zjob_info_fn *fn, void *arg)
{
    if (!client || !fn) {
        return ZJOB_EINVAL;
    }
    client->error[0] = '\0';
    Zjob__Admin admin = ZJOB__ADMIN__INIT;
    admin.what = ZJOB__ADMIN__WHAT__DEAD;
    admin.queue = (char *) (queue ? queue : "");
    admin.limit = limit;
    return s_admin_jobs (client, &admin, fn, arg);
}

zjob_err_t
zjob_dead_retry (zjob_client_t *client, const char *queue, const uint64_t *ids,
                 size_t n, zjob_info_fn *fn, void *arg)
{
    if (!client || !fn || (n && !ids)) {
        return ZJOB_EINVAL;
    }
    client->error[0] = '\0';
    Zjob__Admin admin = ZJOB__ADMIN__INIT;
    admin.what = ZJOB__ADMIN__WHAT__RETRY;
    admin.queue = (char *) (queue ? queue : "");
    zjob_err_t err = ZJOB_OK;
    size_t start = 0;
    do {
        size_t count = n - start;
        if (count > client->limits.max_batch) {
            count = client->limits.max_batch;
        }
        admin.n_ids = count;
        admin.ids = ids ? (uint64_t *) ids + start : NULL;
        err = s_admin_jobs (client, &admin, fn, arg);
        start += count;
    } while (err == ZJOB_OK && start < n);
    return err;
}

zjob_err_t
zjob_workers (zjob_client_t *client,
              void (*fn) (const zjob_worker_info_t *worker, void *arg),
              void *arg)
{
    Zjob__Envelope *reply = NULL;
    zjob_err_t err = s_admin (client, ZJOB__ADMIN__WHAT__WORKERS, &reply);
    for (size_t i = 0; err == ZJOB_OK && i < reply->admin_reply->n_workers;
         i++) {
        const Zjob__WorkerInfo *wire = reply->admin_reply->workers[i];
        zjob_worker_info_t worker;
        admin_wire_worker (wire, &worker);
        fn (&worker, arg);
    }
    codec_free (&reply);
    return err;
}

zjob_err_t
zjob_queues (zjob_client_t *client,
             void (*fn) (const zjob_queue_info_t *queue, void *arg), void *arg)
{
    Zjob__Envelope *reply = NULL;
    zjob_err_t err = s_admin (client, ZJOB__ADMIN__WHAT__QUEUES, &reply);
    for (size_t i = 0; err == ZJOB_OK && i < reply->admin_reply->n_queues;
         i++) {
        const Zjob__QueueInfo *wire = reply->admin_reply->queues[i];
        zjob_queue_info_t queue;
        admin_wire_queue (wire, &queue);
        fn (&queue, arg);
    }
    codec_free (&reply);
    return err;
}

zjob_err_t
zjob_stats (zjob_client_t *client, zjob_stats_t *stats)
{
    Zjob__Envelope *reply = NULL;
    zjob_err_t err = s_admin (client, ZJOB__ADMIN__WHAT__STATS, &reply);
    memset (stats, 0, sizeof *stats);
    const Zjob__Stats *wire = err == ZJOB_OK ? reply->admin_reply->stats : NULL;
    if (wire) {
        admin_wire_stats (wire, stats);
    }
    codec_free (&reply);
    return err;
}
