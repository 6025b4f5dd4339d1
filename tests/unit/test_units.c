/* Unit tests for duration, size and number parsing (common/units.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/units.h"

static void
s_assert_duration (const char *text, uint64_t expected_ms)
{
    uint64_t ms = 0;
    if (duration_parse (text, &ms) != 0) {
        fail_msg ("'%s' was rejected, expected %llu ms", text,
                  (unsigned long long) expected_ms);
    }
    assert_int_equal (ms, expected_ms);
}

static void
test_units_duration_accepts_each_unit (void **state)
{
    s_assert_duration ("250ms", 250);
    s_assert_duration ("30s", 30000);
    s_assert_duration ("5m", 300000);
    s_assert_duration ("2h", 7200000);
    s_assert_duration ("1d", 86400000);
    s_assert_duration ("1m30s", 90000);
    s_assert_duration ("0ms", 0);
}

static void
test_units_duration_bare_number_is_seconds (void **state)
{
    s_assert_duration ("12", 12000);
    s_assert_duration ("0", 0);
}

static void
test_units_duration_rejects_malformed (void **state)
{
    static const char *const bad[] = {
        "",     "ms",   "5x", "-5s", "5 s",
        "1.5s", "1m30", "s5", "5ss", "99999999999999999999s"};
    uint64_t ms = 42;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (duration_parse (bad[i], &ms) == 0) {
            fail_msg ("'%s' was accepted as %llu ms", bad[i],
                      (unsigned long long) ms);
        }
    }
    assert_int_equal (ms, 42);
    assert_int_equal (duration_parse (NULL, &ms), -1);
}

static void
test_units_duration_format_round_trips (void **state)
{
    static const uint64_t values[] = {0,     1,       250,      1000, 1500,
                                      60000, 3600000, 86400000, 90000};
    char text[32];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint64_t back = 0;
        duration_format (values[i], text, sizeof text);
        assert_int_equal (duration_parse (text, &back), 0);
        assert_int_equal (back, values[i]);
    }
    assert_string_equal (duration_format (30000, text, sizeof text), "30s");
    assert_string_equal (duration_format (1500, text, sizeof text), "1500ms");
}

static void
test_units_size_parses_suffixes (void **state)
{
    uint64_t bytes = 0;
    assert_int_equal (size_parse ("512", &bytes), 0);
    assert_int_equal (bytes, 512);
    assert_int_equal (size_parse ("64k", &bytes), 0);
    assert_int_equal (bytes, 65536);
    assert_int_equal (size_parse ("1MiB", &bytes), 0);
    assert_int_equal (bytes, 1048576);
    assert_int_equal (size_parse ("2G", &bytes), 0);
    assert_int_equal (bytes, 2147483648u);
    assert_int_equal (size_parse ("1.5M", &bytes), -1);
    assert_int_equal (size_parse ("10X", &bytes), -1);
    assert_int_equal (size_parse ("", &bytes), -1);
    assert_int_equal (size_parse ("99999999999999999999", &bytes), -1);
}

static void
test_units_number_checks_range (void **state)
{
    int64_t value = 0;
    assert_int_equal (number_parse ("17", 1, 100, &value), 0);
    assert_int_equal (value, 17);
    assert_int_equal (number_parse ("0", 1, 100, &value), -1);
    assert_int_equal (number_parse ("101", 1, 100, &value), -1);
    assert_int_equal (number_parse ("12abc", 1, 100, &value), -1);
    assert_int_equal (number_parse (" 12", 1, 100, &value), -1);
    assert_int_equal (number_parse ("-3", -5, 5, &value), 0);
    assert_int_equal (value, -3);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_units_duration_accepts_each_unit),
        cmocka_unit_test (test_units_duration_bare_number_is_seconds),
        cmocka_unit_test (test_units_duration_rejects_malformed),
        cmocka_unit_test (test_units_duration_format_round_trips),
        cmocka_unit_test (test_units_size_parses_suffixes),
        cmocka_unit_test (test_units_number_checks_range),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
