/* Envelope encoding, decoding and validation; see codec.h. */
#include "common/codec.h"

#include <stdarg.h>
#include <stdbool.h>
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

/* Reads a varint at *at (before end); returns false when it is cut short
 * or longer than ten bytes. */
static bool
s_read_varint (const uint8_t **at, const uint8_t *end, uint64_t *value)
{
    *value = 0;
    for (unsigned shift = 0; shift < 70 && *at < end; shift += 7) {
        uint8_t byte = *(*at)++;
        *value |= (uint64_t) (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            return true;
        }
    }
    return false;
}

/* Elements of a packed repeated scalar field of len bytes at data. */
static size_t
s_packed_count (ProtobufCType type, const uint8_t *data, size_t len)
{
    switch (type) {
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
            return len / 8;
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_FLOAT:
            return len / 4;
        default: {
            size_t count = 0;
            for (size_t i = 0; i < len; i++) {
                count += !(data[i] & 0x80); /* one varint ends per such byte */
            }
            return count;
        }
    }
}

#define S_MAX_DEPTH 16

/* Adds to *items, without allocating, how many pieces protobuf-c would
 * allocate to unpack len bytes at data as desc: every submessage, every
 * element of a repeated field and every unknown field, at any depth.
 * Returns ERR_NONE, ERR_MALFORMED for bytes that are not a message, or
 * ERR_TOO_LARGE once *items passes limit. A few bytes can otherwise ask
 * for a hundred bytes of structures each (an empty JobSpec is two bytes
 * on the wire), so this runs before any unpacking. */
static Zjob__ErrorCode
s_count_items (const ProtobufCMessageDescriptor *desc, const uint8_t *data,
               size_t len, size_t limit, unsigned depth, size_t *items)
{
    if (depth > S_MAX_DEPTH) {
        return ZJOB__ERROR_CODE__ERR_MALFORMED;
    }
    const uint8_t *at = data, *end = data + len;
    while (at < end) {
        uint64_t key, length;
        if (!s_read_varint (&at, end, &key) || key >> 3 == 0 ||
            key >> 3 > UINT32_MAX) {
            return ZJOB__ERROR_CODE__ERR_MALFORMED;
        }
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field (desc,
                                                     (unsigned) (key >> 3));
        bool repeated = field && field->label == PROTOBUF_C_LABEL_REPEATED;
        const uint8_t *body = at;
        switch (key & 7) {
            case 0:
                if (!s_read_varint (&at, end, &length)) {
                    return ZJOB__ERROR_CODE__ERR_MALFORMED;
                }
                length = 0;
                break;
            case 1:
                length = 8;
                break;
            case 5:
                length = 4;
                break;
            case 2:
                if (!s_read_varint (&at, end, &length)) {
                    return ZJOB__ERROR_CODE__ERR_MALFORMED;
                }
                body = at;
                break;
            default:
                return ZJOB__ERROR_CODE__ERR_MALFORMED;
        }
        if (length > (uint64_t) (end - at)) {
            return ZJOB__ERROR_CODE__ERR_MALFORMED;
        }
        at += (key & 7) == 0 ? 0 : length;
        if (!field) {
            *items += 1; /* kept as an unknown field */
        } else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
            *items += 1;
            if ((key & 7) != 2) {
                return ZJOB__ERROR_CODE__ERR_MALFORMED;
            }
            Zjob__ErrorCode code =
                s_count_items (field->descriptor, body, (size_t) length, limit,
                               depth + 1, items);
            if (code != ZJOB__ERROR_CODE__ERR_NONE) {
                return code;
            }
        } else if (repeated) {
            bool packed = (key & 7) == 2 &&
                          field->type != PROTOBUF_C_TYPE_STRING &&
                          field->type != PROTOBUF_C_TYPE_BYTES;
            *items += packed ? s_packed_count (field->type, body, length) : 1;
        }
        if (*items > limit) {
            return ZJOB__ERROR_CODE__ERR_TOO_LARGE;
        }
    }
    return ZJOB__ERROR_CODE__ERR_NONE;
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
    size_t items = 0;
    size_t item_limit = limits->max_batch * CODEC_ITEMS_PER_BATCH;
    Zjob__ErrorCode counted = s_count_items (&zjob__envelope__descriptor, data,
                                             size, item_limit, 0, &items);
    if (counted == ZJOB__ERROR_CODE__ERR_TOO_LARGE) {
        snprintf (why, why_len,
                  "message holds more than %zu items (the batch limit is %zu)",
                  item_limit, limits->max_batch);
        return counted;
    }
    if (counted != ZJOB__ERROR_CODE__ERR_NONE) {
        snprintf (why, why_len, "frame of %zu bytes is not a zjob envelope",
                  size);
        return counted;
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
