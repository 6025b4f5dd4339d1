/* zjob-bench --mode zmq: what ZeroMQ itself allows on this machine, as a
 * baseline for zjob's figures.
 *
 * Design notes: three kinds of process. This one, the client, starts the
 * others with posix_spawn as this program again with a hidden first
 * argument (BENCH_BASELINE_ROLE), before it creates a context of its own.
 * The proxy binds a ROUTER front and a DEALER back on ephemeral loopback
 * ports, writes both endpoints to a file in the run's temp dir (renamed
 * into place, so a reader never sees half of it) and runs
 * zmq_proxy_steerable; its second thread takes the stop signals (blocked
 * in every thread) with sigwait and sends the proxy TERMINATE, so a signal
 * that lands while the proxy is busy is not lost. Each echo process, one
 * thread, connects a REP socket to the back end, writes a ready file once
 * its handshake with the proxy succeeded (the client starts only when
 * every echo can take work, so round robin is fair from the first
 * message), then answers every request with its body. The client's DEALER
 * keeps --window messages in flight; each body's first 8 bytes carry its
 * send time (µs since the run started), so a reply closes its own latency
 * sample without a table. High-water marks are off on every socket: the
 * window bounds what is queued, and a ROUTER at its mark would drop
 * replies. Children stop on SIGTERM or SIGINT (the echo loop looks at the
 * flag its handler sets at least every 100 ms), when the parent dies
 * (PR_SET_PDEATHSIG) or at the run's time limit (alarm). The client stops
 * them by pid, SIGKILL after 5 s, also on error and on Ctrl-C. */
#include "bench/baseline.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench/cluster.h"
#include "client/cli_args.h"
#include "client/cli_json.h"
#include "common/clock.h"
#include "common/units.h"

#define BASELINE_START_MS 10000 /* children have this long to be ready */
#define BASELINE_POLL_MS  100   /* longest block before a loop looks up */
#define BASELINE_GRACE_S  30    /* children outlive the deadline by this */
#define BASELINE_LIMIT_S  (7 * 24 * 3600) /* the longest child time limit */
#define BASELINE_ANY_PORT "tcp://127.0.0.1:*"
#define BASELINE_MONITOR  "inproc://echo-monitor"
#define BASELINE_CONTROL  "inproc://proxy-control"

/* Set by a child's stop signals. */
static volatile sig_atomic_t s_stop;

static void
s_on_stop (int signal_number)
{
    s_stop = 1;
}

/* Options every socket of the baseline shares: no high-water marks, no
 * linger at close. */
static void
s_socket_options (void *socket)
{
    int zero = 0;
    zmq_setsockopt (socket, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt (socket, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt (socket, ZMQ_LINGER, &zero, sizeof zero);
}

static bool
s_more (void *socket)
{
    int more = 0;
    size_t len = sizeof more;
    return zmq_getsockopt (socket, ZMQ_RCVMORE, &more, &len) == 0 && more;
}

/* Receives and drops what is left of the current message. */
static void
s_drop_rest (void *socket)
{
    while (s_more (socket) && zmq_recv (socket, NULL, 0, ZMQ_DONTWAIT) >= 0) {
    }
}

/* ---- the child processes ---- */

/* Makes this child stop on signals, with its parent and at its time
 * limit. Returns 0, or -1 for bad arguments or a parent already gone. */
static int
s_child_init (const char *parent_text, const char *limit_text)
{
    struct sigaction action = {.sa_handler = s_on_stop};
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGALRM, &action, NULL);
    signal (SIGPIPE, SIG_IGN);
    int64_t parent, limit_s;
    if (number_parse (parent_text, 1, INT32_MAX, &parent) != 0 ||
        number_parse (limit_text, 1, BASELINE_LIMIT_S, &limit_s) != 0) {
        return -1;
    }
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != (pid_t) parent) {
        return -1;
    }
    alarm ((unsigned) limit_s);
    return 0;
}

/* Binds socket on an ephemeral loopback port and stores its endpoint. */
static int
s_bind (void *socket, char *endpoint, size_t len)
{
    s_socket_options (socket);
    if (zmq_bind (socket, BASELINE_ANY_PORT) != 0) {
        return -1;
    }
    return zmq_getsockopt (socket, ZMQ_LAST_ENDPOINT, endpoint, &len);
}

/* Writes "front EP" and "back EP" lines to dir/endpoints, atomically. */
static int
s_write_endpoints (const char *dir, const char *front, const char *back)
{
    char path[320], temp[330];
    snprintf (path, sizeof path, "%s/endpoints", dir);
    snprintf (temp, sizeof temp, "%s.tmp", path);
    FILE *file = fopen (temp, "w");
    if (!file) {
        return -1;
    }
    fprintf (file, "front %s\nback %s\n", front, back);
    return fclose (file) == 0 && rename (temp, path) == 0 ? 0 : -1;
}

/* The proxy's sockets. */
typedef struct {
    void *context; /* NULL until made */
    void *front;   /* ROUTER: the clients */
    void *back;    /* DEALER: the echo processes */
    void *control; /* PAIR: zmq_proxy_steerable's control socket */
    void *stopper; /* PAIR: the stop thread's end of control */
} s_proxy_t;

/* The signals that stop a child. */
static void
s_stop_signals (sigset_t *set)
{
    sigemptyset (set);
    sigaddset (set, SIGTERM);
    sigaddset (set, SIGINT);
    sigaddset (set, SIGALRM);
}

/* The proxy's stop thread: takes the first stop signal (blocked in every
 * thread, so none is lost while the proxy is busy) and tells the proxy to
 * end. arg is the stopper socket, used by this thread only. */
static void *
s_stop_thread (void *arg)
{
    sigset_t set;
    int signal_number;
    s_stop_signals (&set);
    sigwait (&set, &signal_number);
    zmq_send (arg, "TERMINATE", 9, 0);
    return NULL;
}

/* Makes the sockets, binds them and reports the endpoints. */
static int
s_proxy_open (s_proxy_t *proxy, const char *dir)
{
    char front_ep[256], back_ep[256];
    void *context = proxy->context = zmq_ctx_new ();
    if (!context) {
        return -1;
    }
    proxy->front = zmq_socket (context, ZMQ_ROUTER);
    proxy->back = zmq_socket (context, ZMQ_DEALER);
    proxy->control = zmq_socket (context, ZMQ_PAIR);
    proxy->stopper = zmq_socket (context, ZMQ_PAIR);
    if (!proxy->front || !proxy->back || !proxy->control || !proxy->stopper) {
        return -1;
    }
    s_socket_options (proxy->control);
    s_socket_options (proxy->stopper);
    return s_bind (proxy->front, front_ep, sizeof front_ep) == 0 &&
                   s_bind (proxy->back, back_ep, sizeof back_ep) == 0 &&
                   zmq_bind (proxy->control, BASELINE_CONTROL) == 0 &&
                   zmq_connect (proxy->stopper, BASELINE_CONTROL) == 0 &&
                   s_write_endpoints (dir, front_ep, back_ep) == 0
               ? 0
               : -1;
}

static void
s_proxy_close (s_proxy_t *proxy)
{
    void *sockets[] = {proxy->front, proxy->back, proxy->control,
                       proxy->stopper};
    for (size_t i = 0; i < sizeof sockets / sizeof sockets[0]; i++) {
        if (sockets[i]) {
            zmq_close (sockets[i]);
        }
    }
    if (proxy->context) {
        zmq_ctx_term (proxy->context);
    }
}

/* The proxy: ROUTER front, DEALER back, zmq_proxy_steerable until the
 * stop thread sends TERMINATE. The stop signals are blocked before the
 * context starts ZeroMQ's threads, so every thread inherits the mask. */
static int
s_role_proxy (const char *dir)
{
    sigset_t set;
    s_stop_signals (&set);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    s_proxy_t proxy = {0};
    pthread_t thread;
    int rc = s_stop ? 0 : s_proxy_open (&proxy, dir);
    if (rc != 0 || (!s_stop && pthread_create (&thread, NULL, s_stop_thread,
                                               proxy.stopper) != 0)) {
        fprintf (stderr, "zjob-bench proxy: cannot start: %s\n",
                 zmq_strerror (zmq_errno ()));
        rc = -1;
    } else if (!s_stop) {
        rc = zmq_proxy_steerable (proxy.front, proxy.back, NULL, proxy.control);
        if (rc != 0) {
            fprintf (stderr, "zjob-bench proxy: %s\n",
                     zmq_strerror (zmq_errno ()));
            pthread_kill (thread, SIGTERM); /* still waiting: wake it */
        }
        pthread_join (thread, NULL);
    }
    s_proxy_close (&proxy);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_UNREACHABLE;
}

/* Waits for the monitor's handshake event; returns 0, or -1 when none
 * came in time or a stop signal did. */
static int
s_await_handshake (void *monitor)
{
    uint64_t deadline = clock_mono_ms () + BASELINE_START_MS;
    zmq_pollitem_t item = {.socket = monitor, .events = ZMQ_POLLIN};
    while (!s_stop && clock_mono_ms () < deadline) {
        if (zmq_poll (&item, 1, BASELINE_POLL_MS) <= 0) {
            continue;
        }
        uint8_t event[6] = {0}; /* 16-bit event, 32-bit value */
        int len = zmq_recv (monitor, event, sizeof event, ZMQ_DONTWAIT);
        uint16_t id;
        memcpy (&id, event, sizeof id);
        s_drop_rest (monitor); /* the endpoint frame */
        if (len >= (int) sizeof event && id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            return 0;
        }
    }
    return -1;
}

/* Connects socket to back and waits until its handshake succeeded. */
static int
s_echo_connect (void *context, void *socket, const char *back)
{
    void *monitor = zmq_socket (context, ZMQ_PAIR);
    int rc = monitor ? 0 : -1;
    if (rc == 0) {
        s_socket_options (monitor);
        rc = zmq_socket_monitor (socket, BASELINE_MONITOR,
                                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    }
    rc = rc == 0 ? zmq_connect (monitor, BASELINE_MONITOR) : rc;
    rc = rc == 0 ? zmq_connect (socket, back) : rc;
    rc = rc == 0 ? s_await_handshake (monitor) : rc;
    zmq_socket_monitor (socket, NULL, 0);
    if (monitor) {
        zmq_close (monitor);
    }
    return rc;
}

/* Answers each request with its first body frame until stopped; waits
 * (up to BASELINE_POLL_MS at a time) only when no request is there. */
static void
s_echo_loop (void *socket)
{
    zmq_pollitem_t item = {.socket = socket, .events = ZMQ_POLLIN};
    while (!s_stop) {
        zmq_msg_t body;
        zmq_msg_init (&body);
        if (zmq_msg_recv (&body, socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&body);
            zmq_poll (&item, 1, BASELINE_POLL_MS);
            continue;
        }
        s_drop_rest (socket);
        if (zmq_msg_send (&body, socket, 0) < 0) {
            zmq_msg_close (&body); /* not sent: still ours */
        }
    }
}

/* Creates dir/echo-INDEX.ready. */
static int
s_touch_ready (const char *dir, const char *index)
{
    char path[320];
    snprintf (path, sizeof path, "%s/echo-%s.ready", dir, index);
    FILE *file = fopen (path, "w");
    return file && fclose (file) == 0 ? 0 : -1;
}

/* An echo process: a REP socket on the back end, answering until
 * stopped. */
static int
s_role_echo (const char *dir, const char *back, const char *index)
{
    void *context = zmq_ctx_new ();
    void *socket = context ? zmq_socket (context, ZMQ_REP) : NULL;
    int rc = socket ? 0 : -1;
    if (rc == 0) {
        s_socket_options (socket);
        rc = s_echo_connect (context, socket, back);
    }
    if (rc == 0 && s_touch_ready (dir, index) == 0) {
        s_echo_loop (socket);
    } else if (!s_stop) {
        fprintf (stderr, "zjob-bench echo %s: cannot start: %s\n", index,
                 rc == 0 ? strerror (errno) : zmq_strerror (zmq_errno ()));
        rc = -1;
    }
    if (socket) {
        zmq_close (socket);
    }
    if (context) {
        zmq_ctx_term (context);
    }
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_UNREACHABLE;
}

int
bench_baseline_role (int argc, char **argv)
{
    bool proxy = argc == 5 && strcmp (argv[1], "proxy") == 0;
    bool echo = argc == 7 && strcmp (argv[1], "echo") == 0;
    int64_t echo_index;
    if ((!proxy && !echo) ||
        (echo &&
         number_parse (argv[4], 0, CLUSTER_MAX_WORKERS, &echo_index) != 0)) {
        fprintf (stderr,
                 "zjob-bench: %s is for --mode zmq's own "
                 "processes\n",
                 BENCH_BASELINE_ROLE);
        return CLI_EXIT_USAGE;
    }
    if (s_child_init (argv[argc - 2], argv[argc - 1]) != 0) {
        return CLI_EXIT_USAGE;
    }
    return proxy ? s_role_proxy (argv[2])
                 : s_role_echo (argv[2], argv[3], argv[4]);
}

/* ---- the client: this process ---- */

/* Progress and measurements of one run. */
typedef struct {
    const bench_baseline_t *run;         /* the settings (borrowed) */
    volatile sig_atomic_t *interrupted;  /* non-zero: stop early */
    uint64_t deadline_ms;                /* monotonic ms when it gives up */
    char program[4096];                  /* this program's path */
    char dir[256];                       /* temp dir, "" when none */
    char front[256], back[256];          /* the proxy's endpoints */
    pid_t pids[1 + CLUSTER_MAX_WORKERS]; /* proxy, then echoes; 0: none */
    size_t n_pids;                       /* entries used in pids */
    void *context, *socket;              /* the client's, NULL until made */
    char *body, *reply;                  /* one message each, size bytes */
    uint64_t *latency_us;                /* one sample per intact reply */
    uint64_t sent, received, failed;     /* messages; failed ⊆ received */
    uint64_t started_us;                 /* monotonic µs of the first send */
    uint64_t last_reply_us;              /* µs since started_us */
} s_run_t;

/* Makes the temp dir and finds this program. */
static int
s_prepare (s_run_t *self)
{
    ssize_t n =
        readlink ("/proc/self/exe", self->program, sizeof self->program - 1);
    if (n <= 0) {
        fprintf (stderr, "zjob-bench: cannot find my own program\n");
        return -1;
    }
    self->program[n] = '\0';
    const char *tmp = getenv ("TMPDIR");
    snprintf (self->dir, sizeof self->dir, "%s/zjob-bench-zmq.XXXXXX",
              tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (self->dir)) {
        fprintf (stderr, "zjob-bench: mkdtemp: %s\n", strerror (errno));
        self->dir[0] = '\0';
        return -1;
    }
    return 0;
}

/* Starts one child with role_args after the hidden argument; its output
 * goes to dir/LOG_NAME.log. */
static int
s_spawn_child (s_run_t *self, const char *log_name, char *role_args[],
               size_t n_args)
{
    char log[320], parent[24], limit[24];
    char *argv[16];
    size_t argc = 0;
    uint64_t limit_s = self->run->deadline_ms / 1000 + BASELINE_GRACE_S;
    snprintf (log, sizeof log, "%s/%s.log", self->dir, log_name);
    snprintf (parent, sizeof parent, "%ld", (long) getpid ());
    snprintf (limit, sizeof limit, "%llu",
              (unsigned long long) (limit_s < BASELINE_LIMIT_S
                                        ? limit_s
                                        : BASELINE_LIMIT_S));
    argv[argc++] = self->program;
    argv[argc++] = BENCH_BASELINE_ROLE;
    for (size_t i = 0; i < n_args && argc < 13; i++) {
        argv[argc++] = role_args[i];
    }
    argv[argc++] = parent;
    argv[argc++] = limit;
    argv[argc] = NULL;
    pid_t pid = bench_spawn (argv, log);
    self->pids[self->n_pids++] = pid;
    return pid > 0 ? 0 : -1;
}

/* Waits until path exists while *pid runs; returns 0, or -1 with a
 * message when the child exited, the time ran out or a signal came. */
static int
s_await_file (s_run_t *self, const char *path, pid_t *pid, uint64_t deadline_ms)
{
    while (access (path, F_OK) != 0) {
        if (*pid > 0 && waitpid (*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
        }
        if (*pid <= 0 || *self->interrupted ||
            clock_mono_ms () >= deadline_ms) {
            fprintf (stderr,
                     "zjob-bench: a zmq process did not start; "
                     "see the logs in %s\n",
                     self->dir);
            return -1;
        }
        nanosleep (&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return 0;
}

/* Reads the proxy's endpoints file. */
static int
s_read_endpoints (s_run_t *self, const char *path)
{
    FILE *file = fopen (path, "r");
    char key[32], value[256];
    while (file && fscanf (file, "%31s %255s", key, value) == 2) {
        if (strcmp (key, "front") == 0) {
            snprintf (self->front, sizeof self->front, "%s", value);
        } else if (strcmp (key, "back") == 0) {
            snprintf (self->back, sizeof self->back, "%s", value);
        }
    }
    if (file) {
        fclose (file);
    }
    return self->front[0] && self->back[0] ? 0 : -1;
}

/* Starts the proxy, then the echo processes, and waits until all are
 * ready. */
static int
s_start_children (s_run_t *self)
{
    uint64_t deadline = clock_mono_ms () + BASELINE_START_MS;
    char path[320], name[32], index_text[24];
    snprintf (path, sizeof path, "%s/endpoints", self->dir);
    if (s_spawn_child (self, "proxy", (char *[]){"proxy", self->dir}, 2) != 0 ||
        s_await_file (self, path, &self->pids[0], deadline) != 0 ||
        s_read_endpoints (self, path) != 0) {
        return -1;
    }
    for (size_t i = 0; i < self->run->workers; i++) {
        snprintf (name, sizeof name, "echo-%zu", i);
        snprintf (index_text, sizeof index_text, "%zu", i);
        char *args[] = {"echo", self->dir, self->back, index_text};
        if (s_spawn_child (self, name, args, 4) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < self->run->workers; i++) {
        snprintf (path, sizeof path, "%s/echo-%zu.ready", self->dir, i);
        if (s_await_file (self, path, &self->pids[1 + i], deadline) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Makes the client's context and DEALER socket, connected to the front. */
static int
s_client_open (s_run_t *self)
{
    self->context = zmq_ctx_new ();
    self->socket =
        self->context ? zmq_socket (self->context, ZMQ_DEALER) : NULL;
    if (!self->socket) {
        return -1;
    }
    s_socket_options (self->socket);
    return zmq_connect (self->socket, self->front);
}

/* Sends one request: the empty delimiter REP expects, then the body
 * stamped with its send time. Returns 0, 1 when the socket cannot take
 * it now, -1 on error. */
static int
s_send (s_run_t *self)
{
    uint64_t stamp = clock_mono_us () - self->started_us;
    memcpy (self->body, &stamp, sizeof stamp);
    if (zmq_send (self->socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        return zmq_errno () == EAGAIN || zmq_errno () == EINTR ? 1 : -1;
    }
    if (zmq_send (self->socket, self->body, self->run->size, 0) < 0) {
        return -1; /* the rest of a message never waits */
    }
    self->sent++;
    return 0;
}

/* Takes one reply if there is one: checks its shape (empty delimiter,
 * then a body of size bytes) and closes its latency sample. Returns 1
 * when one was taken, 0 when none waits, -1 on error. */
static int
s_receive (s_run_t *self)
{
    size_t size = self->run->size;
    int len = zmq_recv (self->socket, self->reply, size, ZMQ_DONTWAIT);
    if (len < 0) {
        return zmq_errno () == EAGAIN || zmq_errno () == EINTR ? 0 : -1;
    }
    bool ok = len == 0 && s_more (self->socket);
    if (ok) {
        len = zmq_recv (self->socket, self->reply, size, ZMQ_DONTWAIT);
        ok = len >= 0 && (size_t) len == size && !s_more (self->socket);
    }
    s_drop_rest (self->socket);
    uint64_t now_us = clock_mono_us () - self->started_us;
    uint64_t stamp;
    memcpy (&stamp, self->reply, sizeof stamp);
    ok = ok && stamp <= now_us && self->received < self->sent;
    if (ok) {
        self->latency_us[self->received - self->failed] = now_us - stamp;
    }
    self->failed += ok ? 0 : 1;
    self->received++;
    self->last_reply_us = now_us;
    return 1;
}

/* Sends while the window has room and takes every waiting reply, after
 * waiting up to BASELINE_POLL_MS for one when nothing could be sent. */
static int
s_step (s_run_t *self)
{
    const bench_baseline_t *run = self->run;
    int rc = 0;
    bool sent = false;
    while (rc == 0 && self->sent < run->count &&
           self->sent - self->received < run->window) {
        rc = s_send (self);
        sent = sent || rc == 0;
    }
    if (rc < 0) {
        return -1;
    }
    zmq_pollitem_t item = {.socket = self->socket, .events = ZMQ_POLLIN};
    if (zmq_poll (&item, 1, sent ? 0 : BASELINE_POLL_MS) < 0 &&
        zmq_errno () != EINTR) {
        return -1;
    }
    int got = 1;
    while (got > 0 && self->received < run->count) {
        got = s_receive (self);
    }
    return got < 0 ? -1 : 0;
}

/* Runs the round trips until done, the deadline or a signal. */
static int
s_loop (s_run_t *self)
{
    self->started_us = clock_mono_us ();
    while (self->received < self->run->count) {
        if (*self->interrupted || clock_mono_ms () >= self->deadline_ms) {
            fprintf (stderr, "zjob-bench: deadline passed or "
                             "interrupted\n");
            return -1;
        }
        if (s_step (self) != 0) {
            fprintf (stderr, "zjob-bench: zmq: %s\n",
                     zmq_strerror (zmq_errno ()));
            return -1;
        }
    }
    return 0;
}

/* Prints the report; samples are sorted in place. */
static void
s_report (s_run_t *self)
{
    const bench_baseline_t *run = self->run;
    uint64_t n = self->received - self->failed;
    bench_percentiles_t pct = bench_percentiles (self->latency_us, n);
    uint64_t p50 = pct.p50, p99 = pct.p99, max = pct.max;
    double seconds = (double) self->last_reply_us / 1e6;
    double rate = seconds > 0 ? (double) self->received / seconds : 0.0;
    if (run->json) {
        json_t *report = json_pack (
            "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f,"
            " s:{s:I, s:I, s:I}}",
            "mode", "zmq", "workers", (json_int_t) run->workers, "size",
            (json_int_t) run->size, "count", (json_int_t) run->count, "window",
            (json_int_t) run->window, "completed", (json_int_t) self->received,
            "failed", (json_int_t) self->failed, "seconds", seconds,
            "round_trips_per_s", rate, "latency_us", "p50", (json_int_t) p50,
            "p99", (json_int_t) p99, "max", (json_int_t) max);
        client_json_print (report, stdout);
        return;
    }
    printf ("mode zmq: ROUTER/DEALER proxy, %zu REP echo processes, "
            "%llu-byte messages, window %llu\n"
            "completed %llu of %llu round trips in %.3f s: %.0f round "
            "trips/s\n"
            "latency p50 %llu us, p99 %llu us, max %llu us\n"
            "failed %llu\n",
            run->workers, (unsigned long long) run->size,
            (unsigned long long) run->window,
            (unsigned long long) self->received,
            (unsigned long long) run->count, seconds, rate,
            (unsigned long long) p50, (unsigned long long) p99,
            (unsigned long long) max, (unsigned long long) self->failed);
}

/* Closes the client's socket and context. */
static void
s_client_close (s_run_t *self)
{
    if (self->socket) {
        zmq_close (self->socket);
        self->socket = NULL;
    }
    if (self->context) {
        zmq_ctx_term (self->context);
        self->context = NULL;
    }
}

/* Removes the temp dir's files and the dir itself. */
static void
s_remove_dir (s_run_t *self)
{
    char path[400];
    const char *const names[] = {"endpoints", "endpoints.tmp", "proxy.log"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf (path, sizeof path, "%s/%s", self->dir, names[i]);
        remove (path);
    }
    for (size_t i = 0; i < self->run->workers; i++) {
        snprintf (path, sizeof path, "%s/echo-%zu.log", self->dir, i);
        remove (path);
        snprintf (path, sizeof path, "%s/echo-%zu.ready", self->dir, i);
        remove (path);
    }
    rmdir (self->dir);
}

/* Stops the children and removes the temp dir (kept, with a message,
 * when the run failed or a child did not exit cleanly). Returns the exit
 * code, made CLI_EXIT_JOB when a child failed a run that went well. */
static int
s_finish (s_run_t *self, int code)
{
    s_client_close (self);
    size_t failed = bench_stop_pids (self->pids, self->n_pids);
    if (failed > 0 && code == CLI_EXIT_OK) {
        fprintf (stderr,
                 "zjob-bench: %zu zmq process(es) did not exit "
                 "cleanly\n",
                 failed);
        code = CLI_EXIT_JOB;
    }
    if (self->dir[0] && code == CLI_EXIT_OK) {
        s_remove_dir (self);
    } else if (self->dir[0]) {
        fprintf (stderr, "zjob-bench: logs kept in %s\n", self->dir);
    }
    free (self->body);
    free (self->reply);
    free (self->latency_us);
    return code;
}

/* Allocates the message buffers and the sample array. */
static int
s_alloc (s_run_t *self)
{
    size_t size = self->run->size;
    self->body = malloc (size);
    self->reply = malloc (size);
    self->latency_us = calloc (self->run->count, sizeof *self->latency_us);
    if (!self->body || !self->reply || !self->latency_us) {
        fprintf (stderr, "zjob-bench: out of memory\n");
        return -1;
    }
    memset (self->body, 'x', size);
    return 0;
}

int
bench_baseline_run (const bench_baseline_t *run,
                    volatile sig_atomic_t *interrupted)
{
    s_run_t self = {.run = run, .interrupted = interrupted};
    self.deadline_ms = clock_mono_ms () + run->deadline_ms;
    if (s_alloc (&self) != 0 || s_prepare (&self) != 0 ||
        s_start_children (&self) != 0) {
        return s_finish (&self, CLI_EXIT_USAGE);
    }
    if (s_client_open (&self) != 0) {
        fprintf (stderr, "zjob-bench: zmq: %s\n", zmq_strerror (zmq_errno ()));
        return s_finish (&self, CLI_EXIT_UNREACHABLE);
    }
    int rc = s_loop (&self);
    s_report (&self);
    return s_finish (&self, rc != 0       ? CLI_EXIT_UNREACHABLE
                            : self.failed ? CLI_EXIT_JOB
                                          : CLI_EXIT_OK);
}
