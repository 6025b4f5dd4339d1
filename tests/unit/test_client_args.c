/* Unit tests of the command line's argument helpers and JSON output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/cli_args.h"
#include "client/cli_json.h"

static const client_flag_t s_flags[] = {{"json", 0, false, 1},
                                        {"priority", 0, true, 2},
                                        {"file", 'f', true, 3},
                                        {NULL, 0, false, 0}};

static void
test_client_args_scans_flags_and_operands (void **state)
{
    char *argv[] = {"submit", "q", "--priority",   "5",  "-f",    "x.txt",
                    "--json", "-", "--priority=7", "--", "--json"};
    client_args_t args = {.argc = 11, .argv = argv, .index = 1};
    const char *value;
    char err[128];
    int want_ids[] = {
        CLIENT_ARG_OPERAND, 2, 3, 1, CLIENT_ARG_OPERAND, 2, CLIENT_ARG_OPERAND,
        CLIENT_ARG_END};
    const char *want_values[] = {"q", "5", "x.txt",  NULL,
                                 "-", "7", "--json", NULL};
    for (size_t i = 0; i < sizeof want_ids / sizeof want_ids[0]; i++) {
        int id = client_args_next (&args, s_flags, &value, err, sizeof err);
        assert_int_equal (id, want_ids[i]);
        if (want_values[i]) {
            assert_string_equal (value, want_values[i]);
        } else {
            assert_null (value);
        }
    }
}

static void
test_client_args_reports_errors (void **state)
{
    char *argv[] = {"x", "--bogus", "--json=1", "--priority"};
    client_args_t args = {.argc = 4, .argv = argv, .index = 1};
    const char *value;
    char err[128];
    assert_int_equal (
        client_args_next (&args, s_flags, &value, err, sizeof err),
        CLIENT_ARG_ERROR);
    assert_non_null (strstr (err, "--bogus"));
    assert_int_equal (
        client_args_next (&args, s_flags, &value, err, sizeof err),
        CLIENT_ARG_ERROR);
    assert_non_null (strstr (err, "takes no value"));
    assert_int_equal (
        client_args_next (&args, s_flags, &value, err, sizeof err),
        CLIENT_ARG_ERROR);
    assert_non_null (strstr (err, "needs a value"));
}

static void
test_client_args_parses_ids (void **state)
{
    uint64_t id = 0;
    assert_int_equal (client_parse_id ("1796399941965000", &id), 0);
    assert_int_equal (id, 1796399941965000ULL);
    assert_int_equal (client_parse_id ("18446744073709551615", &id), 0);
    assert_int_equal (id, UINT64_MAX);
    assert_int_equal (client_parse_id ("18446744073709551616", &id), -1);
    assert_int_equal (client_parse_id ("0", &id), -1);
    assert_int_equal (client_parse_id ("", &id), -1);
    assert_int_equal (client_parse_id ("-1", &id), -1);
    assert_int_equal (client_parse_id ("12a", &id), -1);
    assert_int_equal (client_parse_id (" 12", &id), -1);
}

static void
test_client_args_maps_exit_codes (void **state)
{
    assert_int_equal (client_exit_code (ZJOB_OK), 0);
    assert_int_equal (client_exit_code (ZJOB_EREJECTED), 1);
    assert_int_equal (client_exit_code (ZJOB_EINVAL), 2);
    assert_int_equal (client_exit_code (ZJOB_EUNREACHABLE), 3);
    assert_int_equal (client_exit_code (ZJOB_ETIMEDOUT), 3);
    assert_int_equal (client_trim_newline ("ab\n", 3), 2);
    assert_int_equal (client_trim_newline ("ab\n\n", 4), 3);
    assert_int_equal (client_trim_newline ("ab", 2), 2);
    assert_int_equal (client_trim_newline ("", 0), 0);
}

/* Dumps value to a string (the caller frees it). */
static char *
s_dump (json_t *value)
{
    char *text = json_dumps (value, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref (value);
    return text;
}

static void
test_client_args_json_encodes_jobs (void **state)
{
    zjob_info_t info = {.id = 42,
                        .queue = "q\"1",
                        .state = ZJOB_STATE_SUCCEEDED,
                        .attempt = 1,
                        .result = "r\n",
                        .result_len = 2,
                        .error = "",
                        .worker = "w"};
    char *text = s_dump (client_json_info (&info));
    assert_non_null (strstr (text, "\"id\":42"));
    assert_non_null (strstr (text, "\"queue\":\"q\\\"1\""));
    assert_non_null (strstr (text, "\"result\":\"r\\n\""));
    assert_non_null (strstr (text, "\"state\":\"succeeded\""));
    free (text);

    info.result = "\xff\x00";
    text = s_dump (client_json_info (&info));
    assert_non_null (strstr (text, "\"result_base64\":\"/wA=\""));
    free (text);

    info.state = ZJOB_STATE_FAILED;
    info.error = "bad";
    text = s_dump (client_json_info (&info));
    assert_null (strstr (text, "result"));
    assert_non_null (strstr (text, "\"error\":\"bad\""));
    free (text);

    /* Text that is not UTF-8 is repaired, never a missing object. */
    info.error = "\xff\xfe bad";
    info.worker = "w\xc3";
    text = s_dump (client_json_info (&info));
    assert_non_null (strstr (text, "\"error\":\"?? bad\""));
    assert_non_null (strstr (text, "\"worker\":\"w?\""));
    free (text);
}

static void
test_client_args_json_encodes_admin (void **state)
{
    const char *queues[] = {"a", "b"};
    zjob_worker_info_t worker = {
        .name = "w1", .queues = queues, .n_queues = 2, .capacity = 4};
    char *text = s_dump (client_json_worker (&worker));
    assert_non_null (strstr (text, "\"queues\":[\"a\",\"b\"]"));
    assert_non_null (strstr (text, "\"draining\":false"));
    free (text);
    zjob_stats_t stats = {.submitted = 5};
    text = s_dump (client_json_stats (&stats));
    assert_non_null (strstr (text, "\"submitted\":5"));
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_client_args_scans_flags_and_operands),
        cmocka_unit_test (test_client_args_reports_errors),
        cmocka_unit_test (test_client_args_parses_ids),
        cmocka_unit_test (test_client_args_maps_exit_codes),
        cmocka_unit_test (test_client_args_json_encodes_jobs),
        cmocka_unit_test (test_client_args_json_encodes_admin),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
