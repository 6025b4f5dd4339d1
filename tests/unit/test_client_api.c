/* Unit tests of libzjob against an in-process fake broker (a zactor with a
 * ROUTER on inproc) that answers Submit, Status, Wait and Heartbeat. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/codec.h"
#include "zjob/zjob.h"

#define FAKE_ENDPOINT "inproc://test-client-api"
#define FAKE_FIRST_ID 1000

/* Answers a Submit: ids from FAKE_FIRST_ID, and a job on queue "bad" is
 * refused; with notify, pushes each accepted job as succeeded. */
static void
s_fake_submit (zsock_t *router, zframe_t *peer, const Zjob__Submit *submit,
               uint64_t *next_id)
{
    Zjob__JobAck acks[16], *ack_ptrs[16];
    Zjob__JobInfo infos[16], *info_ptrs[16];
    size_t n_infos = 0;
    for (size_t i = 0; i < submit->n_jobs && i < 16; i++) {
        zjob__job_ack__init (&acks[i]);
        ack_ptrs[i] = &acks[i];
        if (strcmp (submit->jobs[i]->queue, "bad") == 0) {
            acks[i].code = ZJOB__ERROR_CODE__ERR_BAD_REQUEST;
            acks[i].error = "bad queue";
            continue;
        }
        acks[i].id = (*next_id)++;
        zjob__job_info__init (&infos[n_infos]);
        infos[n_infos].id = acks[i].id;
        infos[n_infos].state = ZJOB__STATE__STATE_SUCCEEDED;
        infos[n_infos].result = submit->jobs[i]->payload;
        info_ptrs[n_infos] = &infos[n_infos];
        n_infos++;
    }
    Zjob__SubmitReply reply = ZJOB__SUBMIT_REPLY__INIT;
    reply.req_id = submit->req_id;
    reply.n_acks = submit->n_jobs < 16 ? submit->n_jobs : 16;
    reply.acks = ack_ptrs;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.body_case = ZJOB__ENVELOPE__BODY_SUBMIT_REPLY;
    env.submit_reply = &reply;
    codec_send (router, peer, &env);
    if (submit->notify && n_infos > 0) {
        Zjob__Results results = ZJOB__RESULTS__INIT;
        results.n_jobs = n_infos;
        results.jobs = info_ptrs;
        env.body_case = ZJOB__ENVELOPE__BODY_RESULTS;
        env.results = &results;
        codec_send (router, peer, &env);
    }
}

/* Answers Status (or pushes Results for Wait): ids >= FAKE_FIRST_ID are
 * succeeded with result "ok", others unknown. */
static void
s_fake_ids (zsock_t *router, zframe_t *peer, uint64_t req_id,
            const uint64_t *ids, size_t n, bool wait)
{
    Zjob__JobInfo infos[16], *ptrs[16];
    for (size_t i = 0; i < n && i < 16; i++) {
        zjob__job_info__init (&infos[i]);
        infos[i].id = ids[i];
        infos[i].queue = "q";
        if (ids[i] >= FAKE_FIRST_ID) {
            infos[i].state = ZJOB__STATE__STATE_SUCCEEDED;
            infos[i].result.data = (uint8_t *) "ok";
            infos[i].result.len = 2;
        }
        ptrs[i] = &infos[i];
    }
    Zjob__StatusReply status = ZJOB__STATUS_REPLY__INIT;
    Zjob__Results results = ZJOB__RESULTS__INIT;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    if (wait) {
        results.n_jobs = n < 16 ? n : 16;
        results.jobs = ptrs;
        env.body_case = ZJOB__ENVELOPE__BODY_RESULTS;
        env.results = &results;
    } else {
        status.req_id = req_id;
        status.n_jobs = n < 16 ? n : 16;
        status.jobs = ptrs;
        env.body_case = ZJOB__ENVELOPE__BODY_STATUS_REPLY;
        env.status_reply = &status;
    }
    codec_send (router, peer, &env);
}

/* Handles one message from a client. */
static void
s_fake_handle (zsock_t *router, zframe_t *peer, const Zjob__Envelope *env,
               uint64_t *next_id)
{
    if (env->body_case == ZJOB__ENVELOPE__BODY_SUBMIT) {
        s_fake_submit (router, peer, env->submit, next_id);
    } else if (env->body_case == ZJOB__ENVELOPE__BODY_STATUS) {
        s_fake_ids (router, peer, env->status->req_id, env->status->ids,
                    env->status->n_ids, false);
    } else if (env->body_case == ZJOB__ENVELOPE__BODY_WAIT) {
        s_fake_ids (router, peer, 0, env->wait->ids, env->wait->n_ids, true);
    } else if (env->body_case == ZJOB__ENVELOPE__BODY_HEARTBEAT) {
        codec_send (router, peer, (Zjob__Envelope *) env);
    } else {
        codec_send_error (router, peer, ZJOB__ERROR_CODE__ERR_BAD_REQUEST, 0,
                          "not faked");
    }
}

static void
s_fake_broker (zsock_t *pipe, void *arg)
{
    zsock_t *router = zsock_new_router (FAKE_ENDPOINT);
    codec_limits_t limits;
    codec_limits_default (&limits);
    uint64_t next_id = FAKE_FIRST_ID;
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (poller, 5000);
        if (which != router) {
            break; /* $TERM from the test, or a stuck test */
        }
        zmsg_t *msg = zmsg_recv (router);
        zframe_t *peer = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        Zjob__Envelope *env = NULL;
        char why[128];
        if (body && codec_decode (zframe_data (body), zframe_size (body),
                                  &limits, &env, NULL, why,
                                  sizeof why) == ZJOB__ERROR_CODE__ERR_NONE) {
            s_fake_handle (router, peer, env, &next_id);
        }
        codec_free (&env);
        zframe_destroy (&body);
        zframe_destroy (&peer);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

static int
s_setup (void **state)
{
    *state = zactor_new (s_fake_broker, NULL);
    return *state ? 0 : -1;
}

static int
s_teardown (void **state)
{
    zactor_t *actor = *state;
    zactor_destroy (&actor);
    return 0;
}

static void
test_client_api_submits_and_reports_refusals (void **state)
{
    zjob_client_t *client = zjob_client_new (FAKE_ENDPOINT);
    assert_non_null (client);
    zjob_spec_t specs[3] = {{.queue = "q", .payload = "a", .payload_len = 1},
                            {.queue = "bad"},
                            {.queue = "q"}};
    uint64_t ids[3];
    zjob_err_t errs[3];
    zjob_err_t err = zjob_submit (client, specs, 3, ids, errs);
    assert_int_equal (err, ZJOB_OK);
    assert_int_not_equal (ids[0], 0);
    assert_int_equal (ids[1], 0);
    assert_int_equal (errs[1], ZJOB_EREJECTED);
    assert_int_equal (errs[2], ZJOB_OK);
    err = zjob_submit (client, specs, 3, ids, NULL);
    assert_int_equal (err, ZJOB_EREJECTED);
    assert_string_equal (zjob_client_error (client), "bad queue");
    specs[0].queue = "";
    assert_int_equal (zjob_submit (client, specs, 1, ids, NULL), ZJOB_EINVAL);
    zjob_client_destroy (&client);
    assert_null (client);
}

static void
s_count_info (const zjob_info_t *info, void *arg)
{
    int *states = arg;
    states[info->state]++;
}

static void
test_client_api_status_and_wait (void **state)
{
    zjob_client_t *client = zjob_client_new (FAKE_ENDPOINT);
    uint64_t ids[] = {FAKE_FIRST_ID + 5, 7, FAKE_FIRST_ID + 5};
    int states[9] = {0};
    assert_int_equal (zjob_status (client, ids, 3, s_count_info, states),
                      ZJOB_OK);
    assert_int_equal (states[ZJOB_STATE_SUCCEEDED], 2);
    assert_int_equal (states[ZJOB_STATE_UNKNOWN], 1);
    memset (states, 0, sizeof states);
    /* Wait reports each distinct id once. */
    assert_int_equal (zjob_wait (client, ids, 3, 2000, s_count_info, states),
                      ZJOB_OK);
    assert_int_equal (states[ZJOB_STATE_SUCCEEDED], 1);
    assert_int_equal (states[ZJOB_STATE_UNKNOWN], 1);
    zjob_client_destroy (&client);
}

/* Counts async events. */
typedef struct {
    int acks, refused, results;
} s_events_t;

static void
s_count_event (const zjob_event_t *event, void *arg)
{
    s_events_t *events = arg;
    if (event->type == ZJOB_EVENT_ACK) {
        events->acks++;
        events->refused += event->err != ZJOB_OK;
    } else if (event->type == ZJOB_EVENT_RESULT) {
        events->results++;
    }
}

static void
test_client_api_pipelines_submits (void **state)
{
    zjob_client_t *client = zjob_client_new (FAKE_ENDPOINT);
    zjob_spec_t specs[2] = {{.queue = "q"}, {.queue = "bad"}};
    uint64_t req_id = 0;
    for (int i = 0; i < 5; i++) {
        assert_int_equal (zjob_submit_async (client, specs, 2, &req_id),
                          ZJOB_OK);
    }
    assert_int_equal (zjob_client_pending (client), 10);
    s_events_t events = {0};
    for (int round = 0; round < 50 && zjob_client_pending (client); round++) {
        assert_int_equal (
            zjob_client_poll (client, 100, s_count_event, &events), ZJOB_OK);
    }
    assert_int_equal (events.acks, 10);
    assert_int_equal (events.refused, 5);
    assert_int_equal (events.results, 5);
    assert_int_equal (zjob_client_pending (client), 0);
    assert_int_equal (zjob_submit_async (client, specs, 0, &req_id),
                      ZJOB_EINVAL);
    zjob_client_destroy (&client);
}

/* What the silent broker of the next test saw of its client. */
typedef struct {
    int heartbeats; /* Heartbeats received (each answered) */
    int submits;    /* Submits received (none answered) */
} s_silent_t;

/* Reads what the client sent to router (which must not block on receive):
 * Heartbeats are
 * answered with instance 1 for the first two, then 2 (a restart). */
static void
s_silent_serve (zsock_t *router, const codec_limits_t *limits, s_silent_t *seen)
{
    zmsg_t *msg;
    while ((msg = zmsg_recv (router)) != NULL) {
        zframe_t *peer = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        Zjob__Envelope *env = NULL;
        char why[128];
        if (body && codec_decode (zframe_data (body), zframe_size (body),
                                  limits, &env, NULL, why,
                                  sizeof why) == ZJOB__ERROR_CODE__ERR_NONE) {
            if (env->body_case == ZJOB__ENVELOPE__BODY_SUBMIT) {
                seen->submits++;
            } else if (env->body_case == ZJOB__ENVELOPE__BODY_HEARTBEAT) {
                seen->heartbeats++;
                Zjob__Heartbeat beat;
                Zjob__Envelope reply;
                codec_heartbeat (&reply, &beat);
                beat.instance = seen->heartbeats <= 2 ? 1 : 2;
                codec_send (router, peer, &reply);
            }
        }
        codec_free (&env);
        zframe_destroy (&body);
        zframe_destroy (&peer);
        zmsg_destroy (&msg);
    }
}

/* A caller that only ever polls with timeout 0 still heartbeats, and so
 * learns of a broker restart and sends its unacknowledged Submit again. */
static void
test_client_api_poll_zero_notices_restart (void **state)
{
    (void) state;
    zsock_t *router = zsock_new_router ("inproc://test-client-api-silent");
    assert_non_null (router);
    zsock_set_rcvtimeo (router, 0);
    codec_limits_t limits;
    codec_limits_default (&limits);
    zjob_client_t *client = zjob_client_new ("inproc://test-client-api-silent");
    zjob_client_set_heartbeat (client, 20, 50);
    zjob_spec_t spec = {.queue = "q"};
    assert_int_equal (zjob_submit_async (client, &spec, 1, NULL), ZJOB_OK);
    s_silent_t seen = {0};
    s_events_t events = {0};
    uint64_t until = clock_mono_ms () + 3000;
    while (seen.submits < 2 && clock_mono_ms () < until) {
        assert_int_equal (zjob_client_poll (client, 0, s_count_event, &events),
                          ZJOB_OK);
        s_silent_serve (router, &limits, &seen);
        zclock_sleep (1);
    }
    assert_true (seen.heartbeats >= 3);
    assert_int_equal (seen.submits, 2); /* the first and one after restart */
    assert_int_equal (events.acks, 0);
    zjob_client_destroy (&client);
    zsock_destroy (&router);
}

static void
test_client_api_fails_fast_without_broker (void **state)
{
    zjob_client_t *client = zjob_client_new ("inproc://nobody-here");
    assert_non_null (client);
    zjob_client_set_heartbeat (client, 50, 2);
    uint64_t id = 1;
    int states[9] = {0};
    assert_int_equal (zjob_status (client, &id, 1, s_count_info, states),
                      ZJOB_EUNREACHABLE);
    assert_int_equal (zjob_wait (client, &id, 1, -1, s_count_info, states),
                      ZJOB_EUNREACHABLE);
    assert_true (strlen (zjob_client_error (client)) > 0);
    zjob_client_destroy (&client);
    assert_null (zjob_client_new ("nonsense://x"));
}

/* Counts the down notices of a client. */
static void
s_count_down (zjob_client_t *client, int64_t down_timeout_ms, void *arg)
{
    (void) client;
    assert_int_equal (down_timeout_ms, 400);
    (*(int *) arg)++;
}

static void
test_client_api_patient_waits_the_down_timeout (void **state)
{
    zjob_client_t *client = zjob_client_new ("inproc://nobody-here");
    assert_non_null (client);
    int downs = 0;
    zjob_client_set_heartbeat (client, 50, 2);
    zjob_client_set_down_timeout (client, 400);
    zjob_client_set_patient (client, true);
    zjob_client_on_down (client, s_count_down, &downs);
    uint64_t id = 1;
    int states[9] = {0};
    uint64_t start = clock_mono_ms ();
    assert_int_equal (zjob_wait (client, &id, 1, -1, s_count_info, states),
                      ZJOB_EUNREACHABLE);
    uint64_t took = clock_mono_ms () - start;
    assert_true (took >= 380 && took < 2000); /* not liveness x interval */
    assert_int_equal (downs, 1);
    zjob_client_destroy (&client);
}

static void
test_client_api_names_states_and_errors (void **state)
{
    assert_string_equal (zjob_state_name (ZJOB_STATE_TIMED_OUT), "timed_out");
    assert_true (zjob_state_is_final (ZJOB_STATE_DEAD));
    assert_false (zjob_state_is_final (ZJOB_STATE_RUNNING));
    assert_false (zjob_state_is_final (ZJOB_STATE_UNKNOWN));
    assert_string_equal (zjob_strerror (ZJOB_OK), "success");
    assert_string_equal (zjob_strerror ((zjob_err_t) 999), "unknown error");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_client_api_submits_and_reports_refusals),
        cmocka_unit_test (test_client_api_status_and_wait),
        cmocka_unit_test (test_client_api_pipelines_submits),
        cmocka_unit_test (test_client_api_poll_zero_notices_restart),
        cmocka_unit_test (test_client_api_fails_fast_without_broker),
        cmocka_unit_test (test_client_api_patient_waits_the_down_timeout),
        cmocka_unit_test (test_client_api_names_states_and_errors),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
