/* Plugins: handlers loaded with dlopen through include/zjob/zjob_plugin.h.
 */
#ifndef ZJOB_WORKER_PLUGIN_H
#define ZJOB_WORKER_PLUGIN_H

#include "worker/handler.h"
#include "zjob/zjob_plugin.h"

typedef struct plugin_t plugin_t;

/* Loads the shared object at path, checks that it exports
 * ZJOB_PLUGIN_ENTRY_SYMBOL and speaks ZJOB_PLUGIN_ABI_VERSION, and calls
 * its init. Returns NULL with a reason in err (err_len bytes) otherwise. */
plugin_t *plugin_load (const char *path, char *err, size_t err_len);

/* Calls the plugin's fini, unloads it and nulls the pointer; NULL is fine.
 * No run may be in progress. */
void plugin_unload (plugin_t **self_p);

/* The handler_fn_t of plugin handlers (state is a plugin_t). A plugin's
 * ZJOB_PLUGIN_STOPPED becomes HANDLER_STOPPED; a result over max_result
 * fails. */
handler_status_t plugin_run (void *state, jobctx_t *ctx, const uint8_t *payload,
                             size_t len, size_t max_result,
                             handler_output_t *out);

/* The host table the worker hands to plugins. */
const zjob_plugin_host_t *plugin_host (void);

#endif
