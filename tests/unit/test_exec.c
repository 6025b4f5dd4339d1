/* Unit tests for the exec handler: real child processes. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "worker/exec.h"
#include "worker/handler.h"

/* Runs command on payload (len bytes) with a context of timeout_ms (0:
 * none) and result limit max. */
static handler_status_t
s_exec (const char *command, const void *payload, size_t len,
        uint64_t timeout_ms, size_t max, handler_output_t *out)
{
    char err[HANDLER_ERROR_LEN];
    exec_t *exec = exec_new (command, err, sizeof err);
    if (!exec) {
        fail_msg ("exec_new (%s): %s", command, err);
    }
    jobctx_t *ctx = jobctx_new (123456789012ull, 2, "files",
                                timeout_ms ? clock_mono_ms () + timeout_ms : 0);
    memset (out, 0, sizeof *out);
    handler_status_t status = exec_run (exec, ctx, payload, len, max, out);
    jobctx_destroy (&ctx);
    exec_destroy (&exec);
    return status;
}

/* Fails the test if any child of this process is left (zombie or not). */
static void
s_expect_no_child (void)
{
    pid_t pid = waitpid (-1, NULL, WNOHANG);
    if (pid != -1 || errno != ECHILD) {
        fail_msg ("a child process was left behind (waitpid gave %d)",
                  (int) pid);
    }
}

static void
test_exec_stdout_is_result (void **state)
{
    handler_output_t out;
    handler_status_t status = s_exec ("tr a-z A-Z", "hello", 5, 0, 1024, &out);
    if (status != HANDLER_OK) {
        fail_msg ("exec failed: %s", out.error ? out.error : "?");
    }
    assert_int_equal (out.result_len, 5);
    assert_memory_equal (out.result, "HELLO", 5);
    handler_output_clear (&out);
    s_expect_no_child ();
}

static void
test_exec_environment (void **state)
{
    handler_output_t out;
    setenv ("ZJOB_QUEUE", "inherited", 1);
    handler_status_t status =
        s_exec ("sh -c 'printf \"%s %s %s\" \"$ZJOB_ID\" \"$ZJOB_ATTEMPT\" "
                "\"$ZJOB_QUEUE\"'",
                "", 0, 0, 1024, &out);
    unsetenv ("ZJOB_QUEUE");
    if (status != HANDLER_OK) {
        fail_msg ("exec failed: %s", out.error ? out.error : "?");
    }
    const char *want = "123456789012 2 files";
    assert_int_equal (out.result_len, strlen (want));
    assert_memory_equal (out.result, want, strlen (want));
    handler_output_clear (&out);
    s_expect_no_child ();
}

static void
test_exec_exit_status_fails_with_stderr_tail (void **state)
{
    handler_output_t out;
    /* 5000 bytes of 'x' then a last line: only the tail is kept. */
    assert_int_equal (
        s_exec ("sh -c 'head -c 5000 /dev/zero | tr \"\\\\0\" x >&2; "
                "echo >&2; echo it broke >&2; exit 3'",
                "", 0, 0, 1024, &out),
        HANDLER_FAILED);
    assert_non_null (out.error);
    assert_non_null (strstr (out.error, "exit status 3"));
    size_t len = strlen (out.error);
    assert_true (len > 8);
    assert_string_equal (out.error + len - 8, "it broke");
    assert_true (len < EXEC_STDERR_TAIL + 64);
    handler_output_clear (&out);
    s_expect_no_child ();
}

static void
test_exec_signal_fails (void **state)
{
    handler_output_t out;
    assert_int_equal (s_exec ("sh -c 'kill -9 $$'", "", 0, 0, 1024, &out),
                      HANDLER_FAILED);
    assert_non_null (strstr (out.error, "killed by signal 9"));
    handler_output_clear (&out);
    s_expect_no_child ();
}

static void
test_exec_missing_command_fails (void **state)
{
    handler_output_t out;
    assert_int_equal (
        s_exec ("/nonexistent/zjob-no-such-program", "", 0, 0, 1024, &out),
        HANDLER_FAILED);
    assert_non_null (strstr (out.error, "zjob-no-such-program"));
    handler_output_clear (&out);
    s_expect_no_child ();
}

static void
test_exec_big_payload_no_deadlock (void **state)
{
    size_t len = 4u << 20;
    char *payload = malloc (len);
    memset (payload, 'z', len);
    handler_output_t out;
    handler_status_t status = s_exec ("cat", payload, len, 20000, len, &out);
    if (status != HANDLER_OK) {
        fail_msg ("cat failed: %s", out.error ? out.error : "?");
    }
    assert_int_equal (out.result_len, len);
    assert_memory_equal (out.result, payload, len);
    handler_output_clear (&out);
    free (payload);
    s_expect_no_child ();
}

static void
test_exec_output_over_limit_fails (void **state)
{
    handler_output_t out;
    assert_int_equal (s_exec ("head -c 100000 /dev/zero", "", 0, 0, 1000, &out),
                      HANDLER_FAILED);
    assert_non_null (strstr (out.error, "exceeds the limit of 1000"));
    handler_output_clear (&out);
    s_expect_no_child ();
}

/* Creates an empty file from the mkstemp template in path. */
static void
s_make_temp (char *path)
{
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
}

/* Reads the process group id a child wrote into path. */
static pid_t
s_read_pid (const char *path)
{
    FILE *file = fopen (path, "r");
    long pid = 0;
    if (!file || fscanf (file, "%ld", &pid) != 1) {
        fail_msg ("no pid in %s", path);
    }
    fclose (file);
    return (pid_t) pid;
}

/* True when a live (not zombie) process is in process group group. */
static bool
s_group_alive (pid_t group)
{
    DIR *proc = opendir ("/proc");
    struct dirent *entry;
    bool alive = false;
    while (proc && !alive && (entry = readdir (proc)) != NULL) {
        char path[300], line[512];
        snprintf (path, sizeof path, "/proc/%s/stat", entry->d_name);
        FILE *file = fopen (path, "r");
        if (!file) {
            continue;
        }
        char *end =
            fgets (line, sizeof line, file) ? strrchr (line, ')') : NULL;
        char state = 0;
        int parent = 0, pgrp = 0;
        if (end && sscanf (end + 1, " %c %d %d", &state, &parent, &pgrp) == 3 &&
            pgrp == group && state != 'Z') {
            alive = true;
        }
        fclose (file);
    }
    if (proc) {
        closedir (proc);
    }
    return alive;
}

static void
test_exec_ends_when_child_exits_despite_leftovers (void **state)
{
    char path[] = "/tmp/zjob-test-exec-XXXXXX";
    s_make_temp (path);
    char command[256];
    snprintf (command, sizeof command,
              "sh -c 'echo $$ > %s; sleep 20 & echo hi'", path);
    handler_output_t out;
    uint64_t start = clock_mono_ms ();
    handler_status_t status = s_exec (command, "", 0, 0, 1024, &out);
    uint64_t took_ms = clock_mono_ms () - start;
    pid_t group = s_read_pid (path);
    unlink (path);
    uint64_t until = clock_mono_ms () + 1000;
    while (group > 0 && s_group_alive (group) && clock_mono_ms () < until) {
        usleep (10000);
    }
    if (group > 0 && s_group_alive (group)) {
        kill (-group, SIGKILL);
        fail_msg ("the sleep left in group %d outlived its job", (int) group);
    }
    if (status != HANDLER_OK || took_ms > 5000) {
        fail_msg ("status %d after %llu ms: %s", (int) status,
                  (unsigned long long) took_ms, out.error ? out.error : "");
    }
    assert_int_equal (out.result_len, 3);
    assert_memory_equal (out.result, "hi\n", 3);
    handler_output_clear (&out);
    s_expect_no_child ();
}

static void
test_exec_timeout_kills_process_group (void **state)
{
    char path[] = "/tmp/zjob-test-exec-XXXXXX";
    s_make_temp (path);
    char command[256];
    snprintf (command, sizeof command,
              "sh -c 'echo $$ > %s; sleep 30 & sleep 30; wait'", path);
    handler_output_t out;
    uint64_t start = clock_mono_ms ();
    assert_int_equal (s_exec (command, "", 0, 300, 1024, &out),
                      HANDLER_STOPPED);
    assert_true (clock_mono_ms () - start < 5000);
    pid_t group = s_read_pid (path);
    unlink (path);
    assert_true (group > 0);
    uint64_t until = clock_mono_ms () + 1000; /* SIGKILL lands async */
    while (s_group_alive (group) && clock_mono_ms () < until) {
        usleep (10000);
    }
    if (s_group_alive (group)) {
        fail_msg ("process group %d still has live processes", (int) group);
    }
    handler_output_clear (&out);
    s_expect_no_child ();
}

static void
test_exec_term_ignored_gets_kill (void **state)
{
    handler_output_t out;
    uint64_t start = clock_mono_ms ();
    assert_int_equal (s_exec ("sh -c 'trap \"\" TERM; sleep 30 & wait; "
                              "sleep 30'",
                              "", 0, 100, 1024, &out),
                      HANDLER_STOPPED);
    uint64_t took = clock_mono_ms () - start;
    assert_in_range (took, EXEC_KILL_GRACE_MS, EXEC_KILL_GRACE_MS + 3000);
    handler_output_clear (&out);
    s_expect_no_child ();
}

/* The pid written to path, or 0 while there is none yet. */
static pid_t
s_try_pid (const char *path)
{
    FILE *file = fopen (path, "r");
    long pid = 0;
    if (file && fscanf (file, "%ld", &pid) != 1) {
        pid = 0;
    }
    if (file) {
        fclose (file);
    }
    return (pid_t) pid;
}

/* True while pid exists and is not a zombie. */
static bool
s_pid_running (pid_t pid)
{
    char path[64], line[256] = "";
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file) {
        return false;
    }
    size_t n = fread (line, 1, sizeof line - 1, file);
    fclose (file);
    line[n] = '\0';
    const char *end = strrchr (line, ')');
    return !end || end[1] != ' ' || end[2] != 'Z';
}

/* The command dies with a SIGKILLed worker (here a forked process running
 * the job): its next step never runs. */
static void
test_exec_child_dies_with_worker (void **state)
{
    char path[] = "/tmp/zjob-test-exec-XXXXXX";
    s_make_temp (path);
    char command[256];
    snprintf (command, sizeof command,
              "sh -c 'echo $$ > %s; sleep 30; echo late > %s'", path, path);
    pid_t worker = fork ();
    assert_true (worker >= 0);
    if (worker == 0) {
        handler_output_t out;
        s_exec (command, "", 0, 0, 1024, &out);
        _exit (0);
    }
    pid_t sh = 0;
    uint64_t until = clock_mono_ms () + 5000;
    while ((sh = s_try_pid (path)) <= 0 && clock_mono_ms () < until) {
        usleep (10000);
    }
    kill (worker, SIGKILL);
    waitpid (worker, NULL, 0);
    until = clock_mono_ms () + 2000;
    while (sh > 0 && s_pid_running (sh) && clock_mono_ms () < until) {
        usleep (10000);
    }
    bool survived = sh > 0 && s_pid_running (sh);
    if (sh > 0) {
        kill (-sh, SIGKILL); /* its group: the sleep it started */
    }
    unlink (path);
    assert_true (sh > 0);
    if (survived) {
        fail_msg ("sh %d outlived the worker that ran it", (int) sh);
    }
    s_expect_no_child ();
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_exec_stdout_is_result),
        cmocka_unit_test (test_exec_environment),
        cmocka_unit_test (test_exec_exit_status_fails_with_stderr_tail),
        cmocka_unit_test (test_exec_signal_fails),
        cmocka_unit_test (test_exec_missing_command_fails),
        cmocka_unit_test (test_exec_big_payload_no_deadlock),
        cmocka_unit_test (test_exec_output_over_limit_fails),
        cmocka_unit_test (test_exec_ends_when_child_exits_despite_leftovers),
        cmocka_unit_test (test_exec_timeout_kills_process_group),
        cmocka_unit_test (test_exec_term_ignored_gets_kill),
        cmocka_unit_test (test_exec_child_dies_with_worker),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
