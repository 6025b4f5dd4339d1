/* zjob worker plugin ABI: how a shared object serves a queue's jobs.
 *
 * A plugin is a shared object the worker loads with dlopen when a queue is
 * configured as `plugin: PATH`. It exports one function,
 * zjob_plugin_entry, which returns a description of the plugin. The worker
 * refuses a plugin whose abi_version differs from ZJOB_PLUGIN_ABI_VERSION,
 * so an incompatible plugin fails at start-up with a clear error rather
 * than crashing on the first job.
 *
 * A plugin never calls symbols of the worker binary: everything it may ask
 * about the job it runs (id, attempt, queue, cancelled?, time left) and the
 * way it hands back a result or an error go through the host table passed
 * to every call. This keeps plugins loadable by any host that speaks the
 * same ABI version, including tests.
 *
 * Threads: run is called from several pool threads at once, each with its
 * own context; a plugin that keeps state in *state must protect it. init and
 * fini are called once, from the thread that loads and unloads the plugin.
 */
#ifndef ZJOB_PLUGIN_H
#define ZJOB_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change to the structures below. */
#define ZJOB_PLUGIN_ABI_VERSION 1

/* The symbol name the worker looks up in the shared object. */
#define ZJOB_PLUGIN_ENTRY_SYMBOL "zjob_plugin_entry"

/* What run returns. */
#define ZJOB_PLUGIN_OK                                                         \
    0                         /* succeeded; the result is what set_result      \
                                 stored (empty if never called) */
#define ZJOB_PLUGIN_FAILED  1 /* failed; the error is what set_error stored */
#define ZJOB_PLUGIN_STOPPED 2 /* gave up because cancelled() said so */

/* The job a call is about; opaque to the plugin. */
typedef struct zjob_plugin_ctx zjob_plugin_ctx_t;

/* Services the worker offers to a plugin. All functions are thread-safe
 * for distinct contexts, and ctx is only valid during the run call. */
typedef struct {
    uint32_t abi_version; /* ZJOB_PLUGIN_ABI_VERSION of the host */
    uint32_t size;        /* sizeof this table, for later additions */

    /* The job's id, attempt (1-based) and queue name. */
    uint64_t (*job_id) (const zjob_plugin_ctx_t *ctx);
    uint32_t (*attempt) (const zjob_plugin_ctx_t *ctx);
    const char *(*queue) (const zjob_plugin_ctx_t *ctx);

    /* Non-zero once the job is cancelled or its deadline has passed: the
     * plugin should stop soon and return ZJOB_PLUGIN_STOPPED. */
    int (*cancelled) (const zjob_plugin_ctx_t *ctx);

    /* Milliseconds until the deadline, 0 when passed, -1 when none. */
    int64_t (*time_left_ms) (const zjob_plugin_ctx_t *ctx);

    /* Sleeps up to ms milliseconds, waking early on cancel or deadline.
     * Returns 0 after the full time, -1 when woken to stop. */
    int (*wait_ms) (const zjob_plugin_ctx_t *ctx, uint64_t ms);

    /* Copies the result (len bytes). Returns 0, or -1 when it is over the
     * worker's payload limit or memory ran out. */
    int (*set_result) (zjob_plugin_ctx_t *ctx, const void *data, size_t len);

    /* Copies a NUL-terminated error text. Returns 0, or -1. */
    int (*set_error) (zjob_plugin_ctx_t *ctx, const char *text);
} zjob_plugin_host_t;

/* What a plugin is. Returned by zjob_plugin_entry; must stay valid until
 * the shared object is unloaded (a static const structure is typical). */
typedef struct {
    uint32_t abi_version; /* set to ZJOB_PLUGIN_ABI_VERSION */
    const char *name;     /* short name for logs and errors */

    /* Optional (may be NULL): called once after loading. Stores the
     * plugin's state in *state. Returns 0, or non-zero to refuse loading. */
    int (*init) (const zjob_plugin_host_t *host, void **state);

    /* Runs one job with payload (len bytes). Returns ZJOB_PLUGIN_OK,
     * ZJOB_PLUGIN_FAILED or ZJOB_PLUGIN_STOPPED. */
    int (*run) (void *state, const zjob_plugin_host_t *host,
                zjob_plugin_ctx_t *ctx, const void *payload, size_t len);

    /* Optional: called once before unloading, after the last run. */
    void (*fini) (void *state);
} zjob_plugin_t;

/* The one function a plugin exports. host_abi_version is the worker's
 * ZJOB_PLUGIN_ABI_VERSION; a plugin may return NULL when it cannot serve
 * that version. */
typedef const zjob_plugin_t *(*zjob_plugin_entry_fn) (
    uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif
