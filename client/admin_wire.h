/* The admin replies' wire messages read as the public structs of zjob.h,
 * for the client library and for the broker's HTTP side alike. */
#ifndef ZJOB_CLIENT_ADMIN_WIRE_H
#define ZJOB_CLIENT_ADMIN_WIRE_H

#include "zjob.pb-c.h"
#include "zjob/zjob.h"

/* Fills out from wire; out's strings are borrowed from wire. */
void admin_wire_worker (const Zjob__WorkerInfo *wire, zjob_worker_info_t *out);

/* Fills out from wire; out's name is borrowed from wire. */
void admin_wire_queue (const Zjob__QueueInfo *wire, zjob_queue_info_t *out);

/* Fills out from wire. */
void admin_wire_stats (const Zjob__Stats *wire, zjob_stats_t *out);

#endif
