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

/* Takes one job with one credit at a time and returns its queue's name,
 * then gives the credit back as an outcome would. */
static const char *
s_pick_one (worker_t *worker)
{
    job_t *out[1];
    if (dispatch_pick (worker, out, 1, 1 << 20) != 1) {
        return "(none)";
    }
    dispatch_release (out[0], true);
    return out[0]->queue->name;
}

static void
test_dispatch_queues_take_turns (void **state)
{
    queue_t *busy = queue_new ("busy");
    queue_t *quiet = queue_new ("quiet");
    worker_t *worker = dispatch_worker_new ("w", 1, 1);
    dispatch_worker_add_queue (worker, busy, 0);
    dispatch_worker_add_queue (worker, quiet, 0);
    s_fill (busy, 0, 10, 1);
    assert_string_equal (s_pick_one (worker), "busy");
    s_fill (quiet, 10, 2, 1);
    /* An empty pick between two jobs must not skip the quiet queue. */
    job_t *none[1];
    worker->credit = 0;
    assert_int_equal (dispatch_pick (worker, none, 1, 1 << 20), 0);
    worker->credit = 1;
    assert_string_equal (s_pick_one (worker), "quiet");
    assert_string_equal (s_pick_one (worker), "busy");
    assert_string_equal (s_pick_one (worker), "quiet");
    assert_string_equal (s_pick_one (worker), "busy");
    assert_string_equal (s_pick_one (worker), "busy");
    for (int i = 0; i < 12; i++) {
        if (s_jobs[i].worker) {
            dispatch_worker_unref (&s_jobs[i].worker);
        }
    }
    dispatch_worker_unref (&worker);
    queue_destroy (&busy);
    queue_destroy (&quiet);
}

static void
test_dispatch_priority_across_queues (void **state)
{
    queue_t *low = queue_new ("low");
    queue_t *high = queue_new ("high");
    worker_t *worker = dispatch_worker_new ("w", 4, 4);
    dispatch_worker_add_queue (worker, low, 0);
    dispatch_worker_add_queue (worker, high, 0);
    s_fill (low, 0, 3, 1);
    s_fill (high, 3, 2, 1);
    s_jobs[3].priority = 5; /* queued after the low jobs, runs first */
    queue_remove (high, &s_jobs[3]);
    queue_remove (high, &s_jobs[4]);
    queue_push (high, &s_jobs[3]);
    queue_push (high, &s_jobs[4]);
    job_t *out[4];
    assert_int_equal (dispatch_pick (worker, out, 4, 1 << 20), 4);
    assert_int_equal (out[0]->id, 3);
    /* Then equal priorities (0) take turns, starting after "high". */
    assert_int_equal (out[1]->id, 0);
    assert_int_equal (out[2]->id, 4);
    assert_int_equal (out[3]->id, 1);
    for (int i = 0; i < 4; i++) {
        dispatch_release (out[i], true);
        dispatch_worker_unref (&out[i]->worker);
    }
    dispatch_worker_unref (&worker);
    queue_destroy (&low);
    queue_destroy (&high);
}

static void
test_dispatch_transfer_keeps_credit (void **state)
{
    queue_t *queue = queue_new ("q");
    worker_t *before = dispatch_worker_new ("w", 2, 2);
    worker_t *after = dispatch_worker_new ("w", 2, 0);
    dispatch_worker_add_queue (before, queue, 1);
    dispatch_worker_add_queue (after, queue, 1);
    s_fill (queue, 0, 2, 1);
    job_t *out[2];
    assert_int_equal (dispatch_pick (before, out, 2, 1 << 20), 1);
    dispatch_transfer (out[0], after);
    assert_null (before->held);
    assert_int_equal (before->running, 0);
    assert_ptr_equal (out[0]->worker, after);
    assert_int_equal (after->running, 1);
    assert_int_equal (after->credit, 0); /* the worker left room for it */
    /* its queue's concurrency slot moved too: nothing more for now */
    dispatch_worker_credit (after, 1);
    assert_int_equal (dispatch_pick (after, out + 1, 1, 1 << 20), 0);
    dispatch_release (out[0], true);
    assert_int_equal (dispatch_pick (after, out + 1, 1, 1 << 20), 1);
    dispatch_release (out[1], true);
    dispatch_worker_unref (&out[0]->worker);
    dispatch_worker_unref (&out[1]->worker);
    dispatch_worker_unref (&before);
    dispatch_worker_unref (&after);
    queue_destroy (&queue);
}

static void
test_dispatch_isolated_job_runs_alone (void **state)
{
    queue_t *queue = queue_new ("q");
    worker_t *worker = dispatch_worker_new ("w", 4, 4);
    dispatch_worker_add_queue (worker, queue, 0);
    s_fill (queue, 0, 1, 1);
    s_fill (queue, 1, 1, 1);
    s_fill (queue, 2, 2, 1);
    s_jobs[1].isolate = true; /* a suspect, second in line */
    job_t *out[16];
    /* a busy worker does not take it: the first job only */
    assert_int_equal (dispatch_pick (worker, out, 16, 1 << 20), 1);
    assert_int_equal (out[0]->id, 0);
    assert_int_equal (dispatch_pick (worker, out + 1, 16, 1 << 20), 0);
    /* once idle, the worker takes it and nothing else while it runs */
    dispatch_release (out[0], true);
    assert_int_equal (dispatch_pick (worker, out + 1, 16, 1 << 20), 1);
    assert_int_equal (out[1]->id, 1);
    assert_int_equal (worker->isolated, 1);
    assert_false (dispatch_worker_ready (worker));
    assert_int_equal (dispatch_pick (worker, out + 2, 16, 1 << 20), 0);
    dispatch_release (out[1], true);
    assert_int_equal (worker->isolated, 0);
    assert_int_equal (dispatch_pick (worker, out + 2, 16, 1 << 20), 2);
    for (int i = 0; i < 4; i++) {
        dispatch_release (&s_jobs[i], false);
        dispatch_worker_unref (&s_jobs[i].worker);
        s_jobs[i].isolate = false;
    }
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
        cmocka_unit_test (test_dispatch_queues_take_turns),
        cmocka_unit_test (test_dispatch_priority_across_queues),
        cmocka_unit_test (test_dispatch_transfer_keeps_credit),
        cmocka_unit_test (test_dispatch_isolated_job_runs_alone),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
