/* The worker: its connection to the broker and the loop that drives the
 * pool. */
#ifndef ZJOB_WORKER_WORKER_H
#define ZJOB_WORKER_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

/* Reconnect backoff after losing the broker: doubles from MIN to MAX, and
 * to no more than the heartbeat interval. */
#define WORKER_BACKOFF_MIN_MS 100
#define WORKER_BACKOFF_MAX_MS 5000

/* Longest broker heartbeat interval the worker waits for (liveness x
 * this) before it counts the broker lost. */
#define WORKER_MAX_PEER_BEAT_MS 60000

/* How long, past the drain grace plus the exec kill grace, the worker waits
 * for handlers that ignore cancellation before it leaves without them. */
#define WORKER_STUCK_MS 5000

/* Everything the worker needs; strings and queues are copied. */
typedef struct {
    const char *broker;            /* endpoint of the broker's worker socket */
    const char *name;              /* name shown by the broker */
    unsigned threads;              /* pool threads = capacity */
    long prefetch;                 /* credit beyond threads; -1: adaptive
                                      (see prefetch.h) */
    uint64_t heartbeat_ms;         /* heartbeat interval */
    unsigned liveness;             /* missed intervals before the broker is
                                      considered lost */
    uint64_t grace_ms;             /* drain: time running jobs get */
    size_t max_payload;            /* payload and result limit in bytes */
    const config_queues_t *queues; /* queues served and their handlers */
} worker_config_t;

typedef struct worker_t worker_t;

/* Builds the worker: one handler per queue and the pool (not started).
 * Returns NULL with a reason in err (err_len bytes) when the configuration
 * is unusable: no queues, a duplicate queue, an unknown builtin, an empty
 * exec command, a plugin that does not load. */
worker_t *worker_new (const worker_config_t *config, char *err, size_t err_len);

/* Stops the pool, frees everything and nulls the pointer; NULL is fine. */
void worker_destroy (worker_t **self_p);

/* Runs the worker on the calling thread until it has drained. stop_fd is a
 * descriptor that becomes readable to ask for a drain (a signalfd for
 * SIGTERM/SIGINT; the worker reads up to 128 bytes from it each time); a
 * second request cancels running jobs at once. Returns 0 after a clean
 * drain, 1 when handlers ignored cancellation and are still running (the
 * caller should exit without worker_destroy), 2 when the endpoint is
 * unusable or the pool could not start. */
int worker_run (worker_t *self, int stop_fd);

#endif
