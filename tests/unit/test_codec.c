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

/* Appends value as a varint at *at. */
static void
s_put_varint (uint8_t **at, uint64_t value)
{
    while (value >= 0x80) {
        *(*at)++ = (uint8_t) (value | 0x80);
        value >>= 7;
    }
    *(*at)++ = (uint8_t) value;
}

/* Builds Envelope{major 1, body field body_field = count copies of item
 * (item_len bytes)} into a new buffer of *size bytes. */
static uint8_t *
s_frame_of_items (unsigned body_field, const uint8_t *item, size_t item_len,
                  size_t count, size_t *size)
{
    size_t body_len = item_len * count;
    uint8_t *frame = malloc (body_len + 32);
    assert_non_null (frame);
    uint8_t *at = frame;
    *at++ = 0x08; /* major = 1 */
    *at++ = 0x01;
    s_put_varint (&at, body_field << 3 | 2);
    s_put_varint (&at, body_len);
    for (size_t i = 0; i < count; i++) {
        memcpy (at, item, item_len);
        at += item_len;
    }
    *size = (size_t) (at - frame);
    return frame;
}

static void
test_codec_counts_items_before_unpacking (void **state)
{
    codec_limits_t limits;
    codec_limits_default (&limits); /* batch 10,000: 640,000 items */
    Zjob__Envelope *out = NULL;
    char why[256] = "";
    size_t size;

    /* 700,000 empty JobSpecs: 1.4 MB on the wire, some 70 MB unpacked */
    const uint8_t empty_spec[] = {0x12, 0x00};
    uint8_t *frame = s_frame_of_items (10, empty_spec, 2, 700000, &size);
    assert_int_equal (
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_TOO_LARGE);
    assert_null (out);
    assert_non_null (strstr (why, "more than 640000 items"));
    free (frame);

    /* a packed id list of 700,000 one-byte varints in one Wait */
    uint8_t *packed = malloc (700000);
    assert_non_null (packed);
    memset (packed, 0x01, 700000);
    uint8_t head[8], *at = head;
    *at++ = 0x12; /* ids = 2, packed */
    s_put_varint (&at, 700000);
    size_t head_len = (size_t) (at - head);
    frame = malloc (700000 + 64);
    assert_non_null (frame);
    at = frame;
    *at++ = 0x08;
    *at++ = 0x01;
    s_put_varint (&at, 11 << 3 | 2); /* wait */
    s_put_varint (&at, head_len + 700000);
    memcpy (at, head, head_len);
    at += head_len;
    memcpy (at, packed, 700000);
    at += 700000;
    assert_int_equal (codec_decode (frame, (size_t) (at - frame), &limits, &out,
                                    NULL, why, sizeof why),
                      ZJOB__ERROR_CODE__ERR_TOO_LARGE);
    assert_non_null (strstr (why, "items"));
    free (frame);
    free (packed);

    /* unknown fields are items too: 700,000 of them */
    const uint8_t unknown[] = {0xf8, 0x07, 0x01}; /* field 127, varint 1 */
    frame = s_frame_of_items (10, unknown, 3, 700000, &size);
    assert_int_equal (
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_TOO_LARGE);
    free (frame);

    /* a full batch of 10,000 jobs is well within the count */
    const uint8_t spec[] = {0x12, 0x06, 0x0a, 0x04, 'e', 'c', 'h', 'o'};
    frame = s_frame_of_items (10, spec, sizeof spec, 10000, &size);
    assert_int_equal (
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_NONE);
    assert_int_equal (out->submit->n_jobs, 10000);
    assert_string_equal (out->submit->jobs[9999]->queue, "echo");
    codec_free (&out);
    free (frame);

    /* a nested message that claims more bytes than it has is malformed */
    const uint8_t cut[] = {0x12, 0x09, 0x0a, 0x04, 'e', 'c', 'h', 'o'};
    frame = s_frame_of_items (10, cut, sizeof cut, 1, &size);
    assert_int_equal (
        codec_decode (frame, size, &limits, &out, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_MALFORMED);
    free (frame);
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
        cmocka_unit_test (test_codec_counts_items_before_unpacking),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
