/* A misbehaving peer for the bad-input test: it sends the broker garbage,
 * malformed and oversize messages on both ports and checks that each gets
 * a clear Error (or is dropped) while the broker keeps answering.
 *
 * Usage: zjob-badpeer CLIENT_EP WORKER_EP. Exit 0 when every check held;
 * otherwise 1, with the failed check on stderr. Every wait is bounded.
 */
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "common/codec.h"

#define REPLY_WAIT_MS 3000

static int s_failures;

static void
s_check (bool ok, const char *what, const char *detail)
{
    printf ("%s: %s%s%s\n", ok ? "ok" : "FAILED", what, detail ? ": " : "",
            detail ? detail : "");
    if (!ok) {
        s_failures++;
    }
}

static zsock_t *
s_connect (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zsock_set_linger (sock, 0);
    zsock_set_rcvtimeo (sock, REPLY_WAIT_MS);
    zsock_connect (sock, "%s", endpoint);
    return sock;
}

/* Receives one reply; NULL when none came in time. Caller frees. */
static Zjob__Envelope *
s_receive (zsock_t *sock)
{
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg) {
        return NULL;
    }
    zframe_t *frame = zmsg_first (msg);
    Zjob__Envelope *env =
        zjob__envelope__unpack (NULL, zframe_size (frame), zframe_data (frame));
    zmsg_destroy (&msg);
    return env;
}

/* Sends raw frames and expects an Error with the given code. */
static void
s_expect_error (zsock_t *sock, zmsg_t *msg, Zjob__ErrorCode code,
                const char *what, const char *needle)
{
    zmsg_send (&msg, sock);
    Zjob__Envelope *reply = s_receive (sock);
    bool ok = reply && reply->body_case == ZJOB__ENVELOPE__BODY_ERROR &&
              reply->error->code == code &&
              (!needle || strstr (reply->error->message, needle));
    s_check (ok, what,
             reply && reply->body_case == ZJOB__ENVELOPE__BODY_ERROR
                 ? reply->error->message
                 : "no Error reply");
    if (reply) {
        zjob__envelope__free_unpacked (reply, NULL);
    }
}

static zmsg_t *
s_pack (Zjob__Envelope *env, uint32_t major)
{
    env->major = major;
    size_t size = zjob__envelope__get_packed_size (env);
    zframe_t *frame = zframe_new (NULL, size);
    zjob__envelope__pack (env, zframe_data (frame));
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &frame);
    return msg;
}

/* A Submit of count jobs of payload_len bytes to queue. */
static zmsg_t *
s_submit (const char *queue, size_t count, size_t payload_len)
{
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    Zjob__Submit submit = ZJOB__SUBMIT__INIT;
    Zjob__JobSpec spec = ZJOB__JOB_SPEC__INIT;
    Zjob__JobSpec **specs = calloc (count, sizeof *specs);
    uint8_t *payload = calloc (1, payload_len + 1);
    spec.queue = (char *) queue;
    spec.payload.data = payload;
    spec.payload.len = payload_len;
    for (size_t i = 0; i < count; i++) {
        specs[i] = &spec;
    }
    submit.req_id = 9;
    submit.jobs = specs;
    submit.n_jobs = count;
    env.body_case = ZJOB__ENVELOPE__BODY_SUBMIT;
    env.submit = &submit;
    zmsg_t *msg = s_pack (&env, ZJOB_PROTO_MAJOR);
    free (specs);
    free (payload);
    return msg;
}

/* Submits one job and expects a per-job ack with the given code. */
static void
s_expect_ack (zsock_t *sock, zmsg_t *msg, Zjob__ErrorCode code,
              const char *what)
{
    zmsg_send (&msg, sock);
    Zjob__Envelope *reply = s_receive (sock);
    bool ok = false;
    const char *detail = "no reply";
    if (reply && reply->body_case == ZJOB__ENVELOPE__BODY_SUBMIT_REPLY &&
        reply->submit_reply->n_acks == 1) {
        ok = reply->submit_reply->acks[0]->code == code;
        detail = reply->submit_reply->acks[0]->error;
    } else if (reply && reply->body_case == ZJOB__ENVELOPE__BODY_ERROR) {
        ok = reply->error->code == code;
        detail = reply->error->message;
    }
    s_check (ok, what, detail);
    if (reply) {
        zjob__envelope__free_unpacked (reply, NULL);
    }
}

static void
s_attack_client_port (const char *endpoint)
{
    zsock_t *sock = s_connect (endpoint);

    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "\xff\xfe garbage \x00\x01", 14);
    s_expect_error (sock, msg, ZJOB__ERROR_CODE__ERR_MALFORMED, "garbage frame",
                    NULL);

    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    Zjob__Heartbeat beat = ZJOB__HEARTBEAT__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &beat;
    s_expect_error (sock, s_pack (&env, 7), ZJOB__ERROR_CODE__ERR_VERSION,
                    "other major version", "7.0");

    msg = s_pack (&env, ZJOB_PROTO_MAJOR);
    zmsg_addstr (msg, "an extra frame");
    s_expect_error (sock, msg, ZJOB__ERROR_CODE__ERR_MALFORMED, "two frames",
                    NULL);

    Zjob__Envelope empty = ZJOB__ENVELOPE__INIT;
    s_expect_error (sock, s_pack (&empty, ZJOB_PROTO_MAJOR),
                    ZJOB__ERROR_CODE__ERR_MALFORMED, "envelope without body",
                    NULL);

    s_expect_ack (sock, s_submit ("echo", 1, 4096),
                  ZJOB__ERROR_CODE__ERR_TOO_LARGE, "payload over the limit");
    s_expect_ack (sock, s_submit ("", 1, 4), ZJOB__ERROR_CODE__ERR_BAD_REQUEST,
                  "empty queue name");
    s_expect_error (sock, s_submit ("echo", 1500, 1),
                    ZJOB__ERROR_CODE__ERR_TOO_LARGE, "batch over the limit",
                    NULL);
    zsock_destroy (&sock);
}

static void
s_attack_worker_port (const char *endpoint)
{
    zsock_t *sock = s_connect (endpoint);

    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "\x0a\xff\xff\xff\xff\x0f", 6);
    s_expect_error (sock, msg, ZJOB__ERROR_CODE__ERR_MALFORMED,
                    "garbage on the worker port", NULL);

    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    Zjob__Done done = ZJOB__DONE__INIT;
    Zjob__Outcome outcome = ZJOB__OUTCOME__INIT;
    Zjob__Outcome *outcomes[] = {&outcome};
    outcome.id = 12345;
    outcome.attempt = 1;
    outcome.state = ZJOB__STATE__STATE_SUCCEEDED;
    done.outcomes = outcomes;
    done.n_outcomes = 1;
    env.body_case = ZJOB__ENVELOPE__BODY_DONE;
    env.done = &done;
    s_expect_error (sock, s_pack (&env, ZJOB_PROTO_MAJOR),
                    ZJOB__ERROR_CODE__ERR_UNKNOWN_WORKER,
                    "result from an unregistered worker", NULL);
    zsock_destroy (&sock);
}

/* A frame over ZMQ_MAXMSGSIZE: libzmq drops that connection; a new one
 * must still be served. */
static void
s_send_oversize (const char *endpoint, size_t size)
{
    zsock_t *sock = s_connect (endpoint);
    zmsg_t *msg = zmsg_new ();
    char *blob = calloc (1, size);
    zmsg_addmem (msg, blob, size);
    free (blob);
    zmsg_send (&msg, sock);
    zclock_sleep (300);
    zsock_destroy (&sock);
    s_check (true, "oversize message sent", NULL);
}

static void
s_expect_alive (const char *endpoint)
{
    zsock_t *sock = s_connect (endpoint);
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    Zjob__Status status = ZJOB__STATUS__INIT;
    uint64_t ids[] = {424242};
    status.req_id = 5;
    status.ids = ids;
    status.n_ids = 1;
    env.body_case = ZJOB__ENVELOPE__BODY_STATUS;
    env.status = &status;
    zmsg_t *msg = s_pack (&env, ZJOB_PROTO_MAJOR);
    zmsg_send (&msg, sock);
    Zjob__Envelope *reply = s_receive (sock);
    bool ok = reply && reply->body_case == ZJOB__ENVELOPE__BODY_STATUS_REPLY &&
              reply->status_reply->req_id == 5 &&
              reply->status_reply->n_jobs == 1 &&
              reply->status_reply->jobs[0]->state == ZJOB__STATE__STATE_UNKNOWN;
    s_check (ok, "broker still answers; unknown id is unknown", NULL);
    if (reply) {
        zjob__envelope__free_unpacked (reply, NULL);
    }
    zsock_destroy (&sock);
}

int
main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: zjob-badpeer CLIENT_EP WORKER_EP\n");
        return 2;
    }
    zsys_init ();
    zsys_set_linger (0);
    s_attack_client_port (argv[1]);
    s_attack_worker_port (argv[2]);
    s_send_oversize (argv[1], 256 * 1024);
    s_send_oversize (argv[2], 256 * 1024);
    s_expect_alive (argv[1]);
    printf ("%d failed checks\n", s_failures);
    return s_failures == 0 ? 0 : 1;
}
