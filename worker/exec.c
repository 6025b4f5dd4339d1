/* The exec handler: one child process per job; see exec.h.
 *
 * Design notes. exec_run runs on a pool thread and owns its child from
 * spawn to reap: nothing else in the worker calls waitpid, so each thread
 * waits for its own pid only and no zombie is left. The child gets its own
 * process group (so a stop reaches whatever it started), default signal
 * dispositions and an empty signal mask (the worker blocks SIGTERM/SIGINT
 * in all its threads). It is started with vfork, not posix_spawn, so
 * that before exec it can ask for SIGKILL when its parent dies: a SIGKILLed
 * worker takes its running commands with it, and a job that runs again
 * elsewhere is not also finished by an orphan. The kernel sends that
 * signal when the forking thread ends, which is never before exec_run
 * returns (it reaps the child first). One poll loop feeds stdin and
 * drains stdout and stderr, so a payload larger than a pipe buffer cannot
 * deadlock against a child that writes before it has read everything; the
 * same poll watches the job's cancel descriptor and uses the time left as
 * its timeout.
 */
#include "worker/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/text.h"
#include "worker/shellwords.h"

extern char **environ;

struct exec_t {
    char **argv; /* NULL-terminated words of the command */
};

/* One run: the child, the parent's pipe ends and what came back. */
typedef struct {
    pid_t pid;              /* the child, also its process group */
    int in_fd;              /* write end of its stdin; -1 once closed */
    int out_fd;             /* read end of its stdout; -1 at EOF */
    int err_fd;             /* read end of its stderr; -1 at EOF */
    const uint8_t *payload; /* what goes to stdin */
    size_t payload_len;     /* bytes in payload */
    size_t written;         /* bytes of payload written so far */
    uint8_t *out;           /* stdout so far */
    size_t out_len;         /* bytes in out */
    size_t out_cap;         /* bytes allocated for out */
    size_t max_result;      /* stdout limit */
    char tail[2 * EXEC_STDERR_TAIL]; /* the end of stderr */
    size_t tail_len;                 /* bytes in tail */
    bool reaped;                     /* the child has been waited for */
    int status;                      /* its wait status, once reaped */
    uint64_t reaped_ms;              /* monotonic, when it was reaped */
} s_run_t;

/* How long output is still read after the child exited, for what it
 * wrote just before; a process it left behind holding the pipes open
 * does not keep the job running longer than this. */
#define EXEC_AFTER_EXIT_MS 100

/* How the I/O loop ended. */
typedef enum {
    S_PUMP_DONE,
    S_PUMP_STOP,
    S_PUMP_OVERFLOW,
    S_PUMP_ERROR
} s_pump_t;

exec_t *
exec_new (const char *command, char *err, size_t err_len)
{
    exec_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_len, "out of memory");
        return NULL;
    }
    char why[128];
    size_t argc = 0;
    if (shellwords_split (command, &self->argv, &argc, why, sizeof why) != 0) {
        snprintf (err, err_len, "exec command '%s': %s", command, why);
        free (self);
        return NULL;
    }
    if (argc == 0) {
        snprintf (err, err_len, "exec command is empty");
        exec_destroy (&self);
        return NULL;
    }
    signal (SIGPIPE, SIG_IGN);
    return self;
}

void
exec_destroy (exec_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    shellwords_free (&(*self_p)->argv);
    free (*self_p);
    *self_p = NULL;
}

static void
s_close (int *fd)
{
    if (*fd >= 0) {
        close (*fd);
        *fd = -1;
    }
}

static void
s_free_env (char **env)
{
    if (env) {
        free (env[0]);
        free (env[1]);
        free (env[2]);
        free (env);
    }
}

/* Builds the child's environment: the worker's, minus any inherited
 * ZJOB_ID/ZJOB_ATTEMPT/ZJOB_QUEUE, plus the job's. Caller frees the
 * array and its first three strings. */
static char **
s_child_env (const jobctx_t *ctx)
{
    size_t count = 0;
    while (environ && environ[count]) {
        count++;
    }
    char **env = calloc (count + 4, sizeof *env);
    if (!env) {
        return NULL;
    }
    if (asprintf (&env[0], "ZJOB_ID=%llu",
                  (unsigned long long) jobctx_id (ctx)) < 0) {
        env[0] = NULL;
    }
    if (asprintf (&env[1], "ZJOB_ATTEMPT=%u", jobctx_attempt (ctx)) < 0) {
        env[1] = NULL;
    }
    if (asprintf (&env[2], "ZJOB_QUEUE=%s", jobctx_queue (ctx)) < 0) {
        env[2] = NULL;
    }
    if (!env[0] || !env[1] || !env[2]) {
        s_free_env (env);
        return NULL;
    }
    size_t at = 3;
    for (size_t i = 0; i < count; i++) {
        if (strncmp (environ[i], "ZJOB_ID=", 8) != 0 &&
            strncmp (environ[i], "ZJOB_ATTEMPT=", 13) != 0 &&
            strncmp (environ[i], "ZJOB_QUEUE=", 11) != 0) {
            env[at++] = environ[i];
        }
    }
    return env;
}

/* What the child needs between vfork and exec, all prepared before: the
 * child shares the worker's memory until it execs and only makes system
 * calls. */
typedef struct {
    pid_t parent;      /* the worker's pid, taken before the fork */
    const char *path;  /* the program, resolved in $PATH */
    char *const *argv; /* its arguments */
    char *const *env;  /* its environment */
    int fds[3];        /* become its stdin, stdout, stderr */
    int report_fd;     /* write end: errno of a failed start */
} s_child_t;

/* Finds the program as posix_spawnp and execvp do: a name with a slash
 * as it is, else the first regular executable file of that name in $PATH
 * (an empty element is the current folder). Writes it to path (PATH_MAX
 * bytes); returns 0 or an errno value. */
static int
s_resolve (const char *name, char *path)
{
    if (strchr (name, '/')) {
        return snprintf (path, PATH_MAX, "%s", name) < PATH_MAX ? 0
                                                                : ENAMETOOLONG;
    }
    const char *at = getenv ("PATH");
    at = at ? at : "/bin:/usr/bin";
    int rc = ENOENT;
    while (true) {
        const char *end = strchrnul (at, ':');
        int dir_len = (int) (end - at);
        struct stat info;
        if (snprintf (path, PATH_MAX, "%.*s%s%s", dir_len, at,
                      dir_len ? "/" : "", name) < PATH_MAX &&
            stat (path, &info) == 0 && S_ISREG (info.st_mode)) {
            if (access (path, X_OK) == 0) {
                return 0;
            }
            rc = EACCES;
        }
        if (!*end) {
            return rc;
        }
        at = end + 1;
    }
}

/* The child, from vfork to exec (system calls only, no memory written
 * but its own stack, whose frames the parent no longer uses). It dies
 * with the thread that forked it (SIGKILL), and at once if the worker
 * died before that was set; it gets its own process group, the pipes on
 * 0, 1, 2, default signal dispositions and an empty mask (the worker
 * blocks SIGTERM/SIGINT and ignores SIGPIPE). A failed start writes
 * errno to report_fd; the child exits 127 then. */
static _Noreturn void
s_child (const s_child_t *child)
{
    int err = 0;
    if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0) {
        err = errno;
    } else if (getppid () != child->parent) {
        _exit (127); /* the worker is gone: the job is not ours to run */
    }
    setpgid (0, 0);
    for (int fd = 0; fd < 3; fd++) {
        if (child->fds[fd] == fd) {
            fcntl (fd, F_SETFD, 0); /* dup2 onto itself keeps CLOEXEC */
        } else {
            dup2 (child->fds[fd], fd);
        }
    }
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++) {
        sigaction (sig, &dfl, NULL); /* fails harmlessly for some */
    }
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    if (err == 0) {
        execve (child->path, child->argv, child->env);
        err = errno;
    }
    ssize_t unused = write (child->report_fd, &err, sizeof err);
    (void) unused;
    _exit (127);
}

/* Starts the child (vfork: the worker's memory is not copied, so the
 * cost does not grow with its size); returns 0 with run->pid set once
 * the command runs, or an errno value (the child is reaped then). */
static int
s_vfork_exec (s_child_t *child, s_run_t *run)
{
    int report[2];
    if (pipe2 (report, O_CLOEXEC) != 0) {
        return errno;
    }
    child->report_fd = report[1];
    child->parent = getpid ();
    /* No handler may run in the child, which shares the worker's memory
     * until it execs: every signal stays blocked until it has reset them. */
    sigset_t all, mask;
    sigfillset (&all);
    pthread_sigmask (SIG_SETMASK, &all, &mask);
    pid_t pid = vfork ();
    if (pid == 0) {
        s_child (child);
    }
    int rc = pid < 0 ? errno : 0;
    pthread_sigmask (SIG_SETMASK, &mask, NULL);
    close (report[1]);
    if (pid > 0) {
        ssize_t n;
        while ((n = read (report[0], &rc, sizeof rc)) < 0 && errno == EINTR) {
        }
        if (n == (ssize_t) sizeof rc) {
            waitpid (pid, NULL, 0);
        } else {
            rc = 0; /* end of file: the exec closed the pipe */
            run->pid = pid;
        }
    }
    close (report[0]);
    return rc;
}

/* Starts the child with pipes on 0, 1, 2. Returns 0, or an errno value. */
static int
s_spawn (const exec_t *self, const jobctx_t *ctx, s_run_t *run)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int rc = 0;
    if (pipe2 (in, O_CLOEXEC) || pipe2 (out, O_CLOEXEC) ||
        pipe2 (err, O_CLOEXEC)) {
        rc = errno;
    }
    char **env = rc ? NULL : s_child_env (ctx);
    if (!rc && !env) {
        rc = ENOMEM;
    }
    char path[PATH_MAX];
    if (!rc) {
        rc = s_resolve (self->argv[0], path);
    }
    if (!rc) {
        s_child_t child = {.path = path,
                           .argv = self->argv,
                           .env = env,
                           .fds = {in[0], out[1], err[1]}};
        rc = s_vfork_exec (&child, run);
    }
    s_free_env (env);
    s_close (&in[0]);
    s_close (&out[1]);
    s_close (&err[1]);
    run->in_fd = in[1];
    run->out_fd = out[0];
    run->err_fd = err[0];
    return rc;
}

/* Writes the next chunk of the payload; closes stdin when done or when
 * the child stopped reading. */
static void
s_feed (s_run_t *run)
{
    size_t left = run->payload_len - run->written;
    ssize_t n = left ? write (run->in_fd, run->payload + run->written,
                              left > 65536 ? 65536 : left)
                     : 0;
    if (n > 0) {
        run->written += (size_t) n;
    }
    if (run->written == run->payload_len ||
        (n < 0 && errno != EAGAIN && errno != EINTR)) {
        s_close (&run->in_fd);
    }
}

/* Reads stdout into run->out. Returns -1 when it grows over the limit. */
static int
s_drain_out (s_run_t *run)
{
    if (run->out_cap - run->out_len < 65536) {
        size_t cap = run->out_cap ? run->out_cap * 2 : 65536 * 2;
        uint8_t *grown = realloc (run->out, cap);
        if (!grown) {
            return -1;
        }
        run->out = grown;
        run->out_cap = cap;
    }
    ssize_t n = read (run->out_fd, run->out + run->out_len, 65536);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        s_close (&run->out_fd);
    } else if (n > 0) {
        run->out_len += (size_t) n;
    }
    return run->out_len > run->max_result ? -1 : 0;
}

/* Reads stderr, keeping only the last EXEC_STDERR_TAIL bytes or so. */
static void
s_drain_err (s_run_t *run)
{
    char chunk[4096];
    ssize_t n = read (run->err_fd, chunk, sizeof chunk);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        s_close (&run->err_fd);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (run->tail_len == sizeof run->tail) {
            memmove (run->tail, run->tail + EXEC_STDERR_TAIL,
                     sizeof run->tail - EXEC_STDERR_TAIL);
            run->tail_len -= EXEC_STDERR_TAIL;
        }
        run->tail[run->tail_len++] = chunk[i];
    }
}

/* The poll timeout: the time left, at most a second (a tenth of one once
 * the child has exited), -1 for none. */
static int
s_poll_timeout (const jobctx_t *ctx, const s_run_t *run)
{
    int64_t cap = run->reaped ? EXEC_AFTER_EXIT_MS : 1000;
    int64_t left = jobctx_time_left_ms (ctx);
    return left < 0 || left > cap ? (int) cap : (int) left;
}

/* Reaps the child if it has exited. Returns true once the output has had
 * EXEC_AFTER_EXIT_MS since then: the pump may stop reading. */
static bool
s_child_gone (s_run_t *run)
{
    if (!run->reaped && waitpid (run->pid, &run->status, WNOHANG) == run->pid) {
        run->reaped = true;
        run->reaped_ms = clock_mono_ms ();
    }
    return run->reaped &&
           clock_mono_ms () - run->reaped_ms >= EXEC_AFTER_EXIT_MS;
}

/* Moves data between the pipes until both outputs are closed (or the child
 * has exited and they stayed quiet for EXEC_AFTER_EXIT_MS), the job must
 * stop or stdout overflows. */
static s_pump_t
s_pump (s_run_t *run, jobctx_t *ctx)
{
    int cancel_fd = jobctx_cancel_fd (ctx);
    while (run->out_fd >= 0 || run->err_fd >= 0) {
        struct pollfd fds[4] = {{run->in_fd, POLLOUT, 0},
                                {run->out_fd, POLLIN, 0},
                                {run->err_fd, POLLIN, 0},
                                {cancel_fd, POLLIN, 0}};
        int ready = poll (fds, 4, s_poll_timeout (ctx, run));
        if (ready < 0 && errno != EINTR) {
            return S_PUMP_ERROR;
        }
        if (jobctx_should_stop (ctx)) {
            return S_PUMP_STOP;
        }
        if (ready == 0 && s_child_gone (run)) {
            break; /* something it left behind holds the pipes open */
        }
        if (run->in_fd >= 0 && fds[0].revents) {
            s_feed (run);
        }
        if (run->out_fd >= 0 && fds[1].revents && s_drain_out (run) != 0) {
            return S_PUMP_OVERFLOW;
        }
        if (run->err_fd >= 0 && fds[2].revents) {
            s_drain_err (run);
        }
    }
    return S_PUMP_DONE;
}

/* Waits for the child. When stopping (or when a stop comes while waiting)
 * its group gets SIGTERM, then SIGKILL after the grace. Returns the wait
 * status. */
static int
s_reap (s_run_t *run, jobctx_t *ctx, bool stopping)
{
    uint64_t kill_at = stopping ? clock_mono_ms () + EXEC_KILL_GRACE_MS : 0;
    uint64_t nap_ms = 1;
    int status = run->status;
    if (stopping) {
        kill (-run->pid, SIGTERM);
    }
    while (!run->reaped && waitpid (run->pid, &status, WNOHANG) == 0) {
        if (!stopping && jobctx_should_stop (ctx)) {
            stopping = true;
            kill (-run->pid, SIGTERM);
            kill_at = clock_mono_ms () + EXEC_KILL_GRACE_MS;
        }
        if (stopping && kill_at && clock_mono_ms () >= kill_at) {
            kill (-run->pid, SIGKILL);
            kill_at = 0;
        }
        struct timespec nap = {0, (long) nap_ms * 1000000L};
        nanosleep (&nap, NULL);
        nap_ms = nap_ms < 50 ? nap_ms * 2 : 50;
    }
    /* Whatever the command left running in its group ends with the job:
     * killed after a stop, asked to stop after a normal exit. */
    kill (-run->pid, stopping ? SIGKILL : SIGTERM);
    return status;
}

/* Turns the end of the run into the handler's status and output. */
static handler_status_t
s_finish (s_run_t *run, s_pump_t pumped, int status, handler_output_t *out)
{
    while (run->tail_len > 0 && run->tail[run->tail_len - 1] == '\n') {
        run->tail_len--;
    }
    text_utf8_fix (run->tail, run->tail_len); /* NULs would cut it short */
    const char *tail = run->tail;
    int tail_len = (int) (run->tail_len > EXEC_STDERR_TAIL ? EXEC_STDERR_TAIL
                                                           : run->tail_len);
    tail += run->tail_len - (size_t) tail_len;

    if (pumped == S_PUMP_STOP) {
        return HANDLER_STOPPED;
    }
    if (pumped == S_PUMP_OVERFLOW) {
        return handler_fail (out, "output exceeds the limit of %zu bytes",
                             run->max_result);
    }
    if (pumped == S_PUMP_ERROR) {
        return handler_fail (out, "poll: %s", strerror (errno));
    }
    if (WIFSIGNALED (status)) {
        return handler_fail (out, "killed by signal %d (%s): %.*s",
                             WTERMSIG (status), strsignal (WTERMSIG (status)),
                             tail_len, tail);
    }
    if (WEXITSTATUS (status) != 0) {
        return handler_fail (out, "exit status %d: %.*s", WEXITSTATUS (status),
                             tail_len, tail);
    }
    out->result = run->out;
    out->result_len = run->out_len;
    run->out = NULL;
    return HANDLER_OK;
}

handler_status_t
exec_run (void *state, jobctx_t *ctx, const uint8_t *payload, size_t len,
          size_t max_result, handler_output_t *out)
{
    const exec_t *self = state;
    s_run_t run = {.payload = payload,
                   .payload_len = len,
                   .max_result = max_result,
                   .in_fd = -1,
                   .out_fd = -1,
                   .err_fd = -1};
    if (jobctx_should_stop (ctx)) {
        return HANDLER_STOPPED;
    }
    int rc = s_spawn (self, ctx, &run);
    if (rc != 0) {
        s_close (&run.in_fd);
        s_close (&run.out_fd);
        s_close (&run.err_fd);
        return handler_fail (out, "cannot run '%s': %s", self->argv[0],
                             strerror (rc));
    }
    fcntl (run.in_fd, F_SETFL, O_NONBLOCK);
    if (len == 0) {
        s_close (&run.in_fd);
    }
    s_pump_t pumped = s_pump (&run, ctx);
    s_close (&run.in_fd);
    s_close (&run.out_fd);
    s_close (&run.err_fd);
    int status = s_reap (&run, ctx, pumped != S_PUMP_DONE);
    if (pumped == S_PUMP_DONE && jobctx_should_stop (ctx)) {
        pumped = S_PUMP_STOP;
    }
    handler_status_t result = s_finish (&run, pumped, status, out);
    free (run.out);
    return result;
}
