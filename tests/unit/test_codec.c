/* Unit tests for the wire codec: round trips and rejection of bad frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"

/* Packs env (stamped with major) into a new buffer of *size bytes. */
static uint8_t *
s_pack (Zjob__Envelope *env, uint32_t major, size_t *size)
{
    env->major = major;
    *size = zjob__envelope__get_packed_size (env);
    uint8_t *buffer = malloc (*size + 1);
    assert_non_null (buffer);
    zjob__envelope__pack (env, buffer);
    return buffer;
}

/* Builds a Submit envelope of count jobs of payload_len bytes each; the
 * jobs and specs live in the caller's arrays. */
static void
s_make_submit (Zjob__Envelope *env, Zjob__Submit *submit, Zjob__JobSpec *specs,
               Zjob__JobSpec **spec_ptrs, size_t count, uint8_t *payload,
               size_t payload_len)
{
    zjob__envelope__init (env);
    zjob__submit__init (submit);
    for (size_t i = 0; i < count; i++) {
        zjob__job_spec__init (&specs[i]);
        specs[i].queue = "echo";
        specs[i].payload.data = payload;
        specs[i].payload.len = payload_len;
        specs[i].priority = (int32_t) i - 1;
        spec_ptrs[i] = &specs[i];
    }
    submit->req_id = 77;
    submit->n_jobs = count;
    submit->jobs = spec_ptrs;
    env->body_case = ZJOB__ENVELOPE__BODY_SUBMIT;
    env->submit = submit;
}

static void
test_codec_submit_round_trips (void **state)
{
    Zjob__Envelope env;
    Zjob__Submit submit;
    Zjob__JobSpec specs[3];
    Zjob__JobSpec *ptrs[3];
    uint8_t payload[] = "hello";
    codec_limits_t limits;
    char why[256] = "";
    size_t size;

    codec_limits_default (&limits);
    s_make_submit (&env, &submit, specs, ptrs, 3, payload, 5);
    uint8_t *frame = s_pack (&env, ZJOB_PROTO_MAJOR, &size);
    Zjob__Envelope *out = NULL;
    Zjob__ErrorCode code =
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why);
    if (code != ZJOB__ERROR_CODE__ERR_NONE) {
        fail_msg ("decode failed: %s", why);
    }
    assert_int_equal (out->body_case, ZJOB__ENVELOPE__BODY_SUBMIT);
    assert_int_equal (out->submit->req_id, 77);
    assert_int_equal (out->submit->n_jobs, 3);
    assert_string_equal (out->submit->jobs[2]->queue, "echo");
    assert_int_equal (out->submit->jobs[0]->priority, -1);
    assert_memory_equal (out->submit->jobs[1]->payload.data, "hello", 5);
    codec_free (&out);
    assert_null (out);
    free (frame);
}

static void
test_codec_rejects_garbage (void **state)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99};
    codec_limits_t limits;
    Zjob__Envelope *out = (Zjob__Envelope *) &limits;
    char why[256] = "";

    codec_limits_default (&limits);
    assert_int_equal (codec_decode (garbage, sizeof garbage, &limits, &out,
                                    NULL, why, sizeof why),
                      ZJOB__ERROR_CODE__ERR_MALFORMED);
    assert_null (out);
    assert_non_null (strstr (why, "not a zjob envelope"));
}

static void
test_codec_rejects_empty_body (void **state)
{
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    codec_limits_t limits;
    Zjob__Envelope *out = NULL;
    char why[256] = "";
    size_t size;

    codec_limits_default (&limits);
    uint8_t *frame = s_pack (&env, ZJOB_PROTO_MAJOR, &size);
    assert_int_equal (
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_MALFORMED);
    assert_null (out);
    free (frame);
}

static void
test_codec_names_both_versions (void **state)
{
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    Zjob__Heartbeat beat = ZJOB__HEARTBEAT__INIT;
    codec_limits_t limits;
    Zjob__Envelope *out = NULL;
    char why[256] = "";
    size_t size;

    codec_limits_default (&limits);
    env.body_case = ZJOB__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &beat;
    uint8_t *frame = s_pack (&env, ZJOB_PROTO_MAJOR + 1, &size);
    assert_int_equal (
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_VERSION);
    assert_non_null (strstr (why, "2.0"));
    assert_non_null (strstr (why, "1.0"));
    free (frame);
}

static void
test_codec_rejects_oversize (void **state)
{
    Zjob__Envelope env;
    Zjob__Submit submit;
    Zjob__JobSpec specs[4];
    Zjob__JobSpec *ptrs[4];
    uint8_t payload[100] = {0};
    codec_limits_t limits = {
        .max_message = 1 << 20, .max_payload = 64, .max_batch = 3};
    Zjob__Envelope *out = NULL;
    char why[256] = "";
    size_t size;

    s_make_submit (&env, &submit, specs, ptrs, 2, payload, 100);
    uint8_t *frame = s_pack (&env, ZJOB_PROTO_MAJOR, &size);
    assert_int_equal (
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_TOO_LARGE);
    assert_non_null (strstr (why, "payload of 100 bytes"));
    free (frame);

    s_make_submit (&env, &submit, specs, ptrs, 4, payload, 10);
    frame = s_pack (&env, ZJOB_PROTO_MAJOR, &size);
    assert_int_equal (
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_TOO_LARGE);
    assert_non_null (strstr (why, "batch of 4"));

    limits.max_message = size - 1;
    limits.max_batch = 100;
    assert_int_equal (
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_TOO_LARGE);
    assert_non_null (strstr (why, "message of"));
    assert_null (out);
    free (frame);
}

static void
test_codec_truncated_frame_is_malformed (void **state)
{
    Zjob__Envelope env;
    Zjob__Submit submit;
    Zjob__JobSpec specs[2];
    Zjob__JobSpec *ptrs[2];
    uint8_t payload[32] = {1};
    codec_limits_t limits;
    Zjob__Envelope *out = NULL;
    char why[256];
    size_t size;

    codec_limits_default (&limits);
    s_make_submit (&env, &submit, specs, ptrs, 2, payload, 32);
    uint8_t *frame = s_pack (&env, ZJOB_PROTO_MAJOR, &size);
    for (size_t cut = 1; cut < size; cut += 7) {
        Zjob__ErrorCode code = codec_decode (frame, size - cut, &limits, &out,
                                             NULL, why, sizeof why);
        if (code == ZJOB__ERROR_CODE__ERR_NONE) {
            /* A cut on a field boundary may still parse; it must be whole. */
            assert_int_equal (out->body_case, ZJOB__ENVELOPE__BODY_SUBMIT);
            codec_free (&out);
        } else {
            assert_int_equal (code, ZJOB__ERROR_CODE__ERR_MALFORMED);
            assert_null (out);
        }
    }
    free (frame);
}

static void
test_codec_state_names (void **state)
{
    assert_string_equal (codec_state_name (ZJOB__STATE__STATE_QUEUED),
                         "queued");
    assert_string_equal (codec_state_name (ZJOB__STATE__STATE_TIMED_OUT),
                         "timed_out");
    assert_string_equal (codec_state_name ((Zjob__State) 99), "unknown");
    assert_string_equal (codec_error_name (ZJOB__ERROR_CODE__ERR_BUSY), "busy");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_codec_submit_round_trips),
        cmocka_unit_test (test_codec_rejects_garbage),
        cmocka_unit_test (test_codec_rejects_empty_body),
        cmocka_unit_test (test_codec_names_both_versions),
        cmocka_unit_test (test_codec_rejects_oversize),
        cmocka_unit_test (test_codec_truncated_frame_is_malformed),
        cmocka_unit_test (test_codec_state_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
