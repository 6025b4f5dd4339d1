/* Unit tests of the id -> value map used by map and the bench. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "client/idmap.h"

static void
test_client_idmap_puts_and_takes (void **state)
{
    client_idmap_t *map = client_idmap_new (4);
    uint64_t value = 0;
    assert_int_equal (client_idmap_put (map, 7, 70), 0);
    assert_int_equal (client_idmap_put (map, 7, 71), 0);
    assert_int_equal (client_idmap_size (map), 1);
    assert_true (client_idmap_take (map, 7, &value));
    assert_int_equal (value, 71);
    assert_false (client_idmap_take (map, 7, &value));
    assert_int_equal (client_idmap_put (map, 0, 1), -1);
    client_idmap_destroy (&map);
    assert_null (map);
}

static void
test_client_idmap_refuses_past_its_size (void **state)
{
    client_idmap_t *map = client_idmap_new (3);
    assert_int_equal (client_idmap_put (map, 1, 1), 0);
    assert_int_equal (client_idmap_put (map, 2, 2), 0);
    assert_int_equal (client_idmap_put (map, 3, 3), 0);
    assert_int_equal (client_idmap_put (map, 4, 4), -1);
    client_idmap_destroy (&map);
}

/* Random puts and takes against a plain array, to exercise deletion. */
static void
test_client_idmap_matches_a_reference (void **state)
{
    enum { KEYS = 512, STEPS = 200000 };
    static uint64_t reference[KEYS + 1]; /* 0: absent */
    client_idmap_t *map = client_idmap_new (KEYS);
    srand (42);
    for (int step = 0; step < STEPS; step++) {
        uint64_t key = 1 + (uint64_t) rand () % KEYS;
        uint64_t value;
        if (rand () % 2) {
            assert_int_equal (client_idmap_put (map, key * 1000003, step + 1),
                              0);
            reference[key] = (uint64_t) step + 1;
        } else {
            bool found = client_idmap_take (map, key * 1000003, &value);
            assert_int_equal (found, reference[key] != 0);
            if (found) {
                assert_int_equal (value, reference[key]);
            }
            reference[key] = 0;
        }
    }
    client_idmap_destroy (&map);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_client_idmap_puts_and_takes),
        cmocka_unit_test (test_client_idmap_refuses_past_its_size),
        cmocka_unit_test (test_client_idmap_matches_a_reference),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
