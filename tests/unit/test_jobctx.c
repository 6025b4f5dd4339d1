/* Unit tests for job contexts: deadline, cancel and the waits. */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "common/clock.h"
#include "worker/jobctx.h"

static void
test_jobctx_identity_and_no_deadline (void **state)
{
    jobctx_t *ctx = jobctx_new (42, 3, "q", 0);
    assert_non_null (ctx);
    assert_int_equal (jobctx_id (ctx), 42);
    assert_int_equal (jobctx_attempt (ctx), 3);
    assert_string_equal (jobctx_queue (ctx), "q");
    assert_int_equal (jobctx_time_left_ms (ctx), -1);
    assert_false (jobctx_should_stop (ctx));
    assert_int_equal (jobctx_wait_ms (ctx, 5), 0);
    jobctx_destroy (&ctx);
    assert_null (ctx);
}

static void
test_jobctx_deadline_ends_wait (void **state)
{
    uint64_t start = clock_mono_ms ();
    jobctx_t *ctx = jobctx_new (1, 1, "q", start + 50);
    assert_false (jobctx_expired (ctx));
    assert_int_equal (jobctx_wait_ms (ctx, 5000), -1);
    uint64_t took = clock_mono_ms () - start;
    assert_in_range (took, 45, 1000);
    assert_true (jobctx_expired (ctx));
    assert_false (jobctx_cancelled (ctx));
    assert_int_equal (jobctx_time_left_ms (ctx), 0);
    jobctx_destroy (&ctx);
}

static void
test_jobctx_tighten_only_moves_earlier (void **state)
{
    uint64_t now = clock_mono_ms ();
    jobctx_t *ctx = jobctx_new (1, 1, "q", now + 10000);
    jobctx_tighten (ctx, now + 20000);
    assert_int_equal (jobctx_deadline_ms (ctx), now + 10000);
    jobctx_tighten (ctx, now + 100);
    assert_int_equal (jobctx_deadline_ms (ctx), now + 100);
    jobctx_tighten (ctx, 0);
    assert_int_equal (jobctx_deadline_ms (ctx), now + 100);
    jobctx_destroy (&ctx);

    ctx = jobctx_new (1, 1, "q", 0);
    jobctx_tighten (ctx, now + 300);
    assert_int_equal (jobctx_deadline_ms (ctx), now + 300);
    jobctx_destroy (&ctx);
}

static void *
s_cancel_later (void *arg)
{
    struct timespec nap = {0, 50 * 1000000L};
    nanosleep (&nap, NULL);
    jobctx_cancel (arg);
    return NULL;
}

static void
test_jobctx_cancel_wakes_wait_and_fd (void **state)
{
    jobctx_t *ctx = jobctx_new (1, 1, "q", 0);
    int fd = jobctx_cancel_fd (ctx);
    assert_true (fd >= 0);
    pthread_t thread;
    uint64_t start = clock_mono_ms ();
    pthread_create (&thread, NULL, s_cancel_later, ctx);
    assert_int_equal (jobctx_wait_ms (ctx, 10000), -1);
    assert_in_range (clock_mono_ms () - start, 40, 2000);
    pthread_join (thread, NULL);
    assert_true (jobctx_cancelled (ctx));
    struct pollfd pfd = {fd, POLLIN, 0};
    assert_int_equal (poll (&pfd, 1, 0), 1);
    jobctx_cancel (ctx); /* idempotent */
    jobctx_destroy (&ctx);
}

static void
test_jobctx_cancel_fd_after_cancel_is_readable (void **state)
{
    jobctx_t *ctx = jobctx_new (1, 1, "q", 0);
    jobctx_cancel (ctx);
    struct pollfd pfd = {jobctx_cancel_fd (ctx), POLLIN, 0};
    assert_int_equal (poll (&pfd, 1, 0), 1);
    assert_int_equal (jobctx_wait_ms (ctx, 1000), -1);
    jobctx_destroy (&ctx);
}

static void
test_jobctx_reset_starts_a_new_job (void **state)
{
    jobctx_t *ctx = jobctx_new (1, 1, "q", clock_mono_ms () + 10);
    int old_fd = jobctx_cancel_fd (ctx);
    assert_true (old_fd >= 0);
    jobctx_cancel (ctx);

    const char *name = "other";
    jobctx_reset (ctx, 9, 4, name, 0);
    assert_int_equal (jobctx_id (ctx), 9);
    assert_int_equal (jobctx_attempt (ctx), 4);
    assert_ptr_equal (jobctx_queue (ctx), name); /* borrowed, not copied */
    assert_int_equal (jobctx_deadline_ms (ctx), 0);
    assert_false (jobctx_cancelled (ctx));
    assert_false (jobctx_should_stop (ctx));
    assert_int_equal (jobctx_wait_ms (ctx, 5), 0);

    /* A fresh descriptor: the old job's cancel does not show on it. */
    struct pollfd pfd = {jobctx_cancel_fd (ctx), POLLIN, 0};
    assert_true (pfd.fd >= 0);
    assert_int_equal (poll (&pfd, 1, 0), 0);
    jobctx_cancel (ctx);
    assert_int_equal (poll (&pfd, 1, 0), 1);

    jobctx_reset (ctx, 10, 1, NULL, 0);
    assert_string_equal (jobctx_queue (ctx), "");
    jobctx_destroy (&ctx);
}

static void
test_jobctx_no_queue_is_empty (void **state)
{
    jobctx_t *ctx = jobctx_new (1, 1, NULL, 0);
    assert_non_null (ctx);
    assert_string_equal (jobctx_queue (ctx), "");
    jobctx_destroy (&ctx);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_jobctx_identity_and_no_deadline),
        cmocka_unit_test (test_jobctx_deadline_ends_wait),
        cmocka_unit_test (test_jobctx_tighten_only_moves_earlier),
        cmocka_unit_test (test_jobctx_cancel_wakes_wait_and_fd),
        cmocka_unit_test (test_jobctx_cancel_fd_after_cancel_is_readable),
        cmocka_unit_test (test_jobctx_reset_starts_a_new_job),
        cmocka_unit_test (test_jobctx_no_queue_is_empty),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
