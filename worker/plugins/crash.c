/* Test plugin for the fault tests: takes its worker down on demand.
 *
 * A payload of exactly "crash" (a trailing newline allowed) kills the whole
 * worker process with SIGKILL, as a handler that corrupts memory would;
 * any other payload is echoed back as the result. Never installed: it
 * exists so that tests can make a job that kills every worker it runs on,
 * next to jobs that succeed on the same queue. The crash comes
 * CRASH_DELAY_MS after the job starts, so that the jobs dispatched beside
 * it have finished and reported: they are not taken down with it every
 * time and can be told apart from the job that crashes.
 */
#include <signal.h>
#include <string.h>

#include "zjob/zjob_plugin.h"

/* Time from the start of a "crash" job to the crash. */
#define CRASH_DELAY_MS 50

/* True when the payload asks for the crash. */
static int
s_is_crash (const char *payload, size_t len)
{
    if (len > 0 && payload[len - 1] == '\n') {
        len--;
    }
    return len == 5 && memcmp (payload, "crash", 5) == 0;
}

static int
s_run (void *state, const zjob_plugin_host_t *host, zjob_plugin_ctx_t *ctx,
       const void *payload, size_t len)
{
    (void) state;
    if (s_is_crash (payload, len)) {
        host->wait_ms (ctx, CRASH_DELAY_MS); /* even when cancelled */
        raise (SIGKILL); /* no cleanup, no last message: a real crash */
    }
    return host->set_result (ctx, payload, len) == 0 ? ZJOB_PLUGIN_OK
                                                     : ZJOB_PLUGIN_FAILED;
}

static const zjob_plugin_t s_plugin = {
    .abi_version = ZJOB_PLUGIN_ABI_VERSION,
    .name = "crash",
    .init = NULL,
    .run = s_run,
    .fini = NULL,
};

__attribute__ ((visibility ("default"))) const zjob_plugin_t *
zjob_plugin_entry (uint32_t host_abi_version)
{
    return host_abi_version == ZJOB_PLUGIN_ABI_VERSION ? &s_plugin : NULL;
}
