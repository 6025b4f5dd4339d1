/* Unit tests for the hand-written journal record encoder: it must write
 * exactly what protobuf-c's packer writes, field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/jrecord.h"

/* Encodes rec both ways and compares the bytes and their decoding. */
static void
s_check_same (const Zjob__JournalJob *rec)
{
    size_t expected_len = zjob__journal_job__get_packed_size (rec);
    uint8_t *expected = malloc (expected_len + 1);
    size_t bound = jrecord_bound (rec);
    uint8_t *actual = malloc (bound + 1);
    assert_true (expected && actual);
    zjob__journal_job__pack (rec, expected);
    size_t actual_len = jrecord_encode (rec, actual);
    assert_true (actual_len <= bound);
    assert_int_equal (actual_len, expected_len);
    assert_memory_equal (actual, expected, expected_len);

    Zjob__JournalJob *back =
        zjob__journal_job__unpack (NULL, actual_len, actual);
    assert_non_null (back);
    assert_int_equal (back->id, rec->id);
    assert_int_equal (back->priority, rec->priority);
    assert_int_equal (back->payload.len, rec->payload.len);
    zjob__journal_job__free_unpacked (back, NULL);
    free (expected);
    free (actual);
}

static void
test_jrecord_empty_record (void **state)
{
    (void) state;
    Zjob__JournalJob rec = ZJOB__JOURNAL_JOB__INIT;
    s_check_same (&rec);
    assert_int_equal (jrecord_encode (&rec, (uint8_t[300]){0}), 0);
}

static void
test_jrecord_full_record (void **state)
{
    (void) state;
    uint8_t payload[300], result[5] = {0, 1, 2, 0xff, 0x80};
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t) (i * 7);
    }
    Zjob__JournalJob rec = ZJOB__JOURNAL_JOB__INIT;
    rec.id = UINT64_MAX;
    rec.state = ZJOB__STATE__STATE_DEAD;
    rec.attempt = 3;
    rec.failures = UINT32_MAX;
    rec.lost = 127;
    rec.full = true;
    rec.forget = true;
    rec.cancel_requested = true;
    rec.run_at_ms = 1796425543237ull;
    rec.started_ms = 128;
    rec.finished_ms = 16383;
    rec.result.data = result;
    rec.result.len = sizeof result;
    rec.error = "deadline passed";
    rec.worker = "host-1.4242";
    rec.queue = "echo";
    rec.payload.data = payload;
    rec.payload.len = sizeof payload; /* a two-byte length */
    rec.priority = -5;                /* ten bytes, sign-extended */
    rec.max_attempts = 16384;
    rec.deadline_ms = 1ull << 63;
    rec.key = "~0123456789abcdef:1f";
    rec.created_ms = 1;
    rec.next_id = 2;
    s_check_same (&rec);

    rec.priority = INT32_MIN;
    s_check_same (&rec);
    rec.priority = INT32_MAX;
    s_check_same (&rec);
}

static void
test_jrecord_leaves_out_empty_fields (void **state)
{
    (void) state;
    Zjob__JournalJob rec = ZJOB__JOURNAL_JOB__INIT;
    rec.id = 42;
    rec.state = ZJOB__STATE__STATE_RUNNING;
    rec.error = "";  /* empty: left out */
    rec.worker = ""; /* empty: left out */
    rec.queue = NULL;
    rec.key = NULL;
    uint8_t dummy = 9;
    rec.result.data = &dummy; /* length 0: left out */
    rec.result.len = 0;
    s_check_same (&rec);
}

static void
test_jrecord_varint_edges (void **state)
{
    (void) state;
    const uint64_t values[] = {1,          127,
                               128,        16383,
                               16384,      (1ull << 35) - 1,
                               1ull << 35, (1ull << 63) - 1,
                               UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        Zjob__JournalJob rec = ZJOB__JOURNAL_JOB__INIT;
        rec.id = values[i];
        rec.started_ms = values[i];
        rec.next_id = values[i];
        rec.attempt = (uint32_t) values[i];
        s_check_same (&rec);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_jrecord_empty_record),
        cmocka_unit_test (test_jrecord_full_record),
        cmocka_unit_test (test_jrecord_leaves_out_empty_fields),
        cmocka_unit_test (test_jrecord_varint_edges),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
