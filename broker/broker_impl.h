/* The broker's shared state and the functions its files call on each
 * other: broker.c (loop and sockets), jobs.c (job lifecycle and timers),
 * clients.c (client requests and result pushes), workers.c (workers,
 * dispatch, heartbeats) and admin.c (admin replies). Not a public header.
 */
#ifndef ZJOB_BROKER_BROKER_IMPL_H
#define ZJOB_BROKER_BROKER_IMPL_H

#include <czmq.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/journal.h"
#include "broker/job.h"
#include "broker/jobtable.h"
#include "broker/queue.h"
#include "broker/timer.h"
#include "common/codec.h"

#include "common/log.h"

/* Messages taken from one socket per loop turn before moving on. */
#define BROKER_BURST 256

/* Longest queue or worker name accepted. */
#define BROKER_MAX_NAME 255

/* Most distinct queues; submits that would create more get ERR_BUSY. */
#define BROKER_MAX_QUEUES 65536

/* Most queues one worker may serve. */
#define BROKER_MAX_WORKER_QUEUES 1024

/* Most attempts a job spec may ask for. */
#define BROKER_MAX_ATTEMPTS 1000

/* Longest worker heartbeat the broker waits for (liveness x this). */
#define BROKER_MAX_HEARTBEAT_MS (60u * 1000u)

/* Most threads a worker may announce. */
#define BROKER_MAX_CAPACITY 100000

/* Stale timer entries tolerated beyond twice the job count before the
 * heap is pruned. */
#define BROKER_TIMER_SLACK 4096

/* Longest timeout or delay a job may ask for: ten years, in ms. */
#define BROKER_MAX_DURATION_MS (10ull * 366 * 24 * 3600 * 1000)

/* How long a worker has to confirm a cancel before the broker ends the job
 * CANCELLED anyway and fences the attempt. */
#define BROKER_CANCEL_GRACE_MS 5000

/* Longest retry backoff, whatever the attempt count. */
#define BROKER_MAX_BACKOFF_MS (10u * 60u * 1000u)

/* Dead jobs listed when the request gives no limit. */
#define BROKER_DEAD_LIST 100

/* A worker's DoneAck waits up to this long to gather the ids of several
 * Dones, or until it holds BROKER_ACK_BATCH ids: one job at a time, an
 * ack per job would wake the worker while the next job is on its way. */
#define BROKER_ACK_DELAY_MS 5
#define BROKER_ACK_BATCH    256

/* Room for a routing id in hex (ids are at most 255 bytes). */
#define BROKER_KEY_LEN 512

/* A client that waits for results (Submit.notify or Wait). */
struct client_t {
    zframe_t *routing_id; /* owned ROUTER identity */
    uint32_t refs;        /* waiters pointing at it */
    uint64_t *pending;    /* owned, job ids to push this turn */
    size_t pending_count; /* ids in pending */
    size_t pending_capacity;
    bool dirty; /* on the broker's dirty list */
    struct client_t *next_dirty;
};

/* One entry of the dead set: the job and the attempt it died on. */
typedef struct {
    uint64_t id;
    uint32_t attempt;
} dead_entry_t;

/* A message held until the journal records it depends on are durable. */
typedef struct outbox_msg_t {
    zsock_t *sock;             /* clients or workers (not owned) */
    zframe_t *peer;            /* owned routing id */
    zframe_t *body;            /* owned encoded Envelope */
    uint64_t seq;              /* journal records it waits for */
    struct outbox_msg_t *next; /* FIFO */
} outbox_msg_t;

struct broker_t {
    broker_config_t config;       /* settings (strings not owned) */
    codec_limits_t decode_limits; /* as config, payloads checked per job */
    zsock_t *clients;             /* ROUTER for clients */
    zsock_t *workers;             /* ROUTER for workers */
    jobtable_t *jobs;             /* every known job, owned */
    timer_heap_t *timers;         /* job timers */
    zhashx_t *queues;             /* name -> queue_t, owned */
    jobtable_t *keys;             /* idempotency key -> job_t (not owned);
                                     an entry lives as long as its job */
    zhashx_t *worker_index;       /* routing key -> registered worker_t */
    worker_t *worker_head;        /* registered workers, dispatch order */
    worker_t *worker_tail;
    zhashx_t *client_index;     /* routing key -> client_t, owned */
    client_t *dirty_clients;    /* clients with results to push */
    job_t **pick;               /* scratch for dispatch, max_batch long */
    uint64_t next_id;           /* the next job id to hand out */
    uint64_t started_ms;        /* monotonic start time */
    uint64_t next_heartbeat_ms; /* monotonic time of the next tick */
    uint64_t next_observe_ms;   /* monotonic time of the next observer
                                   call (config.observer) */
    uint64_t random_state;      /* xorshift state for retry jitter */
    uint64_t instance;          /* random per process, in heartbeats */
    uint64_t results_kept;      /* final jobs in the table */
    bool dispatch_needed;       /* jobs were queued or credit arrived */
    bool cancels_pending;       /* some worker has CancelJobs to send */
    uint64_t next_ack_ms;       /* monotonic: the earliest DoneAck due, or
                                   UINT64_MAX when none waits */
    Zjob__Stats stats;          /* counters; gauges filled on demand */
    uint64_t payload_bytes;     /* payload bytes held: jobs not final,
                                   and dead ones (--max-memory counts
                                   these) */
    uint64_t result_bytes;      /* result bytes held (bounded by the
                                   result time) */
    journal_t *journal;         /* owned; NULL without --journal */
    bool replaying;             /* reading the journal: record nothing */
    uint64_t *compact_ids;      /* owned, jobs a compaction still copies */
    size_t compact_count;       /* ids in compact_ids */
    size_t compact_pos;         /* next one to copy */
    uint64_t compact_started;   /* journal bytes when it began */
    uint64_t compact_live;      /* bytes the last compaction wrote */
    outbox_msg_t *outbox_head;  /* owned FIFO of held messages */
    outbox_msg_t *outbox_tail;
    bool hold_replies;      /* no journal, reading: replies wait in
                               the outbox (broker_send_durable) */
    dead_entry_t *dead_ids; /* owned ring of the dead set */
    size_t dead_start;      /* first used entry */
    size_t dead_end;        /* one past the last used entry */
    size_t dead_cap;        /* entries allocated */
};

/* Handler for one decoded message from peer. */
typedef void (broker_handler_fn) (broker_t *self, zframe_t *peer,
                                  Zjob__Envelope *env);

/* ---- broker.c ---- */

/* Sends an Error to peer on sock and counts it in stats.clients_rejected. */
void broker_reply_error (broker_t *self, zsock_t *sock, zframe_t *peer,
                         Zjob__ErrorCode code, uint64_t req_id, const char *fmt,
                         ...) __attribute__ ((format (printf, 6, 7)));

/* Sends env to peer on sock once every journal record appended so far is
 * durable and every message held before it has gone: at once when that
 * is so, else from the outbox. Without a journal it sends at once, except
 * while a turn reads its sockets (hold_replies): those replies wait in the
 * outbox, client ones until the turn's Dispatches are out and worker ones
 * until its Results are out too. A Dispatch, CancelJobs or Results can
 * thus overtake a reply to another peer, or a DoneAck to its own worker;
 * messages to one client keep their order. Returns 0, or -1 when an immediate
 * send failed. */
int broker_send_durable (broker_t *self, zsock_t *sock, zframe_t *peer,
                         Zjob__Envelope *env);

/* Writes peer's routing id in hex into key (BROKER_KEY_LEN bytes). */
void broker_peer_key (zframe_t *peer, char *key);

/* ---- jobs.c ---- */

/* The one place where a job changes state: updates counters, queue links
 * and timers, and on a final state notifies waiters. Callers set the job's
 * result, error and timer_ms (for SCHEDULED) first. */
void broker_job_transition (broker_t *self, job_t *job, Zjob__State to);

/* Creates a job from spec and queues or schedules it. Returns the job, or
 * NULL with code and reason set for this spec's JobAck. */
job_t *broker_job_accept (broker_t *self, const Zjob__JobSpec *spec,
                          Zjob__ErrorCode *code, char *why, size_t why_len);

/* Records an outcome of a held, running job and moves it on: final state,
 * retry, or requeue. */
void broker_job_finish (broker_t *self, job_t *job,
                        const Zjob__Outcome *outcome);

/* How a running job lost its worker. */
typedef enum {
    ORPHAN_RETURNED,  /* handed back, or never reached it: no fault */
    ORPHAN_LOST,      /* the worker died with other jobs on it */
    ORPHAN_LOST_ALONE /* the worker died running this job only */
} orphan_t;

/* Puts a running job whose worker left or died back in line (or ends it
 * when it was being cancelled). A job that has lost max-lost workers is
 * a suspect: it runs alone from then on, and ends DEAD when its worker
 * dies while it runs alone, since then nothing else can be to blame. */
void broker_job_orphan (broker_t *self, job_t *job, orphan_t how);

/* Gives worker back an orphaned queued job whose current attempt it still
 * has (it said so in Register.holding after the broker gave up on it):
 * the job is running again, on that attempt, without costing credit. */
void broker_job_resume (broker_t *self, job_t *job, worker_t *worker);

/* Puts a DEAD job back in line with its attempts reset (dead-set retry).
 * Returns 0, or -1 when job is not DEAD or its payload is gone. */
int broker_job_retry (broker_t *self, job_t *job);

/* Puts a replayed job (state, timers as unix ms converted by the caller)
 * back in place: see persist.c. */
void broker_job_restore (broker_t *self, job_t *job, uint64_t now_wall);

/* Removes a final job from every index and frees it. */
void broker_job_forget (broker_t *self, job_t *job);

/* Fires every due timer. */
void broker_timers_run (broker_t *self, uint64_t now_ms);

/* Fills info from job; pointers borrow the job's strings and bytes. */
void broker_job_info (const job_t *job, Zjob__JobInfo *info);

/* Returns the queue called name, creating it on first use, or NULL when
 * the queue limit is reached or memory is short. */
queue_t *broker_queue_get (broker_t *self, const char *name);

/* Frees a job and everything it owns (not its table entry). */
void broker_job_free (job_t *job);

/* ---- clients.c ---- */

/* Returns the client record for peer, creating it, or NULL (no memory). */
client_t *broker_client_get (broker_t *self, zframe_t *peer);

/* Queues job id for a Results push to client this turn. */
void broker_client_push (broker_t *self, client_t *client, uint64_t id);

/* Drops one waiter reference on client; frees it when unused. */
void broker_client_unref (broker_t *self, client_t *client);

/* Sends each dirty client its Results, batched. */
void broker_results_flush (broker_t *self);

/* Handlers for the client socket, indexed by Envelope body case. */
broker_handler_fn broker_on_submit, broker_on_wait, broker_on_status,
    broker_on_cancel, broker_on_client_heartbeat;

/* ---- workers.c ---- */

/* Handlers for the worker socket. */
broker_handler_fn broker_on_register, broker_on_credit, broker_on_done,
    broker_on_drain, broker_on_goodbye, broker_on_worker_heartbeat;

/* Drops the worker at peer, if registered, after a failed send: the jobs
 * in unsent[0, count) never reached it and go back in line as they were;
 * the others it held count as lost with it. */
void broker_worker_unreachable (broker_t *self, zframe_t *peer,
                                const uint64_t *unsent, size_t count);

/* Returns the registered worker for peer, or NULL. */
worker_t *broker_worker_find (broker_t *self, zframe_t *peer);

/* Sends heartbeats when due and removes workers silent for too long. */
void broker_workers_tick (broker_t *self, uint64_t now_ms);

/* Sends queued jobs to workers with credit, several per Dispatch. */
void broker_dispatch_flush (broker_t *self);

/* Sends pending CancelJobs to workers. */
void broker_cancels_flush (broker_t *self);

/* Sends the DoneAcks that are due at now_ms. */
void broker_acks_flush (broker_t *self, uint64_t now_ms);

/* Unregisters every worker (at shutdown). */
void broker_workers_clear (broker_t *self);

/* ---- persist.c ---- */

/* Opens the journal (when configured) and replays it.
 * Returns 0, or -1 after logging. */
int broker_persist_open (broker_t *self);

/* Opens a fresh segment for appends (after the sockets are bound, so a
 * broker that cannot bind leaves no segment behind). Returns 0 or -1. */
int broker_persist_start (broker_t *self);

/* Appends job's current state (its full record the first time). */
void broker_persist_job (broker_t *self, job_t *job);

/* Appends that job is forgotten (expired or evicted). */
void broker_persist_forget (broker_t *self, job_t *job);

/* End of a loop turn: a compaction step when one runs, then commit. */
void broker_persist_turn (broker_t *self);

/* Makes everything durable and closes the journal. */
void broker_persist_close (broker_t *self);

/* ---- dead.c ---- */

/* Adds a job that just became DEAD to the dead set, evicting the oldest
 * when the set is over its count. */
void broker_dead_add (broker_t *self, job_t *job);

/* Stores up to limit dead jobs of queue (NULL or "": any), newest first,
 * in out. Returns how many. */
size_t broker_dead_list (broker_t *self, const char *queue, size_t limit,
                         job_t **out);

/* ---- admin.c ---- */

broker_handler_fn broker_on_admin;

#endif
