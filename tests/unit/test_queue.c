/* Unit tests for the broker's per-priority FIFO queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker/queue.h"

static job_t s_jobs[8];

/* Makes job i with the given priority; its id is i. */
static job_t *
s_job (int i, int32_t priority)
{
    s_jobs[i] = (job_t){.id = (uint64_t) i, .priority = priority};
    return &s_jobs[i];
}

static void
test_queue_fifo_within_priority (void **state)
{
    queue_t *queue = queue_new ("q");
    for (int i = 0; i < 4; i++) {
        assert_int_equal (queue_push (queue, s_job (i, 0)), 0);
    }
    assert_int_equal (queue->queued, 4);
    for (int i = 0; i < 4; i++) {
        job_t *job = queue_pop (queue);
        assert_non_null (job);
        assert_int_equal (job->id, i);
    }
    assert_null (queue_pop (queue));
    assert_int_equal (queue->queued, 0);
    queue_destroy (&queue);
    assert_null (queue);
}

static void
test_queue_higher_priority_first (void **state)
{
    queue_t *queue = queue_new ("q");
    int32_t priorities[] = {0, 5, -3, 9, 5, 0};
    for (int i = 0; i < 6; i++) {
        queue_push (queue, s_job (i, priorities[i]));
    }
    uint64_t want[] = {3, 1, 4, 0, 5, 2};
    for (int i = 0; i < 6; i++) {
        job_t *job = queue_pop (queue);
        assert_non_null (job);
        assert_int_equal (job->id, want[i]);
    }
    assert_int_equal (queue->bucket_count, 0);
    queue_destroy (&queue);
}

static void
test_queue_remove_and_push_front (void **state)
{
    queue_t *queue = queue_new ("q");
    for (int i = 0; i < 3; i++) {
        queue_push (queue, s_job (i, 1));
    }
    queue_remove (queue, &s_jobs[1]);
    assert_int_equal (queue->queued, 2);
    queue_push_front (queue, s_job (7, 1));
    queue_push (queue, s_job (6, 2));
    uint64_t want[] = {6, 7, 0, 2};
    for (int i = 0; i < 4; i++) {
        assert_int_equal (queue_pop (queue)->id, want[i]);
    }
    assert_null (queue_peek (queue));
    queue_destroy (&queue);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_queue_fifo_within_priority),
        cmocka_unit_test (test_queue_higher_priority_first),
        cmocka_unit_test (test_queue_remove_and_push_front),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
