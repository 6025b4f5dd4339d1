/* Unit tests for the worker's thread pool: limits, cancel, hand-back. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/clock.h"
#include "worker/pool.h"

/* Concurrency as seen from inside the jobs. */
typedef struct {
    atomic_int now;  /* jobs of this kind running */
    atomic_int peak; /* most seen at once */
} s_gauge_t;

static s_gauge_t s_total, s_lane_a, s_lane_b;

static void
s_gauge_enter (s_gauge_t *gauge)
{
    int now = atomic_fetch_add (&gauge->now, 1) + 1;
    int peak = atomic_load (&gauge->peak);
    while (now > peak &&
           !atomic_compare_exchange_weak (&gauge->peak, &peak, now)) {
    }
}

/* A handler that records concurrency, then sleeps 15 ms (or until stop). */
static handler_status_t
s_measure (void *state, jobctx_t *ctx, const uint8_t *payload, size_t len,
           size_t max_result, handler_output_t *out)
{
    s_gauge_t *lane = state;
    s_gauge_enter (&s_total);
    s_gauge_enter (lane);
    int rc = jobctx_wait_ms (ctx, 15);
    atomic_fetch_sub (&lane->now, 1);
    atomic_fetch_sub (&s_total.now, 1);
    if (rc != 0) {
        return HANDLER_STOPPED;
    }
    return handler_set_result (out, payload, len, max_result);
}

/* Collects outcomes until count arrived (or 10 s passed); returns them. */
static pool_job_t *
s_collect (pool_t *pool, size_t count)
{
    pool_job_t *all = NULL;
    size_t got = 0;
    uint64_t until = clock_mono_ms () + 10000;
    while (got < count && clock_mono_ms () < until) {
        struct pollfd pfd = {pool_wake_fd (pool), POLLIN, 0};
        poll (&pfd, 1, 100);
        pool_job_t *list = pool_take_done (pool);
        while (list) {
            pool_job_t *next = list->next;
            list->next = all;
            all = list;
            got++;
            list = next;
        }
    }
    if (got != count) {
        fail_msg ("expected %zu outcomes, got %zu", count, got);
    }
    return all;
}

static size_t
s_count_state (const pool_job_t *list, Zjob__State state)
{
    size_t count = 0;
    for (; list; list = list->next) {
        count += list->state == state;
    }
    return count;
}

static void
test_pool_limits_concurrency (void **state)
{
    handler_t *a = handler_new_fn ("a", s_measure, &s_lane_a, 1024);
    handler_t *b = handler_new_fn ("b", s_measure, &s_lane_b, 1024);
    pool_lane_t lanes[] = {{a, 2, 0}, {b, 0, 0}};
    pool_t *pool = pool_new (5, 100, lanes, 2);
    assert_non_null (pool);
    assert_int_equal (pool_start (pool), 0);
    for (uint64_t id = 1; id <= 60; id++) {
        pool_job_t *job = pool_job_new (id, 1, id % 2 ? "a" : "b", id % 2,
                                        (const uint8_t *) "x", 1, 0);
        assert_int_equal (pool_submit (pool, &job), 0);
        assert_null (job);
    }
    pool_job_t *done = s_collect (pool, 60);
    assert_int_equal (s_count_state (done, ZJOB__STATE__STATE_SUCCEEDED), 60);
    /* busy drops just after an outcome is published: give it a moment. */
    for (int tries = 0; tries < 1000 && pool_busy (pool) != 0; tries++) {
        struct timespec pause = {0, 1000000};
        nanosleep (&pause, NULL);
    }
    assert_int_equal (pool_busy (pool), 0);
    if (atomic_load (&s_lane_a.peak) > 2 || atomic_load (&s_total.peak) > 5) {
        fail_msg ("limits exceeded: lane a peak %d (max 2), total peak %d "
                  "(max 5)",
                  atomic_load (&s_lane_a.peak), atomic_load (&s_total.peak));
    }
    /* The unlimited lane used the threads lane a could not. */
    assert_true (atomic_load (&s_lane_b.peak) >= 3);
    pool_job_destroy_list (&done);
    pool_destroy (&pool);
    handler_destroy (&a);
    handler_destroy (&b);
}

static void
test_pool_bounded_queue (void **state)
{
    handler_t *a = handler_new_fn ("a", s_measure, &s_lane_a, 1024);
    pool_lane_t lanes[] = {{a, 0, 0}};
    pool_t *pool = pool_new (1, 2, lanes, 1); /* not started: all pend */
    pool_job_t *job;
    for (uint64_t id = 1; id <= 2; id++) {
        job = pool_job_new (id, 1, "a", 0, NULL, 0, 0);
        assert_int_equal (pool_submit (pool, &job), 0);
    }
    job = pool_job_new (3, 1, "a", 0, NULL, 0, 0);
    assert_int_equal (pool_submit (pool, &job), -1);
    assert_non_null (job);
    pool_job_destroy (&job);
    pool_job_t *pending = pool_discard_pending (pool);
    assert_non_null (pending);
    assert_int_equal (pool_busy (pool), 0);
    pool_job_destroy_list (&pending);
    pool_destroy (&pool);
    handler_destroy (&a);
}

static void
test_pool_cancel_pending_and_running (void **state)
{
    handler_t *sleeper = NULL;
    char err[HANDLER_ERROR_LEN];
    sleeper = handler_new ("builtin:sleep", 1024, err, sizeof err);
    pool_lane_t lanes[] = {{sleeper, 0, 0}};
    pool_t *pool = pool_new (1, 10, lanes, 1);
    assert_int_equal (pool_start (pool), 0);
    pool_job_t *job =
        pool_job_new (1, 1, "s", 0, (const uint8_t *) "10000", 5, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    job = pool_job_new (2, 1, "s", 0, (const uint8_t *) "10000", 5, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    struct timespec nap = {0, 50 * 1000000L};
    nanosleep (&nap, NULL); /* job 1 runs on the one thread, job 2 pends */
    assert_false (pool_cancel (pool, 99, 0)); /* unknown */
    assert_false (pool_cancel (pool, 2, 7));  /* wrong attempt */
    assert_true (pool_cancel (pool, 2, 1));   /* pending: never runs */
    assert_true (pool_cancel (pool, 1, 1));   /* running: woken */
    uint64_t start = clock_mono_ms ();
    pool_job_t *done = s_collect (pool, 2);
    assert_true (clock_mono_ms () - start < 2000);
    assert_int_equal (s_count_state (done, ZJOB__STATE__STATE_CANCELLED), 2);
    for (pool_job_t *it = done; it; it = it->next) {
        assert_true (it->id == 2 ? it->started_us == 0 : it->started_us > 0);
    }
    pool_job_destroy_list (&done);
    pool_destroy (&pool);
    handler_destroy (&sleeper);
}

static void
test_pool_deadline_times_out (void **state)
{
    char err[HANDLER_ERROR_LEN];
    handler_t *sleeper = handler_new ("builtin:sleep", 1024, err, sizeof err);
    pool_lane_t lanes[] = {{sleeper, 0, 100}}; /* queue timeout 100 ms */
    pool_t *pool = pool_new (2, 10, lanes, 1);
    assert_int_equal (pool_start (pool), 0);
    pool_job_t *job =
        pool_job_new (1, 1, "s", 0, (const uint8_t *) "5000", 4, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    job = pool_job_new (2, 1, "s", 0, (const uint8_t *) "10", 2, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    job = pool_job_new (3, 1, "s", 0, (const uint8_t *) "5000", 4,
                        clock_mono_ms () + 50); /* the job's own deadline */
    assert_int_equal (pool_submit (pool, &job), 0);
    pool_job_t *done = s_collect (pool, 3);
    for (pool_job_t *it = done; it; it = it->next) {
        Zjob__State want = it->id == 2 ? ZJOB__STATE__STATE_SUCCEEDED
                                       : ZJOB__STATE__STATE_TIMED_OUT;
        if (it->state != want) {
            fail_msg ("job %llu ended %d, wanted %d: %s",
                      (unsigned long long) it->id, it->state, want,
                      it->output.error ? it->output.error : "");
        }
    }
    pool_job_destroy_list (&done);
    pool_destroy (&pool);
    handler_destroy (&sleeper);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_pool_limits_concurrency),
        cmocka_unit_test (test_pool_bounded_queue),
        cmocka_unit_test (test_pool_cancel_pending_and_running),
        cmocka_unit_test (test_pool_deadline_times_out),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
