/* Unit tests for plugin loading: the example plugin and ABI checks.
 *
 * The built plugins' paths come from the build (ZJOB_TEST_PLUGIN_REVERSE
 * and ZJOB_TEST_PLUGIN_BADABI, set by worker/CMakeLists.txt) or, when the
 * build could not set them, from the folder in ZJOB_TEST_PLUGIN_DIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/handler.h"
#include "worker/plugin.h"

/* Returns the path of the built plugin file (e.g. zjob-plugin-reverse.so),
 * from the compile definition or ZJOB_TEST_PLUGIN_DIR. */
static const char *
s_plugin_path (const char *built, const char *file)
{
    static char path[4096];
    const char *dir = getenv ("ZJOB_TEST_PLUGIN_DIR");
    if (dir) {
        snprintf (path, sizeof path, "%s/%s", dir, file);
        return path;
    }
    if (!built) {
        fail_msg ("the plugin %s was not located: set ZJOB_TEST_PLUGIN_DIR",
                  file);
    }
    return built;
}

#ifdef ZJOB_TEST_PLUGIN_REVERSE
#define S_REVERSE ZJOB_TEST_PLUGIN_REVERSE
#else
#define S_REVERSE NULL
#endif
#ifdef ZJOB_TEST_PLUGIN_BADABI
#define S_BADABI ZJOB_TEST_PLUGIN_BADABI
#else
#define S_BADABI NULL
#endif

static handler_t *
s_reverse_handler (size_t max)
{
    char spec[4200], err[HANDLER_ERROR_LEN];
    snprintf (spec, sizeof spec, "plugin:%s",
              s_plugin_path (S_REVERSE, "zjob-plugin-reverse.so"));
    handler_t *handler = handler_new (spec, max, err, sizeof err);
    if (!handler) {
        fail_msg ("loading %s: %s", spec, err);
    }
    return handler;
}

static void
test_plugin_reverse_runs (void **state)
{
    handler_t *handler = s_reverse_handler (1024);
    jobctx_t *ctx = jobctx_new (5, 1, "rev", 0);
    handler_output_t out = {0};
    handler_status_t status =
        handler_run (handler, ctx, (const uint8_t *) "stressed", 8, &out);
    if (status != HANDLER_OK) {
        fail_msg ("reverse failed: %s", out.error ? out.error : "?");
    }
    assert_int_equal (out.result_len, 8);
    assert_memory_equal (out.result, "desserts", 8);
    handler_output_clear (&out);

    /* Over the result limit: a failure, not a truncated result. */
    handler_destroy (&handler);
    handler = s_reverse_handler (4);
    assert_int_equal (
        handler_run (handler, ctx, (const uint8_t *) "stressed", 8, &out),
        HANDLER_FAILED);
    assert_non_null (strstr (out.error, "exceeds the limit"));
    handler_output_clear (&out);
    jobctx_destroy (&ctx);
    handler_destroy (&handler);
}

static void
test_plugin_reverse_honours_cancel (void **state)
{
    handler_t *handler = s_reverse_handler (1024);
    jobctx_t *ctx = jobctx_new (5, 1, "rev", 0);
    jobctx_cancel (ctx);
    handler_output_t out = {0};
    assert_int_equal (
        handler_run (handler, ctx, (const uint8_t *) "abc", 3, &out),
        HANDLER_STOPPED);
    handler_output_clear (&out);
    jobctx_destroy (&ctx);
    handler_destroy (&handler);
}

static void
test_plugin_abi_mismatch_rejected (void **state)
{
    char err[HANDLER_ERROR_LEN];
    const char *path = s_plugin_path (S_BADABI, "zjob-plugin-badabi.so");
    plugin_t *plugin = plugin_load (path, err, sizeof err);
    assert_null (plugin);
    char want[64];
    snprintf (want, sizeof want, "ABI version %d; this worker speaks %d",
              ZJOB_PLUGIN_ABI_VERSION + 1, ZJOB_PLUGIN_ABI_VERSION);
    if (!strstr (err, want)) {
        fail_msg ("unexpected error: %s", err);
    }
}

static void
test_plugin_missing_rejected (void **state)
{
    char err[HANDLER_ERROR_LEN];
    assert_null (plugin_load ("/nonexistent/zjob-plugin.so", err, sizeof err));
    assert_non_null (strstr (err, "cannot load plugin"));
    assert_null (plugin_load ("", err, sizeof err));
    /* A shared object without the entry symbol. */
    assert_null (plugin_load ("libc.so.6", err, sizeof err));
    assert_non_null (strstr (err, "does not export zjob_plugin_entry"));
}

static void
test_plugin_host_table (void **state)
{
    const zjob_plugin_host_t *host = plugin_host ();
    assert_int_equal (host->abi_version, ZJOB_PLUGIN_ABI_VERSION);
    assert_int_equal (host->size, sizeof *host);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_plugin_reverse_runs),
        cmocka_unit_test (test_plugin_reverse_honours_cancel),
        cmocka_unit_test (test_plugin_abi_mismatch_rejected),
        cmocka_unit_test (test_plugin_missing_rejected),
        cmocka_unit_test (test_plugin_host_table),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
