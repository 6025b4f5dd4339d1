/* Test-only plugin that claims a future ABI version: the worker must refuse
 * to load it. Never installed. */
#include "zjob/zjob_plugin.h"

static int
s_run (void *state, const zjob_plugin_host_t *host, zjob_plugin_ctx_t *ctx,
       const void *payload, size_t len)
{
    return ZJOB_PLUGIN_OK;
}

static const zjob_plugin_t s_plugin = {
    .abi_version = ZJOB_PLUGIN_ABI_VERSION + 1,
    .name = "badabi",
    .run = s_run,
};

__attribute__ ((visibility ("default"))) const zjob_plugin_t *
zjob_plugin_entry (uint32_t host_abi_version)
{
    return &s_plugin; /* a careless plugin that does not check the host */
}
