/* libzjob: the C client API of zjob, a job cluster over ZeroMQ.
 *
 * A client holds one DEALER connection to a broker. It is meant for one
 * thread at a time (no locks, no hidden threads); use one client per thread.
 * Two ways to use it:
 * - Blocking calls (zjob_submit, zjob_wait, zjob_status, zjob_cancel and
 *   the admin calls) send a request and return when it is answered.
 * - The pipelined path (zjob_submit_async + zjob_client_poll) sends Submit
 *   batches without waiting and delivers acknowledgements and results as
 *   they arrive. Do not mix the two while asynchronous work is outstanding:
 *   a blocking call drops the acks and results it did not ask for.
 *
 * Conventions: functions return a zjob_err_t (ZJOB_OK is 0); on failure
 * zjob_client_error () gives a one-line detail. Pointers inside structs
 * passed to callbacks are borrowed and valid only during the callback. The
 * library never logs, never exits and never installs signal handlers (it
 * turns off the ones czmq would install).
 */
#ifndef ZJOB_ZJOB_H
#define ZJOB_ZJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_EXPORT __attribute__ ((visibility ("default")))

/* Endpoint used when neither the caller nor ZJOB_BROKER names one. */
#define ZJOB_DEFAULT_ENDPOINT "tcp://127.0.0.1:5570"

/* Most jobs in one Submit message (the broker's default batch limit). */
#define ZJOB_MAX_BATCH 10000

/* Bytes an automatic idempotency key takes, its terminating NUL included
 * (see zjob_client_new_key). */
#define ZJOB_KEY_LEN 40

typedef struct zjob_client zjob_client_t;

/* Errors returned by every call. */
typedef enum {
    ZJOB_OK = 0,
    ZJOB_EINVAL = 1,       /* bad argument (NULL, empty queue, batch too big) */
    ZJOB_ENOMEM = 2,       /* out of memory */
    ZJOB_EUNREACHABLE = 3, /* broker silent past the timeout or liveness */
    ZJOB_ETIMEDOUT = 4,    /* zjob_wait: some jobs not final in time */
    ZJOB_EPROTO = 5,       /* broker answered with something unexpected */
    ZJOB_ETOOLARGE = 6,    /* message, payload or batch over a limit */
    ZJOB_EREJECTED = 7,    /* broker refused the request or job (bad request) */
    ZJOB_ENOTFOUND = 8,    /* unknown job id */
    ZJOB_EBUSY = 9,        /* broker over a limit: try later */
    ZJOB_EVERSION = 10,    /* broker speaks another protocol major version */
    ZJOB_EINTERNAL = 11    /* broker internal error */
} zjob_err_t;

/* Job states; the numbers are the wire State numbers. */
typedef enum {
    ZJOB_STATE_UNKNOWN = 0,   /* no such job (never accepted, or expired) */
    ZJOB_STATE_QUEUED = 1,    /* waiting for a worker */
    ZJOB_STATE_SCHEDULED = 2, /* waiting for its delay or retry backoff */
    ZJOB_STATE_RUNNING = 3,   /* dispatched to a worker */
    ZJOB_STATE_SUCCEEDED = 4, /* final: result holds the output */
    ZJOB_STATE_FAILED = 5,    /* final: error holds the reason */
    ZJOB_STATE_CANCELLED = 6, /* final: cancelled by a client */
    ZJOB_STATE_TIMED_OUT = 7, /* final: deadline passed */
    ZJOB_STATE_DEAD = 8       /* final: out of attempts or killed workers */
} zjob_state_t;

/* One job to submit. Pointers are read during the call only. */
typedef struct {
    const char *queue;     /* queue name, not empty; created on first use */
    const void *payload;   /* payload bytes; NULL only when payload_len is 0 */
    size_t payload_len;    /* bytes in payload */
    int32_t priority;      /* higher runs first; FIFO within one priority */
    uint64_t timeout_ms;   /* deadline = acceptance + timeout; 0: none */
    uint32_t max_attempts; /* 0: the broker's default (1, no retry) */
    uint64_t delay_ms;     /* run no earlier than acceptance + delay */
    const char *key;       /* idempotency key (at most 255 bytes of UTF-8):
                              a key the broker has seen returns the first
                              job; NULL or "": the library makes one (see
                              zjob_submit) */
} zjob_spec_t;

/* One job as the broker reports it. Pointers are borrowed: valid only
 * during the callback that receives the struct. Strings are never NULL. */
typedef struct {
    uint64_t id;          /* job id */
    const char *queue;    /* queue name ("" for an unknown job) */
    zjob_state_t state;   /* current or final state */
    uint32_t attempt;     /* 1-based attempt number; 0 before dispatch */
    const void *result;   /* handler output (succeeded); may hold NULs */
    size_t result_len;    /* bytes in result */
    const char *error;    /* failure reason, "" when none */
    const char *worker;   /* worker that ran the last attempt, "" if none */
    int32_t priority;     /* as submitted */
    uint64_t created_ms;  /* acceptance time, unix ms */
    uint64_t started_ms;  /* last dispatch time, unix ms; 0: never */
    uint64_t finished_ms; /* final time, unix ms; 0: not final */
    bool result_omitted;  /* zjob_status/zjob_cancel: the result was left
                             out to keep the reply within the message
                             limit; ask for this id alone to get it */
    uint32_t failures;    /* attempts that ended failed */
    uint32_t lost;        /* attempts that ended with their worker lost */
} zjob_info_t;

/* One worker as the broker sees it (zjob_workers). Borrowed pointers. */
typedef struct {
    const char *name;          /* worker name */
    const char *const *queues; /* names of the queues it serves */
    size_t n_queues;           /* entries in queues */
    uint32_t capacity;         /* threads */
    uint32_t running;          /* jobs dispatched and not yet finished */
    uint64_t done;             /* results received from it */
    uint64_t idle_ms;          /* since its last message */
    bool draining;             /* it asked to stop taking jobs */
} zjob_worker_info_t;

/* One queue as the broker sees it (zjob_queues). Borrowed pointers. */
typedef struct {
    const char *name;   /* queue name */
    uint64_t queued;    /* waiting for a worker */
    uint64_t scheduled; /* waiting for a delay or backoff */
    uint64_t running;   /* on workers now */
    uint64_t succeeded; /* finished successfully */
    uint64_t failed;    /* failed, timed out or dead */
    uint32_t workers;   /* workers serving it */
} zjob_queue_info_t;

/* Broker-wide counters (zjob_stats). */
typedef struct {
    uint64_t uptime_ms;        /* since the broker started */
    uint64_t submitted;        /* jobs accepted */
    uint64_t succeeded;        /* jobs that succeeded */
    uint64_t failed;           /* jobs that failed */
    uint64_t cancelled;        /* jobs cancelled */
    uint64_t timed_out;        /* jobs past their deadline */
    uint64_t dead;             /* jobs out of attempts */
    uint64_t retried;          /* attempts scheduled again */
    uint64_t queued;           /* jobs waiting now */
    uint64_t running;          /* jobs on workers now */
    uint64_t workers;          /* workers connected */
    uint64_t clients_rejected; /* messages answered with an Error */
    uint64_t stale_results;    /* results from superseded attempts */
    uint64_t worker_lost;      /* attempts ended by a dead worker */
    uint64_t results_kept;     /* finished jobs still answerable */
    uint64_t dead_kept;        /* jobs in the dead set */
    uint64_t rejected_busy;    /* jobs refused by a queue or memory limit */
    uint64_t journal_bytes;    /* size of the journal on disk */
    uint64_t journal_syncs;    /* fsyncs since start */
    uint64_t memory_bytes;     /* payload and result bytes held */
    uint64_t recovered;        /* jobs read back from the journal at start */
} zjob_stats_t;

/* Called with each job a call reports; info is borrowed (see zjob_info_t). */
typedef void (zjob_info_fn) (const zjob_info_t *info, void *arg);

/* ---- client lifecycle and errors ---- */

/* Creates a client connected (asynchronously) to endpoint, e.g.
 * "tcp://127.0.0.1:5570"; NULL means $ZJOB_BROKER, else
 * ZJOB_DEFAULT_ENDPOINT. Connecting does not wait for the broker: the first
 * request finds out whether it answers. Returns a client the caller frees
 * with zjob_client_destroy, or NULL when the endpoint is malformed or memory
 * ran out (errno is EINVAL or ENOMEM). */
ZJOB_EXPORT zjob_client_t *zjob_client_new (const char *endpoint);

/* Closes the connection and frees the client; nulls *client. Unsent
 * requests are dropped. Safe with NULL or a NULL *client. */
ZJOB_EXPORT void zjob_client_destroy (zjob_client_t **client);

/* Sets how long one request waits for its reply before failing with
 * ZJOB_EUNREACHABLE (default 10000 ms). timeout_ms must be > 0. */
ZJOB_EXPORT void zjob_client_set_timeout (zjob_client_t *client,
                                          int timeout_ms);

/* Sets the heartbeat interval (default 1000 ms) and liveness (default 3):
 * while waiting for the broker the client sends a Heartbeat every interval
 * and gives up with ZJOB_EUNREACHABLE when nothing at all came back for
 * liveness x interval. Both must be > 0. */
ZJOB_EXPORT void zjob_client_set_heartbeat (zjob_client_t *client,
                                            int interval_ms, int liveness);

/* Sets how long a broker that has answered before may stay silent before
 * a call gives up with ZJOB_EUNREACHABLE (default 60000 ms, or the
 * duration in $ZJOB_DOWN_TIMEOUT such as "2m"; a value that is not a
 * valid duration is ignored). The time counts from the first Heartbeat it
 * left unanswered, so a timeout shorter than liveness x interval (even
 * than one interval) works. While it is silent the client keeps sending
 * Heartbeats; when it answers again (restarted or not), the call sends its
 * request, Waits and unacknowledged Submits again and carries on. A
 * broker that never answered is given only liveness x interval, unless
 * the client is patient (zjob_client_set_patient). zjob_wait with a
 * timeout waits for the broker up to that timeout instead. timeout_ms
 * must be > 0. */
ZJOB_EXPORT void zjob_client_set_down_timeout (zjob_client_t *client,
                                               int64_t timeout_ms);

/* patient: wait for a broker that has not answered yet as for one that
 * went silent, up to the down timeout (or zjob_wait's timeout), instead of
 * failing after liveness x interval. For programs whose point is to wait
 * for jobs, which should outlast a broker restart even when they start
 * while it is down; the default (not patient) reports a wrong endpoint
 * quickly. */
ZJOB_EXPORT void zjob_client_set_patient (zjob_client_t *client, bool patient);

/* Called when a call finds the broker silent past liveness x interval and
 * presumes it down, once per such silence: the call now waits for it up
 * to down_timeout_ms (counted as zjob_client_set_down_timeout says).
 * Runs on the calling thread, inside the call; it must not call the
 * client. */
typedef void (zjob_down_fn) (zjob_client_t *client, int64_t down_timeout_ms,
                             void *arg);

/* Sets the function called when the broker is presumed down (NULL: none),
 * with arg. A library never logs: this is how a program can say why a
 * call takes long. */
ZJOB_EXPORT void zjob_client_on_down (zjob_client_t *client, zjob_down_fn *fn,
                                      void *arg);

/* Writes a fresh automatic idempotency key into buf (len bytes, at least
 * ZJOB_KEY_LEN): "~", 16 hex digits of a random per-client session id,
 * ":", a per-client counter in hex. Use it to submit a job again with the
 * same key (for instance after ZJOB_EBUSY). Returns ZJOB_OK, or
 * ZJOB_EINVAL when buf is too small. */
ZJOB_EXPORT zjob_err_t zjob_client_new_key (zjob_client_t *client, char *buf,
                                            size_t len);

/* Returns the endpoint the client connects to (owned by the client). */
ZJOB_EXPORT const char *zjob_client_endpoint (const zjob_client_t *client);

/* Returns a one-line detail of the last error (e.g. the broker's Error
 * message), owned by the client and valid until its next call; "" if none. */
ZJOB_EXPORT const char *zjob_client_error (const zjob_client_t *client);

/* Returns a static, human-readable name for err. */
ZJOB_EXPORT const char *zjob_strerror (zjob_err_t err);

/* Returns the static wire name of state ("queued", "timed_out", ...). */
ZJOB_EXPORT const char *zjob_state_name (zjob_state_t state);

/* Returns true for SUCCEEDED, FAILED, CANCELLED, TIMED_OUT and DEAD. */
ZJOB_EXPORT bool zjob_state_is_final (zjob_state_t state);

/* ---- blocking calls ---- */

/* Submits n jobs, one round trip per ZJOB_MAX_BATCH of them. On ZJOB_OK
 * every job got an answer: ids_out[i] is the new id, or 0 when the broker
 * refused job i, with the reason in errs_out[i] (ZJOB_OK for accepted
 * jobs; ZJOB_EBUSY when a queue or memory limit was reached: try later).
 * errs_out may be NULL: then the first refused job makes the call return
 * its error (ids_out still filled for the others). Any other error means
 * the batches from the failing one on got no answer (their ids are 0;
 * earlier batches were accepted). ids_out must hold n entries.
 * Every job without a key gets an automatic one, and a batch whose reply
 * does not come (a lost message, a broker restart) is sent again with the
 * same keys, so the broker returns the jobs it already has instead of
 * making copies; see zjob_client_set_down_timeout for how long. */
ZJOB_EXPORT zjob_err_t zjob_submit (zjob_client_t *client,
                                    const zjob_spec_t *specs, size_t n,
                                    uint64_t *ids_out, zjob_err_t *errs_out);

/* Waits until each of the n jobs is final and calls fn once per distinct id
 * as it becomes final (in completion order). An unknown or expired id is
 * reported at once with state ZJOB_STATE_UNKNOWN. timeout_ms < 0 waits
 * without limit. Sends Heartbeats while waiting; when the broker restarts
 * or answers again after silence, the Waits for the ids not yet reported
 * go again (copies of a result are dropped). Returns ZJOB_OK when every
 * id was reported, ZJOB_ETIMEDOUT when timeout_ms passed first (the others
 * were reported), ZJOB_EUNREACHABLE when the broker stayed silent past the
 * down timeout (only without timeout_ms). */
ZJOB_EXPORT zjob_err_t zjob_wait (zjob_client_t *client, const uint64_t *ids,
                                  size_t n, int64_t timeout_ms,
                                  zjob_info_fn *fn, void *arg);

/* Asks for the current state of n jobs and calls fn once per id, in the
 * order given (unknown ids have ZJOB_STATE_UNKNOWN). Results that would
 * take the reply over the message limit are left out and flagged with
 * result_omitted; ask for those ids one at a time. */
ZJOB_EXPORT zjob_err_t zjob_status (zjob_client_t *client, const uint64_t *ids,
                                    size_t n, zjob_info_fn *fn, void *arg);

/* Cancels n jobs and calls fn once per id, in order, with its state after
 * the cancel: queued and scheduled jobs are CANCELLED at once, a running
 * job stays RUNNING until its worker confirms (zjob_wait for that), a final
 * job keeps its state. */
ZJOB_EXPORT zjob_err_t zjob_cancel (zjob_client_t *client, const uint64_t *ids,
                                    size_t n, zjob_info_fn *fn, void *arg);

/* Calls fn once per connected worker. */
ZJOB_EXPORT zjob_err_t zjob_workers (
    zjob_client_t *client,
    void (*fn) (const zjob_worker_info_t *worker, void *arg), void *arg);

/* Calls fn once per queue the broker knows. */
ZJOB_EXPORT zjob_err_t zjob_queues (zjob_client_t *client,
                                    void (*fn) (const zjob_queue_info_t *queue,
                                                void *arg),
                                    void *arg);

/* Fills *stats with the broker's counters. */
ZJOB_EXPORT zjob_err_t zjob_stats (zjob_client_t *client, zjob_stats_t *stats);

/* Calls fn once per job in the dead set (newest first): of queue only,
 * or of every queue when queue is NULL or ""; at most limit of them (0:
 * the broker's choice). A broker without a dead set answers
 * ZJOB_EREJECTED with its message in zjob_client_error. */
ZJOB_EXPORT zjob_err_t zjob_dead_list (zjob_client_t *client, const char *queue,
                                       uint32_t limit, zjob_info_fn *fn,
                                       void *arg);

/* Puts dead jobs back in line with their attempts reset and calls fn once
 * per job put back, with its state after the retry. With n > 0 the jobs
 * are ids[0, n) (an id that is not dead is simply not reported); with
 * n == 0 every dead job of queue (NULL or "": of every queue). */
ZJOB_EXPORT zjob_err_t zjob_dead_retry (zjob_client_t *client,
                                        const char *queue, const uint64_t *ids,
                                        size_t n, zjob_info_fn *fn, void *arg);

/* ---- pipelined path ---- */

/* An async batch unacknowledged for this many request timeouts is lost. */
#define ZJOB_ACK_TIMEOUT_FACTOR 2

typedef enum {
    ZJOB_EVENT_ACK = 1,    /* answer for one job of an async batch */
    ZJOB_EVENT_RESULT = 2, /* a job submitted async became final */
    ZJOB_EVENT_ERROR = 3   /* the broker refused a whole request */
} zjob_event_type_t;

/* One event from zjob_client_poll. Pointers are borrowed (callback only). */
typedef struct {
    zjob_event_type_t type;  /* which fields below are set */
    uint64_t req_id;         /* ACK, ERROR: the batch (0: not known) */
    size_t index;            /* ACK: the job's index within its batch */
    uint64_t id;             /* ACK: new job id, 0 when refused */
    zjob_err_t err;          /* ACK: ZJOB_OK or why refused; ERROR: code */
    const char *error;       /* ACK, ERROR: reason text, "" when none */
    const zjob_info_t *info; /* RESULT: the final job */
} zjob_event_t;

typedef void (zjob_event_fn) (const zjob_event_t *event, void *arg);

/* Sends one Submit of n jobs (1..ZJOB_MAX_BATCH) asking the broker to push
 * each job's final state, and returns without waiting. *req_id_out names
 * the batch in later ACK events. Jobs without a key get an automatic one.
 * The client keeps the encoded batch until its acks arrive: when the
 * broker restarts (or answers again after silence) zjob_client_poll sends
 * it again as it was (same req_id, same keys) and sends Wait for every
 * accepted job whose result is still due. A refused job's ACK carries
 * ZJOB_EBUSY when a limit was reached: submit it again later (with the
 * same key, see zjob_client_new_key). Returns ZJOB_EINVAL for a bad n or
 * spec, ZJOB_ETOOLARGE when the encoded batch exceeds the message limit
 * (send fewer jobs at a time), ZJOB_EUNREACHABLE when it could not be
 * queued. */
ZJOB_EXPORT zjob_err_t zjob_submit_async (zjob_client_t *client,
                                          const zjob_spec_t *specs, size_t n,
                                          uint64_t *req_id_out);

/* Waits up to timeout_ms (0: do not wait, < 0: no limit) for messages from
 * the broker, then delivers every event that has arrived to fn, without
 * blocking further. Each result is delivered once, however many copies the
 * broker sends. While acks or results are outstanding it sends Heartbeats
 * and returns ZJOB_EUNREACHABLE when the broker is silent past the down
 * timeout (liveness x interval if it never answered), and ZJOB_ETIMEDOUT
 * when a batch has waited for its ack longer than ZJOB_ACK_TIMEOUT_FACTOR
 * request timeouts while the broker answered (a broker with a smaller
 * message limit drops an oversize batch without a word). Returns ZJOB_OK
 * otherwise (also when nothing arrived). */
ZJOB_EXPORT zjob_err_t zjob_client_poll (zjob_client_t *client, int timeout_ms,
                                         zjob_event_fn *fn, void *arg);

/* Returns how many acks and results of async submits are still expected. */
ZJOB_EXPORT size_t zjob_client_pending (const zjob_client_t *client);

#ifdef __cplusplus
}
#endif

#endif
