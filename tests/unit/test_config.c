/* Unit tests for settings from YAML, environment and flags (config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

/* The settings one test works on; reset before each test. */
typedef struct {
    char *broker;
    int64_t threads;
    uint64_t heartbeat_ms;
    uint64_t max_payload;
    bool verbose;
    char *fsync;
    config_queues_t queues;
} settings_t;

static settings_t s_settings;
static const char *const s_fsync_modes[] = {"always", "batch", "never", NULL};

static const config_option_t s_options[] = {
    {"broker", CONFIG_STRING, &s_settings.broker, 0, 0, NULL, "endpoint"},
    {"threads", CONFIG_INT, &s_settings.threads, 1, 1024, NULL, "threads"},
    {"heartbeat", CONFIG_DURATION, &s_settings.heartbeat_ms, 0, 0, NULL, ""},
    {"max-payload", CONFIG_SIZE, &s_settings.max_payload, 0, 0, NULL, ""},
    {"verbose", CONFIG_BOOL, &s_settings.verbose, 0, 0, NULL, ""},
    {"fsync", CONFIG_CHOICE, &s_settings.fsync, 0, 0, s_fsync_modes, ""},
    {"queue", CONFIG_QUEUES, &s_settings.queues, 0, 0, NULL, ""},
};
#define OPTION_COUNT (sizeof s_options / sizeof s_options[0])

static char s_path[64];

/* Writes text to a fresh temporary file whose name is left in s_path. */
static void
s_write_file (const char *text)
{
    strcpy (s_path, "/tmp/zjob-config-XXXXXX");
    int fd = mkstemp (s_path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
}

static int
s_setup (void **state)
{
    memset (&s_settings, 0, sizeof s_settings);
    s_path[0] = '\0';
    return 0;
}

static int
s_teardown (void **state)
{
    config_free (s_options, OPTION_COUNT);
    if (s_path[0]) {
        unlink (s_path);
    }
    unsetenv ("ZJOB_THREADS");
    unsetenv ("ZJOB_QUEUE");
    return 0;
}

/* Loads text as a config file, expecting rc; returns the error text. */
static const char *
s_load (const char *text, int expected_rc)
{
    static char err[CONFIG_ERROR_LEN];
    err[0] = '\0';
    s_write_file (text);
    int rc = config_load_file (s_options, OPTION_COUNT, s_path, err);
    if (rc != expected_rc) {
        fail_msg ("load returned %d, expected %d: %s", rc, expected_rc, err);
    }
    return err;
}

static void
test_config_file_sets_every_type (void **state)
{
    s_load ("broker: tcp://127.0.0.1:5571\n"
            "threads: 8\n"
            "heartbeat: 250ms\n"
            "max-payload: 2MiB\n"
            "verbose: yes\n"
            "fsync: never\n",
            0);
    assert_string_equal (s_settings.broker, "tcp://127.0.0.1:5571");
    assert_int_equal (s_settings.threads, 8);
    assert_int_equal (s_settings.heartbeat_ms, 250);
    assert_int_equal (s_settings.max_payload, 2 << 20);
    assert_true (s_settings.verbose);
    assert_string_equal (s_settings.fsync, "never");
}

static void
test_config_file_reads_queue_list (void **state)
{
    s_load ("queue:\n"
            "  - name: hash\n"
            "    builtin: sha256\n"
            "  - name: wc\n"
            "    exec: wc -w\n"
            "    concurrency: 2\n"
            "    timeout: 30s\n"
            "  - name: echo\n",
            0);
    assert_int_equal (s_settings.queues.count, 3);
    assert_string_equal (s_settings.queues.items[0].handler, "builtin:sha256");
    assert_string_equal (s_settings.queues.items[1].name, "wc");
    assert_string_equal (s_settings.queues.items[1].handler, "exec:wc -w");
    assert_int_equal (s_settings.queues.items[1].concurrency, 2);
    assert_int_equal (s_settings.queues.items[1].timeout_ms, 30000);
    assert_string_equal (s_settings.queues.items[2].handler, "builtin:echo");
}

static void
test_config_bad_value_names_line_column_key (void **state)
{
    const char *err = s_load ("broker: x\nthreads: lots\n", -1);
    assert_non_null (strstr (err, s_path));
    assert_non_null (strstr (err, ":2:10:"));
    assert_non_null (strstr (err, "threads"));
}

static void
test_config_unknown_key_is_an_error (void **state)
{
    const char *err = s_load ("broker: x\n  \nthreds: 4\n", -1);
    assert_non_null (strstr (err, ":3:1:"));
    assert_non_null (strstr (err, "threds"));
    assert_non_null (strstr (err, "unknown setting"));
}

static void
test_config_broken_yaml_is_reported (void **state)
{
    const char *err = s_load ("broker: [unclosed\nthreads: 2\n", -1);
    assert_non_null (strstr (err, "YAML error"));
    assert_non_null (strstr (err, s_path));
}

static void
test_config_wrong_shapes_are_errors (void **state)
{
    const char *err = s_load ("- a\n- b\n", -1);
    assert_non_null (strstr (err, "mapping"));
    err = s_load ("threads: [1, 2]\n", -1);
    assert_non_null (strstr (err, "single value"));
    err =
        s_load ("queue:\n  - name: q\n    builtin: echo\n    exec: cat\n", -1);
    assert_non_null (strstr (err, ":4:11: exec"));
    err = s_load ("queue:\n  - builtin: echo\n", -1);
    assert_non_null (strstr (err, "no name"));
    err = s_load ("fsync: sometimes\n", -1);
    assert_non_null (strstr (err, "fsync"));
}

static void
test_config_repeated_key_and_choices_are_explained (void **state)
{
    const char *err = s_load ("fsync: always\nthreads: 2\nfsync: never\n", -1);
    assert_non_null (
        strstr (err, ":3:1: fsync: given twice (first on line 1)"));
    err = s_load ("fsync: sometimes\n", -1);
    assert_non_null (strstr (err, "not one of: always, batch, never"));
    char dir_err[CONFIG_ERROR_LEN];
    assert_int_equal (
        config_load_file (s_options, OPTION_COUNT, "/tmp", dir_err), -1);
    assert_non_null (strstr (dir_err, "/tmp: Is a directory"));
}

static void
test_config_empty_file_sets_nothing (void **state)
{
    s_load ("", 0);
    assert_null (s_settings.broker);
    assert_int_equal (s_settings.threads, 0);
}

static void
test_config_missing_file_is_named (void **state)
{
    char err[CONFIG_ERROR_LEN];
    assert_int_equal (config_load_file (s_options, OPTION_COUNT,
                                        "/nonexistent/zjob.yml", err),
                      -1);
    assert_non_null (strstr (err, "/nonexistent/zjob.yml"));
}

static void
test_config_env_then_flag_win (void **state)
{
    char err[CONFIG_ERROR_LEN];
    s_load ("threads: 2\n", 0);
    setenv ("ZJOB_THREADS", "4", 1);
    setenv ("ZJOB_QUEUE", "echo; wc=exec:wc -l", 1);
    assert_int_equal (config_load_env (s_options, OPTION_COUNT, err), 0);
    assert_int_equal (s_settings.threads, 4);
    assert_int_equal (s_settings.queues.count, 2);
    assert_string_equal (s_settings.queues.items[1].handler, "exec:wc -l");
    assert_int_equal (config_set (s_options, OPTION_COUNT, "threads", "6",
                                  "flag --threads", err),
                      0);
    assert_int_equal (s_settings.threads, 6);
}

static void
test_config_env_error_names_variable (void **state)
{
    char err[CONFIG_ERROR_LEN];
    setenv ("ZJOB_THREADS", "0", 1);
    assert_int_equal (config_load_env (s_options, OPTION_COUNT, err), -1);
    assert_non_null (strstr (err, "ZJOB_THREADS"));
    assert_non_null (strstr (err, "1 to 1024"));
}

static void
test_config_parse_queue_forms (void **state)
{
    config_queue_t queue;
    char err[CONFIG_ERROR_LEN];
    assert_int_equal (config_parse_queue ("sha256", &queue, err), 0);
    assert_string_equal (queue.name, "sha256");
    assert_string_equal (queue.handler, "builtin:sha256");
    free (queue.name);
    free (queue.handler);
    assert_int_equal (config_parse_queue ("h=sha256", &queue, err), 0);
    assert_string_equal (queue.handler, "builtin:sha256");
    free (queue.name);
    free (queue.handler);
    assert_int_equal (config_parse_queue ("wc=exec:wc -w \"a b\"", &queue, err),
                      0);
    assert_string_equal (queue.name, "wc");
    assert_string_equal (queue.handler, "exec:wc -w \"a b\"");
    free (queue.name);
    free (queue.handler);
    assert_int_equal (config_parse_queue ("=echo", &queue, err), -1);
    assert_non_null (strstr (err, "empty queue name"));
}

/* Runs config_load_args over a NULL-terminated argument list. */
static config_args_t
s_load_args (char **argv, char *err)
{
    int argc = 0;
    while (argv[argc]) {
        argc++;
    }
    return config_load_args (s_options, OPTION_COUNT, argc, argv, err);
}

static void
test_config_args_file_env_flags_in_order (void **state)
{
    char err[CONFIG_ERROR_LEN] = "";
    s_write_file ("threads: 2\nbroker: from-file\nqueue:\n  - name: a\n");
    setenv ("ZJOB_THREADS", "3", 1);
    char *argv[] = {"prog",       "-c",      s_path, "--threads=5", "--queue",
                    "b=exec:cat", "--queue", "c",    NULL};
    config_args_t found = s_load_args (argv, err);
    if (found != CONFIG_ARGS_RUN) {
        fail_msg ("load_args failed: %s", err);
    }
    assert_string_equal (s_settings.broker, "from-file");
    assert_int_equal (s_settings.threads, 5);
    assert_int_equal (s_settings.queues.count, 2); /* flags replaced "a" */
    assert_string_equal (s_settings.queues.items[0].name, "b");
    assert_string_equal (s_settings.queues.items[1].handler, "builtin:c");
}

static void
test_config_args_help_version_and_errors (void **state)
{
    char err[CONFIG_ERROR_LEN] = "";
    char *help[] = {"prog", "--threads", "x", "--help", NULL};
    assert_int_equal (s_load_args (help, err), CONFIG_ARGS_HELP);
    char *version[] = {"prog", "-V", NULL};
    assert_int_equal (s_load_args (version, err), CONFIG_ARGS_VERSION);
    char *unknown[] = {"prog", "--thraeds", "2", NULL};
    assert_int_equal (s_load_args (unknown, err), CONFIG_ARGS_ERROR);
    assert_non_null (strstr (err, "--thraeds"));
    char *missing[] = {"prog", "--threads", NULL};
    assert_int_equal (s_load_args (missing, err), CONFIG_ARGS_ERROR);
    assert_non_null (strstr (err, "needs a value"));
    char *operand[] = {"prog", "stray", NULL};
    assert_int_equal (s_load_args (operand, err), CONFIG_ARGS_ERROR);
    assert_non_null (strstr (err, "stray"));
    char *bad[] = {"prog", "--threads", "0", NULL};
    assert_int_equal (s_load_args (bad, err), CONFIG_ARGS_ERROR);
    assert_non_null (strstr (err, "flag --threads"));
}

static void
test_config_args_two_keys_one_list (void **state)
{
    char err[CONFIG_ERROR_LEN] = "";
    const config_option_t both[] = {
        {"queue", CONFIG_QUEUES, &s_settings.queues, 0, 0, NULL, ""},
        {"queues", CONFIG_QUEUES, &s_settings.queues, 0, 0, NULL, ""},
    };
    setenv ("ZJOB_QUEUE", "a", 1);
    setenv ("ZJOB_QUEUES", "b", 1);
    assert_int_equal (config_load_env (both, 2, err), 0);
    assert_int_equal (s_settings.queues.count, 2); /* one source: both kept */
    unsetenv ("ZJOB_QUEUES");
    char *argv[] = {"prog", "--queue", "c", "--queues", "d", NULL};
    assert_int_equal (config_load_args (both, 2, 5, argv, err),
                      CONFIG_ARGS_RUN);
    assert_int_equal (s_settings.queues.count, 2); /* flags replaced env */
    assert_string_equal (s_settings.queues.items[0].name, "c");
    assert_string_equal (s_settings.queues.items[1].name, "d");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_config_file_sets_every_type,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_file_reads_queue_list,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_config_bad_value_names_line_column_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_unknown_key_is_an_error,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_broken_yaml_is_reported,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_wrong_shapes_are_errors,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_config_repeated_key_and_choices_are_explained, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_config_empty_file_sets_nothing,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_missing_file_is_named,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_env_then_flag_win, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_config_env_error_names_variable,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_parse_queue_forms, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_config_args_file_env_flags_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_config_args_help_version_and_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_args_two_keys_one_list,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
