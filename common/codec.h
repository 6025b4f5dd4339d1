/* The codec around the generated wire messages: one Envelope per frame.
 *
 * Everything that arrives from the network goes through codec_decode, which
 * checks the frame size, the protocol's major version, the body and every
 * batch and payload against the limits before the caller sees it. Nothing
 * here asserts on peer input: a bad frame yields an error code and a reason
 * that the caller sends back in an Error message.
 */
#ifndef ZJOB_CODEC_H
#define ZJOB_CODEC_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "zjob.pb-c.h"

#define ZJOB_PROTO_MAJOR 1
#define ZJOB_PROTO_MINOR 0

/* Limits every peer enforces on what it receives. */
typedef struct {
    size_t max_message; /* bytes in one frame (also ZMQ_MAXMSGSIZE) */
    size_t max_payload; /* bytes in one payload or result */
    size_t max_batch;   /* jobs, ids or outcomes in one message */
} codec_limits_t;

/* Defaults: 64 MiB frames, 16 MiB payloads, 10,000 jobs per batch. */
#define CODEC_MAX_MESSAGE (64u << 20)
#define CODEC_MAX_PAYLOAD (16u << 20)
#define CODEC_MAX_BATCH   10000u

/* Pieces (submessages, repeated elements, unknown fields) one message may
 * unpack into, per max_batch: a batch of jobs with a few repeated fields
 * each stays well below it, and it bounds what decoding allocates. */
#define CODEC_ITEMS_PER_BATCH 64u

/* Fills limits with the defaults above. */
void codec_limits_default (codec_limits_t *limits);

/* Decodes one frame of size bytes. On success returns
 * ZJOB__ERROR_CODE__ERR_NONE and sets *out to an Envelope the caller frees
 * with codec_free. Otherwise returns the error code, leaves *out NULL and
 * writes a one-line reason into why (of why_len bytes). Either way *req_id
 * (when not NULL) is the request id the frame carried, or 0, so that a
 * refusal can name the request it refuses. */
Zjob__ErrorCode codec_decode (const void *data, size_t size,
                              const codec_limits_t *limits,
                              Zjob__Envelope **out, uint64_t *req_id, char *why,
                              size_t why_len);

/* Returns the req_id of a client request or reply, or 0 for other bodies. */
uint64_t codec_request_id (const Zjob__Envelope *envelope);

/* Frees an Envelope from codec_decode and nulls the pointer; NULL is fine.
 * The Envelope and every part of it live in one arena (common/pbarena.h):
 * nothing of it may be kept or freed on its own, and only this function
 * frees it. */
void codec_free (Zjob__Envelope **envelope);

/* Sends envelope on sock (stamping the protocol version), preceded by the
 * routing id frame when routing_id is not NULL (ROUTER sockets). Does not take
 * ownership of either. Never blocks: returns 0, or -1 when the message could
 * not be queued (peer gone, high-water mark reached). */
int codec_send (zsock_t *sock, zframe_t *routing_id, Zjob__Envelope *envelope);

/* Sends an Error with code, the request it answers and a formatted message.
 * Returns as codec_send. */
int codec_send_error (zsock_t *sock, zframe_t *routing_id, Zjob__ErrorCode code,
                      uint64_t req_id, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

/* Makes env a Heartbeat whose body is beat, stamped with the wall clock:
 * the one message every peer sends the same way. */
void codec_heartbeat (Zjob__Envelope *env, Zjob__Heartbeat *beat);

/* Applies the socket options every zjob socket uses: ZMQ_MAXMSGSIZE from
 * limits, no linger beyond linger_ms, and ROUTER_MANDATORY on ROUTERs so a
 * send to a vanished peer fails instead of vanishing. */
void codec_configure_socket (zsock_t *sock, const codec_limits_t *limits,
                             int linger_ms);

/* Returns the wire name of a state ("queued", "succeeded", ...). */
const char *codec_state_name (Zjob__State state);

/* Returns the name of an error code ("malformed", "too large", ...). */
const char *codec_error_name (Zjob__ErrorCode code);

#endif
