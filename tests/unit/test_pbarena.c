/* Unit tests for the protobuf-c arena: messages unpacked into it, block
 * growth, reset, and finding the arena from its first allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/pbarena.h"

/* Packs a Dispatch of count jobs whose payloads are payload_len bytes of
 * 'a' + i % 26; *size gets the encoded size. */
static uint8_t *
s_pack_dispatch (size_t count, size_t payload_len, size_t *size)
{
    Zjob__Job *jobs = calloc (count, sizeof *jobs);
    Zjob__Job **pointers = calloc (count, sizeof *pointers);
    uint8_t *payloads = malloc (count * payload_len + 1);
    assert_true (jobs && pointers && payloads);
    for (size_t i = 0; i < count; i++) {
        zjob__job__init (&jobs[i]);
        jobs[i].id = i + 1;
        jobs[i].attempt = 1;
        jobs[i].queue = "echo";
        memset (payloads + i * payload_len, 'a' + (int) (i % 26), payload_len);
        jobs[i].payload.data = payloads + i * payload_len;
        jobs[i].payload.len = payload_len;
        pointers[i] = &jobs[i];
    }
    Zjob__Dispatch dispatch = ZJOB__DISPATCH__INIT;
    dispatch.n_jobs = count;
    dispatch.jobs = pointers;
    Zjob__Envelope env = ZJOB__ENVELOPE__INIT;
    env.major = ZJOB_PROTO_MAJOR;
    env.body_case = ZJOB__ENVELOPE__BODY_DISPATCH;
    env.dispatch = &dispatch;
    *size = zjob__envelope__get_packed_size (&env);
    uint8_t *buffer = malloc (*size);
    assert_non_null (buffer);
    zjob__envelope__pack (&env, buffer);
    free (payloads);
    free (pointers);
    free (jobs);
    return buffer;
}

/* Checks what s_pack_dispatch packed. */
static void
s_check_dispatch (const Zjob__Envelope *env, size_t count, size_t payload_len)
{
    assert_int_equal (env->body_case, ZJOB__ENVELOPE__BODY_DISPATCH);
    assert_int_equal (env->dispatch->n_jobs, count);
    for (size_t i = 0; i < count; i++) {
        const Zjob__Job *job = env->dispatch->jobs[i];
        assert_int_equal (job->id, i + 1);
        assert_string_equal (job->queue, "echo");
        assert_int_equal (job->payload.len, payload_len);
        for (size_t b = 0; b < payload_len; b++) {
            assert_int_equal (job->payload.data[b], 'a' + (int) (i % 26));
        }
    }
}

static void
test_pbarena_unpacks_into_few_blocks (void **state)
{
    (void) state;
    size_t size;
    uint8_t *frame = s_pack_dispatch (1000, 100, &size);
    /* a first block far too small: the message spreads over new blocks */
    pbarena_t *arena = pbarena_new (64);
    assert_non_null (arena);
    Zjob__Envelope *env =
        zjob__envelope__unpack (pbarena_allocator (arena), size, frame);
    assert_non_null (env);
    assert_ptr_equal (pbarena_first (arena), env);
    assert_ptr_equal (pbarena_of_first (env), arena);
    s_check_dispatch (env, 1000, 100);

    /* after a reset the same arena serves a message again */
    pbarena_reset (arena);
    assert_null (pbarena_first (arena));
    env = zjob__envelope__unpack (pbarena_allocator (arena), size, frame);
    assert_non_null (env);
    assert_ptr_equal (pbarena_of_first (env), arena);
    s_check_dispatch (env, 1000, 100);
    pbarena_destroy (&arena);
    assert_null (arena);
    pbarena_destroy (&arena); /* NULL is fine */
    free (frame);
}

static void
test_pbarena_first_allocation_too_large_opens_block (void **state)
{
    (void) state;
    pbarena_t *arena = pbarena_new (256);
    assert_non_null (arena);
    ProtobufCAllocator *allocator = pbarena_allocator (arena);
    void *big = allocator->alloc (allocator->allocator_data, 10000);
    assert_non_null (big);
    memset (big, 1, 10000);
    assert_ptr_equal (pbarena_first (arena), big);
    assert_ptr_equal (pbarena_of_first (big), arena);
    void *small = allocator->alloc (allocator->allocator_data, 3);
    assert_non_null (small);
    assert_ptr_not_equal (small, big);
    assert_true ((uintptr_t) small % _Alignof(max_align_t) == 0);
    allocator->free (allocator->allocator_data, small); /* does nothing */
    pbarena_destroy (&arena);
}

static void
test_pbarena_codec_decode_and_free (void **state)
{
    (void) state;
    codec_limits_t limits;
    codec_limits_default (&limits);
    size_t size;
    uint8_t *frame = s_pack_dispatch (300, 2000, &size);
    Zjob__Envelope *env = NULL;
    char why[256];
    assert_int_equal (
        codec_decode (frame, size, &limits, &env, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_NONE);
    s_check_dispatch (env, 300, 2000);
    codec_free (&env);
    assert_null (env);

    /* a truncated frame frees its arena and reports malformed */
    assert_int_equal (
        codec_decode (frame, size - 7, &limits, &env, NULL, why, sizeof why),
        ZJOB__ERROR_CODE__ERR_MALFORMED);
    assert_null (env);
    free (frame);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_pbarena_unpacks_into_few_blocks),
        cmocka_unit_test (test_pbarena_first_allocation_too_large_opens_block),
        cmocka_unit_test (test_pbarena_codec_decode_and_free),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
