/* Unit tests for the builtin handlers, handler specs and shell words. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/clock.h"
#include "worker/handler.h"
#include "worker/shellwords.h"

/* Runs spec on payload with a context of deadline_ms (0: none). */
static handler_status_t
s_run (const char *spec, const char *payload, uint64_t deadline_ms,
       handler_output_t *out)
{
    char err[HANDLER_ERROR_LEN];
    handler_t *handler = handler_new (spec, 1 << 20, err, sizeof err);
    if (!handler) {
        fail_msg ("handler_new (%s): %s", spec, err);
    }
    jobctx_t *ctx = jobctx_new (7, 1, "q", deadline_ms);
    memset (out, 0, sizeof *out);
    handler_status_t status = handler_run (
        handler, ctx, (const uint8_t *) payload, strlen (payload), out);
    jobctx_destroy (&ctx);
    handler_destroy (&handler);
    return status;
}

static void
s_expect_result (const char *spec, const char *payload, const char *want)
{
    handler_output_t out;
    handler_status_t status = s_run (spec, payload, 0, &out);
    if (status != HANDLER_OK) {
        fail_msg ("%s failed: %s", spec, out.error ? out.error : "?");
    }
    assert_int_equal (out.result_len, strlen (want));
    assert_memory_equal (out.result, want, strlen (want));
    handler_output_clear (&out);
}

static void
test_handlers_echo (void **state)
{
    s_expect_result ("builtin:echo", "hello", "hello");
    s_expect_result ("builtin:echo", "", "");
}

static void
test_handlers_sha256 (void **state)
{
    s_expect_result (
        "builtin:sha256", "abc",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_handlers_fail (void **state)
{
    handler_output_t out;
    assert_int_equal (s_run ("builtin:fail", "broken", 0, &out),
                      HANDLER_FAILED);
    assert_string_equal (out.error, "broken");
    handler_output_clear (&out);
}

static void
test_handlers_sleep (void **state)
{
    uint64_t start = clock_mono_ms ();
    s_expect_result ("builtin:sleep", "60", "60");
    assert_true (clock_mono_ms () - start >= 55);
    s_expect_result ("builtin:sleep", "1\n", "1\n");
}

static void
test_handlers_sleep_malformed (void **state)
{
    handler_output_t out;
    assert_int_equal (s_run ("builtin:sleep", "soon", 0, &out), HANDLER_FAILED);
    assert_non_null (strstr (out.error, "'soon' is not a whole number"));
    handler_output_clear (&out);
    assert_int_equal (s_run ("builtin:sleep", "", 0, &out), HANDLER_FAILED);
    handler_output_clear (&out);
}

static void
test_handlers_sleep_deadline (void **state)
{
    handler_output_t out;
    uint64_t start = clock_mono_ms ();
    assert_int_equal (s_run ("builtin:sleep", "5000", start + 80, &out),
                      HANDLER_STOPPED);
    assert_in_range (clock_mono_ms () - start, 70, 2000);
    handler_output_clear (&out);
}

static void *
s_cancel_later (void *arg)
{
    struct timespec nap = {0, 50 * 1000000L};
    nanosleep (&nap, NULL);
    jobctx_cancel (arg);
    return NULL;
}

static void
test_handlers_sleep_cancel (void **state)
{
    char err[HANDLER_ERROR_LEN];
    handler_t *handler = handler_new ("builtin:sleep", 1024, err, sizeof err);
    jobctx_t *ctx = jobctx_new (1, 1, "q", 0);
    handler_output_t out = {0};
    pthread_t thread;
    pthread_create (&thread, NULL, s_cancel_later, ctx);
    uint64_t start = clock_mono_ms ();
    assert_int_equal (
        handler_run (handler, ctx, (const uint8_t *) "10000", 5, &out),
        HANDLER_STOPPED);
    assert_true (clock_mono_ms () - start < 2000);
    pthread_join (thread, NULL);
    jobctx_destroy (&ctx);
    handler_destroy (&handler);
}

static void
test_handlers_bad_specs (void **state)
{
    char err[HANDLER_ERROR_LEN];
    assert_null (handler_new ("builtin:nope", 1024, err, sizeof err));
    assert_non_null (strstr (err, "unknown builtin 'nope'"));
    assert_null (handler_new ("exec:", 1024, err, sizeof err));
    assert_non_null (strstr (err, "empty"));
    assert_null (handler_new ("exec:  'open", 1024, err, sizeof err));
    assert_non_null (strstr (err, "unclosed single quote"));
    assert_null (
        handler_new ("plugin:/nonexistent/x.so", 1024, err, sizeof err));
    assert_non_null (strstr (err, "cannot load plugin"));
    assert_null (handler_new ("magic:x", 1024, err, sizeof err));
}

static void
test_handlers_result_limit (void **state)
{
    char err[HANDLER_ERROR_LEN];
    handler_t *handler = handler_new ("builtin:echo", 4, err, sizeof err);
    jobctx_t *ctx = jobctx_new (1, 1, "q", 0);
    handler_output_t out = {0};
    assert_int_equal (
        handler_run (handler, ctx, (const uint8_t *) "12345", 5, &out),
        HANDLER_FAILED);
    assert_non_null (strstr (out.error, "exceeds the limit of 4"));
    handler_output_clear (&out);
    jobctx_destroy (&ctx);
    handler_destroy (&handler);
}

/* Splits text and compares with the expected words (NULL-terminated). */
static void
test_handlers_output_reuses_spare (void **state)
{
    handler_output_t out = {0};
    assert_int_equal (handler_set_result (&out, "hello", 5, 100), HANDLER_OK);
    assert_int_equal (out.result_cap, 5);
    handler_fail (&out, "noted");
    uint8_t *first = out.result;

    /* The result becomes the spare; the error goes. */
    handler_output_reset (&out, 64);
    assert_null (out.result);
    assert_int_equal (out.result_len, 0);
    assert_null (out.error);
    assert_ptr_equal (out.spare, first);
    assert_int_equal (out.spare_cap, 5);

    /* A result that fits takes the spare. */
    assert_int_equal (handler_set_result (&out, "hi", 2, 100), HANDLER_OK);
    assert_ptr_equal (out.result, first);
    assert_memory_equal (out.result, "hi", 2);
    assert_int_equal (out.result_cap, 5);
    assert_null (out.spare);

    /* One that does not gets its own buffer and leaves the spare. */
    handler_output_reset (&out, 64);
    assert_int_equal (handler_set_result (&out, "0123456789", 10, 100),
                      HANDLER_OK);
    assert_ptr_equal (out.spare, first);
    assert_memory_equal (out.result, "0123456789", 10);

    /* The larger buffer is kept, and only up to keep_max bytes. */
    handler_output_reset (&out, 64);
    assert_int_equal (out.spare_cap, 10);
    handler_output_reset (&out, 8);
    assert_null (out.spare);
    assert_int_equal (out.spare_cap, 0);

    assert_int_equal (handler_set_result (&out, "x", 1, 100), HANDLER_OK);
    handler_output_reset (&out, 0);
    assert_null (out.spare);
    handler_output_clear (&out);
}

static void
s_expect_words (const char *text, const char *const *want)
{
    char **argv = NULL;
    size_t argc = 0;
    char err[128];
    if (shellwords_split (text, &argv, &argc, err, sizeof err) != 0) {
        fail_msg ("split <%s>: %s", text, err);
    }
    size_t count = 0;
    while (want[count]) {
        count++;
    }
    assert_int_equal (argc, count);
    for (size_t i = 0; i < count; i++) {
        assert_string_equal (argv[i], want[i]);
    }
    assert_null (argv[argc]);
    shellwords_free (&argv);
}

static void
test_handlers_shellwords (void **state)
{
    s_expect_words ("a b  c", (const char *[]){"a", "b", "c", NULL});
    s_expect_words ("  ", (const char *[]){NULL});
    s_expect_words ("sh -c 'echo $HOME \"x\"'",
                    (const char *[]){"sh", "-c", "echo $HOME \"x\"", NULL});
    s_expect_words ("\"a b\"c 'd'\"e\"", (const char *[]){"a bc", "de", NULL});
    s_expect_words ("a\\ b \\'q \"\\\"in\\$\\n\"",
                    (const char *[]){"a b", "'q", "\"in$\\n", NULL});
    s_expect_words ("'' x", (const char *[]){"", "x", NULL});
    s_expect_words ("~ * $X", (const char *[]){"~", "*", "$X", NULL});
}

static void
test_handlers_shellwords_errors (void **state)
{
    char **argv = NULL;
    size_t argc = 0;
    char err[128];
    assert_int_equal (shellwords_split ("a 'b", &argv, &argc, err, sizeof err),
                      -1);
    assert_string_equal (err, "unclosed single quote");
    assert_int_equal (shellwords_split ("\"b", &argv, &argc, err, sizeof err),
                      -1);
    assert_string_equal (err, "unclosed double quote");
    assert_int_equal (shellwords_split ("b\\", &argv, &argc, err, sizeof err),
                      -1);
    assert_string_equal (err, "trailing backslash");
    assert_null (argv);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_handlers_echo),
        cmocka_unit_test (test_handlers_sha256),
        cmocka_unit_test (test_handlers_fail),
        cmocka_unit_test (test_handlers_sleep),
        cmocka_unit_test (test_handlers_sleep_malformed),
        cmocka_unit_test (test_handlers_sleep_deadline),
        cmocka_unit_test (test_handlers_sleep_cancel),
        cmocka_unit_test (test_handlers_bad_specs),
        cmocka_unit_test (test_handlers_result_limit),
        cmocka_unit_test (test_handlers_output_reuses_spare),
        cmocka_unit_test (test_handlers_shellwords),
        cmocka_unit_test (test_handlers_shellwords_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
