/* libzjob: the pipelined path. Submits go out without waiting; acks and
 * results come back through zjob_client_poll as events.
 *
 * The client counts what it still expects (acks of sent batches, results
 * of accepted jobs) so that polling can tell a quiet broker from a dead one:
 * only while something is expected does it heartbeat and apply liveness. */
#include "client/client_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"

/* Messages delivered per poll at most, so one poll call always returns. */
#define ASYNC_DRAIN_MAX 1024

/* Remembers an outstanding batch; false when out of memory. */
static bool
s_batch_push (zjob_client_t *client, uint64_t req_id, size_t count)
{
    if (client->n_batches == client->cap_batches) {
        size_t cap = client->cap_batches ? client->cap_batches * 2 : 16;
        client_batch_t *grown = realloc (client->batches, cap * sizeof *grown);
        if (!grown) {
            return false;
        }
        client->batches = grown;
        client->cap_batches = cap;
    }
    client->batches[client->n_batches++] = (client_batch_t){
        .req_id = req_id, .count = count, .sent_ms = clock_mono_ms ()};
    return true;
}

/* Forgets the batch req_id; returns its job count, 0 when unknown. */
static size_t
s_batch_pop (zjob_client_t *client, uint64_t req_id)
{
    for (size_t i = 0; i < client->n_batches; i++) {
        if (client->batches[i].req_id == req_id) {
            size_t count = client->batches[i].count;
            client->batches[i] = client->batches[--client->n_batches];
            client->pending_acks -= count;
            return count;
        }
    }
    return 0;
}

zjob_err_t
zjob_submit_async (zjob_client_t *client, const zjob_spec_t *specs, size_t n,
                   uint64_t *req_id_out)
{
    if (!client || !specs || n == 0 || n > client->limits.max_batch) {
        return ZJOB_EINVAL;
    }
    Zjob__JobSpec *wire = calloc (n, sizeof *wire);
    Zjob__JobSpec **ptrs = calloc (n, sizeof *ptrs);
    zjob_err_t err = (wire && ptrs) ? ZJOB_OK : ZJOB_ENOMEM;
    for (size_t i = 0; err == ZJOB_OK && i < n; i++) {
        err = client_spec_to_wire (client, &specs[i], &wire[i]);
        ptrs[i] = &wire[i];
    }
    Zjob__Submit submit = ZJOB__SUBMIT__INIT;
    submit.req_id = client_req_id (client);
    submit.n_jobs = n;
    submit.jobs = ptrs;
    submit.notify = true;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_SUBMIT;
    env.submit = &submit;
    size_t size = err == ZJOB_OK ? zjob__envelope__get_packed_size (&env) : 0;
    if (err == ZJOB_OK && size > client->limits.max_message) {
        err = client_fail (client, ZJOB_ETOOLARGE,
                           "a batch of %zu jobs is %zu bytes, over the "
                           "message limit of %zu",
                           n, size, client->limits.max_message);
    }
    if (err == ZJOB_OK && !s_batch_push (client, submit.req_id, n)) {
        err = ZJOB_ENOMEM;
    }
    if (err == ZJOB_OK && (err = client_send (client, &env)) != ZJOB_OK) {
        client->n_batches--;
    }
    if (err == ZJOB_OK) {
        client_expect (client);
        client->pending_acks += n;
        if (req_id_out) {
            *req_id_out = submit.req_id;
        }
    }
    free (ptrs);
    free (wire);
    return err;
}

/* Delivers one ACK event per job of a SubmitReply. */
static void
s_deliver_acks (zjob_client_t *client, const Zjob__SubmitReply *reply,
                zjob_event_fn *fn, void *arg)
{
    if (s_batch_pop (client, reply->req_id) == 0) {
        return; /* not ours (a blocking call's late reply) */
    }
    for (size_t i = 0; i < reply->n_acks; i++) {
        const Zjob__JobAck *ack = reply->acks[i];
        zjob_event_t event = {.type = ZJOB_EVENT_ACK,
                              .req_id = reply->req_id,
                              .index = i,
                              .id = ack->id,
                              .err = client_err_from_code (ack->code),
                              .error = ack->error ? ack->error : ""};
        if (event.err == ZJOB_OK && event.id == 0) {
            event.err = ZJOB_EPROTO;
        }
        if (event.err == ZJOB_OK) {
            client->pending_results++;
        } else {
            event.id = 0;
        }
        fn (&event, arg);
    }
}

/* Delivers one RESULT event per job of a Results message. */
static void
s_deliver_results (zjob_client_t *client, const Zjob__Results *results,
                   zjob_event_fn *fn, void *arg)
{
    for (size_t i = 0; i < results->n_jobs; i++) {
        zjob_info_t info;
        client_info_from_wire (results->jobs[i], &info);
        zjob_event_t event = {.type = ZJOB_EVENT_RESULT, .info = &info};
        if (client->pending_results > 0) {
            client->pending_results--;
        }
        fn (&event, arg);
    }
}

/* Turns one message into events. */
static void
s_deliver (zjob_client_t *client, const Zjob__Envelope *env, zjob_event_fn *fn,
           void *arg)
{
    if (env->body_case == ZJOB__ENVELOPE__BODY_SUBMIT_REPLY) {
        s_deliver_acks (client, env->submit_reply, fn, arg);
    } else if (env->body_case == ZJOB__ENVELOPE__BODY_RESULTS) {
        s_deliver_results (client, env->results, fn, arg);
    } else if (env->body_case == ZJOB__ENVELOPE__BODY_ERROR) {
        const Zjob__Error *error = env->error;
        s_batch_pop (client, error->req_id);
        zjob_err_t err = client_err_from_code (error->code);
        zjob_event_t event = {.type = ZJOB_EVENT_ERROR,
                              .req_id = error->req_id,
                              .err = err ? err : ZJOB_EPROTO,
                              .error = error->message ? error->message : ""};
        fn (&event, arg);
    }
}

/* Waits for the first message when nothing is expected: no liveness. */
static zjob_err_t
s_wait_idle (zjob_client_t *client, int timeout_ms, Zjob__Envelope **env)
{
    zmq_pollitem_t item = {zsock_resolve (client->dealer), 0, ZMQ_POLLIN, 0};
    if (timeout_ms != 0) {
        zmq_poll (&item, 1, timeout_ms < 0 ? -1 : timeout_ms);
    }
    return client_recv (client, 0, env);
}

/* Fails with ZJOB_ETIMEDOUT when a batch has waited too long for its ack:
 * the broker is alive (it answers heartbeats) but dropped that message. */
static zjob_err_t
s_check_acks (zjob_client_t *client)
{
    uint64_t limit_ms = (uint64_t) client->timeout_ms * ZJOB_ACK_TIMEOUT_FACTOR;
    uint64_t now_ms = clock_mono_ms ();
    for (size_t i = 0; i < client->n_batches; i++) {
        if (now_ms - client->batches[i].sent_ms > limit_ms) {
            return client_fail (client, ZJOB_ETIMEDOUT,
                                "the broker did not acknowledge a batch of "
                                "%zu jobs in %llu ms (over its message "
                                "limit?)",
                                client->batches[i].count,
                                (unsigned long long) limit_ms);
        }
    }
    return ZJOB_OK;
}

zjob_err_t
zjob_client_poll (zjob_client_t *client, int timeout_ms, zjob_event_fn *fn,
                  void *arg)
{
    if (!client || !fn) {
        return ZJOB_EINVAL;
    }
    Zjob__Envelope *env = NULL;
    zjob_err_t err;
    if (zjob_client_pending (client) > 0) {
        uint64_t deadline = timeout_ms < 0
                                ? UINT64_MAX
                                : clock_mono_ms () + (uint64_t) timeout_ms;
        err = client_recv (client, deadline, &env);
    } else {
        err = s_wait_idle (client, timeout_ms, &env);
    }
    for (int count = 0; err == ZJOB_OK && count < ASYNC_DRAIN_MAX; count++) {
        s_deliver (client, env, fn, arg);
        codec_free (&env);
        err = client_recv (client, 0, &env);
    }
    codec_free (&env);
    return err == ZJOB_ETIMEDOUT ? s_check_acks (client) : err;
}
