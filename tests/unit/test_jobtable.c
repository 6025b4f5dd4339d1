/* Unit tests for the broker's job index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_jobtable_insert_find_remove),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
