/* Unit tests for credit accounting and dispatch batching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker/dispatch.h"

static job_t s_jobs[16];

/* Queues n jobs of size bytes on queue, ids from first. */
static void
s_fill (queue_t *queue, int first, int n, uint32_t size)
{
    for (int i = first; i < first + n; i++) {
        s_jobs[i] =
            (job_t){.id = (uint64_t) i, .queue = queue, .payload_len = size};
        queue_push (queue, &s_jobs[i]);
    }
}

static void
test_dispatch_batch_within_credit (void **state)
{
    queue_t *queue = queue_new ("q");
    worker_t *worker = dispatch_worker_new ("w", 4, 3);
    dispatch_worker_add_queue (worker, queue, 0);
    s_fill (queue, 0, 5, 10);
    job_t *out[16];
    size_t n = dispatch_pick (worker, out, 16, 1 << 20);
    assert_int_equal (n, 3); /* one batch, as much as the credit allows */
    assert_int_equal (out[0]->id, 0);
    assert_int_equal (out[2]->id, 2);
    assert_int_equal (worker->credit, 0);
    assert_int_equal (worker->running, 3);
    assert_int_equal (queue->queued, 2);
    assert_false (dispatch_worker_ready (worker));
    assert_int_equal (dispatch_pick (worker, out, 16, 1 << 20), 0);

    dispatch_release (out[1], true); /* an outcome returns one credit */
    assert_int_equal (worker->credit, 1);
    assert_int_equal (worker->running, 2);
    assert_int_equal (dispatch_pick (worker, out, 16, 1 << 20), 1);
    assert_int_equal (out[0]->id, 3);

    dispatch_worker_credit (worker, 10);
    assert_int_equal (dispatch_pick (worker, out, 16, 1 << 20), 1);
    for (int i = 0; i < 5; i++) {
        dispatch_release (&s_jobs[i], false);
        dispatch_worker_unref (&s_jobs[i].worker);
    }
    dispatch_worker_unref (&worker);
    queue_destroy (&queue);
}

static void
test_dispatch_queue_concurrency (void **state)
{
    queue_t *fast = queue_new ("fast");
    queue_t *slow = queue_new ("slow");
    worker_t *worker = dispatch_worker_new ("w", 8, 8);
    dispatch_worker_add_queue (worker, slow, 1);
    dispatch_worker_add_queue (worker, fast, 0);
    assert_int_equal (slow->workers, 1);
    s_fill (slow, 0, 3, 1);
    s_fill (fast, 3, 3, 1);
    job_t *out[16];
    size_t n = dispatch_pick (worker, out, 16, 1 << 20);
    assert_int_equal (n, 4); /* one slow job (concurrency 1), three fast */
    assert_int_equal (slow->queued, 2);
    assert_int_equal (fast->queued, 0);
    assert_int_equal (worker->credit, 4);
    for (size_t i = 0; i < n; i++) {
        dispatch_release (out[i], true);
        dispatch_worker_unref (&out[i]->worker);
    }
    dispatch_worker_retire (worker);
    assert_int_equal (slow->workers, 0);
    dispatch_worker_unref (&worker);
    queue_destroy (&fast);
    queue_destroy (&slow);
}

static void
test_dispatch_byte_budget (void **state)
{
    queue_t *queue = queue_new ("q");
    worker_t *worker = dispatch_worker_new ("w", 8, 8);
    dispatch_worker_add_queue (worker, queue, 0);
    s_fill (queue, 0, 4, 400);
    job_t *out[16];
    assert_int_equal (dispatch_pick (worker, out, 16, 1000), 2);
    assert_int_equal (dispatch_pick (worker, out + 2, 16, 100), 1);
    assert_int_equal (dispatch_pick (worker, out + 3, 1, 1 << 20), 1);
    assert_int_equal (worker->running, 4);
    for (int i = 0; i < 4; i++) {
        dispatch_release (out[i], true);
        dispatch_worker_unref (&out[i]->worker);
    }
    assert_int_equal (worker->credit, 8);
    assert_null (worker->held);
    dispatch_worker_unref (&worker);
    queue_destroy (&queue);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_dispatch_batch_within_credit),
        cmocka_unit_test (test_dispatch_queue_concurrency),
        cmocka_unit_test (test_dispatch_byte_budget),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
