/* libzjob internals shared by its modules: the client struct and its
 * request/receive helpers. Not installed; the public API is zjob/zjob.h. */
#ifndef ZJOB_CLIENT_INTERNAL_H
#define ZJOB_CLIENT_INTERNAL_H

#include "common/codec.h"
#include "zjob/zjob.h"

#define CLIENT_ERROR_LEN 512

/* One async Submit still waiting for its SubmitReply. */
typedef struct {
    uint64_t req_id;  /* the Submit's request id */
    size_t count;     /* jobs in it */
    uint64_t sent_ms; /* monotonic: when it was sent */
} client_batch_t;

struct zjob_client {
    zsock_t *dealer;         /* the one connection to the broker */
    char *endpoint;          /* owned copy of the endpoint */
    codec_limits_t limits;   /* what we accept from the broker */
    int timeout_ms;          /* per request */
    int heartbeat_ms;        /* heartbeat interval while waiting */
    int liveness;            /* silent intervals before giving up */
    uint64_t next_req_id;    /* last req_id used */
    uint64_t last_heard_ms;  /* monotonic: last message (or start of wait) */
    uint64_t last_ping_ms;   /* monotonic: last Heartbeat sent */
    size_t pending_acks;     /* async jobs with no SubmitReply yet */
    size_t pending_results;  /* async jobs accepted, result not yet in */
    client_batch_t *batches; /* async Submits awaiting their reply */
    size_t n_batches;        /* entries in use */
    size_t cap_batches;      /* entries allocated */
    char error[CLIENT_ERROR_LEN]; /* detail of the last error */
};

/* Records a formatted detail for the last error and returns err. */
zjob_err_t client_fail (zjob_client_t *client, zjob_err_t err, const char *fmt,
                        ...) __attribute__ ((format (printf, 3, 4)));

/* Maps a wire error code to the library's error. */
zjob_err_t client_err_from_code (Zjob__ErrorCode code);

/* Returns a fresh request id. */
uint64_t client_req_id (zjob_client_t *client);

/* Marks the start of a wait for the broker: liveness counts from now
 * unless something was heard more recently. */
void client_expect (zjob_client_t *client);

/* Sends envelope; returns ZJOB_OK or ZJOB_EUNREACHABLE. */
zjob_err_t client_send (zjob_client_t *client, Zjob__Envelope *envelope);

/* Receives one valid Envelope into *out before deadline_ms (monotonic;
 * UINT64_MAX: none), sending Heartbeats on the way. Frames that do not
 * decode are skipped. Returns ZJOB_OK, ZJOB_ETIMEDOUT at the deadline, or
 * ZJOB_EUNREACHABLE when the broker was silent for liveness x interval.
 * The caller frees *out with codec_free. */
zjob_err_t client_recv (zjob_client_t *client, uint64_t deadline_ms,
                        Zjob__Envelope **out);

/* Sends envelope (whose request carries req_id) and receives the reply
 * with that req_id, skipping anything else. An Error reply becomes its
 * error with the broker's message as detail. Returns ZJOB_OK with *reply
 * set (caller frees with codec_free) or an error. */
zjob_err_t client_request (zjob_client_t *client, Zjob__Envelope *envelope,
                           uint64_t req_id, Zjob__Envelope **reply);

/* Fills info with borrowed views of the wire JobInfo. */
void client_info_from_wire (const Zjob__JobInfo *wire, zjob_info_t *info);

/* Fills the wire JobSpec from spec (borrowing its pointers); returns
 * ZJOB_EINVAL, with detail, for a spec that cannot be sent. */
zjob_err_t client_spec_to_wire (zjob_client_t *client, const zjob_spec_t *spec,
                                Zjob__JobSpec *wire);

#endif
