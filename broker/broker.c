/* The broker's event loop: two ROUTER sockets, one thread, one turn at a
 * time.
 *
 * Design notes
 * - One thread owns everything: sockets, jobs, queues, workers, clients and
 *   timers. There are no locks; nothing here is touched from elsewhere.
 * - A loop turn: poll both sockets (timeout = the next timer or heartbeat),
 *   take up to BROKER_BURST messages from each, fire due job timers, send
 *   heartbeats and drop silent workers, dispatch queued jobs to workers with
 *   credit (several jobs per Dispatch), send pending CancelJobs, and push
 *   the Results that became final during the turn (one message per client).
 *   Without a journal the replies made while reading wait: those to
 *   clients until the Dispatches are out, those to workers (DoneAck) until
 *   the Results are out too. One job at a time, the Dispatch and the
 *   Result are on the way from submit to result, the replies are not.
 * - Every frame is external input: it goes through codec_decode, and any
 *   fault (undecodable, wrong version, over a limit, extra frames, wrong
 *   socket, unknown worker) is answered with an Error, counted in
 *   stats.clients_rejected, and otherwise ignored.
 * - Ownership: the job table owns the jobs; a queue links its QUEUED jobs
 *   and a worker links the jobs it holds, through the same two pointers
 *   (a job is on at most one list). The registry holds one reference on
 *   each registered worker and every job holds one on its last worker.
 *   Client records live while a job or this turn's push refers to them.
 * - Invariants: a QUEUED job is linked in its queue and not held; a RUNNING
 *   job is held by job->worker with the current attempt (or, for one
 *   liveness window after a restart, by no worker until its own claims
 *   it); a worker never holds more jobs than the credit it was given; every
 *   state change goes through broker_job_transition, which journals it.
 * - Durability: a message that reveals a state change (SubmitReply,
 *   Dispatch, DoneAck, Results, CancelReply) goes out only once the
 *   journal records behind it are durable; until then it waits in the
 *   outbox, in order. The end of each turn commits the journal; in batch
 *   mode the writer thread's wake-up (polled with the sockets) releases
 *   the outbox, in always and never modes the commit itself does.
 */
#include "broker/broker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker_impl.h"
#include "common/clock.h"

/* Handlers by body case: clients, then workers. Missing: not allowed. */
static broker_handler_fn *s_client_handlers[ZJOB__ENVELOPE__BODY_ERROR + 1] = {
    [ZJOB__ENVELOPE__BODY_SUBMIT] = broker_on_submit,
    [ZJOB__ENVELOPE__BODY_WAIT] = broker_on_wait,
    [ZJOB__ENVELOPE__BODY_STATUS] = broker_on_status,
    [ZJOB__ENVELOPE__BODY_CANCEL] = broker_on_cancel,
    [ZJOB__ENVELOPE__BODY_ADMIN] = broker_on_admin,
    [ZJOB__ENVELOPE__BODY_HEARTBEAT] = broker_on_client_heartbeat,
};

static broker_handler_fn *s_worker_handlers[ZJOB__ENVELOPE__BODY_ERROR + 1] = {
    [ZJOB__ENVELOPE__BODY_REGISTER] = broker_on_register,
    [ZJOB__ENVELOPE__BODY_CREDIT] = broker_on_credit,
    [ZJOB__ENVELOPE__BODY_DONE] = broker_on_done,
    [ZJOB__ENVELOPE__BODY_DRAIN] = broker_on_drain,
    [ZJOB__ENVELOPE__BODY_GOODBYE] = broker_on_goodbye,
    [ZJOB__ENVELOPE__BODY_HEARTBEAT] = broker_on_worker_heartbeat,
};

void
broker_peer_key (zframe_t *peer, char *key)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *data = zframe_data (peer);
    size_t size = zframe_size (peer);
    if (size > (BROKER_KEY_LEN - 1) / 2) {
        size = (BROKER_KEY_LEN - 1) / 2;
    }
    for (size_t i = 0; i < size; i++) {
        key[2 * i] = digits[data[i] >> 4];
        key[2 * i + 1] = digits[data[i] & 15];
    }
    key[2 * size] = '\0';
}

void
broker_reply_error (broker_t *self, zsock_t *sock, zframe_t *peer,
                    Zjob__ErrorCode code, uint64_t req_id, const char *fmt, ...)
{
    char message[512];
    va_list args;
    va_start (args, fmt);
    vsnprintf (message, sizeof message, fmt, args);
    va_end (args);
    self->stats.clients_rejected++;
    LOG_DEBUG ("request_rejected", "code=%d reason=\"%s\"", code, message);
    codec_send_error (sock, peer, code, req_id, "%s", message);
}

/* Routes one decoded message to its handler, or answers with an Error. */
static void
s_route (broker_t *self, zsock_t *sock, zframe_t *peer, Zjob__Envelope *env)
{
    bool workers = sock == self->workers;
    if (env->body_case == ZJOB__ENVELOPE__BODY_ERROR) {
        /* An Error is never answered with one: two peers could bounce
         * them back and forth for ever. */
        LOG_DEBUG ("peer_error", "socket=%s code=%d message=\"%s\"",
                   workers ? "workers" : "clients", (int) env->error->code,
                   env->error->message ? env->error->message : "");
        return;
    }
    broker_handler_fn **table = workers ? s_worker_handlers : s_client_handlers;
    unsigned body = (unsigned) env->body_case;
    broker_handler_fn *handler =
        body <= ZJOB__ENVELOPE__BODY_ERROR ? table[body] : NULL;
    if (!handler) {
        broker_reply_error (self, sock, peer, ZJOB__ERROR_CODE__ERR_BAD_REQUEST,
                            codec_request_id (env),
                            "message type %u is not accepted on the %s "
                            "socket%s",
                            body, workers ? "worker" : "client",
                            workers ? ": clients connect to the client "
                                      "endpoint (port 5570 by default), not "
                                      "this one"
                                    : "");
        return;
    }
    if (workers && body != ZJOB__ENVELOPE__BODY_REGISTER) {
        worker_t *worker = broker_worker_find (self, peer);
        if (!worker) {
            broker_reply_error (self, sock, peer,
                                ZJOB__ERROR_CODE__ERR_UNKNOWN_WORKER, 0,
                                "unknown worker: register first");
            return;
        }
        worker->last_seen_ms = clock_mono_ms ();
    }
    handler (self, peer, env);
}

/* Reads the rest of a multi-frame message and returns how many frames were
 * thrown away. */
static int
s_discard_rest (void *handle)
{
    int extra = 0;
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&part);
            break;
        }
        more = zmq_msg_more (&part);
        zmq_msg_close (&part);
        extra++;
    }
    return extra;
}

/* Decodes and handles the body frame of one message from peer. */
static void
s_handle_frame (broker_t *self, zsock_t *sock, zframe_t *peer, zmq_msg_t *body)
{
    if (zmq_msg_more (body)) {
        int extra = s_discard_rest (zsock_resolve (sock));
        broker_reply_error (self, sock, peer, ZJOB__ERROR_CODE__ERR_MALFORMED,
                            0, "message has %d frames; expected exactly 1",
                            extra + 1);
        return;
    }
    Zjob__Envelope *env = NULL;
    char why[256];
    uint64_t req_id;
    Zjob__ErrorCode code =
        codec_decode (zmq_msg_data (body), zmq_msg_size (body),
                      &self->decode_limits, &env, &req_id, why, sizeof why);
    if (code != ZJOB__ERROR_CODE__ERR_NONE) {
        broker_reply_error (self, sock, peer, code, req_id, "%s", why);
        return;
    }
    s_route (self, sock, peer, env);
    codec_free (&env);
}

/* Receives one message from sock. Returns false when none is waiting. */
static bool
s_receive_one (broker_t *self, zsock_t *sock)
{
    void *handle = zsock_resolve (sock);
    zmq_msg_t id;
    zmq_msg_init (&id);
    if (zmq_msg_recv (&id, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&id);
        return false;
    }
    bool more = zmq_msg_more (&id);
    zframe_t *peer = zframe_new (zmq_msg_data (&id), zmq_msg_size (&id));
    zmq_msg_close (&id);
    if (more && peer) {
        zmq_msg_t body;
        zmq_msg_init (&body);
        if (zmq_msg_recv (&body, handle, ZMQ_DONTWAIT) >= 0) {
            s_handle_frame (self, sock, peer, &body);
        }
        zmq_msg_close (&body);
    } else if (more) {
        s_discard_rest (handle);
    }
    zframe_destroy (&peer);
    return true;
}

/* Takes up to BROKER_BURST messages from sock. */
static void
s_receive_burst (broker_t *self, zsock_t *sock)
{
    for (int n = 0; n < BROKER_BURST; n++) {
        if (!s_receive_one (self, sock)) {
            return;
        }
    }
}

int
broker_send_durable (broker_t *self, zsock_t *sock, zframe_t *peer,
                     Zjob__Envelope *env)
{
    /* what is held goes first, so that messages keep their order (with a
     * journal; without one only replies are held, see broker_impl.h) */
    if (self->journal
            ? !self->outbox_head && journal_durable (self->journal) >=
                                        journal_appended (self->journal)
            : !self->hold_replies) {
        return codec_send (sock, peer, env);
    }
    env->major = ZJOB_PROTO_MAJOR;
    env->minor = ZJOB_PROTO_MINOR;
    outbox_msg_t *msg = calloc (1, sizeof *msg);
    size_t size = zjob__envelope__get_packed_size (env);
    if (msg) {
        msg->peer = zframe_dup (peer);
        msg->body = zframe_new (NULL, size);
    }
    if (!msg || !msg->peer || !msg->body) {
        LOG_ERROR ("outbox_failed", "reason=no_memory");
        if (msg) {
            zframe_destroy (&msg->peer);
            zframe_destroy (&msg->body);
        }
        free (msg);
        return -1;
    }
    zjob__envelope__pack (env, zframe_data (msg->body));
    msg->sock = sock;
    msg->seq = self->journal ? journal_appended (self->journal) : 0;
    if (self->outbox_tail) {
        self->outbox_tail->next = msg;
    } else {
        self->outbox_head = msg;
    }
    self->outbox_tail = msg;
    return 0;
}

/* Drops the worker at peer after the held message body could not be sent
 * to it; when body is a Dispatch its jobs are the ones that never got
 * there. */
static void
s_worker_unreachable (broker_t *self, zframe_t *peer, zframe_t *body)
{
    Zjob__Envelope *env =
        body ? zjob__envelope__unpack (NULL, zframe_size (body),
                                       zframe_data (body))
             : NULL;
    size_t count = 0;
    uint64_t *ids = NULL;
    if (env && env->body_case == ZJOB__ENVELOPE__BODY_DISPATCH &&
        (ids = calloc (env->dispatch->n_jobs + 1, sizeof *ids))) {
        for (; count < env->dispatch->n_jobs; count++) {
            ids[count] = env->dispatch->jobs[count]->id;
        }
    }
    broker_worker_unreachable (self, peer, ids, count);
    free (ids);
    if (env) {
        zjob__envelope__free_unpacked (env, NULL);
    }
}

/* Sends one held message. A worker that cannot be reached any more is
 * dropped as lost. */
static void
s_outbox_send (broker_t *self, outbox_msg_t *msg)
{
    zframe_t *peer = zframe_dup (msg->peer);
    int rc = zframe_send (&msg->peer, msg->sock, ZFRAME_MORE);
    if (rc == 0) {
        rc = zframe_send (&msg->body, msg->sock, 0);
    }
    if (rc != 0 && msg->sock == self->workers && peer) {
        s_worker_unreachable (self, peer, msg->body);
    }
    zframe_destroy (&peer);
    zframe_destroy (&msg->peer);
    zframe_destroy (&msg->body);
    free (msg);
}

/* Sends every held message whose records are durable now (all of them
 * when all is set: at shutdown, after the journal closed). */
static void
s_outbox_flush (broker_t *self, bool all)
{
    uint64_t durable = self->journal ? journal_durable (self->journal) : 0;
    while (self->outbox_head && (all || self->outbox_head->seq <= durable)) {
        outbox_msg_t *msg = self->outbox_head;
        self->outbox_head = msg->next;
        if (!self->outbox_head) {
            self->outbox_tail = NULL;
        }
        s_outbox_send (self, msg);
    }
}

/* Without a journal: sends the held messages bound for sock, in order,
 * and keeps the others held. */
static void
s_outbox_flush_held (broker_t *self, zsock_t *sock)
{
    outbox_msg_t **at = &self->outbox_head;
    self->outbox_tail = NULL;
    while (*at) {
        outbox_msg_t *msg = *at;
        if (msg->sock != sock) {
            self->outbox_tail = msg;
            at = &msg->next;
            continue;
        }
        *at = msg->next;
        s_outbox_send (self, msg);
    }
}

/* Returns how long the next poll may sleep, in milliseconds. */
static long
s_poll_timeout (const broker_t *self, uint64_t now_ms)
{
    uint64_t next = timer_heap_next (self->timers);
    if (self->next_heartbeat_ms < next) {
        next = self->next_heartbeat_ms;
    }
    if (self->config.observer && self->next_observe_ms < next) {
        next = self->next_observe_ms;
    }
    if (self->next_ack_ms < next) {
        next = self->next_ack_ms;
    }
    if (self->dispatch_needed || self->dirty_clients) {
        return 0;
    }
    return next <= now_ms ? 0 : (long) (next - now_ms);
}

/* Calls the observer (the HTTP side's snapshot) when it is due. */
static void
s_observe (broker_t *self, uint64_t now_ms)
{
    if (self->config.observer && now_ms >= self->next_observe_ms) {
        self->config.observer (self, self->config.observer_arg);
        self->next_observe_ms = now_ms + self->config.observe_ms;
    }
}

/* One loop turn after the poll: every socket, timer and flush. */
static void
s_turn (broker_t *self)
{
    s_outbox_flush (self, false); /* what the writer made durable meanwhile */
    /* Without a journal, the replies made while reading (SubmitReply,
     * DoneAck, ...) wait in the outbox until this turn's Dispatches (and,
     * for workers, Results) are out: those are on a job's way from submit
     * to result, a reply is not. */
    self->hold_replies = !self->journal;
    s_receive_burst (self, self->clients);
    s_receive_burst (self, self->workers);
    self->hold_replies = false;
    uint64_t now_ms = clock_mono_ms ();
    broker_timers_run (self, now_ms);
    broker_workers_tick (self, now_ms);
    broker_dispatch_flush (self);
    if (!self->journal) {
        s_outbox_flush_held (self, self->clients); /* before any Results */
    }
    broker_cancels_flush (self);
    broker_results_flush (self);
    broker_acks_flush (self, now_ms);
    broker_persist_turn (self);
    s_outbox_flush (self, false);
    s_observe (self, now_ms);
}

int
broker_run (broker_t *self)
{
    int wake = self->journal ? journal_wake_fd (self->journal) : -1;
    zmq_pollitem_t items[] = {{zsock_resolve (self->clients), 0, ZMQ_POLLIN, 0},
                              {zsock_resolve (self->workers), 0, ZMQ_POLLIN, 0},
                              {NULL, wake, ZMQ_POLLIN, 0}};
    int count = wake >= 0 ? 3 : 2;
    while (!zsys_interrupted) {
        long timeout = s_poll_timeout (self, clock_mono_ms ());
        if (zmq_poll (items, count, timeout) < 0 && errno != EINTR) {
            LOG_ERROR ("poll_failed", "reason=\"%s\"", zmq_strerror (errno));
            break;
        }
        if (zsys_interrupted) {
            break;
        }
        if (count == 3 && (items[2].revents & ZMQ_POLLIN)) {
            journal_wake_clear (self->journal);
        }
        s_turn (self);
    }
    LOG_INFO ("broker_stopping", "jobs=%zu workers=%zu",
              jobtable_size (self->jobs), zhashx_size (self->worker_index));
    broker_persist_close (self);
    s_outbox_flush (self, true);
    return 0;
}

/* Returns true when endpoint is reachable only from this machine. */
static bool
s_is_local (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0) {
        return strncmp (endpoint, "ipc://", 6) == 0 ||
               strncmp (endpoint, "inproc://", 9) == 0;
    }
    const char *host = endpoint + 6;
    return strncmp (host, "127.", 4) == 0 || strncmp (host, "[::1]", 5) == 0 ||
           strncmp (host, "localhost:", 10) == 0;
}

/* Creates, configures and binds one ROUTER; stores the bound endpoint (the
 * real port for "*") in bound (owned by the caller). Returns NULL after
 * logging. */
static zsock_t *
s_bind (broker_t *self, const char *endpoint, const char *role, char **bound)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        LOG_ERROR ("bind_failed", "role=%s reason=no_socket", role);
        return NULL;
    }
    codec_configure_socket (sock, &self->config.limits, 0);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        LOG_ERROR ("bind_failed", "role=%s endpoint=%s reason=\"%s\"", role,
                   endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    *bound = zsock_last_endpoint (sock);
    if (!s_is_local (endpoint)) {
        LOG_WARN ("insecure_bind",
                  "role=%s endpoint=%s reason=\"reachable beyond this host "
                  "without encryption or authentication (no CURVE yet)\"",
                  role, endpoint);
    }
    return sock;
}

/* Writes "clients EP", "workers EP" and, when http is set, "http
 * ADDR:PORT" to path through a temporary file and a rename, so readers
 * never see half a file. Returns 0 or -1. */
static int
s_write_endpoints (const char *path, const char *clients, const char *workers,
                   const char *http)
{
    char temp[4096];
    if (snprintf (temp, sizeof temp, "%s.tmp", path) >= (int) sizeof temp) {
        return -1;
    }
    FILE *file = fopen (temp, "w");
    if (!file) {
        return -1;
    }
    int rc = fprintf (file, "clients %s\nworkers %s\n", clients, workers);
    if (rc >= 0 && http) {
        rc = fprintf (file, "http %s\n", http);
    }
    if (fclose (file) != 0 || rc < 0 || rename (temp, path) != 0) {
        remove (temp);
        return -1;
    }
    return 0;
}

/* Binds both sockets, logs the start line and writes the endpoints file.
 * Returns 0, or -1 after logging. */
static int
s_start (broker_t *self)
{
    char *clients = NULL;
    char *workers = NULL;
    self->clients =
        s_bind (self, self->config.clients_endpoint, "clients", &clients);
    if (self->clients) {
        self->workers =
            s_bind (self, self->config.workers_endpoint, "workers", &workers);
    }
    int rc = self->clients && self->workers ? 0 : -1;
    if (rc == 0) {
        LOG_INFO ("broker_started",
                  "clients=%s workers=%s heartbeat_ms=%" PRIu64
                  " liveness=%u result_ttl_ms=%" PRIu64,
                  clients, workers, self->config.heartbeat_ms,
                  self->config.liveness, self->config.result_ttl_ms);
    }
    const char *file = self->config.endpoints_file;
    const char *http = self->config.http_address;
    if (rc == 0 && file &&
        s_write_endpoints (file, clients, workers, http) != 0) {
        LOG_ERROR ("endpoints_file_failed", "path=%s reason=\"%s\"", file,
                   strerror (errno));
        rc = -1;
    }
    zstr_free (&clients);
    zstr_free (&workers);
    return rc;
}

broker_t *
broker_new (const broker_config_t *config)
{
    broker_t *self = calloc (1, sizeof *self);
    if (!self) {
        return NULL;
    }
    self->config = *config;
    self->decode_limits = config->limits;
    /* payloads and results are checked one job at a time, so one oversize
     * job gets its own error instead of failing its whole batch */
    self->decode_limits.max_payload = config->limits.max_message;
    self->stats = (Zjob__Stats) ZJOB__STATS__INIT;
    self->started_ms = clock_mono_ms ();
    self->next_id = clock_wall_ms () * 1000u;
    if (getrandom (&self->instance, sizeof self->instance, 0) !=
        (ssize_t) sizeof self->instance) {
        self->instance = self->next_id ^ (uint64_t) getpid ();
    }
    self->random_state = self->instance | 1u;
    self->jobs = jobtable_new ();
    self->timers = timer_heap_new ();
    self->queues = zhashx_new ();
    self->keys = jobtable_new_by_key ();
    self->next_ack_ms = UINT64_MAX;
    self->worker_index = zhashx_new ();
    self->client_index = zhashx_new ();
    self->pick = calloc (config->limits.max_batch, sizeof *self->pick);
    if (!self->jobs || !self->timers || !self->queues || !self->keys ||
        !self->worker_index || !self->client_index || !self->pick ||
        broker_persist_open (self) != 0 || s_start (self) != 0 ||
        broker_persist_start (self) != 0) {
        broker_destroy (&self);
    }
    return self;
}

static void
s_job_free (job_t *job, void *arg)
{
    broker_job_free (job);
}

/* Frees every client record. */
static void
s_clients_free (broker_t *self)
{
    for (client_t *c = zhashx_first (self->client_index); c;
         c = zhashx_next (self->client_index)) {
        zframe_destroy (&c->routing_id);
        free (c->pending);
        free (c);
    }
}

void
broker_destroy (broker_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    broker_t *self = *self_p;
    if (self->worker_index) {
        broker_workers_clear (self);
    }
    broker_persist_close (self);
    while (self->outbox_head) {
        outbox_msg_t *msg = self->outbox_head;
        self->outbox_head = msg->next;
        zframe_destroy (&msg->peer);
        zframe_destroy (&msg->body);
        free (msg);
    }
    free (self->dead_ids);
    if (self->jobs) {
        jobtable_each (self->jobs, s_job_free, NULL);
    }
    if (self->client_index) {
        s_clients_free (self);
    }
    for (queue_t *q = self->queues ? zhashx_first (self->queues) : NULL; q;
         q = zhashx_next (self->queues)) {
        queue_destroy (&q);
    }
    zhashx_destroy (&self->queues);
    jobtable_destroy (&self->keys);
    zhashx_destroy (&self->worker_index);
    zhashx_destroy (&self->client_index);
    jobtable_destroy (&self->jobs);
    timer_heap_destroy (&self->timers);
    zsock_destroy (&self->clients);
    zsock_destroy (&self->workers);
    free (self->pick);
    free (self);
    *self_p = NULL;
}
