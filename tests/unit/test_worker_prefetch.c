/* Unit tests for the worker's prefetch policy: fixed, growing for short
 * jobs, shrinking for long ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "worker/prefetch.h"

/* Feeds count samples of run_us each. */
static void
s_feed (prefetch_t *prefetch, uint64_t run_us, int count)
{
    for (int i = 0; i < count; i++) {
        prefetch_sample (prefetch, run_us);
    }
}

static void
test_prefetch_fixed_never_moves (void **state)
{
    prefetch_t prefetch;
    prefetch_init (&prefetch, 4, 10);
    assert_false (prefetch.adaptive);
    assert_int_equal (prefetch.current, 10);
    assert_int_equal (prefetch.cap, 10);
    s_feed (&prefetch, 1, 50);
    assert_int_equal (prefetch_adjust (&prefetch), 0);
    s_feed (&prefetch, 1000000, 50);
    assert_int_equal (prefetch_adjust (&prefetch), 0);
    assert_int_equal (prefetch.current, 10);
}

static void
test_prefetch_short_jobs_grow_to_the_cap (void **state)
{
    prefetch_t prefetch;
    prefetch_init (&prefetch, 2, -1);
    assert_true (prefetch.adaptive);
    assert_int_equal (prefetch.current, 0);
    assert_int_equal (prefetch.cap, PREFETCH_MIN_CAP);
    /* nothing measured yet: nothing to change */
    assert_int_equal (prefetch_adjust (&prefetch), 0);
    s_feed (&prefetch, 10, 8);
    assert_int_equal (prefetch_adjust (&prefetch), PREFETCH_MIN_CAP);
    assert_int_equal (prefetch.current, PREFETCH_MIN_CAP);
    /* already there */
    assert_int_equal (prefetch_adjust (&prefetch), 0);
}

static void
test_prefetch_cap_follows_threads (void **state)
{
    prefetch_t prefetch;
    prefetch_init (&prefetch, 32, -1);
    assert_int_equal (prefetch.cap, 32 * PREFETCH_PER_THREAD_MAX);
    prefetch_init (&prefetch, 1000, -1);
    assert_int_equal (prefetch.cap, PREFETCH_MAX);
}

static void
test_prefetch_long_jobs_revoke_it_all (void **state)
{
    prefetch_t prefetch;
    prefetch_init (&prefetch, 2, -1);
    s_feed (&prefetch, 10, 8);
    assert_int_equal (prefetch_adjust (&prefetch), PREFETCH_MIN_CAP);
    /* one job of 100 ms is enough: no job should wait on this worker */
    prefetch_sample (&prefetch, 100000);
    assert_int_equal (prefetch_adjust (&prefetch), -PREFETCH_MIN_CAP);
    assert_int_equal (prefetch.current, 0);
    assert_int_equal (prefetch_adjust (&prefetch), 0);
}

static void
test_prefetch_small_moves_are_ignored (void **state)
{
    prefetch_t prefetch;
    prefetch_init (&prefetch, 8, -1);
    s_feed (&prefetch, 100, 8); /* 8 threads x 1000/100 = 80 */
    assert_int_equal (prefetch_adjust (&prefetch), 80);
    s_feed (&prefetch, 110, 64); /* about 72: within a quarter */
    assert_int_equal (prefetch_adjust (&prefetch), 0);
    assert_int_equal (prefetch.current, 80);
}

static void
test_prefetch_zero_run_time_counts_as_one (void **state)
{
    prefetch_t prefetch;
    prefetch_init (&prefetch, 1, -1);
    prefetch_sample (&prefetch, 0);
    assert_int_equal (prefetch.run_us, 1);
    assert_int_equal (prefetch_adjust (&prefetch), PREFETCH_MIN_CAP);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_prefetch_fixed_never_moves),
        cmocka_unit_test (test_prefetch_short_jobs_grow_to_the_cap),
        cmocka_unit_test (test_prefetch_cap_follows_threads),
        cmocka_unit_test (test_prefetch_long_jobs_revoke_it_all),
        cmocka_unit_test (test_prefetch_small_moves_are_ignored),
        cmocka_unit_test (test_prefetch_zero_run_time_counts_as_one),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
