/* The zjob broker: takes jobs from clients and hands them to workers.
 *
 * One thread runs everything (see broker.c for the design notes). The
 * caller creates a broker with its settings, runs it until SIGINT/SIGTERM
 * and destroys it.
 */
#ifndef ZJOB_BROKER_BROKER_H
#define ZJOB_BROKER_BROKER_H

#include <stdint.h>

#include "broker/journal.h"
#include "common/codec.h"

typedef struct broker_t broker_t;

/* Called on the loop thread with the running broker (see observe_ms). */
typedef void (broker_observer_fn) (broker_t *broker, void *arg);

/* Settings, filled by main from the config table. Strings are not owned. */
typedef struct {
    const char *clients_endpoint; /* ROUTER for clients (default port 5570) */
    const char *workers_endpoint; /* ROUTER for workers (default port 5571) */
    const char *endpoints_file;   /* where to write bound endpoints; or NULL */
    uint64_t heartbeat_ms;        /* heartbeat interval, both ways */
    uint32_t liveness;            /* intervals of silence before "dead" */
    uint64_t result_ttl_ms;       /* how long final jobs stay answerable */
    uint64_t retry_backoff_ms;    /* first retry delay; doubles per retry */
    uint32_t max_attempts;        /* for jobs whose spec gives 0 */
    codec_limits_t limits;        /* message, payload and batch limits */
    const char *journal_dir;      /* journal directory; NULL: memory only */
    journal_mode_t fsync;         /* what an acknowledgement waits for */
    uint64_t journal_compact;     /* journal bytes before compaction is
                                     considered */
    uint32_t max_lost;            /* lost workers before a job is DEAD */
    uint32_t dead_max;            /* jobs kept in the dead set */
    uint64_t dead_ttl_ms;         /* how long dead jobs are kept */
    uint64_t max_queue;           /* waiting jobs per queue; 0: no limit */
    uint64_t max_memory;          /* payload and result bytes held; 0: no
                                     limit */
    const char *queue_attempts;   /* "NAME=N,..." per-queue max attempts */
    const char *http_address;     /* bound HTTP ADDR:PORT, written to the
                                     endpoints file; NULL: no HTTP */
    broker_observer_fn *observer; /* called on the loop thread before the
                                     first poll and then every observe_ms;
                                     NULL: never */
    void *observer_arg;           /* passed to observer */
    uint64_t observe_ms;          /* interval between observer calls */
} broker_config_t;

/* Creates a broker and binds both sockets (and writes the endpoints file).
 * Returns NULL after logging the reason (bad endpoint, port in use). */
broker_t *broker_new (const broker_config_t *config);

/* Stops nothing (the loop is the caller's thread); frees everything and
 * nulls the pointer. NULL is fine. */
void broker_destroy (broker_t **self_p);

/* Runs the event loop until SIGINT or SIGTERM. Returns 0. */
int broker_run (broker_t *self);

/* Packs an AdminReply holding every registered worker, every queue and the
 * stats (what `zjob workers`, `queues` and `stats` are told) into *data,
 * which the caller frees, of *size bytes. Loop thread only: it reads the
 * broker's state. Returns 0, or -1 when out of memory. */
int broker_snapshot (broker_t *self, uint8_t **data, size_t *size);

#endif
