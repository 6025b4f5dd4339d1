/* Envelope encoding, decoding and validation; see codec.h. */
#include "common/codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/pbarena.h"

void
codec_limits_default (codec_limits_t *limits)
{
    limits->max_message = CODEC_MAX_MESSAGE;
    limits->max_payload = CODEC_MAX_PAYLOAD;
    limits->max_batch = CODEC_MAX_BATCH;
}

/* Checks a count of batch items against the limit. */
static Zjob__ErrorCode
s_check_batch (size_t count, const codec_limits_t *limits, const char *what,
               char *why, size_t why_len)
{
    if (count > limits->max_batch) {
        snprintf (why, why_len, "%s batch of %zu exceeds the limit of %zu",
                  what, count, limits->max_batch);
        return ZJOB__ERROR_CODE__ERR_TOO_LARGE;
    }
    return ZJOB__ERROR_CODE__ERR_NONE;
}

/* Checks one payload or result size against the limit. */
static Zjob__ErrorCode
s_check_payload (size_t len, const codec_limits_t *limits, char *why,
                 size_t why_len)
{
    if (len > limits->max_payload) {
        snprintf (why, why_len, "payload of %zu bytes exceeds the limit of %zu",
                  len, limits->max_payload);
        return ZJOB__ERROR_CODE__ERR_TOO_LARGE;
    }
    return ZJOB__ERROR_CODE__ERR_NONE;
}

static Zjob__ErrorCode
s_check_submit (const Zjob__Submit *submit, const codec_limits_t *limits,
                char *why, size_t why_len)
{
    Zjob__ErrorCode code =
        s_check_batch (submit->n_jobs, limits, "submit", why, why_len);
    for (size_t i = 0; code == ZJOB__ERROR_CODE__ERR_NONE && i < submit->n_jobs;
         i++) {
        code = s_check_payload (submit->jobs[i]->payload.len, limits, why,
                                why_len);
    }
    return code;
}

static Zjob__ErrorCode
s_check_done (const Zjob__Done *done, const codec_limits_t *limits, char *why,
              size_t why_len)
{
    Zjob__ErrorCode code =
        s_check_batch (done->n_outcomes, limits, "done", why, why_len);
    for (size_t i = 0;
         code == ZJOB__ERROR_CODE__ERR_NONE && i < done->n_outcomes; i++) {
        code = s_check_payload (done->outcomes[i]->result.len, limits, why,
                                why_len);
    }
    return code;
}

static Zjob__ErrorCode
s_check_dispatch (const Zjob__Dispatch *dispatch, const codec_limits_t *limits,
                  char *why, size_t why_len)
{
    Zjob__ErrorCode code =
        s_check_batch (dispatch->n_jobs, limits, "dispatch", why, why_len);
    for (size_t i = 0;
         code == ZJOB__ERROR_CODE__ERR_NONE && i < dispatch->n_jobs; i++) {
        code = s_check_payload (dispatch->jobs[i]->payload.len, limits, why,
                                why_len);
    }
    return code;
}

/* Checks the batches and payloads of whichever body the envelope holds. */
static Zjob__ErrorCode
s_check_body (const Zjob__Envelope *env, const codec_limits_t *limits,
              char *why, size_t why_len)
{
    switch (env->body_case) {
        case ZJOB__ENVELOPE__BODY_SUBMIT:
            return s_check_submit (env->submit, limits, why, why_len);
        case ZJOB__ENVELOPE__BODY_DONE:
            return s_check_done (env->done, limits, why, why_len);
        case ZJOB__ENVELOPE__BODY_DISPATCH:
            return s_check_dispatch (env->dispatch, limits, why, why_len);
        case ZJOB__ENVELOPE__BODY_WAIT:
            return s_check_batch (env->wait->n_ids, limits, "wait", why,
                                  why_len);
        case ZJOB__ENVELOPE__BODY_STATUS:
            return s_check_batch (env->status->n_ids, limits, "status", why,
                                  why_len);
        case ZJOB__ENVELOPE__BODY_CANCEL:
            return s_check_batch (env->cancel->n_ids, limits, "cancel", why,
                                  why_len);
        case ZJOB__ENVELOPE__BODY_REGISTER:
            return s_check_batch (env->register_->n_holding, limits,
                                  "register holding", why, why_len);
        case ZJOB__ENVELOPE__BODY_RESULTS:
            return s_check_batch (env->results->n_jobs, limits, "results", why,
                                  why_len);
        case ZJOB__ENVELOPE__BODY__NOT_SET:
            snprintf (why, why_len, "envelope has no body");
            return ZJOB__ERROR_CODE__ERR_MALFORMED;
        default:
            return ZJOB__ERROR_CODE__ERR_NONE;
    }
}

uint64_t
codec_request_id (const Zjob__Envelope *env)
{
    switch (env->body_case) {
        case ZJOB__ENVELOPE__BODY_SUBMIT:
            return env->submit->req_id;
        case ZJOB__ENVELOPE__BODY_WAIT:
            return env->wait->req_id;
        case ZJOB__ENVELOPE__BODY_STATUS:
            return env->status->req_id;
        case ZJOB__ENVELOPE__BODY_CANCEL:
            return env->cancel->req_id;
        case ZJOB__ENVELOPE__BODY_ADMIN:
            return env->admin->req_id;
        case ZJOB__ENVELOPE__BODY_SUBMIT_REPLY:
            return env->submit_reply->req_id;
        case ZJOB__ENVELOPE__BODY_STATUS_REPLY:
            return env->status_reply->req_id;
        case ZJOB__ENVELOPE__BODY_CANCEL_REPLY:
            return env->cancel_reply->req_id;
        case ZJOB__ENVELOPE__BODY_ADMIN_REPLY:
            return env->admin_reply->req_id;
        case ZJOB__ENVELOPE__BODY_ERROR:
            return env->error->req_id;
        default:
            return 0;
    }
}

Zjob__ErrorCode
codec_decode (const void *data, size_t size, const codec_limits_t *limits,
              Zjob__Envelope **out, uint64_t *req_id, char *why, size_t why_len)
{
    uint64_t ignored;
    req_id = req_id ? req_id : &ignored;
    *req_id = 0;
    *out = NULL;
    if (size > limits->max_message) {
        snprintf (why, why_len, "message of %zu bytes exceeds the limit of %zu",
                  size, limits->max_message);
        return ZJOB__ERROR_CODE__ERR_TOO_LARGE;
    }
    /* One arena per message: its jobs, payloads and strings come from a
     * few blocks and go with one free, in codec_free. Unpacked pieces take
     * somewhat more room than their encoding; the blocks grow if needed. */
    pbarena_t *arena = pbarena_new (size + size / 2 + 512);
    if (!arena) {
        snprintf (why, why_len, "out of memory decoding %zu bytes", size);
        return ZJOB__ERROR_CODE__ERR_INTERNAL;
    }
    Zjob__Envelope *env =
        zjob__envelope__unpack (pbarena_allocator (arena), size, data);
    if (!env || (void *) env != pbarena_first (arena)) {
        pbarena_destroy (&arena);
        snprintf (why, why_len, "frame of %zu bytes is not a zjob envelope",
                  size);
        return ZJOB__ERROR_CODE__ERR_MALFORMED;
    }
    if (env->major != ZJOB_PROTO_MAJOR) {
        snprintf (why, why_len,
                  "protocol version %u.%u is not supported; this peer speaks "
                  "%u.%u",
                  env->major, env->minor, ZJOB_PROTO_MAJOR, ZJOB_PROTO_MINOR);
        pbarena_destroy (&arena);
        return ZJOB__ERROR_CODE__ERR_VERSION;
    }
    *req_id = codec_request_id (env);
    Zjob__ErrorCode code = s_check_body (env, limits, why, why_len);
    if (code != ZJOB__ERROR_CODE__ERR_NONE) {
        pbarena_destroy (&arena);
        return code;
    }
    *out = env;
    return ZJOB__ERROR_CODE__ERR_NONE;
}

void
codec_free (Zjob__Envelope **envelope)
{
    if (envelope && *envelope) {
        pbarena_t *arena = pbarena_of_first (*envelope);
        pbarena_destroy (&arena);
        *envelope = NULL;
    }
}

static void
s_free_buffer (void *data, void *hint)
{
    free (data);
}

int
codec_send (zsock_t *sock, zframe_t *routing_id, Zjob__Envelope *envelope)
{
    void *handle = zsock_resolve (sock);
    envelope->major = ZJOB_PROTO_MAJOR;
    envelope->minor = ZJOB_PROTO_MINOR;

    size_t size = zjob__envelope__get_packed_size (envelope);
    uint8_t *buffer = malloc (size ? size : 1);
    if (!buffer) {
        return -1;
    }
    zjob__envelope__pack (envelope, buffer);

    if (routing_id &&
        zmq_send (handle, zframe_data (routing_id), zframe_size (routing_id),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        free (buffer);
        return -1;
    }
    zmq_msg_t msg;
    zmq_msg_init_data (&msg, buffer, size, s_free_buffer, NULL);
    if (zmq_msg_send (&msg, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&msg);
        return -1;
    }
    return 0;
}

int
codec_send_error (zsock_t *sock, zframe_t *routing_id, Zjob__ErrorCode code,
                  uint64_t req_id, const char *fmt, ...)
{
    char message[512];
    va_list args;
    va_start (args, fmt);
    vsnprintf (message, sizeof message, fmt, args);
    va_end (args);

    Zjob__Error error = ZJOB__ERROR__INIT;
    error.code = code;
    error.message = message;
    error.req_id = req_id;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_ERROR;
    env.error = &error;
    return codec_send (sock, routing_id, &env);
}

void
codec_heartbeat (Zjob__Envelope *env, Zjob__Heartbeat *beat)
{
    zjob__heartbeat__init (beat);
    beat->sent_ms = clock_wall_ms ();
    zjob__envelope__init (env);
    env->body_case = ZJOB__ENVELOPE__BODY_HEARTBEAT;
    env->heartbeat = beat;
}

void
codec_configure_socket (zsock_t *sock, const codec_limits_t *limits,
                        int linger_ms)
{
    zsock_set_maxmsgsize (sock, (int) limits->max_message);
    zsock_set_linger (sock, linger_ms);
    zsock_set_sndhwm (sock, 0);
    zsock_set_rcvhwm (sock, 0);
    if (zsock_type (sock) == ZMQ_ROUTER) {
        zsock_set_router_mandatory (sock, 1);
    }
}

const char *
codec_state_name (Zjob__State state)
{
    static const char *const names[] = {"unknown",   "queued",    "scheduled",
                                        "running",   "succeeded", "failed",
                                        "cancelled", "timed_out", "dead"};
    if ((unsigned) state < sizeof names / sizeof names[0]) {
        return names[state];
    }
    return "unknown";
}

const char *
codec_error_name (Zjob__ErrorCode code)
{
    static const char *const names[] = {
        "none",          "version mismatch", "malformed message", "too large",
        "bad request",   "not found",        "unknown worker",    "busy",
        "internal error"};
    if ((unsigned) code < sizeof names / sizeof names[0]) {
        return names[code];
    }
    return "unknown error";
}
