/* The broker's HTTP side: /healthz, /metrics, /api/stats, /api/queues,
 * /api/workers and a dashboard page, served from a thread of its own out
 * of snapshots that the broker's loop publishes (see http.c). */
#ifndef ZJOB_BROKER_HTTP_H
#define ZJOB_BROKER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "broker/broker.h"

/* How often the loop publishes a snapshot, in milliseconds. */
#define HTTP_SNAPSHOT_MS 250

/* A snapshot older than this makes /healthz, /metrics and /api/... answer
 * 503: the loop is stuck or still replaying its journal. */
#define HTTP_STALE_MS 2000

/* Settings; strings are not owned. */
typedef struct {
    const char *address; /* ADDR:PORT (see http_parse_address) */
    bool journal;        /* a journal is on: export its series */
} http_config_t;

typedef struct http_t http_t;

/* Parses ADDR:PORT into addr: ADDR is an IPv4 literal, "*" (0.0.0.0),
 * "localhost" (127.0.0.1) or an IPv6 literal in brackets ([::1]); PORT is
 * 0 (any free port) to 65535. Returns 0, or -1 with the reason in why. */
int http_parse_address (const char *text, struct sockaddr_storage *addr,
                        socklen_t *addr_len, char *why, size_t why_len);

/* Binds config->address and starts serving (503 until the first
 * snapshot). Returns NULL after logging why (bad address, port in use). */
http_t *http_start (const http_config_t *config);

/* The bound address as ADDR:PORT, with the real port when 0 was asked
 * for. Valid until http_stop. */
const char *http_address (const http_t *self);

/* Broker observer (broker_config_t.observer, arg: the http_t): takes a
 * snapshot of broker and publishes it. Loop thread only. */
void http_observe (broker_t *broker, void *arg);

/* Stops the server thread, closes its socket, frees everything and nulls
 * the pointer. NULL is fine. */
void http_stop (http_t **self_p);

#endif
