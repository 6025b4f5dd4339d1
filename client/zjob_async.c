/* libzjob: the pipelined path. Submits go out without waiting; acks and
 * results come back through zjob_client_poll as events.
 *
 * The client tracks what it still expects (acks of sent batches, results
 * of accepted jobs) so that polling can tell a quiet broker from a dead one:
 * only while something is expected does it heartbeat and apply liveness.
 *
 * Riding through a broker restart: each batch is kept encoded until its
 * SubmitReply, and the ids of accepted jobs whose result is due are kept
 * in client->awaited. When the client epoch moves (a new broker instance,
 * or answers after silence), every kept batch is sent again as it was
 * (same req_id and keys, so the broker returns the jobs it has) and Wait
 * goes out for every awaited id. Copies of results that this can bring
 * are dropped: a result is delivered when its id is awaited, or when a
 * batch is unacknowledged and the id was not delivered recently (a result
 * may overtake its ack; its id goes to client->early so that the ack does
 * not wait for it again). */
#include "client/client_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"

/* Messages delivered per poll at most, so one poll call always returns. */
#define ASYNC_DRAIN_MAX 1024

/* Remembers an outstanding batch, taking packed; false when out of
 * memory (packed is then the caller's still). */
static bool
s_batch_push (zjob_client_t *client, uint64_t req_id, size_t count,
              uint8_t *packed, size_t packed_len)
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
    client->batches[client->n_batches++] =
        (client_batch_t){.req_id = req_id,
                         .count = count,
                         .sent_ms = clock_mono_ms (),
                         .packed = packed,
                         .packed_len = packed_len};
    return true;
}

/* Sends packed bytes as one message; returns ZJOB_OK or
 * ZJOB_EUNREACHABLE. */
static zjob_err_t
s_send_packed (zjob_client_t *client, const uint8_t *packed, size_t len)
{
    if (zmq_send (zsock_resolve (client->dealer), packed, len, ZMQ_DONTWAIT) <
        0) {
        return client_fail (client, ZJOB_EUNREACHABLE, "cannot send to %s: %s",
                            client->endpoint, zmq_strerror (zmq_errno ()));
    }
    return ZJOB_OK;
}

/* Forgets the batch req_id; returns its job count, 0 when unknown. */
static size_t
s_batch_pop (zjob_client_t *client, uint64_t req_id)
{
    for (size_t i = 0; i < client->n_batches; i++) {
        if (client->batches[i].req_id == req_id) {
            size_t count = client->batches[i].count;
            free (client->batches[i].packed);
            client->batches[i] = client->batches[--client->n_batches];
            client->pending_acks -= count;
            return count;
        }
    }
    return 0;
}

/* Encodes a Submit of specs[0, n) with notify set into a new buffer;
 * returns ZJOB_OK with *packed (caller frees) and *len, or an error. */
static zjob_err_t
s_pack_submit (zjob_client_t *client, const zjob_spec_t *specs, size_t n,
               uint64_t req_id, uint8_t **packed, size_t *len)
{
    Zjob__JobSpec *wire = calloc (n, sizeof *wire);
    Zjob__JobSpec **ptrs = calloc (n, sizeof *ptrs);
    char *keys = calloc (n, ZJOB_KEY_LEN);
    zjob_err_t err = (wire && ptrs && keys) ? ZJOB_OK : ZJOB_ENOMEM;
    for (size_t i = 0; err == ZJOB_OK && i < n; i++) {
        err = client_spec_to_wire (client, &specs[i], &wire[i],
                                   keys + i * ZJOB_KEY_LEN);
        ptrs[i] = &wire[i];
    }
    Zjob__Submit submit = ZJOB__SUBMIT__INIT;
    submit.req_id = req_id;
    submit.n_jobs = n;
    submit.jobs = ptrs;
    submit.notify = true;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.major = ZJOB_PROTO_MAJOR;
    env.minor = ZJOB_PROTO_MINOR;
    env.body_case = ZJOB__ENVELOPE__BODY_SUBMIT;
    env.submit = &submit;
    *len = err == ZJOB_OK ? zjob__envelope__get_packed_size (&env) : 0;
    if (err == ZJOB_OK && *len > client->limits.max_message) {
        err = client_fail (client, ZJOB_ETOOLARGE,
                           "a batch of %zu jobs is %zu bytes, over the "
                           "message limit of %zu",
                           n, *len, client->limits.max_message);
    }
    if (err == ZJOB_OK && !(*packed = malloc (*len ? *len : 1))) {
        err = ZJOB_ENOMEM;
    }
    if (err == ZJOB_OK) {
        zjob__envelope__pack (&env, *packed);
    }
    free (keys);
    free (ptrs);
    free (wire);
    return err;
}

zjob_err_t
zjob_submit_async (zjob_client_t *client, const zjob_spec_t *specs, size_t n,
                   uint64_t *req_id_out)
{
    if (!client || !specs || n == 0 || n > client->limits.max_batch) {
        return ZJOB_EINVAL;
    }
    uint64_t req_id = client_req_id (client);
    uint8_t *packed = NULL;
    size_t len = 0;
    zjob_err_t err = s_pack_submit (client, specs, n, req_id, &packed, &len);
    if (err == ZJOB_OK && (err = s_send_packed (client, packed, len)) == 0 &&
        !s_batch_push (client, req_id, n, packed, len)) {
        err = ZJOB_ENOMEM; /* sent but not tracked: its acks are ignored */
    }
    if (err != ZJOB_OK) {
        free (packed);
        return err;
    }
    client_expect (client);
    client->pending_acks += n;
    if (req_id_out) {
        *req_id_out = req_id;
    }
    return ZJOB_OK;
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
        uint64_t unused;
        if (event.err != ZJOB_OK) {
            event.id = 0;
        } else if (!client_idmap_take (client->early, event.id, &unused)) {
            client_idmap_put (client->awaited, event.id, 0);
        }
        fn (&event, arg);
    }
}

/* Remembers id as delivered, forgetting the oldest beyond the ring. */
static void
s_recent_add (zjob_client_t *client, uint64_t id)
{
    uint64_t *slot = &client->recent_ring[client->recent_next];
    uint64_t unused;
    if (*slot) {
        client_idmap_take (client->recent, *slot, &unused);
    }
    *slot = id;
    client_idmap_put (client->recent, id, 0);
    client->recent_next = (client->recent_next + 1) % CLIENT_RECENT_MAX;
}

/* Decides whether the result of id is delivered (see the notes on top). */
static bool
s_result_wanted (zjob_client_t *client, uint64_t id)
{
    uint64_t unused;
    bool wanted = client_idmap_take (client->awaited, id, &unused);
    if (!wanted && client->n_batches > 0 &&
        !client_idmap_has (client->recent, id)) {
        wanted = client_idmap_put (client->early, id, 0) == 0;
    }
    if (wanted) {
        s_recent_add (client, id);
    }
    return wanted;
}

/* Delivers one RESULT event per wanted job of a Results message. */
static void
s_deliver_results (zjob_client_t *client, const Zjob__Results *results,
                   zjob_event_fn *fn, void *arg)
{
    for (size_t i = 0; i < results->n_jobs; i++) {
        if (!s_result_wanted (client, results->jobs[i]->id)) {
            continue;
        }
        zjob_info_t info;
        client_info_from_wire (results->jobs[i], &info);
        zjob_event_t event = {.type = ZJOB_EVENT_RESULT, .info = &info};
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
    return client_recv_queued (client, env);
}

/* Fails with ZJOB_ETIMEDOUT when a batch has waited too long for its ack:
 * the broker is alive (it answers heartbeats) but dropped that message. */
static zjob_err_t
s_check_acks (zjob_client_t *client)
{
    uint64_t limit_ms = (uint64_t) client->timeout_ms * ZJOB_ACK_TIMEOUT_FACTOR;
    uint64_t now_ms = clock_mono_ms ();
    for (size_t i = 0; client->down && i < client->n_batches; i++) {
        client->batches[i].sent_ms = now_ms; /* the broker's fault, not the
                                                batch's: wait for it */
    }
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

/* Sends again what a restarted (or returning) broker may not have: every
 * unacknowledged batch as it was, and Wait for every awaited id. */
static zjob_err_t
s_resume (zjob_client_t *client)
{
    client->async_epoch = client->epoch;
    uint64_t now_ms = clock_mono_ms ();
    zjob_err_t err = ZJOB_OK;
    for (size_t i = 0; err == ZJOB_OK && i < client->n_batches; i++) {
        client_batch_t *batch = &client->batches[i];
        batch->sent_ms = now_ms;
        err = s_send_packed (client, batch->packed, batch->packed_len);
    }
    size_t n = client_idmap_size (client->awaited);
    uint64_t *ids = malloc ((n ? n : 1) * sizeof *ids);
    size_t cursor = 0, count = 0;
    while (ids && count < n &&
           client_idmap_next (client->awaited, &cursor, &ids[count])) {
        count++;
    }
    if (err == ZJOB_OK) {
        err = ids ? client_send_waits (client, ids, count) : ZJOB_ENOMEM;
    }
    free (ids);
    return err;
}

/* Receives one message before deadline_ms, resuming the async work first
 * when the broker restarted or came back. */
static zjob_err_t
s_recv (zjob_client_t *client, uint64_t deadline_ms, Zjob__Envelope **env)
{
    zjob_err_t err = client_recv (client, deadline_ms, false, env);
    if (err == ZJOB_OK && client->epoch != client->async_epoch) {
        err = s_resume (client);
    }
    return err;
}

/* Takes the next queued message without waiting: with the heartbeat,
 * silence and restart bookkeeping while something is expected (a poll
 * with timeout 0 relies on it), without it otherwise. */
static zjob_err_t
s_recv_queued (zjob_client_t *client, Zjob__Envelope **env)
{
    if (zjob_client_pending (client) > 0) {
        return s_recv (client, 0, env);
    }
    return client_recv_queued (client, env);
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
        err = s_recv (client, deadline, &env);
    } else {
        err = s_wait_idle (client, timeout_ms, &env);
    }
    for (int count = 0; err == ZJOB_OK && count < ASYNC_DRAIN_MAX; count++) {
        s_deliver (client, env, fn, arg);
        codec_free (&env);
        err = s_recv_queued (client, &env);
    }
    codec_free (&env);
    return err == ZJOB_ETIMEDOUT ? s_check_acks (client) : err;
}
