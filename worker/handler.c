/* Handlers: building one from a queue spec and running it; see handler.h.
 *
 * Design notes. An output's buffers belong to whoever holds the output (in
 * the worker, a job block that is reused job after job). handler_set_result
 * copies into the spare buffer when it is large enough, so a block running
 * jobs of similar sizes allocates its result buffer once; the holder bounds
 * what is kept with handler_output_reset.
 */
#include "worker/handler.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/builtin.h"
#include "worker/exec.h"
#include "worker/plugin.h"

/* How the handler's state is released. */
typedef void (*s_release_fn) (void **state);

struct handler_t {
    char *spec;           /* the spec it was built from */
    handler_fn_t fn;      /* the function that runs a job */
    void *state;          /* fn's state (exec command, plugin); may be NULL */
    s_release_fn release; /* frees state; NULL when not owned */
    size_t max_result;    /* results over this many bytes fail */
};

static handler_t *
s_new (const char *spec, handler_fn_t fn, void *state, s_release_fn release,
       size_t max_result)
{
    handler_t *self = calloc (1, sizeof *self);
    if (self) {
        self->spec = strdup (spec);
    }
    if (!self || !self->spec) {
        free (self);
        return NULL;
    }
    self->fn = fn;
    self->state = state;
    self->release = release;
    self->max_result = max_result;
    return self;
}

static handler_t *
s_new_builtin (const char *spec, const char *name, size_t max_result, char *err,
               size_t err_len)
{
    handler_fn_t fn = builtin_find (name);
    if (!fn) {
        snprintf (err, err_len,
                  "unknown builtin '%s' (builtins: echo, sha256, sleep, fail)",
                  name);
        return NULL;
    }
    handler_t *self = s_new (spec, fn, NULL, NULL, max_result);
    if (!self) {
        snprintf (err, err_len, "out of memory");
    }
    return self;
}

static void
s_release_exec (void **state)
{
    exec_t *exec = *state;
    exec_destroy (&exec);
    *state = NULL;
}

static void
s_release_plugin (void **state)
{
    plugin_t *plugin = *state;
    plugin_unload (&plugin);
    *state = NULL;
}

/* Wraps state (from exec_new or plugin_load; NULL means they failed and
 * wrote err) into a handler. */
static handler_t *
s_new_stateful (const char *spec, void *state, handler_fn_t fn,
                s_release_fn release, size_t max_result, char *err,
                size_t err_len)
{
    if (!state) {
        return NULL; /* make wrote err */
    }
    handler_t *self = s_new (spec, fn, state, release, max_result);
    if (!self) {
        release (&state);
        snprintf (err, err_len, "out of memory");
    }
    return self;
}

handler_t *
handler_new (const char *spec, size_t max_result, char *err, size_t err_len)
{
    const char *colon = strchr (spec, ':');
    const char *arg = colon ? colon + 1 : "";
    size_t kind_len = colon ? (size_t) (colon - spec) : strlen (spec);

    if (kind_len == 7 && strncmp (spec, "builtin", 7) == 0) {
        return s_new_builtin (spec, arg, max_result, err, err_len);
    }
    if (kind_len == 4 && strncmp (spec, "exec", 4) == 0) {
        return s_new_stateful (spec, exec_new (arg, err, err_len), exec_run,
                               s_release_exec, max_result, err, err_len);
    }
    if (kind_len == 6 && strncmp (spec, "plugin", 6) == 0) {
        return s_new_stateful (spec, plugin_load (arg, err, err_len),
                               plugin_run, s_release_plugin, max_result, err,
                               err_len);
    }
    snprintf (err, err_len,
              "'%s' is not a handler (builtin:NAME, exec:COMMAND or "
              "plugin:PATH)",
              spec);
    return NULL;
}

handler_t *
handler_new_fn (const char *name, handler_fn_t fn, void *state,
                size_t max_result)
{
    return s_new (name, fn, state, NULL, max_result);
}

void
handler_destroy (handler_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    handler_t *self = *self_p;
    if (self->release) {
        self->release (&self->state);
    }
    free (self->spec);
    free (self);
    *self_p = NULL;
}

/* Frees the result (not the spare). */
static void
s_drop_result (handler_output_t *out)
{
    free (out->result);
    out->result = NULL;
    out->result_len = 0;
    out->result_cap = 0;
}

handler_status_t
handler_run (handler_t *self, jobctx_t *ctx, const uint8_t *payload, size_t len,
             handler_output_t *out)
{
    handler_status_t status =
        self->fn (self->state, ctx, payload, len, self->max_result, out);
    if (status == HANDLER_OK && out->result_len > self->max_result) {
        size_t got = out->result_len;
        s_drop_result (out);
        return handler_fail (out,
                             "result of %zu bytes exceeds the limit of "
                             "%zu",
                             got, self->max_result);
    }
    if (status == HANDLER_FAILED && !out->error) {
        return handler_fail (out, "handler failed without a reason");
    }
    return status;
}

const char *
handler_spec (const handler_t *self)
{
    return self->spec;
}

handler_status_t
handler_fail (handler_output_t *out, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    char *text = NULL;
    if (vasprintf (&text, fmt, args) < 0) {
        text = NULL;
    }
    va_end (args);
    free (out->error);
    out->error = text; /* NULL only when out of memory */
    return HANDLER_FAILED;
}

/* A buffer of at least need bytes for a new result: the spare when it is
 * large enough (then the output no longer holds it), else a new one. Sets
 * *cap to its size; NULL when out of memory. */
static uint8_t *
s_result_buffer (handler_output_t *out, size_t need, size_t *cap)
{
    if (out->spare && out->spare_cap >= need) {
        uint8_t *buffer = out->spare;
        *cap = out->spare_cap;
        out->spare = NULL;
        out->spare_cap = 0;
        return buffer;
    }
    *cap = need;
    return malloc (need);
}

handler_status_t
handler_set_result (handler_output_t *out, const void *data, size_t len,
                    size_t max_result)
{
    if (len > max_result) {
        return handler_fail (out,
                             "result of %zu bytes exceeds the limit of %zu",
                             len, max_result);
    }
    size_t cap = 0;
    uint8_t *copy = s_result_buffer (out, len ? len : 1, &cap);
    if (!copy) {
        return handler_fail (out, "out of memory");
    }
    if (len > 0) {
        memcpy (copy, data, len);
    }
    free (out->result);
    out->result = copy;
    out->result_len = len;
    out->result_cap = cap;
    return HANDLER_OK;
}

void
handler_output_clear (handler_output_t *out)
{
    free (out->result);
    free (out->error);
    free (out->spare);
    memset (out, 0, sizeof *out);
}

void
handler_output_reset (handler_output_t *out, size_t keep_max)
{
    free (out->error);
    out->error = NULL;

    uint8_t *result = out->result;
    size_t cap = out->result_cap ? out->result_cap : out->result_len;
    out->result = NULL;
    out->result_len = 0;
    out->result_cap = 0;
    if (result && cap <= keep_max && cap > out->spare_cap) {
        free (out->spare);
        out->spare = result;
        out->spare_cap = cap;
    } else {
        free (result);
    }

    if (out->spare_cap > keep_max) {
        free (out->spare);
        out->spare = NULL;
        out->spare_cap = 0;
    }
}
