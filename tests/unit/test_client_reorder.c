/* Unit tests of the map reorder buffer (client/reorder.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client/reorder.h"

static void
test_client_reorder_pops_in_input_order (void **state)
{
    client_reorder_t *reorder = client_reorder_new (4);
    uint64_t lines[3];
    for (int i = 0; i < 3; i++) {
        assert_true (client_reorder_reserve (reorder, &lines[i]));
        assert_int_equal (lines[i], i);
    }
    client_reorder_entry_t entry;
    assert_int_equal (
        client_reorder_complete (reorder, 2, 12, false, "c", 1, NULL), 0);
    assert_false (client_reorder_pop (reorder, &entry));
    assert_int_equal (
        client_reorder_complete (reorder, 0, 10, false, "a\n", 2, NULL), 0);
    assert_true (client_reorder_pop (reorder, &entry));
    assert_int_equal (entry.line, 0);
    assert_string_equal (entry.data, "a\n");
    assert_int_equal (entry.len, 2);
    client_reorder_entry_clear (&entry);
    assert_false (client_reorder_pop (reorder, &entry));
    assert_int_equal (
        client_reorder_complete (reorder, 1, 11, true, "", 0, "boom"), 0);
    assert_true (client_reorder_pop (reorder, &entry));
    assert_true (entry.failed);
    assert_string_equal (entry.error, "boom");
    assert_int_equal (entry.job_id, 11);
    client_reorder_entry_clear (&entry);
    assert_true (client_reorder_pop (reorder, &entry));
    assert_string_equal (entry.data, "c");
    client_reorder_entry_clear (&entry);
    assert_int_equal (client_reorder_in_flight (reorder), 0);
    client_reorder_destroy (&reorder);
    assert_null (reorder);
}

static void
test_client_reorder_bounds_the_window (void **state)
{
    client_reorder_t *reorder = client_reorder_new (2);
    uint64_t line;
    assert_true (client_reorder_reserve (reorder, &line));
    assert_true (client_reorder_reserve (reorder, &line));
    assert_false (client_reorder_reserve (reorder, &line));
    assert_int_equal (client_reorder_in_flight (reorder), 2);

    client_reorder_entry_t entry;
    assert_int_equal (
        client_reorder_complete (reorder, 0, 1, false, "x", 1, NULL), 0);
    assert_true (client_reorder_pop (reorder, &entry));
    client_reorder_entry_clear (&entry);
    assert_true (client_reorder_reserve (reorder, &line));
    assert_int_equal (line, 2);
    client_reorder_destroy (&reorder);
}

static void
test_client_reorder_rejects_bad_completions (void **state)
{
    client_reorder_t *reorder = client_reorder_new (2);
    uint64_t line;
    assert_true (client_reorder_reserve (reorder, &line));
    /* Not reserved yet, done twice, and already popped. */
    assert_int_equal (
        client_reorder_complete (reorder, 1, 1, false, "", 0, NULL), -1);
    assert_int_equal (
        client_reorder_complete (reorder, 0, 1, false, "", 0, NULL), 0);
    assert_int_equal (
        client_reorder_complete (reorder, 0, 1, false, "", 0, NULL), -1);
    client_reorder_entry_t entry;
    assert_true (client_reorder_pop (reorder, &entry));
    client_reorder_entry_clear (&entry);
    assert_int_equal (
        client_reorder_complete (reorder, 0, 1, false, "", 0, NULL), -1);
    assert_null (client_reorder_new (0));
    client_reorder_destroy (&reorder);
    client_reorder_destroy (&reorder);
}

/* Many lines through a small window, completed in reverse per window. */
static void
test_client_reorder_keeps_order_over_many_windows (void **state)
{
    enum { WINDOW = 8, LINES = 1000 };
    client_reorder_t *reorder = client_reorder_new (WINDOW);
    uint64_t next_expected = 0, line;
    while (next_expected < LINES) {
        uint64_t first = 0;
        size_t count = 0;
        while (count < WINDOW && client_reorder_reserve (reorder, &line)) {
            first = count++ == 0 ? line : first;
        }
        for (size_t i = count; i-- > 0;) {
            char text[32];
            int len = snprintf (text, sizeof text, "%llu",
                                (unsigned long long) (first + i));
            client_reorder_complete (reorder, first + i, first + i + 1, false,
                                     text, (size_t) len, NULL);
        }
        client_reorder_entry_t entry;
        while (client_reorder_pop (reorder, &entry)) {
            char want[32];
            snprintf (want, sizeof want, "%llu",
                      (unsigned long long) next_expected);
            assert_string_equal (entry.data, want);
            next_expected++;
            client_reorder_entry_clear (&entry);
        }
    }
    client_reorder_destroy (&reorder);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_client_reorder_pops_in_input_order),
        cmocka_unit_test (test_client_reorder_bounds_the_window),
        cmocka_unit_test (test_client_reorder_rejects_bad_completions),
        cmocka_unit_test (test_client_reorder_keeps_order_over_many_windows),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
