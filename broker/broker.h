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
} broker_config_t;

typedef struct broker_t broker_t;

/* Creates a broker and binds both sockets (and writes the endpoints file).
 * Returns NULL after logging the reason (bad endpoint, port in use). */
broker_t *broker_new (const broker_config_t *config);

/* Stops nothing (the loop is the caller's thread); frees everything and
 * nulls the pointer. NULL is fine. */
void broker_destroy (broker_t **self_p);

/* Runs the event loop until SIGINT or SIGTERM. Returns 0. */
int broker_run (broker_t *self);

#endif
