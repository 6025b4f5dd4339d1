/* Unit tests for the broker's job indexes, by id and by key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "broker/jobtable.h"

#define JOB_COUNT 50000

static void
test_jobtable_insert_find_remove (void **state)
{
    jobtable_t *table = jobtable_new ();
    job_t *jobs = calloc (JOB_COUNT, sizeof *jobs);
    assert_non_null (jobs);
    for (size_t i = 0; i < JOB_COUNT; i++) {
        jobs[i].id = 1700000000000000ull + i;
        assert_int_equal (jobtable_insert (table, &jobs[i]), 0);
    }
    assert_int_equal (jobtable_size (table), JOB_COUNT);
    /* remove every third job: the rest must stay reachable (probe runs
     * are repaired by backward shifting) */
    for (size_t i = 0; i < JOB_COUNT; i += 3) {
        assert_ptr_equal (jobtable_remove (table, jobs[i].id), &jobs[i]);
    }
    for (size_t i = 0; i < JOB_COUNT; i++) {
        job_t *found = jobtable_find (table, jobs[i].id);
        assert_ptr_equal (found, i % 3 == 0 ? NULL : &jobs[i]);
    }
    assert_null (jobtable_remove (table, 42));
    assert_null (jobtable_find (table, 42));
    jobtable_destroy (&table);
    assert_null (table);
    free (jobs);
}

static void
test_jobtable_by_key (void **state)
{
    jobtable_t *table = jobtable_new_by_key ();
    job_t *jobs = calloc (JOB_COUNT, sizeof *jobs);
    char (*keys)[24] = calloc (JOB_COUNT, sizeof *keys);
    assert_non_null (jobs);
    assert_non_null (keys);
    for (size_t i = 0; i < JOB_COUNT; i++) {
        snprintf (keys[i], sizeof keys[i], "~s%zu:%zu", i % 7, i);
        jobs[i].id = i + 1;
        jobs[i].key = keys[i];
        assert_int_equal (jobtable_insert (table, &jobs[i]), 0);
    }
    for (size_t i = 0; i < JOB_COUNT; i += 3) {
        assert_true (jobtable_remove_job (table, &jobs[i]));
        assert_false (jobtable_remove_job (table, &jobs[i]));
    }
    for (size_t i = 0; i < JOB_COUNT; i++) {
        assert_ptr_equal (jobtable_find_key (table, keys[i]),
                          i % 3 == 0 ? NULL : &jobs[i]);
    }
    assert_null (jobtable_find_key (table, "no such key"));
    /* another job with a key already there: removing it leaves the first */
    job_t twin = {.id = 99, .key = keys[1]};
    assert_false (jobtable_remove_job (table, &twin));
    assert_ptr_equal (jobtable_find_key (table, keys[1]), &jobs[1]);
    assert_int_equal (jobtable_size (table), JOB_COUNT - (JOB_COUNT + 2) / 3);
    jobtable_destroy (&table);
    free (keys);
    free (jobs);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_jobtable_insert_find_remove),
        cmocka_unit_test (test_jobtable_by_key),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
