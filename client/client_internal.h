/* libzjob internals shared by its modules: the client struct and its
 * request/receive helpers. Not installed; the public API is zjob/zjob.h. */
#ifndef ZJOB_CLIENT_INTERNAL_H
#define ZJOB_CLIENT_INTERNAL_H

#include "client/idmap.h"
#include "common/codec.h"
#include "zjob/zjob.h"

#define CLIENT_ERROR_LEN 512

/* Results remembered as delivered, to drop the copies a re-sent Wait or
 * Submit can bring (see zjob_async.c). */
#define CLIENT_RECENT_MAX 16384

/* One async Submit still waiting for its SubmitReply. */
typedef struct {
    uint64_t req_id;   /* the Submit's request id */
    size_t count;      /* jobs in it */
    uint64_t sent_ms;  /* monotonic: when it was (last) sent */
    uint8_t *packed;   /* owned: the encoded Envelope, sent again as it is
                          (same req_id, same keys) after a broker restart */
    size_t packed_len; /* bytes in packed */
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
    uint64_t owed_ms;        /* monotonic: first Heartbeat sent since the
                                broker was last heard; 0: none unanswered */
    size_t pending_acks;     /* async jobs with no SubmitReply yet */
    client_batch_t *batches; /* async Submits awaiting their reply */
    size_t n_batches;        /* entries in use */
    size_t cap_batches;      /* entries allocated */
    client_idmap_t *awaited; /* async: accepted ids whose result is due */
    client_idmap_t *early;   /* async: ids whose result came before the ack */
    client_idmap_t *recent;  /* async: ids of the last results delivered */
    uint64_t *recent_ring;   /* the same ids in delivery order (a ring) */
    size_t recent_next;      /* ring slot the next delivered id takes */
    uint64_t async_epoch;    /* epoch the async work was last sent under */
    uint64_t session;        /* random per client: automatic key prefix */
    uint64_t next_key;       /* automatic keys made so far */
    uint64_t instance;       /* the broker process last heard; 0: not known */
    uint64_t epoch;          /* bumped when the broker restarted or came
                                back after silence: requests, Waits and
                                unacknowledged Submits must go again */
    bool heard;              /* the broker answered at least once */
    bool down;               /* silent past liveness: presumed down */
    bool patient;            /* wait for a broker never heard as well */
    int64_t down_timeout_ms; /* unanswered Heartbeats, once heard (or
                                patient), before giving up */
    zjob_down_fn *down_fn;   /* called when presumed down, or NULL */
    void *down_arg;          /* its argument */
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
 * decode are skipped. Every message is noted: a Heartbeat with a new
 * broker instance, or any message after silence, bumps client->epoch.
 * Returns ZJOB_OK, ZJOB_ETIMEDOUT at the deadline, or ZJOB_EUNREACHABLE
 * when the broker was silent for liveness x interval and never answered
 * (unless the client is patient), or (once it answered) left Heartbeats
 * unanswered for the down timeout; patient: the deadline is the caller's
 * own bound, so silence alone never ends the wait once the broker
 * answered (or the client is patient). Whenever no message is queued the
 * silence rules and a due Heartbeat are applied before the deadline is
 * checked, so a deadline already past (a poll that must not wait) still
 * keeps them. The caller frees *out with codec_free. */
zjob_err_t client_recv (zjob_client_t *client, uint64_t deadline_ms,
                        bool patient, Zjob__Envelope **out);

/* Takes one valid Envelope already queued into *out, noting it as
 * client_recv does, but sends nothing and applies no silence rule: for
 * a client that expects nothing. Returns ZJOB_OK or ZJOB_ETIMEDOUT when
 * none is queued. The caller frees *out with codec_free. */
zjob_err_t client_recv_queued (zjob_client_t *client, Zjob__Envelope **out);

/* Writes the automatic idempotency key for session and counter into buf
 * (len bytes, at least ZJOB_KEY_LEN): "~", 16 hex digits of session, ":",
 * the counter in hex. Returns 0, or -1 when buf is too small. */
int client_key_format (uint64_t session, uint64_t counter, char *buf,
                       size_t len);

/* Returns a random 64-bit value (getrandom, else time and pid mixed). */
uint64_t client_random (void);

/* Sends envelope (whose request carries req_id) and receives the reply
 * with that req_id, skipping anything else. An Error reply becomes its
 * error with the broker's message as detail. Returns ZJOB_OK with *reply
 * set (caller frees with codec_free) or an error. */
zjob_err_t client_request (zjob_client_t *client, Zjob__Envelope *envelope,
                           uint64_t req_id, Zjob__Envelope **reply);

/* Fills info with borrowed views of the wire JobInfo. */
void client_info_from_wire (const Zjob__JobInfo *wire, zjob_info_t *info);

/* Fills the wire JobSpec from spec (borrowing its pointers); a spec
 * without a key gets an automatic one written into key_buf (ZJOB_KEY_LEN
 * bytes, which must outlive wire). Returns ZJOB_EINVAL, with detail, for
 * a spec that cannot be sent. */
zjob_err_t client_spec_to_wire (zjob_client_t *client, const zjob_spec_t *spec,
                                Zjob__JobSpec *wire, char *key_buf);

/* Sends a Wait for ids[0, n) in batches of the limit; returns ZJOB_OK or
 * the first send error. */
zjob_err_t client_send_waits (zjob_client_t *client, const uint64_t *ids,
                              size_t n);

#endif
