/* Unit tests of the client's retry helpers: automatic idempotency keys,
 * the busy backoff, and the growing id map that tracks awaited results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/backoff.h"
#include "client/client_internal.h"
#include "client/idmap.h"

static void
test_client_key_format_is_short_and_printable (void **state)
{
    char key[ZJOB_KEY_LEN];
    assert_int_equal (
        client_key_format (UINT64_MAX, UINT64_MAX, key, sizeof key), 0);
    assert_string_equal (key, "~ffffffffffffffff:ffffffffffffffff");
    assert_true (strlen (key) < ZJOB_KEY_LEN && strlen (key) <= 255);
    for (const char *c = key; *c; c++) {
        assert_true (*c > ' ' && *c < 127);
    }
    assert_int_equal (client_key_format (0x1234, 0x1f, key, sizeof key), 0);
    assert_string_equal (key, "~0000000000001234:1f");
    assert_int_equal (client_key_format (1, 1, key, 8), -1);
}

static void
test_client_key_new_is_unique_per_job_and_client (void **state)
{
    zjob_client_t *one = zjob_client_new ("tcp://127.0.0.1:9");
    zjob_client_t *two = zjob_client_new ("tcp://127.0.0.1:9");
    assert_non_null (one);
    assert_non_null (two);
    char a[ZJOB_KEY_LEN], b[ZJOB_KEY_LEN], c[ZJOB_KEY_LEN];
    assert_int_equal (zjob_client_new_key (one, a, sizeof a), ZJOB_OK);
    assert_int_equal (zjob_client_new_key (one, b, sizeof b), ZJOB_OK);
    assert_int_equal (zjob_client_new_key (two, c, sizeof c), ZJOB_OK);
    assert_string_not_equal (a, b);
    assert_string_not_equal (a, c); /* another random session */
    assert_memory_equal (a, b, 18); /* same "~session:" prefix */
    assert_int_equal (zjob_client_new_key (one, a, 10), ZJOB_EINVAL);
    zjob_client_destroy (&one);
    zjob_client_destroy (&two);
}

static void
test_client_backoff_doubles_to_its_cap_with_jitter (void **state)
{
    client_backoff_t backoff;
    client_backoff_init (&backoff, 50, 1000);
    uint64_t steps[] = {50, 100, 200, 400, 800, 1000, 1000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        uint64_t low = client_backoff_step (&backoff, 0);
        assert_int_equal (low, steps[i] - steps[i] / 2);
    }
    client_backoff_reset (&backoff);
    for (uint64_t random = 0; random < 100; random++) {
        client_backoff_reset (&backoff);
        uint64_t delay = client_backoff_step (&backoff, random * 7919);
        assert_true (delay >= 25 && delay <= 50);
    }
}

static void
test_client_idmap_grows_without_a_limit (void **state)
{
    client_idmap_t *map = client_idmap_new (0);
    for (uint64_t id = 1; id <= 5000; id++) {
        assert_int_equal (client_idmap_put (map, id, id * 2), 0);
    }
    assert_int_equal (client_idmap_size (map), 5000);
    uint64_t value = 0;
    assert_true (client_idmap_take (map, 4321, &value));
    assert_int_equal (value, 8642);
    assert_true (client_idmap_has (map, 17));
    assert_false (client_idmap_has (map, 4321));
    size_t cursor = 0, seen = 0;
    uint64_t key, sum = 0;
    while (client_idmap_next (map, &cursor, &key)) {
        seen++;
        sum += key;
    }
    assert_int_equal (seen, 4999);
    assert_int_equal (sum, 5000 * 5001 / 2 - 4321);
    client_idmap_destroy (&map);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_client_key_format_is_short_and_printable),
        cmocka_unit_test (test_client_key_new_is_unique_per_job_and_client),
        cmocka_unit_test (test_client_backoff_doubles_to_its_cap_with_jitter),
        cmocka_unit_test (test_client_idmap_grows_without_a_limit),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
