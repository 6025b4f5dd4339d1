/* The admin replies' wire messages read as the public structs of zjob.h. */
#include "client/admin_wire.h"

void
admin_wire_worker (const Zjob__WorkerInfo *wire, zjob_worker_info_t *out)
{
    *out = (zjob_worker_info_t){.name = wire->name ? wire->name : "",
                                .queues = (const char *const *) wire->queues,
                                .n_queues = wire->n_queues,
                                .capacity = wire->capacity,
                                .running = wire->running,
                                .done = wire->done,
                                .idle_ms = wire->idle_ms,
                                .draining = wire->draining};
}

void
admin_wire_queue (const Zjob__QueueInfo *wire, zjob_queue_info_t *out)
{
    *out = (zjob_queue_info_t){.name = wire->name ? wire->name : "",
                               .queued = wire->queued,
                               .scheduled = wire->scheduled,
                               .running = wire->running,
                               .succeeded = wire->succeeded,
                               .failed = wire->failed,
                               .workers = wire->workers};
}

void
admin_wire_stats (const Zjob__Stats *wire, zjob_stats_t *out)
{
    *out = (zjob_stats_t){.uptime_ms = wire->uptime_ms,
                          .submitted = wire->submitted,
                          .succeeded = wire->succeeded,
                          .failed = wire->failed,
                          .cancelled = wire->cancelled,
                          .timed_out = wire->timed_out,
                          .dead = wire->dead,
                          .retried = wire->retried,
                          .queued = wire->queued,
                          .running = wire->running,
                          .workers = wire->workers,
                          .clients_rejected = wire->clients_rejected,
                          .stale_results = wire->stale_results,
                          .worker_lost = wire->worker_lost,
                          .results_kept = wire->results_kept,
                          .dead_kept = wire->dead_kept,
                          .rejected_busy = wire->rejected_busy,
                          .journal_bytes = wire->journal_bytes,
                          .journal_syncs = wire->journal_syncs,
                          .memory_bytes = wire->memory_bytes,
                          .recovered = wire->recovered};
}
