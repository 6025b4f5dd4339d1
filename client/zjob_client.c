/* libzjob: client lifecycle, errors and the send/receive loop with
 * heartbeats that every call is built on. */
#include "client/client_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/units.h"

#define CLIENT_TIMEOUT_MS      10000
#define CLIENT_HEARTBEAT_MS    1000
#define CLIENT_LIVENESS        3
#define CLIENT_DOWN_TIMEOUT_MS 60000

/* The down timeout: $ZJOB_DOWN_TIMEOUT when it is a valid duration. */
static int64_t
s_down_timeout_default (void)
{
    const char *text = getenv ("ZJOB_DOWN_TIMEOUT");
    uint64_t ms;
    if (text && duration_parse (text, &ms) == 0 && ms > 0 && ms < INT64_MAX) {
        return (int64_t) ms;
    }
    return CLIENT_DOWN_TIMEOUT_MS;
}

/* Allocates what the pipelined path tracks; false when out of memory. */
static bool
s_async_init (zjob_client_t *client)
{
    client->awaited = client_idmap_new (0);
    client->early = client_idmap_new (0);
    client->recent = client_idmap_new (CLIENT_RECENT_MAX);
    client->recent_ring = calloc (CLIENT_RECENT_MAX, sizeof (uint64_t));
    return client->awaited && client->early && client->recent &&
           client->recent_ring;
}

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
    if (!client->dealer || !s_async_init (client)) {
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
    client->down_timeout_ms = s_down_timeout_default ();
    client->session = client_random ();
    return client;
}

void
zjob_client_destroy (zjob_client_t **client)
{
    if (client && *client) {
        zjob_client_t *self = *client;
        zsock_destroy (&self->dealer);
        for (size_t i = 0; i < self->n_batches; i++) {
            free (self->batches[i].packed);
        }
        client_idmap_destroy (&self->awaited);
        client_idmap_destroy (&self->early);
        client_idmap_destroy (&self->recent);
        free (self->recent_ring);
        free (self->batches);
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

void
zjob_client_set_down_timeout (zjob_client_t *client, int64_t timeout_ms)
{
    if (timeout_ms > 0) {
        client->down_timeout_ms = timeout_ms;
    }
}

void
zjob_client_set_patient (zjob_client_t *client, bool patient)
{
    client->patient = patient;
}

void
zjob_client_on_down (zjob_client_t *client, zjob_down_fn *fn, void *arg)
{
    client->down_fn = fn;
    client->down_arg = arg;
}

uint64_t
client_random (void)
{
    uint64_t value;
    if (getrandom (&value, sizeof value, 0) == (ssize_t) sizeof value) {
        return value;
    }
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    value = (uint64_t) now.tv_nsec * 0x9e3779b97f4a7c15ULL;
    return value ^ ((uint64_t) getpid () << 32) ^ (uint64_t) now.tv_sec;
}

/* Writes value in lowercase hex, at least digits digits, at *at; returns
 * the end. Keys are made for every job, so this avoids snprintf. */
static char *
s_put_hex (char *at, uint64_t value, int digits)
{
    static const char hex[] = "0123456789abcdef";
    char reversed[16];
    int count = 0;
    do {
        reversed[count++] = hex[value & 0xf];
        value >>= 4;
    } while (value != 0);
    while (count < digits) {
        reversed[count++] = '0';
    }
    while (count > 0) {
        *at++ = reversed[--count];
    }
    return at;
}

int
client_key_format (uint64_t session, uint64_t counter, char *buf, size_t len)
{
    /* "~" 16 digits ":" up to 16 digits, NUL: 35 bytes at most */
    if (!buf || len < ZJOB_KEY_LEN || len < 35) {
        return -1;
    }
    char *at = buf;
    *at++ = '~';
    at = s_put_hex (at, session, 16);
    *at++ = ':';
    at = s_put_hex (at, counter, 1);
    *at = '\0';
    return 0;
}

zjob_err_t
zjob_client_new_key (zjob_client_t *client, char *buf, size_t len)
{
    if (!client || !buf ||
        client_key_format (client->session, client->next_key + 1, buf, len) !=
            0) {
        return ZJOB_EINVAL;
    }
    client->next_key++;
    return ZJOB_OK;
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
    return client->pending_acks + client_idmap_size (client->awaited);
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
    if (!client->down && now - client->last_heard_ms > silence) {
        client->last_heard_ms = now;
        client->owed_ms = 0;
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

/* Sends a Heartbeat when one interval passed since the last one, noting
 * the first one sent since the broker was last heard. */
static void
s_ping_if_due (zjob_client_t *client, uint64_t now)
{
    if (now - client->last_ping_ms < (uint64_t) client->heartbeat_ms) {
        return;
    }
    if (client->owed_ms == 0) {
        client->owed_ms = now;
    }
    Zjob__Heartbeat heartbeat;
    Zjob__Envelope env;
    codec_heartbeat (&env, &heartbeat);
    codec_send (client->dealer, NULL, &env);
    client->last_ping_ms = now;
}

/* Notes what a message tells about the broker: a message after silence,
 * or a Heartbeat from another broker instance, starts a new epoch. After
 * silence the instance is learnt again, so one restart bumps it once. */
static void
s_note_heard (zjob_client_t *client, const Zjob__Envelope *env)
{
    bool restarted = client->down;
    client->down = false;
    if (restarted) {
        client->instance = 0;
    }
    if (env->body_case == ZJOB__ENVELOPE__BODY_HEARTBEAT &&
        env->heartbeat->instance != 0) {
        restarted = restarted || (client->instance != 0 &&
                                  client->instance != env->heartbeat->instance);
        client->instance = env->heartbeat->instance;
    }
    if (restarted) {
        client->epoch++; /* also after waiting for a broker never heard:
                            what was sent meanwhile may be lost */
    }
    client->heard = true;
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
    client->owed_ms = 0;
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
    if (*out) {
        s_note_heard (client, *out);
    }
    return *out != NULL;
}

/* Monotonic time at which the down timeout runs out: the down timeout
 * after the first Heartbeat left unanswered; UINT64_MAX when none is. */
static uint64_t
s_down_end (const zjob_client_t *client)
{
    if (client->owed_ms == 0) {
        return UINT64_MAX;
    }
    return client->owed_ms + (uint64_t) client->down_timeout_ms;
}

/* Milliseconds to sleep in zmq_poll: until the deadline, the next
 * heartbeat, the liveness limit or the end of the down timeout, whichever
 * comes first. */
static long
s_poll_wait (const zjob_client_t *client, uint64_t now, uint64_t deadline_ms)
{
    uint64_t next = client->last_ping_ms + (uint64_t) client->heartbeat_ms;
    uint64_t dead = client->last_heard_ms +
                    (uint64_t) client->heartbeat_ms * client->liveness;
    uint64_t down_end = s_down_end (client);
    if (dead < next && dead > now) {
        next = dead;
    }
    if (down_end < next && down_end > now) {
        next = down_end;
    }
    if (deadline_ms < next) {
        next = deadline_ms;
    }
    return next > now ? (long) (next - now) : 0;
}

/* Presumes the broker down (once per silence) and tells the program. */
static void
s_mark_down (zjob_client_t *client)
{
    if (!client->down) {
        client->down = true;
        if (client->down_fn) {
            client->down_fn (client, client->down_timeout_ms, client->down_arg);
        }
    }
}

/* Applies the silence rules at now: returns ZJOB_EUNREACHABLE when the
 * wait must end, else ZJOB_OK (marking the broker down past liveness). A
 * broker never heard gets liveness x interval, unless the client is
 * patient; then, as for one heard, the down timeout applies. */
static zjob_err_t
s_check_silence (zjob_client_t *client, uint64_t now, bool patient)
{
    uint64_t silent = now - client->last_heard_ms;
    uint64_t liveness = (uint64_t) client->heartbeat_ms * client->liveness;
    bool known = client->heard || client->patient;
    if (!known && silent >= liveness) {
        return client_fail (client, ZJOB_EUNREACHABLE,
                            "broker at %s did not answer for %llu ms",
                            client->endpoint, (unsigned long long) liveness);
    }
    if (silent >= liveness) {
        s_mark_down (client);
    }
    if (!known || patient || now < s_down_end (client)) {
        return ZJOB_OK;
    }
    return client_fail (client, ZJOB_EUNREACHABLE,
                        "broker at %s silent for %llu ms (down timeout %lld "
                        "ms)",
                        client->endpoint, (unsigned long long) silent,
                        (long long) client->down_timeout_ms);
}

zjob_err_t
client_recv (zjob_client_t *client, uint64_t deadline_ms, bool patient,
             Zjob__Envelope **out)
{
    *out = NULL;
    zmq_pollitem_t item = {zsock_resolve (client->dealer), 0, ZMQ_POLLIN, 0};
    while (true) {
        if (s_read_one (client, out)) {
            return ZJOB_OK;
        }
        /* The bookkeeping comes before the deadline check, so that a
         * caller polling with no wait at all still heartbeats and learns
         * of silence and of a new broker instance. */
        uint64_t now = clock_mono_ms ();
        zjob_err_t err = s_check_silence (client, now, patient);
        if (err != ZJOB_OK) {
            return err;
        }
        s_ping_if_due (client, now);
        if (now >= deadline_ms) {
            return client_fail (client, ZJOB_ETIMEDOUT, "timed out");
        }
        if (zmq_poll (&item, 1, s_poll_wait (client, now, deadline_ms)) < 0 &&
            zmq_errno () != EINTR) {
            return client_fail (client, ZJOB_EUNREACHABLE, "poll: %s",
                                zmq_strerror (zmq_errno ()));
        }
    }
}

zjob_err_t
client_recv_queued (zjob_client_t *client, Zjob__Envelope **out)
{
    *out = NULL;
    if (s_read_one (client, out)) {
        return ZJOB_OK;
    }
    return client_fail (client, ZJOB_ETIMEDOUT, "timed out");
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

/* One request in flight: when to give up, when to send it again. */
typedef struct {
    Zjob__Envelope *envelope; /* the request, sent again as it is */
    uint64_t epoch;           /* client epoch it was last sent under */
    uint64_t deadline_ms;     /* no reply by then from a live broker: fail */
    uint64_t resend_ms;       /* no reply by then: send once more */
} s_request_t;

/* Sends the request (again) and restarts its clocks. */
static zjob_err_t
s_request_send (zjob_client_t *client, s_request_t *request)
{
    uint64_t now = clock_mono_ms ();
    request->epoch = client->epoch;
    request->deadline_ms = now + (uint64_t) client->timeout_ms;
    request->resend_ms = now + (uint64_t) client->timeout_ms / 2;
    return client_send (client, request->envelope);
}

/* Handles a timeout of the request's wait: a broker presumed down gets
 * more time (the down timeout bounds it), a lost message is sent once
 * more. Returns ZJOB_OK to keep waiting or ZJOB_EUNREACHABLE. */
static zjob_err_t
s_request_late (zjob_client_t *client, s_request_t *request)
{
    uint64_t now = clock_mono_ms ();
    if (client->down) {
        request->deadline_ms = now + (uint64_t) client->timeout_ms;
        request->resend_ms = request->deadline_ms;
        return ZJOB_OK;
    }
    if (now < request->deadline_ms) {
        request->resend_ms = request->deadline_ms;
        client_send (client, request->envelope);
        return ZJOB_OK;
    }
    return client_fail (client, ZJOB_EUNREACHABLE,
                        "no reply from the broker at %s within %d ms",
                        client->endpoint, client->timeout_ms);
}

zjob_err_t
client_request (zjob_client_t *client, Zjob__Envelope *envelope,
                uint64_t req_id, Zjob__Envelope **reply)
{
    *reply = NULL;
    s_request_t request = {.envelope = envelope};
    zjob_err_t err = s_request_send (client, &request);
    client_expect (client);
    while (err == ZJOB_OK) {
        Zjob__Envelope *env = NULL;
        uint64_t until = request.resend_ms;
        err = client_recv (client, until, false, &env);
        if (err == ZJOB_ETIMEDOUT) {
            err = s_request_late (client, &request);
            continue;
        }
        if (err == ZJOB_OK && client->epoch != request.epoch) {
            err = s_request_send (client, &request);
        }
        if (err != ZJOB_OK || codec_request_id (env) != req_id) {
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
    info->failures = wire->failures;
    info->lost = wire->lost;
}

zjob_err_t
client_spec_to_wire (zjob_client_t *client, const zjob_spec_t *spec,
                     Zjob__JobSpec *wire, char *key_buf)
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
    if (spec->key && *spec->key) {
        wire->key = (char *) spec->key;
    } else {
        zjob_client_new_key (client, key_buf, ZJOB_KEY_LEN);
        wire->key = key_buf;
    }
    return ZJOB_OK;
}

zjob_err_t
client_send_waits (zjob_client_t *client, const uint64_t *ids, size_t n)
{
    for (size_t start = 0; start < n; start += client->limits.max_batch) {
        size_t count = n - start;
        if (count > client->limits.max_batch) {
            count = client->limits.max_batch;
        }
        Zjob__Wait wait = ZJOB__WAIT__INIT;
        wait.req_id = client_req_id (client);
        wait.n_ids = count;
        wait.ids = (uint64_t *) ids + start;
        Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
        env.body_case = ZJOB__ENVELOPE__BODY_WAIT;
        env.wait = &wait;
        zjob_err_t err = client_send (client, &env);
        if (err != ZJOB_OK) {
            return err;
        }
    }
    return ZJOB_OK;
}
