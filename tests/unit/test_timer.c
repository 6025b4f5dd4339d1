/* Unit tests for the broker's timer heap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker/timer.h"

static void
test_timer_pops_in_due_order (void **state)
{
    timer_heap_t *heap = timer_heap_new ();
    uint64_t dues[] = {50, 10, 40, 10, 30, 20};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal (timer_heap_push (heap, dues[i], i, TIMER_WAKE), 0);
    }
    assert_int_equal (timer_heap_next (heap), 10);
    timer_entry_t entry;
    assert_int_equal (timer_heap_pop_due (heap, 5, &entry), 0);
    uint64_t last = 0;
    size_t popped = 0;
    while (timer_heap_pop_due (heap, 40, &entry)) {
        assert_true (entry.due_ms >= last);
        last = entry.due_ms;
        popped++;
    }
    assert_int_equal (popped, 5);
    assert_int_equal (timer_heap_size (heap), 1);
    assert_int_equal (timer_heap_next (heap), 50);
    timer_heap_destroy (&heap);
}

static void
test_timer_many_entries (void **state)
{
    timer_heap_t *heap = timer_heap_new ();
    for (uint64_t i = 0; i < 10000; i++) {
        uint64_t due = (i * 7919) % 10007;
        assert_int_equal (timer_heap_push (heap, due, i, TIMER_EXPIRE), 0);
    }
    timer_entry_t entry;
    uint64_t last = 0;
    size_t popped = 0;
    while (timer_heap_pop_due (heap, UINT64_MAX - 1, &entry)) {
        assert_true (entry.due_ms >= last);
        assert_int_equal (entry.kind, TIMER_EXPIRE);
        last = entry.due_ms;
        popped++;
    }
    assert_int_equal (popped, 10000);
    assert_int_equal (timer_heap_next (heap), UINT64_MAX);
    timer_heap_destroy (&heap);
    assert_null (heap);
}

/* Keeps timers of even job ids only. */
static bool
s_even_ids (const timer_entry_t *entry, void *arg)
{
    return entry->id % 2 == 0;
}

static void
test_timer_prune_keeps_order (void **state)
{
    timer_heap_t *heap = timer_heap_new ();
    assert_non_null (heap);
    for (uint64_t id = 1; id <= 1000; id++) {
        uint64_t due = (id * 7919) % 1009; /* scrambled due times */
        assert_int_equal (timer_heap_push (heap, due, id, TIMER_DEADLINE), 0);
    }
    assert_int_equal (timer_heap_prune (heap, s_even_ids, NULL), 500);
    assert_int_equal (timer_heap_size (heap), 500);
    timer_entry_t entry;
    uint64_t last = 0;
    size_t popped = 0;
    while (timer_heap_pop_due (heap, UINT64_MAX, &entry)) {
        if (entry.id % 2 != 0 || entry.due_ms < last) {
            fail_msg ("entry id %llu due %llu after %llu",
                      (unsigned long long) entry.id,
                      (unsigned long long) entry.due_ms,
                      (unsigned long long) last);
        }
        last = entry.due_ms;
        popped++;
    }
    assert_int_equal (popped, 500);
    timer_heap_destroy (&heap);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_timer_pops_in_due_order),
        cmocka_unit_test (test_timer_many_entries),
        cmocka_unit_test (test_timer_prune_keeps_order),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
