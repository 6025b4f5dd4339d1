/* Example zjob plugin: the result is the payload with its bytes reversed.
 *
 * Build it as a shared object that includes only zjob/zjob_plugin.h and
 * serve it with `--queue reverse=plugin:/path/to/zjob-plugin-reverse.so`.
 * It checks for cancellation every 64 KiB, as a long-running plugin
 * should.
 */
#include <stdlib.h>

#include "zjob/zjob_plugin.h"

#define REVERSE_CHUNK 65536

static int
s_run (void *state, const zjob_plugin_host_t *host, zjob_plugin_ctx_t *ctx,
       const void *payload, size_t len)
{
    const unsigned char *in = payload;
    unsigned char *out = malloc (len ? len : 1);
    if (!out) {
        host->set_error (ctx, "reverse: out of memory");
        return ZJOB_PLUGIN_FAILED;
    }
    for (size_t i = 0; i < len; i++) {
        if (i % REVERSE_CHUNK == 0 && host->cancelled (ctx)) {
            free (out);
            return ZJOB_PLUGIN_STOPPED;
        }
        out[len - 1 - i] = in[i];
    }
    int rc = host->set_result (ctx, out, len);
    free (out);
    return rc == 0 ? ZJOB_PLUGIN_OK : ZJOB_PLUGIN_FAILED;
}

static const zjob_plugin_t s_plugin = {
    .abi_version = ZJOB_PLUGIN_ABI_VERSION,
    .name = "reverse",
    .init = NULL,
    .run = s_run,
    .fini = NULL,
};

__attribute__ ((visibility ("default"))) const zjob_plugin_t *
zjob_plugin_entry (uint32_t host_abi_version)
{
    return host_abi_version == ZJOB_PLUGIN_ABI_VERSION ? &s_plugin : NULL;
}
