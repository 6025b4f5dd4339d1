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

/* What one run produced, and a buffer kept for the next run's result. The
 * pointers are malloc'd and owned by whoever holds the output;
 * handler_output_clear frees them. A handler that stores a buffer of its
 * own in result leaves result_cap at the 0 it found. */
typedef struct {
    uint8_t *result;   /* output bytes; NULL when empty */
    size_t result_len; /* bytes in result */
    char *error;       /* NUL-terminated reason; NULL when none */
    size_t result_cap; /* bytes allocated at result by handler_set_result;
                          0 when not known (then result_len) */
    uint8_t *spare;    /* unused buffer handler_set_result takes for the
                          result when it is large enough; NULL when none */
    size_t spare_cap;  /* bytes allocated at spare */
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

/* Runs one job. Fills out, which must hold no result and no error (a
 * spare buffer is fine, see handler_output_reset), and returns the status;
 * a result over the limit becomes HANDLER_FAILED. Thread-safe. */
handler_status_t handler_run (handler_t *self, jobctx_t *ctx,
                              const uint8_t *payload, size_t len,
                              handler_output_t *out);

/* The spec the handler was built from ("builtin:echo", ...). */
const char *handler_spec (const handler_t *self);

/* Stores a formatted error text in out and returns HANDLER_FAILED. */
handler_status_t handler_fail (handler_output_t *out, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Stores a copy of len bytes of data as the result, in the output's spare
 * buffer when that is large enough. Returns HANDLER_OK, or HANDLER_FAILED
 * (with the error set) when over max_result or out of memory. */
handler_status_t handler_set_result (handler_output_t *out, const void *data,
                                     size_t len, size_t max_result);

/* Frees the output's result, error and spare buffer and zeroes it. */
void handler_output_clear (handler_output_t *out);

/* Empties out for another run without giving up its memory: frees the
 * error and keeps the larger of the result and spare buffers as the spare,
 * as long as it is at most keep_max bytes; frees the other buffer. */
void handler_output_reset (handler_output_t *out, size_t keep_max);

#endif
