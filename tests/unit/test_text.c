/* Unit tests for UTF-8 validation and repair (common/text.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/text.h"

static void
test_text_valid_utf8 (void **state)
{
    assert_true (text_utf8_valid ("plain", 5));
    assert_true (
        text_utf8_valid ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    assert_true (text_utf8_valid ("", 0));
    assert_false (text_utf8_valid ("\xff\xfe", 2));
    assert_false (text_utf8_valid ("\xc0\xaf", 2));     /* overlong '/' */
    assert_false (text_utf8_valid ("\xed\xa0\x80", 3)); /* surrogate */
    assert_false (text_utf8_valid ("\xe2\x82", 2));     /* cut short */
    assert_false (text_utf8_valid ("a\0b", 3));         /* NUL */
}

static void
test_text_names (void **state)
{
    assert_true (text_is_name ("sha256", 255));
    assert_true (text_is_name ("caf\xc3\xa9", 255));
    assert_false (text_is_name ("", 255));
    assert_false (text_is_name (NULL, 255));
    assert_false (text_is_name ("tab\there", 255));
    assert_false (text_is_name ("q\xff", 255));
    assert_false (text_is_name ("toolong", 6));
}

static void
test_text_fix_replaces_bad_bytes (void **state)
{
    char text[] = "ok \xff\xfe caf\xc3\xa9 \xe2\x82";
    size_t len = sizeof text - 1;
    text_utf8_fix (text, len);
    assert_true (text_utf8_valid (text, len));
    assert_string_equal (text, "ok ?? caf\xc3\xa9 ??");
    char with_nul[] = {'a', '\0', 'b'};
    text_utf8_fix (with_nul, 3);
    assert_memory_equal (with_nul, "a?b", 3);
}

static void
test_text_endpoint_ports (void **state)
{
    assert_true (text_endpoint_port_ok ("tcp://127.0.0.1:5570"));
    assert_true (text_endpoint_port_ok ("tcp://*:65535"));
    assert_true (text_endpoint_port_ok ("tcp://127.0.0.1:*"));
    assert_true (text_endpoint_port_ok ("ipc:///tmp/zjob.sock"));
    assert_true (text_endpoint_port_ok ("tcp://[::1]:5570"));
    assert_true (text_endpoint_port_ok (NULL));
    assert_false (text_endpoint_port_ok ("tcp://127.0.0.1:65536"));
    assert_false (text_endpoint_port_ok ("tcp://127.0.0.1:99999"));
    assert_true (text_endpoint_port_ok ("tcp://127.0.0.1:0000000080"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_text_valid_utf8),
        cmocka_unit_test (test_text_names),
        cmocka_unit_test (test_text_fix_replaces_bad_bytes),
        cmocka_unit_test (test_text_endpoint_ports),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
