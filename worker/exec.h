/* The exec handler: runs a configured command per job, payload on stdin,
 * result from stdout. */
#ifndef ZJOB_WORKER_EXEC_H
#define ZJOB_WORKER_EXEC_H

#include "worker/handler.h"

/* After SIGTERM to a stopped job's process group, how long the group has
 * before SIGKILL. */
#define EXEC_KILL_GRACE_MS 2000

/* Bytes of stderr kept for the error text of a failed run. */
#define EXEC_STDERR_TAIL 2048

typedef struct exec_t exec_t;

/* Prepares command (split like shell words, no expansion). Returns NULL
 * with a reason in err (err_len bytes) when it is empty or badly quoted.
 * Ignores SIGPIPE in the process, so that a child which stops reading its
 * stdin cannot kill the worker. */
exec_t *exec_new (const char *command, char *err, size_t err_len);

/* Frees the command and nulls the pointer; NULL is fine. */
void exec_destroy (exec_t **self_p);

/* The handler_fn_t of exec handlers (state is an exec_t). Runs the command
 * in its own process group with the payload on stdin and ZJOB_ID,
 * ZJOB_ATTEMPT and ZJOB_QUEUE in its environment; stdout (at most
 * max_result bytes) is the result. A non-zero exit or a signal fails with
 * the tail of stderr. On cancel or deadline the group gets SIGTERM, then
 * SIGKILL after EXEC_KILL_GRACE_MS; the child is always reaped. */
handler_status_t exec_run (void *state, jobctx_t *ctx, const uint8_t *payload,
                           size_t len, size_t max_result,
                           handler_output_t *out);

#endif
