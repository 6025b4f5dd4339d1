/* Plugin loading and the host table plugins call back into.
 *
 * A plugin sees its job only through zjob_plugin_ctx, a small stack object
 * that lives for one run and points at the job's context and output; the
 * host functions below are the only way in, so a plugin never links
 * against the worker binary.
 */
#include "worker/plugin.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plugin_t {
    void *library;             /* dlopen handle */
    const zjob_plugin_t *info; /* what the entry returned */
    void *state;               /* from the plugin's init */
};

/* What one run lets the plugin reach. */
struct zjob_plugin_ctx {
    jobctx_t *job;         /* the job's context */
    handler_output_t *out; /* where set_result and set_error write */
    size_t max_result;     /* result limit */
    int result_over;       /* set_result was refused for size */
};

static uint64_t
s_job_id (const zjob_plugin_ctx_t *ctx)
{
    return jobctx_id (ctx->job);
}

static uint32_t
s_attempt (const zjob_plugin_ctx_t *ctx)
{
    return jobctx_attempt (ctx->job);
}

static const char *
s_queue (const zjob_plugin_ctx_t *ctx)
{
    return jobctx_queue (ctx->job);
}

static int
s_cancelled (const zjob_plugin_ctx_t *ctx)
{
    return jobctx_should_stop (ctx->job) ? 1 : 0;
}

static int64_t
s_time_left_ms (const zjob_plugin_ctx_t *ctx)
{
    return jobctx_time_left_ms (ctx->job);
}

static int
s_wait_ms (const zjob_plugin_ctx_t *ctx, uint64_t ms)
{
    return jobctx_wait_ms (ctx->job, ms);
}

static int
s_set_result (zjob_plugin_ctx_t *ctx, const void *data, size_t len)
{
    if (handler_set_result (ctx->out, data, len, ctx->max_result) !=
        HANDLER_OK) {
        ctx->result_over = 1;
        return -1;
    }
    return 0;
}

static int
s_set_error (zjob_plugin_ctx_t *ctx, const char *text)
{
    handler_fail (ctx->out, "%s", text ? text : "");
    return ctx->out->error ? 0 : -1;
}

static const zjob_plugin_host_t s_host = {
    .abi_version = ZJOB_PLUGIN_ABI_VERSION,
    .size = sizeof (zjob_plugin_host_t),
    .job_id = s_job_id,
    .attempt = s_attempt,
    .queue = s_queue,
    .cancelled = s_cancelled,
    .time_left_ms = s_time_left_ms,
    .wait_ms = s_wait_ms,
    .set_result = s_set_result,
    .set_error = s_set_error,
};

const zjob_plugin_host_t *
plugin_host (void)
{
    return &s_host;
}

/* Looks up and checks the plugin's description. Returns NULL with err. */
static const zjob_plugin_t *
s_describe (void *library, const char *path, char *err, size_t err_len)
{
    zjob_plugin_entry_fn entry;
    void *symbol = dlsym (library, ZJOB_PLUGIN_ENTRY_SYMBOL);
    if (!symbol) {
        snprintf (err, err_len, "plugin %s does not export %s", path,
                  ZJOB_PLUGIN_ENTRY_SYMBOL);
        return NULL;
    }
    memcpy (&entry, &symbol, sizeof entry); /* object to function pointer */
    const zjob_plugin_t *info = entry (ZJOB_PLUGIN_ABI_VERSION);
    if (!info) {
        snprintf (err, err_len, "plugin %s refused plugin ABI version %d", path,
                  ZJOB_PLUGIN_ABI_VERSION);
        return NULL;
    }
    if (info->abi_version != ZJOB_PLUGIN_ABI_VERSION) {
        snprintf (err, err_len,
                  "plugin %s speaks plugin ABI version %u; this worker "
                  "speaks %d",
                  path, info->abi_version, ZJOB_PLUGIN_ABI_VERSION);
        return NULL;
    }
    if (!info->run) {
        snprintf (err, err_len, "plugin %s has no run function", path);
        return NULL;
    }
    return info;
}

plugin_t *
plugin_load (const char *path, char *err, size_t err_len)
{
    if (!*path) {
        snprintf (err, err_len, "plugin path is empty");
        return NULL;
    }
    plugin_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_len, "out of memory");
        return NULL;
    }
    self->library = dlopen (path, RTLD_NOW | RTLD_LOCAL);
    if (!self->library) {
        snprintf (err, err_len, "cannot load plugin: %s", dlerror ());
        free (self);
        return NULL;
    }
    self->info = s_describe (self->library, path, err, err_len);
    if (self->info && self->info->init &&
        self->info->init (&s_host, &self->state) != 0) {
        snprintf (err, err_len, "plugin %s: init failed", path);
        self->info = NULL;
    }
    if (!self->info) {
        dlclose (self->library);
        free (self);
        return NULL;
    }
    return self;
}

void
plugin_unload (plugin_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    plugin_t *self = *self_p;
    if (self->info->fini) {
        self->info->fini (self->state);
    }
    dlclose (self->library);
    free (self);
    *self_p = NULL;
}

handler_status_t
plugin_run (void *state, jobctx_t *ctx, const uint8_t *payload, size_t len,
            size_t max_result, handler_output_t *out)
{
    plugin_t *self = state;
    zjob_plugin_ctx_t call = {ctx, out, max_result, 0};
    int rc = self->info->run (self->state, &s_host, &call, payload, len);
    if (rc == ZJOB_PLUGIN_STOPPED) {
        return HANDLER_STOPPED;
    }
    if (rc == ZJOB_PLUGIN_OK && !call.result_over) {
        free (out->error);
        out->error = NULL;
        return HANDLER_OK;
    }
    if (!out->error) {
        handler_fail (out, "plugin %s failed (code %d)",
                      self->info->name ? self->info->name : "?", rc);
    }
    return HANDLER_FAILED;
}
