/* libzjob: client lifecycle, errors and the send/receive loop with
 * heartbeats that every call is built on. */
#include "client/client_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"

#define CLIENT_TIMEOUT_MS   10000
#define CLIENT_HEARTBEAT_MS 1000
#define CLIENT_LIVENESS     3

zjob_client_t *
zjob_client_new (const char *endpoint)
{
    if (!endpoint) {
        endpoint = getenv ("ZJOB_BROKER");
    }
    if (!endpoint || !*endpoint) {
        endpoint = ZJOB_DEFAULT_ENDPOINT;
    }
    zjob_client_t *client = calloc (1, sizeof *client);
    if (!client || !(client->endpoint = strdup (endpoint))) {
        free (client);
        errno = ENOMEM;
        return NULL;
    }
    /* A library must not take over the host's SIGINT/SIGTERM. */
    zsys_handler_set (NULL);
    client->dealer = zsock_new (ZMQ_DEALER);
    codec_limits_default (&client->limits);
    if (!client->dealer) {
        zjob_client_destroy (&client);
        errno = ENOMEM;
        return NULL;
    }
    codec_configure_socket (client->dealer, &client->limits, 0);
    if (zsock_connect (client->dealer, "%s", endpoint) != 0) {
        zjob_client_destroy (&client);
        errno = EINVAL;
        return NULL;
    }
    client->timeout_ms = CLIENT_TIMEOUT_MS;
    client->heartbeat_ms = CLIENT_HEARTBEAT_MS;
    client->liveness = CLIENT_LIVENESS;
    return client;
}

void
zjob_client_destroy (zjob_client_t **client)
{
    if (client && *client) {
        zsock_destroy (&(*client)->dealer);
        free ((*client)->batches);
        free ((*client)->endpoint);
        free (*client);
        *client = NULL;
    }
}

void
zjob_client_set_timeout (zjob_client_t *client, int timeout_ms)
{
    if (timeout_ms > 0) {
        client->timeout_ms = timeout_ms;
    }
}

void
zjob_client_set_heartbeat (zjob_client_t *client, int interval_ms, int liveness)
{
    if (interval_ms > 0 && liveness > 0) {
        client->heartbeat_ms = interval_ms;
        client->liveness = liveness;
    }
}

const char *
zjob_client_endpoint (const zjob_client_t *client)
{
    return client->endpoint;
}

const char *
zjob_client_error (const zjob_client_t *client)
{
    return client->error;
}

size_t
zjob_client_pending (const zjob_client_t *client)
{
    return client->pending_acks + client->pending_results;
}

const char *
zjob_strerror (zjob_err_t err)
{
    static const char *const names[] = {"success",
                                        "invalid argument",
                                        "out of memory",
                                        "broker unreachable",
                                        "timed out",
                                        "protocol error",
                                        "too large",
                                        "rejected by the broker",
                                        "job not found",
                                        "broker busy",
                                        "protocol version mismatch",
                                        "broker internal error"};
    if ((unsigned) err < sizeof names / sizeof names[0]) {
        return names[err];
    }
    return "unknown error";
}

const char *
zjob_state_name (zjob_state_t state)
{
    return codec_state_name ((Zjob__State) state);
}

bool
zjob_state_is_final (zjob_state_t state)
{
    return state >= ZJOB_STATE_SUCCEEDED && state <= ZJOB_STATE_DEAD;
}

zjob_err_t
client_fail (zjob_client_t *client, zjob_err_t err, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (client->error, sizeof client->error, fmt, args);
    va_end (args);
    return err;
}

zjob_err_t
client_err_from_code (Zjob__ErrorCode code)
{
    switch (code) {
        case ZJOB__ERROR_CODE__ERR_NONE:
            return ZJOB_OK;
        case ZJOB__ERROR_CODE__ERR_VERSION:
            return ZJOB_EVERSION;
        case ZJOB__ERROR_CODE__ERR_TOO_LARGE:
            return ZJOB_ETOOLARGE;
        case ZJOB__ERROR_CODE__ERR_NOT_FOUND:
            return ZJOB_ENOTFOUND;
        case ZJOB__ERROR_CODE__ERR_BUSY:
            return ZJOB_EBUSY;
        case ZJOB__ERROR_CODE__ERR_INTERNAL:
            return ZJOB_EINTERNAL;
        case ZJOB__ERROR_CODE__ERR_MALFORMED:
        case ZJOB__ERROR_CODE__ERR_UNKNOWN_WORKER:
            return ZJOB_EPROTO;
        default:
            return ZJOB_EREJECTED;
    }
}

uint64_t
client_req_id (zjob_client_t *client)
{
    return ++client->next_req_id;
}

void
client_expect (zjob_client_t *client)
{
    uint64_t now = clock_mono_ms ();
    uint64_t silence = (uint64_t) client->heartbeat_ms * client->liveness;
    if (now - client->last_heard_ms > silence) {
        client->last_heard_ms = now;
    }
}

zjob_err_t
client_send (zjob_client_t *client, Zjob__Envelope *envelope)
{
    if (codec_send (client->dealer, NULL, envelope) != 0) {
        return client_fail (client, ZJOB_EUNREACHABLE, "cannot send to %s: %s",
                            client->endpoint, zmq_strerror (zmq_errno ()));
    }
    return ZJOB_OK;
}

/* Sends a Heartbeat when one interval passed since the last one. */
static void
s_ping_if_due (zjob_client_t *client, uint64_t now)
{
    if (now - client->last_ping_ms < (uint64_t) client->heartbeat_ms) {
        return;
    }
    Zjob__Heartbeat heartbeat;
    Zjob__Envelope env;
    codec_heartbeat (&env, &heartbeat);
    codec_send (client->dealer, NULL, &env);
    client->last_ping_ms = now;
}

/* Reads one message; returns true with *out set when it is a valid
 * Envelope of exactly one frame. */
static bool
s_read_one (zjob_client_t *client, Zjob__Envelope **out)
{
    void *handle = zsock_resolve (client->dealer);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    if (zmq_msg_recv (&msg, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&msg);
        return false;
    }
    client->last_heard_ms = clock_mono_ms ();
    bool more = zmq_msg_more (&msg);
    char why[256];
    if (!more) {
        codec_decode (zmq_msg_data (&msg), zmq_msg_size (&msg), &client->limits,
                      out, NULL, why, sizeof why);
    }
    zmq_msg_close (&msg);
    while (more) {
        zmq_msg_init (&msg);
        zmq_msg_recv (&msg, handle, 0);
        more = zmq_msg_more (&msg);
        zmq_msg_close (&msg);
    }
    return *out != NULL;
}

/* Milliseconds to sleep in zmq_poll: until the deadline, the next
 * heartbeat or the liveness limit, whichever comes first. */
static long
s_poll_wait (const zjob_client_t *client, uint64_t now, uint64_t deadline_ms)
{
    uint64_t next = client->last_ping_ms + (uint64_t) client->heartbeat_ms;
    uint64_t dead = client->last_heard_ms +
                    (uint64_t) client->heartbeat_ms * client->liveness;
    if (dead < next) {
        next = dead;
    }
    if (deadline_ms < next) {
        next = deadline_ms;
    }
    return next > now ? (long) (next - now) : 0;
}

zjob_err_t
client_recv (zjob_client_t *client, uint64_t deadline_ms, Zjob__Envelope **out)
{
    *out = NULL;
    uint64_t silence = (uint64_t) client->heartbeat_ms * client->liveness;
    zmq_pollitem_t item = {zsock_resolve (client->dealer), 0, ZMQ_POLLIN, 0};
    while (true) {
        if (s_read_one (client, out)) {
            return ZJOB_OK;
        }
        uint64_t now = clock_mono_ms ();
        if (now >= deadline_ms) {
            return client_fail (client, ZJOB_ETIMEDOUT, "timed out");
        }
        if (now - client->last_heard_ms >= silence) {
            return client_fail (client, ZJOB_EUNREACHABLE,
                                "broker at %s did not answer for %llu ms",
                                client->endpoint, (unsigned long long) silence);
        }
        s_ping_if_due (client, now);
        if (zmq_poll (&item, 1, s_poll_wait (client, now, deadline_ms)) < 0 &&
            zmq_errno () != EINTR) {
            return client_fail (client, ZJOB_EUNREACHABLE, "poll: %s",
                                zmq_strerror (zmq_errno ()));
        }
    }
}

/* Turns an Error reply into the library's error with its message. */
static zjob_err_t
s_error_reply (zjob_client_t *client, const Zjob__Error *error)
{
    zjob_err_t err = client_err_from_code (error->code);
    if (err == ZJOB_OK) {
        err = ZJOB_EPROTO;
    }
    return client_fail (client, err, "broker: %s",
                        error->message ? error->message : "");
}

zjob_err_t
client_request (zjob_client_t *client, Zjob__Envelope *envelope,
                uint64_t req_id, Zjob__Envelope **reply)
{
    *reply = NULL;
    zjob_err_t err = client_send (client, envelope);
    uint64_t deadline = clock_mono_ms () + (uint64_t) client->timeout_ms;
    client_expect (client);
    while (err == ZJOB_OK) {
        Zjob__Envelope *env = NULL;
        if ((err = client_recv (client, deadline, &env)) != ZJOB_OK) {
            break;
        }
        if (codec_request_id (env) != req_id) {
            codec_free (&env);
            continue;
        }
        if (env->body_case == ZJOB__ENVELOPE__BODY_ERROR) {
            err = s_error_reply (client, env->error);
            codec_free (&env);
            break;
        }
        *reply = env;
        return ZJOB_OK;
    }
    if (err == ZJOB_ETIMEDOUT) {
        err = client_fail (client, ZJOB_EUNREACHABLE,
                           "no reply from the broker at %s within %d ms",
                           client->endpoint, client->timeout_ms);
    }
    return err;
}

void
client_info_from_wire (const Zjob__JobInfo *wire, zjob_info_t *info)
{
    memset (info, 0, sizeof *info);
    info->id = wire->id;
    info->queue = wire->queue ? wire->queue : "";
    info->state = (zjob_state_t) wire->state;
    info->attempt = wire->attempt;
    info->result = wire->result.data;
    info->result_len = wire->result.len;
    info->error = wire->error ? wire->error : "";
    info->worker = wire->worker ? wire->worker : "";
    info->priority = wire->priority;
    info->created_ms = wire->created_ms;
    info->started_ms = wire->started_ms;
    info->finished_ms = wire->finished_ms;
    info->result_omitted = wire->result_omitted;
}

zjob_err_t
client_spec_to_wire (zjob_client_t *client, const zjob_spec_t *spec,
                     Zjob__JobSpec *wire)
{
    if (!spec->queue || !*spec->queue) {
        return client_fail (client, ZJOB_EINVAL, "empty queue name");
    }
    if (spec->payload_len && !spec->payload) {
        return client_fail (client, ZJOB_EINVAL, "NULL payload");
    }
    zjob__job_spec__init (wire);
    wire->queue = (char *) spec->queue;
    wire->payload.data = (uint8_t *) spec->payload;
    wire->payload.len = spec->payload_len;
    wire->priority = spec->priority;
    wire->timeout_ms = spec->timeout_ms;
    wire->max_attempts = spec->max_attempts;
    wire->delay_ms = spec->delay_ms;
    wire->key = (char *) (spec->key ? spec->key : "");
    return ZJOB_OK;
}
