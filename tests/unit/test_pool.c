/* Unit tests for the worker's thread pool: limits, cancel, hand-back. */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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
    pool_lane_t lanes[] = {{a, 2, 0, "a"}, {b, 0, 0, "b"}};
    pool_t *pool = pool_new (5, 100, lanes, 2);
    assert_non_null (pool);
    assert_int_equal (pool_start (pool), 0);
    for (uint64_t id = 1; id <= 60; id++) {
        pool_job_t *job =
            pool_job_get (pool, id, 1, id % 2, (const uint8_t *) "x", 1, 0);
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
    pool_lane_t lanes[] = {{a, 0, 0, "a"}};
    pool_t *pool = pool_new (1, 2, lanes, 1); /* not started: all pend */
    pool_job_t *job;
    for (uint64_t id = 1; id <= 2; id++) {
        job = pool_job_get (pool, id, 1, 0, NULL, 0, 0);
        assert_int_equal (pool_submit (pool, &job), 0);
    }
    job = pool_job_get (pool, 3, 1, 0, NULL, 0, 0);
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
    pool_lane_t lanes[] = {{sleeper, 0, 0, "s"}};
    pool_t *pool = pool_new (1, 10, lanes, 1);
    assert_int_equal (pool_start (pool), 0);
    pool_job_t *job =
        pool_job_get (pool, 1, 1, 0, (const uint8_t *) "10000", 5, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    job = pool_job_get (pool, 2, 1, 0, (const uint8_t *) "10000", 5, 0);
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
    pool_lane_t lanes[] = {{sleeper, 0, 100, "s"}}; /* queue timeout 100 ms */
    pool_t *pool = pool_new (2, 10, lanes, 1);
    assert_int_equal (pool_start (pool), 0);
    pool_job_t *job =
        pool_job_get (pool, 1, 1, 0, (const uint8_t *) "5000", 4, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    job = pool_job_get (pool, 2, 1, 0, (const uint8_t *) "10", 2, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    job = pool_job_get (pool, 3, 1, 0, (const uint8_t *) "5000", 4,
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

/* Runs one job of lane 0 with payload through a started pool and returns
 * it finished. */
static pool_job_t *
s_run_one (pool_t *pool, uint64_t id, const uint8_t *payload, size_t len)
{
    pool_job_t *job = pool_job_get (pool, id, 1, 0, payload, len, 0);
    assert_non_null (job);
    assert_int_equal (pool_submit (pool, &job), 0);
    return s_collect (pool, 1);
}

static void
test_pool_reuses_job_blocks (void **state)
{
    char err[HANDLER_ERROR_LEN];
    handler_t *echo = handler_new ("builtin:echo", 1 << 20, err, sizeof err);
    const char *name = "q";
    pool_lane_t lanes[] = {{echo, 0, 0, name}};
    pool_t *pool = pool_new (1, 10, lanes, 1);
    assert_int_equal (pool_start (pool), 0);

    pool_job_t *job = pool_job_get (pool, 1, 2, 0, (const uint8_t *) "abc", 3,
                                    clock_mono_ms () + 60000);
    assert_ptr_equal (jobctx_queue (job->ctx), name); /* the lane's name */
    assert_int_equal (jobctx_attempt (job->ctx), 2);
    assert_true (jobctx_deadline_ms (job->ctx) > 0);
    int old_fd = jobctx_cancel_fd (job->ctx);
    assert_int_equal (pool_submit (pool, &job), 0);
    job = s_collect (pool, 1);
    assert_int_equal (job->state, ZJOB__STATE__STATE_SUCCEEDED);
    assert_memory_equal (job->output.result, "abc", 3);
    assert_int_equal (job->payload_len, 0); /* not needed once run */
    jobctx_cancel (job->ctx);
    pool_job_t *first = job;
    pool_job_put (pool, &job);
    assert_null (job);
    assert_int_equal (fcntl (old_fd, F_GETFD), -1); /* closed on the way */

    /* The same block comes back as a clean job. */
    job = pool_job_get (pool, 7, 1, SIZE_MAX, NULL, 0, 0);
    assert_ptr_equal (job, first);
    assert_int_equal (job->id, 7);
    assert_int_equal (job->state, ZJOB__STATE__STATE_RUNNING);
    assert_int_equal (job->started_us, 0);
    assert_null (job->output.result);
    assert_null (job->output.error);
    assert_non_null (job->output.spare); /* the old result, kept */
    assert_false (jobctx_cancelled (job->ctx));
    assert_int_equal (jobctx_deadline_ms (job->ctx), 0);
    assert_string_equal (jobctx_queue (job->ctx), "");
    assert_int_equal (pool_submit (pool, &job), -1); /* no such lane */
    pool_job_put (pool, &job);

    job = s_run_one (pool, 8, (const uint8_t *) "defg", 4);
    assert_ptr_equal (job, first);
    assert_int_equal (job->state, ZJOB__STATE__STATE_SUCCEEDED);
    assert_int_equal (job->output.result_len, 4);
    assert_memory_equal (job->output.result, "defg", 4);
    pool_job_put (pool, &job);
    pool_destroy (&pool); /* frees the spares */
    handler_destroy (&echo);
}

static void
test_pool_bounds_kept_memory (void **state)
{
    char err[HANDLER_ERROR_LEN];
    handler_t *echo = handler_new ("builtin:echo", 1 << 20, err, sizeof err);
    pool_lane_t lanes[] = {{echo, 0, 0, "q"}};
    pool_t *pool = pool_new (1, 3, lanes, 1); /* keeps 3 spares at most */
    assert_int_equal (pool_start (pool), 0);

    /* A big job's buffers are not kept for the next one. */
    size_t big = 2 * POOL_KEEP_BYTES;
    uint8_t *payload = calloc (1, big);
    pool_job_t *job = s_run_one (pool, 1, payload, big);
    assert_int_equal (job->output.result_len, big);
    assert_int_equal (job->payload_cap, 0); /* freed when it ran */
    pool_job_put (pool, &job);
    job = pool_job_get (pool, 2, 1, 0, payload, 10, 0);
    assert_int_equal (job->payload_cap, 10);
    assert_null (job->output.spare);
    pool_job_put (pool, &job);
    free (payload);

    /* No more spares than the bound: of five blocks given back, the first
     * three are kept and come back last in, first out. */
    pool_job_t *jobs[5];
    for (size_t i = 0; i < 5; i++) {
        jobs[i] = pool_job_get (pool, 10 + i, 1, 0, NULL, 0, 0);
    }
    pool_job_t *kept[3] = {jobs[0], jobs[1], jobs[2]};
    for (size_t i = 0; i < 5; i++) {
        pool_job_put (pool, &jobs[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        jobs[i] = pool_job_get (pool, 20 + i, 1, 0, NULL, 0, 0);
        assert_ptr_equal (jobs[i], kept[2 - i]);
    }
    for (size_t i = 0; i < 3; i++) {
        pool_job_put (pool, &jobs[i]);
    }
    pool_destroy (&pool);
    handler_destroy (&echo);
}

static void
test_pool_pending_keeps_order (void **state)
{
    handler_t *a = handler_new_fn ("a", s_measure, &s_lane_a, 1024);
    pool_lane_t lanes[] = {{a, 0, 0, "a"}};
    pool_t *pool = pool_new (1, 10, lanes, 1); /* not started: all pend */
    for (uint64_t id = 1; id <= 5; id++) {
        pool_job_t *job = pool_job_get (pool, id, 1, 0, NULL, 0, 0);
        assert_int_equal (pool_submit (pool, &job), 0);
    }
    assert_true (pool_cancel (pool, 5, 0)); /* the tail */
    pool_job_t *job = pool_job_get (pool, 6, 1, 0, NULL, 0, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    assert_true (pool_cancel (pool, 1, 0)); /* the head */
    assert_true (pool_cancel (pool, 3, 0)); /* one between */
    job = pool_job_get (pool, 7, 1, 0, NULL, 0, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    assert_int_equal (pool_busy (pool), 4);

    pool_job_t *pending = pool_discard_pending (pool);
    const uint64_t want[] = {2, 4, 6, 7};
    size_t count = 0;
    for (pool_job_t *it = pending; it; it = it->next, count++) {
        assert_true (count < 4);
        assert_int_equal (it->id, want[count]);
    }
    assert_int_equal (count, 4);
    pool_job_t *done = pool_take_done (pool);
    assert_int_equal (s_count_state (done, ZJOB__STATE__STATE_CANCELLED), 3);

    /* The emptied queue takes jobs again. */
    job = pool_job_get (pool, 8, 1, 0, NULL, 0, 0);
    assert_int_equal (pool_submit (pool, &job), 0);
    pool_job_t *last = pool_discard_pending (pool);
    assert_non_null (last);
    assert_int_equal (last->id, 8);
    assert_null (last->next);
    pool_job_destroy_list (&last);
    pool_job_destroy_list (&pending);
    pool_job_destroy_list (&done);
    pool_destroy (&pool);
    handler_destroy (&a);
}

/* A handler that finishes at once, counting its runs. */
static handler_status_t
s_quick (void *state, jobctx_t *ctx, const uint8_t *payload, size_t len,
         size_t max_result, handler_output_t *out)
{
    s_gauge_t *lane = state;
    s_gauge_enter (lane);
    atomic_fetch_sub (&lane->now, 1);
    return handler_set_result (out, payload, len, max_result);
}

static void
test_pool_many_short_jobs_finish (void **state)
{
    /* Lane a (limit 1) and lane b (no limit) mixed on 4 threads: slots
     * freed by finished jobs must always find a thread, with no wake-up
     * from finished jobs. Rounds of submits let threads fall asleep. */
    static s_gauge_t quick_a, quick_b;
    handler_t *a = handler_new_fn ("a", s_quick, &quick_a, 1024);
    handler_t *b = handler_new_fn ("b", s_quick, &quick_b, 1024);
    pool_lane_t lanes[] = {{a, 1, 0, "a"}, {b, 0, 0, "b"}};
    pool_t *pool = pool_new (4, 1000, lanes, 2);
    assert_int_equal (pool_start (pool), 0);
    uint64_t id = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 50; i++) {
            id++;
            size_t lane = (id % 3 == 0) ? 1 : 0; /* mostly the limited one */
            pool_job_t *job =
                pool_job_get (pool, id, 1, lane, (const uint8_t *) "x", 1, 0);
            assert_int_equal (pool_submit (pool, &job), 0);
        }
        pool_job_t *done = s_collect (pool, 50);
        assert_int_equal (s_count_state (done, ZJOB__STATE__STATE_SUCCEEDED),
                          50);
        while (done) {
            pool_job_t *next = done->next;
            done->next = NULL;
            pool_job_put (pool, &done);
            done = next;
        }
    }
    if (atomic_load (&quick_a.peak) > 1) {
        fail_msg ("lane a ran %d at once (limit 1)",
                  atomic_load (&quick_a.peak));
    }
    pool_destroy (&pool);
    handler_destroy (&a);
    handler_destroy (&b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_pool_limits_concurrency),
        cmocka_unit_test (test_pool_bounded_queue),
        cmocka_unit_test (test_pool_cancel_pending_and_running),
        cmocka_unit_test (test_pool_deadline_times_out),
        cmocka_unit_test (test_pool_reuses_job_blocks),
        cmocka_unit_test (test_pool_bounds_kept_memory),
        cmocka_unit_test (test_pool_pending_keeps_order),
        cmocka_unit_test (test_pool_many_short_jobs_finish),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
