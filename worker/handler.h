/* Handlers: what runs a job of a queue (builtin, exec or plugin).
 *
 * A handler is built once from a queue's spec ("builtin:NAME",
 * "exec:COMMAND ARG...", "plugin:PATH") when the worker starts, then run by
 * any number of pool threads at once; handler_run is thread-safe. A handler
 * never holds locks of the pool and reports through handler_output_t, which
 * the pool turns into an Outcome.
 */
#ifndef ZJOB_WORKER_HANDLER_H
#define ZJOB_WORKER_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "worker/jobctx.h"

/* Size of the error buffers handler_new writes into. */
#define HANDLER_ERROR_LEN 512

typedef enum {
    HANDLER_OK = 0,     /* out->result holds the output */
    HANDLER_FAILED = 1, /* out->error holds the reason */
    HANDLER_STOPPED = 2 /* gave up because the context said stop */
} handler_status_t;

/* What one run produced. Both fields are malloc'd and owned by whoever
 * holds the output; handler_output_clear frees them. */
typedef struct {
    uint8_t *result;   /* output bytes; NULL when empty */
    size_t result_len; /* bytes in result */
    char *error;       /* NUL-terminated reason; NULL when none */
} handler_output_t;

/* The function behind every handler kind. state is the handler's own
 * (NULL for builtins); max_result bounds out->result_len. */
typedef handler_status_t (*handler_fn_t) (void *state, jobctx_t *ctx,
                                          const uint8_t *payload, size_t len,
                                          size_t max_result,
                                          handler_output_t *out);

typedef struct handler_t handler_t;

/* Builds a handler from a queue's spec. Results over max_result bytes turn
 * into failures. Returns NULL with a one-line reason in err (of err_len
 * bytes) for an unknown builtin, an empty or badly quoted exec command, or
 * a plugin that cannot be loaded or speaks another ABI version. */
handler_t *handler_new (const char *spec, size_t max_result, char *err,
                        size_t err_len);

/* Builds a handler around fn and state (not owned), named name. For tests
 * and embedding. Returns NULL when out of memory. */
handler_t *handler_new_fn (const char *name, handler_fn_t fn, void *state,
                           size_t max_result);

/* Destroys the handler (unloading a plugin) and nulls the pointer; NULL is
 * fine. No run may be in progress. */
void handler_destroy (handler_t **self_p);

/* Runs one job. Fills out (which must start zeroed) and returns the status;
 * a result over the limit becomes HANDLER_FAILED. Thread-safe. */
handler_status_t handler_run (handler_t *self, jobctx_t *ctx,
                              const uint8_t *payload, size_t len,
                              handler_output_t *out);

/* The spec the handler was built from ("builtin:echo", ...). */
const char *handler_spec (const handler_t *self);

/* Stores a formatted error text in out and returns HANDLER_FAILED. */
handler_status_t handler_fail (handler_output_t *out, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Stores a copy of len bytes of data as the result. Returns HANDLER_OK, or
 * HANDLER_FAILED (with the error set) when over max_result or out of
 * memory. */
handler_status_t handler_set_result (handler_output_t *out, const void *data,
                                     size_t len, size_t max_result);

/* Frees the output's result and error and zeroes it. */
void handler_output_clear (handler_output_t *out);

#endif
