/* The broker's HTTP side: health, metrics, a JSON API and a dashboard,
 * served by libmicrohttpd from its own thread.
 *
 * Design notes
 * - Two threads touch this file. The broker's loop thread calls
 *   http_observe (the broker's observer hook) every HTTP_SNAPSHOT_MS; the
 *   server's one internal thread runs every request callback. Only
 *   http_start and http_stop run on the main thread, before and after
 *   both.
 * - The server thread never reads the broker's state. The loop thread
 *   packs a snapshot (broker_snapshot: the AdminReply that `zjob workers`,
 *   `queues` and `stats` read, O(queues + workers)) and publishes it in
 *   the slot: under the lock it swaps the pointer and stamps the time.
 *   The lock guards published, published_size and published_ms and is
 *   held for nothing but those reads and writes: no I/O, no formatting.
 * - The server thread takes a newly published snapshot out of the slot,
 *   unpacks it into snap and renders each document from it the first
 *   time it is asked for. A rendered document is one response object
 *   that the server reference-counts and queues to any number of
 *   connections, so a document costs one copy however many read it.
 *   snap, docs and page belong to the server thread alone.
 * - /healthz reads the stamp only: 200 while the newest snapshot is under
 *   HTTP_STALE_MS old. /metrics and /api/... answer 503 then too, rather
 *   than numbers from a loop that stopped.
 * - Bounds: HTTP_MAX_CONNECTIONS connections (any beyond wait in the
 *   kernel's backlog), HTTP_CONNECTION_MEMORY bytes of buffers each (a longer
 *   request line or header gets 414 or 431 from the server), and
 *   HTTP_IDLE_TIMEOUT_S seconds of silence before a connection is closed.
 *   Only GET and HEAD are served; a request body is never read.
 * - Stop: http_stop joins the server thread before it frees anything. The
 *   loop calls http_observe only inside broker_run, which has returned by
 *   then.
 */
#include "broker/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/metrics.h"
#include "common/clock.h"

#include "common/log.h"

/* Connections served at once; any beyond wait to be accepted. */
#define HTTP_MAX_CONNECTIONS 64

/* Connections from one address at once, so that slow clients on one host
 * cannot take every slot from a health check or a scraper elsewhere. */
#define HTTP_MAX_PER_ADDRESS 8

/* Buffer bytes per connection: the request line and headers must fit. */
#define HTTP_CONNECTION_MEMORY (32u * 1024u)

/* Seconds a connection may stay silent before it is closed. */
#define HTTP_IDLE_TIMEOUT_S 10

/* Connections waiting in the kernel to be accepted. */
#define HTTP_BACKLOG 64

/* Room for "[IPv6]:PORT". */
#define HTTP_ADDRESS_LEN (INET6_ADDRSTRLEN + 16)

/* The documents rendered from a snapshot. */
typedef enum {
    DOC_METRICS,
    DOC_STATS,
    DOC_QUEUES,
    DOC_WORKERS,
    DOC_COUNT
} http_doc_t;

static const struct {
    metrics_render_fn *render; /* makes the body from a snapshot */
    const char *type;          /* its Content-Type */
} s_docs[DOC_COUNT] = {
    [DOC_METRICS] = {metrics_prometheus,
                     "text/plain; version=0.0.4; charset=utf-8"},
    [DOC_STATS] = {metrics_json_stats, "application/json"},
    [DOC_QUEUES] = {metrics_json_queues, "application/json"},
    [DOC_WORKERS] = {metrics_json_workers, "application/json"},
};

struct http_t {
    struct MHD_Daemon *daemon;            /* the server and its thread */
    char address[HTTP_ADDRESS_LEN];       /* bound ADDR:PORT */
    metrics_info_t info;                  /* version and journal, for metrics */
    pthread_mutex_t lock;                 /* guards the three fields below */
    uint8_t *published;                   /* owned packed AdminReply the server
                                             has not taken yet; NULL: none */
    size_t published_size;                /* bytes at published */
    uint64_t published_ms;                /* monotonic time of the newest
                                             snapshot; 0: none yet */
    Zjob__AdminReply *snap;               /* server thread: unpacked newest
                                             snapshot taken; NULL: none */
    struct MHD_Response *docs[DOC_COUNT]; /* server thread: rendered
                                             from snap; NULL: not yet */
    struct MHD_Response *page;            /* the dashboard, static */
};

static const char *s_page_html (void);

/* ---- address ---- */

/* Parses the host part of ADDR:PORT (host_len bytes at host) into addr.
 * Returns 0, or -1 with the reason in why. */
static int
s_parse_host (const char *host, size_t host_len, struct sockaddr_storage *addr,
              char *why, size_t why_len)
{
    char text[INET6_ADDRSTRLEN + 2];
    struct sockaddr_in *v4 = (struct sockaddr_in *) addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) addr;
    bool bracketed =
        host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']';
    if (host_len == 0 || host_len >= sizeof text) {
        snprintf (why, why_len, "'%.*s' is not an IP address",
                  (int) (host_len < 64 ? host_len : 64), host);
        return -1;
    }
    memcpy (text, host + bracketed, host_len - 2 * bracketed);
    text[host_len - 2 * bracketed] = '\0';
    if (bracketed && inet_pton (AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        return 0;
    }
    v4->sin_family = AF_INET;
    if (!bracketed &&
        (strcmp (text, "*") == 0 || strcmp (text, "0.0.0.0") == 0)) {
        v4->sin_addr.s_addr = htonl (INADDR_ANY);
        return 0;
    }
    if (!bracketed && strcmp (text, "localhost") == 0) {
        v4->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        return 0;
    }
    if (!bracketed && inet_pton (AF_INET, text, &v4->sin_addr) == 1) {
        return 0;
    }
    snprintf (why, why_len,
              "'%s' is not an IPv4 address, '*', 'localhost' or an IPv6 "
              "address in brackets ([::1])",
              text);
    return -1;
}

int
http_parse_address (const char *text, struct sockaddr_storage *addr,
                    socklen_t *addr_len, char *why, size_t why_len)
{
    const char *colon = text ? strrchr (text, ':') : NULL;
    char *end = NULL;
    unsigned long port = colon ? strtoul (colon + 1, &end, 10) : 0;
    memset (addr, 0, sizeof *addr);
    if (!colon || colon[1] < '0' || colon[1] > '9' || *end || port > 65535) {
        snprintf (why, why_len,
                  "http: '%.200s' is not ADDR:PORT with a port from 0 to "
                  "65535",
                  text ? text : "");
        return -1;
    }
    char reason[200];
    if (s_parse_host (text, (size_t) (colon - text), addr, reason,
                      sizeof reason) != 0) {
        snprintf (why, why_len, "http: %s", reason);
        return -1;
    }
    if (addr->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *) addr)->sin6_port = htons ((uint16_t) port);
        *addr_len = sizeof (struct sockaddr_in6);
    } else {
        ((struct sockaddr_in *) addr)->sin_port = htons ((uint16_t) port);
        *addr_len = sizeof (struct sockaddr_in);
    }
    return 0;
}

/* Returns true when addr is reachable only from this machine. */
static bool
s_is_loopback (const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET6) {
        const struct in6_addr *ip = &((struct sockaddr_in6 *) addr)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK (ip) ||
               (IN6_IS_ADDR_V4MAPPED (ip) && ip->s6_addr[12] == 127);
    }
    uint32_t ip = ntohl (((const struct sockaddr_in *) addr)->sin_addr.s_addr);
    return ip >> 24 == 127;
}

/* Creates a non-blocking socket listening on addr. Returns it, or -1 with
 * errno set. */
static int
s_listen (const struct sockaddr_storage *addr, socklen_t addr_len)
{
    int fd =
        socket (addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0) {
        return -1;
    }
    if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        bind (fd, (const struct sockaddr *) addr, addr_len) != 0 ||
        listen (fd, HTTP_BACKLOG) != 0) {
        int saved = errno;
        close (fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Writes the address fd is bound to as ADDR:PORT into out. */
static void
s_bound_address (int fd, char *out, size_t out_len)
{
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;
    char host[INET6_ADDRSTRLEN] = "?";
    memset (&bound, 0, sizeof bound);
    getsockname (fd, (struct sockaddr *) &bound, &len);
    if (bound.ss_family == AF_INET6) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &bound;
        inet_ntop (AF_INET6, &v6->sin6_addr, host, sizeof host);
        snprintf (out, out_len, "[%s]:%u", host, ntohs (v6->sin6_port));
    } else {
        struct sockaddr_in *v4 = (struct sockaddr_in *) &bound;
        inet_ntop (AF_INET, &v4->sin_addr, host, sizeof host);
        snprintf (out, out_len, "%s:%u", host, ntohs (v4->sin_port));
    }
}

/* ---- loop thread ---- */

void
http_observe (broker_t *broker, void *arg)
{
    http_t *self = arg;
    uint8_t *data = NULL;
    size_t size = 0;
    if (broker_snapshot (broker, &data, &size) != 0) {
        /* no memory now: /healthz turns 503 if it stays so */
        return;
    }
    pthread_mutex_lock (&self->lock);
    uint8_t *old = self->published;
    self->published = data;
    self->published_size = size;
    self->published_ms = clock_mono_ms ();
    pthread_mutex_unlock (&self->lock);
    free (old);
}

/* ---- server thread ---- */

/* Drops the unpacked snapshot and the documents rendered from it (the
 * server keeps a response alive while a connection still sends it). */
static void
s_view_clear (http_t *self)
{
    for (int doc = 0; doc < DOC_COUNT; doc++) {
        if (self->docs[doc]) {
            MHD_destroy_response (self->docs[doc]);
            self->docs[doc] = NULL;
        }
    }
    if (self->snap) {
        zjob__admin_reply__free_unpacked (self->snap, NULL);
        self->snap = NULL;
    }
}

/* Takes the newest published snapshot, if one came since the last call,
 * and makes it the one documents are rendered from. */
static void
s_view_refresh (http_t *self)
{
    pthread_mutex_lock (&self->lock);
    uint8_t *data = self->published;
    size_t size = self->published_size;
    self->published = NULL;
    pthread_mutex_unlock (&self->lock);
    if (!data) {
        return;
    }
    Zjob__AdminReply *snap = zjob__admin_reply__unpack (NULL, size, data);
    free (data);
    if (!snap) {
        LOG_WARN ("http_snapshot_failed", "bytes=%zu reason=no_memory", size);
        return;
    }
    s_view_clear (self);
    metrics_sort_queues (snap);
    self->snap = snap;
}

/* Returns the age of the newest snapshot in ms; UINT64_MAX: none yet. */
static uint64_t
s_snapshot_age_ms (http_t *self)
{
    pthread_mutex_lock (&self->lock);
    uint64_t published_ms = self->published_ms;
    pthread_mutex_unlock (&self->lock);
    return published_ms ? clock_mono_ms () - published_ms : UINT64_MAX;
}

/* Queues an answer of status with body (copied) as plain text. */
static enum MHD_Result
s_reply_text (struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (
        strlen (body), (void *) body, MHD_RESPMEM_MUST_COPY);
    if (!response) {
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE,
                             "text/plain; charset=utf-8");
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL,
                             "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    enum MHD_Result rc = MHD_queue_response (conn, status, response);
    MHD_destroy_response (response);
    return rc;
}

/* Answers 503 and returns true when there is no fresh snapshot. */
static bool
s_reply_if_stale (http_t *self, struct MHD_Connection *conn,
                  enum MHD_Result *rc)
{
    uint64_t age_ms = s_snapshot_age_ms (self);
    char body[160];
    if (age_ms == UINT64_MAX) {
        snprintf (body, sizeof body,
                  "starting: the broker has not published a snapshot yet\n");
    } else if (age_ms > HTTP_STALE_MS) {
        snprintf (body, sizeof body,
                  "stale: the broker loop has not published for %" PRIu64
                  " ms\n",
                  age_ms);
    } else {
        return false;
    }
    *rc = s_reply_text (conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
    return true;
}

static enum MHD_Result
s_serve_health (http_t *self, struct MHD_Connection *conn, int doc)
{
    enum MHD_Result rc;
    if (s_reply_if_stale (self, conn, &rc)) {
        return rc;
    }
    return s_reply_text (conn, MHD_HTTP_OK, "ok\n");
}

/* Renders doc from the current snapshot. Returns the response (owned by
 * the caller), or NULL when out of memory. */
static struct MHD_Response *
s_render (http_t *self, int doc)
{
    size_t len = 0;
    char *body = s_docs[doc].render (self->snap, &self->info, &len);
    struct MHD_Response *response =
        body
            ? MHD_create_response_from_buffer (len, body, MHD_RESPMEM_MUST_FREE)
            : NULL;
    if (!response) {
        free (body);
        return NULL;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE,
                             s_docs[doc].type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL,
                             "no-store");
    return response;
}

static enum MHD_Result
s_serve_doc (http_t *self, struct MHD_Connection *conn, int doc)
{
    enum MHD_Result rc;
    if (s_reply_if_stale (self, conn, &rc)) {
        return rc;
    }
    s_view_refresh (self);
    if (!self->snap) {
        return s_reply_text (conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "no snapshot: the broker is short of memory\n");
    }
    if (!self->docs[doc] && !(self->docs[doc] = s_render (self, doc))) {
        return s_reply_text (conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "out of memory\n");
    }
    return MHD_queue_response (conn, MHD_HTTP_OK, self->docs[doc]);
}

static enum MHD_Result
s_serve_page (http_t *self, struct MHD_Connection *conn, int doc)
{
    return MHD_queue_response (conn, MHD_HTTP_OK, self->page);
}

typedef enum MHD_Result (http_serve_fn) (http_t *self,
                                         struct MHD_Connection *conn, int doc);

static const struct {
    const char *path;     /* exact path; the query string is ignored */
    http_serve_fn *serve; /* what answers it */
    int doc;              /* passed to serve */
} s_routes[] = {
    {"/healthz", s_serve_health, 0},
    {"/metrics", s_serve_doc, DOC_METRICS},
    {"/api/stats", s_serve_doc, DOC_STATS},
    {"/api/queues", s_serve_doc, DOC_QUEUES},
    {"/api/workers", s_serve_doc, DOC_WORKERS},
    {"/", s_serve_page, 0},
};

/* The server's access handler: called once the request's headers are in;
 * answers at once, so a request body is never read. */
static enum MHD_Result
s_on_request (void *cls, struct MHD_Connection *conn, const char *url,
              const char *method, const char *version, const char *upload,
              size_t *upload_size, void **request_state)
{
    http_t *self = cls;
    if (strcmp (method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp (method, MHD_HTTP_METHOD_HEAD) != 0) {
        return s_reply_text (conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                             "method not allowed: use GET or HEAD\n");
    }
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        if (strcmp (url, s_routes[i].path) == 0) {
            return s_routes[i].serve (self, conn, s_routes[i].doc);
        }
    }
    return s_reply_text (conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* The server's error messages (mostly bad requests and closed peers), at
 * debug level, with quotes and line breaks made spaces. */
static void
s_on_server_error (void *cls, const char *fmt, va_list args)
{
    if (LOG_LEVEL_DEBUG < log_threshold) {
        return;
    }
    char message[256];
    vsnprintf (message, sizeof message, fmt, args);
    for (char *c = message; *c; c++) {
        if (*c == '"' || *c == '\\' || (unsigned char) *c < 0x20) {
            *c = ' ';
        }
    }
    LOG_DEBUG ("http_server_error", "message=\"%s\"", message);
}

/* ---- lifecycle ---- */

/* Creates the dashboard's response. Returns NULL when out of memory. */
static struct MHD_Response *
s_page_new (void)
{
    const char *html = s_page_html ();
    struct MHD_Response *page = MHD_create_response_from_buffer (
        strlen (html), (void *) html, MHD_RESPMEM_PERSISTENT);
    if (page) {
        MHD_add_response_header (page, MHD_HTTP_HEADER_CONTENT_TYPE,
                                 "text/html; charset=utf-8");
        MHD_add_response_header (page, MHD_HTTP_HEADER_CACHE_CONTROL,
                                 "no-store");
        MHD_add_response_header (page, "Content-Security-Policy",
                                 "default-src 'none'; script-src "
                                 "'unsafe-inline'; style-src 'unsafe-inline'; "
                                 "connect-src 'self'; frame-ancestors 'none'");
        MHD_add_response_header (page, "X-Content-Type-Options", "nosniff");
    }
    return page;
}

/* Starts the server thread on the listening socket fd, with SIGINT and
 * SIGTERM blocked in it so that they reach the broker's loop. Returns
 * the server, or NULL. */
static struct MHD_Daemon *
s_daemon_start (http_t *self, int fd)
{
    sigset_t blocked;
    sigset_t saved;
    sigemptyset (&blocked);
    sigaddset (&blocked, SIGINT);
    sigaddset (&blocked, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &blocked, &saved);
    struct MHD_Daemon *daemon = MHD_start_daemon (
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, s_on_request, self, MHD_OPTION_EXTERNAL_LOGGER,
        s_on_server_error, self, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) HTTP_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) HTTP_MAX_PER_ADDRESS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_END);
    pthread_sigmask (SIG_SETMASK, &saved, NULL);
    return daemon;
}

/* Binds, renders the page and starts the server. Returns 0, or -1 after
 * logging. */
static int
s_open (http_t *self, const struct sockaddr_storage *addr, socklen_t len,
        const char *asked)
{
    int fd = s_listen (addr, len);
    if (fd < 0) {
        LOG_ERROR ("http_bind_failed", "address=%s reason=\"%s\"", asked,
                   strerror (errno));
        return -1;
    }
    s_bound_address (fd, self->address, sizeof self->address);
    self->page = s_page_new ();
    self->daemon = self->page ? s_daemon_start (self, fd) : NULL;
    if (!self->daemon) {
        /* A server that failed to start may or may not have closed fd;
         * a second close is harmless this early, before any other
         * thread can have opened a file. */
        close (fd);
        LOG_ERROR ("http_bind_failed",
                   "address=%s reason=\"the HTTP server did not start\"",
                   asked);
        return -1;
    }
    return 0;
}

http_t *
http_start (const http_config_t *config)
{
    struct sockaddr_storage addr;
    socklen_t len = 0;
    char why[320];
    if (http_parse_address (config->address, &addr, &len, why, sizeof why) !=
        0) {
        LOG_ERROR ("http_bind_failed", "reason=\"%s\"", why);
        return NULL;
    }
    http_t *self = calloc (1, sizeof *self);
    if (!self || pthread_mutex_init (&self->lock, NULL) != 0) {
        free (self);
        LOG_ERROR ("http_bind_failed", "reason=no_memory");
        return NULL;
    }
    self->info.version = ZJOB_VERSION;
    self->info.journal = config->journal;
    if (s_open (self, &addr, len, config->address) != 0) {
        http_stop (&self);
        return NULL;
    }
    LOG_INFO ("http_started", "address=%s", self->address);
    if (!s_is_loopback (&addr)) {
        LOG_WARN ("insecure_bind",
                  "role=http address=%s reason=\"the HTTP API has no "
                  "authentication: whoever reaches it reads queue and worker "
                  "names and counts\"",
                  self->address);
    }
    return self;
}

const char *
http_address (const http_t *self)
{
    return self->address;
}

void
http_stop (http_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    http_t *self = *self_p;
    if (self->daemon) {
        MHD_stop_daemon (self->daemon);
    }
    s_view_clear (self);
    if (self->page) {
        MHD_destroy_response (self->page);
    }
    free (self->published);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

/* ---- the dashboard ---- */

/* One self-contained page: no external resources. A few lines of script
 * read /api/... every 2 s and fill the tables with text nodes only. */
static const char *
s_page_html (void)
{
    return "<!doctype html>\n"
           "<html lang=\"en\">\n"
           "<head>\n"
           "<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width\">\n"
           "<title>zjob broker</title>\n"
           "<style>\n"
           "body { font: 14px sans-serif; margin: 1.5em; color: #222; }\n"
           "h1 { font-size: 1.3em; }\n"
           "h2 { font-size: 1.1em; margin-top: 1.5em; }\n"
           "table { border-collapse: collapse; }\n"
           "th, td { padding: .25em .8em; border-bottom: 1px solid #ddd;\n"
           "  text-align: right; }\n"
           "th:first-child, td:first-child { text-align: left; }\n"
           "#status { color: #666; }\n"
           "#status.bad { color: #b00; }\n"
           ".fig { display: inline-block; margin: 0 2em .5em 0; }\n"
           ".fig b { display: block; font-size: 1.5em; }\n"
           "</style>\n"
           "</head>\n"
           "<body>\n"
           "<h1>zjob broker</h1>\n"
           "<p id=\"status\">loading</p>\n"
           "<div id=\"figures\"></div>\n"
           "<p>finished jobs per second, last 2 minutes:\n"
           "<svg id=\"spark\" width=\"240\" height=\"40\"></svg></p>\n"
           "<h2>Queues</h2>\n"
           "<table id=\"queues\"></table>\n"
           "<h2>Workers</h2>\n"
           "<table id=\"workers\"></table>\n"
           "<script>\n"
           "// Names come from peers: they are set as text, never as HTML.\n"
           "(function () {\n"
           "'use strict';\n"
           "var last = null, rates = [];\n"
           "function $(id) { return document.getElementById(id); }\n"
           "function add(parent, tag, text) {\n"
           "  var node = document.createElement(tag);\n"
           "  node.textContent = String(text);\n"
           "  parent.appendChild(node);\n"
           "  return node;\n"
           "}\n"
           "function table(id, columns, rows) {\n"
           "  var t = $(id), tr;\n"
           "  t.textContent = '';\n"
           "  tr = t.insertRow();\n"
           "  columns.forEach(function (c) { add(tr, 'th', c[0]); });\n"
           "  rows.forEach(function (r) {\n"
           "    var row = t.insertRow();\n"
           "    columns.forEach(function (c) { add(row, 'td', c[1](r)); });\n"
           "  });\n"
           "  if (!rows.length) { add(t.insertRow(), 'td', '(none)'); }\n"
           "}\n"
           "function finished(s) {\n"
           "  return s.succeeded + s.failed + s.cancelled + s.timed_out +\n"
           "    s.dead;\n"
           "}\n"
           "function spark(values) {\n"
           "  var svg = $('spark');\n"
           "  var max = Math.max.apply(null, values.concat([1]));\n"
           "  var points = values.map(function (v, i) {\n"
           "    return (i * 4) + ',' + (38 - 36 * v / max).toFixed(1);\n"
           "  }).join(' ');\n"
           "  var ns = 'http://www.w3.org/2000/svg';\n"
           "  var line = document.createElementNS(ns, 'polyline');\n"
           "  line.setAttribute('points', points);\n"
           "  line.setAttribute('fill', 'none');\n"
           "  line.setAttribute('stroke', '#36c');\n"
           "  svg.textContent = '';\n"
           "  svg.appendChild(line);\n"
           "}\n"
           "function figures(s) {\n"
           "  var rate = '-', box = $('figures');\n"
           "  if (last && s.uptime_ms > last.uptime_ms) {\n"
           "    var per = (finished(s) - finished(last)) * 1000 /\n"
           "      (s.uptime_ms - last.uptime_ms);\n"
           "    rate = per.toFixed(1);\n"
           "    rates = rates.concat([per]).slice(-60);\n"
           "    spark(rates);\n"
           "  }\n"
           "  last = s;\n"
           "  box.textContent = '';\n"
           "  [['finished/s', rate], ['queued', s.queued],\n"
           "   ['running', s.running], ['workers', s.workers],\n"
           "   ['succeeded', s.succeeded],\n"
           "   ['failed', s.failed + s.timed_out + s.dead],\n"
           "   ['dead kept', s.dead_kept],\n"
           "   ['uptime s', Math.round(s.uptime_ms / 1000)]\n"
           "  ].forEach(function (f) {\n"
           "    var fig = add(box, 'span', f[0]);\n"
           "    fig.className = 'fig';\n"
           "    add(fig, 'b', f[1]);\n"
           "  });\n"
           "}\n"
           "function get(path) {\n"
           "  return fetch(path, { cache: 'no-store' }).then(function (r) {\n"
           "    if (!r.ok) {\n"
           "      throw new Error(path + ' answered ' + r.status);\n"
           "    }\n"
           "    return r.json();\n"
           "  });\n"
           "}\n"
           "function showStatus(text, bad) {\n"
           "  $('status').textContent = text;\n"
           "  $('status').className = bad ? 'bad' : '';\n"
           "}\n"
           "function field(name) {\n"
           "  return function (r) { return r[name]; };\n"
           "}\n"
           "function draining(w) { return w.draining ? 'yes' : ''; }\n"
           "function served(w) { return w.queues.join(', '); }\n"
           "var queueColumns = [['queue', field('name')],\n"
           "  ['queued', field('queued')], ['scheduled', field('scheduled')],\n"
           "  ['running', field('running')],\n"
           "  ['succeeded', field('succeeded')],\n"
           "  ['failed', field('failed')], ['workers', field('workers')]];\n"
           "var workerColumns = [['worker', field('name')],\n"
           "  ['capacity', field('capacity')], ['running', field('running')],\n"
           "  ['done', field('done')], ['idle ms', field('idle_ms')],\n"
           "  ['draining', draining], ['queues', served]];\n"
           "function refresh() {\n"
           "  var api = ['/api/stats', '/api/queues', '/api/workers'];\n"
           "  Promise.all(api.map(get)).then(function (d) {\n"
           "    figures(d[0]);\n"
           "    table('queues', queueColumns, d[1]);\n"
           "    table('workers', workerColumns, d[2]);\n"
           "    var now = new Date().toLocaleTimeString();\n"
           "    showStatus('updated ' + now, false);\n"
           "  }).catch(function (e) {\n"
           "    showStatus('cannot read the broker: ' + e.message, true);\n"
           "  });\n"
           "}\n"
           "refresh();\n"
           "setInterval(refresh, 2000);\n"
           "})();\n"
           "</script>\n"
           "</body>\n"
           "</html>\n";
}
