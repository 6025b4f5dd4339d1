/* Unit tests for the documents of the broker's HTTP side (metrics.c):
 * Prometheus text, label escaping and the JSON of a snapshot. */
#include <jansson.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "broker/metrics.h"

/* A queue name with everything a label value must escape. */
#define ODD_NAME "a\"b\\c\nd"

static Zjob__QueueInfo s_queues[3];
static Zjob__QueueInfo *s_queue_refs[3];
static Zjob__WorkerInfo s_workers[2];
static Zjob__WorkerInfo *s_worker_refs[2];
static char *s_served[] = {"zeta", ODD_NAME};
static Zjob__Stats s_stats;
static Zjob__AdminReply s_snap;

/* Fills s_snap: three queues, two workers, some counters. */
static int
s_setup (void **state)
{
    const char *names[] = {"zeta", ODD_NAME, "alpha"};
    for (int i = 0; i < 3; i++) {
        zjob__queue_info__init (&s_queues[i]);
        s_queues[i].name = (char *) names[i];
        s_queues[i].queued = 5 + (uint64_t) i;
        s_queues[i].scheduled = 1;
        s_queues[i].succeeded = 100 * (uint64_t) i;
        s_queues[i].workers = 2;
        s_queue_refs[i] = &s_queues[i];
    }
    for (int i = 0; i < 2; i++) {
        zjob__worker_info__init (&s_workers[i]);
        s_workers[i].name = i ? "w<2>" : "w1";
        s_workers[i].queues = s_served;
        s_workers[i].n_queues = 2;
        s_workers[i].capacity = i ? 2 : 4;
        s_workers[i].running = i ? 2 : 1;
        s_workers[i].draining = i == 1;
        s_workers[i].done = 10;
        s_worker_refs[i] = &s_workers[i];
    }
    zjob__stats__init (&s_stats);
    s_stats.uptime_ms = 12345;
    s_stats.submitted = 9;
    s_stats.succeeded = 7;
    s_stats.failed = 1;
    s_stats.workers = 2;
    s_stats.journal_bytes = 4096;
    zjob__admin_reply__init (&s_snap);
    s_snap.stats = &s_stats;
    s_snap.queues = s_queue_refs;
    s_snap.n_queues = 3;
    s_snap.workers = s_worker_refs;
    s_snap.n_workers = 2;
    return 0;
}

static const metrics_info_t s_info = {.version = "9.9", .journal = false};

/* Renders the Prometheus text of s_snap; the caller frees it. */
static char *
s_prometheus (bool journal)
{
    metrics_info_t info = s_info;
    info.journal = journal;
    size_t len = 0;
    char *text = metrics_prometheus (&s_snap, &info, &len);
    assert_non_null (text);
    assert_int_equal (len, strlen (text));
    return text;
}

/* Fails, printing the text, unless line (with its newline) is in text. */
static void
s_assert_line (const char *text, const char *line)
{
    char *want = NULL;
    assert_true (asprintf (&want, "\n%s\n", line) > 0);
    if (!strstr (text, want)) {
        fail_msg ("missing line '%s' in:\n%s", line, text);
    }
    free (want);
}

static void
test_metrics_label_escaping (void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    assert_non_null (out);
    metrics_write_label (out, ODD_NAME);
    fputc ('|', out);
    metrics_write_label (out, "x\xffy\xc3\xa9");
    fclose (out);
    assert_string_equal (text, "a\\\"b\\\\c\\nd|x?y\xc3\xa9");
    free (text);
}

static void
test_metrics_prometheus_series (void **state)
{
    char *text = s_prometheus (false);
    s_assert_line (text, "# TYPE zjob_jobs_succeeded_total counter");
    s_assert_line (text, "zjob_jobs_succeeded_total 7");
    s_assert_line (text, "zjob_jobs_submitted_total 9");
    s_assert_line (text, "zjob_jobs_failed_total 1");
    s_assert_line (text, "zjob_workers 2");
    s_assert_line (text, "zjob_worker_slots 6");
    s_assert_line (text, "zjob_worker_slots_busy 3");
    s_assert_line (text, "zjob_workers_draining 1");
    s_assert_line (text, "zjob_queues 3");
    s_assert_line (text, "zjob_uptime_seconds 12.345");
    s_assert_line (text, "zjob_queue_queued{queue=\"a\\\"b\\\\c\\nd\"} 6");
    s_assert_line (text, "zjob_queue_succeeded_total{queue=\"alpha\"} 200");
    s_assert_line (text, "# TYPE zjob_queue_workers gauge");
    assert_null (strstr (text, "zjob_journal"));
    assert_non_null (strstr (text, "zjob_build_info{version=\"9.9\"} 1\n"));
    free (text);

    text = s_prometheus (true);
    s_assert_line (text, "zjob_journal_bytes 4096");
    s_assert_line (text, "# TYPE zjob_journal_syncs_total counter");
    free (text);
}

/* Checks one line of exposition; names holds " NAME " for each name
 * TYPEd so far. Returns NULL, or what is wrong. */
static const char *
s_check_line (const char *line, const regex_t *sample, char *names,
              size_t names_len)
{
    char name[128];
    char key[132];
    if (strncmp (line, "# HELP zjob_", 12) == 0) {
        return NULL;
    }
    if (sscanf (line, "# TYPE %127s", name) == 1) {
        size_t len = strlen (name);
        bool total = len > 6 && strcmp (name + len - 6, "_total") == 0;
        bool counter = strstr (line, " counter") != NULL;
        if (!counter && !strstr (line, " gauge")) {
            return "TYPE is neither counter nor gauge";
        }
        if (counter != total) {
            return "_total is not exactly on the counters";
        }
        snprintf (key, sizeof key, " %s ", name);
        strncat (names, key, names_len - strlen (names) - 1);
        return NULL;
    }
    if (line[0] == '#' || regexec (sample, line, 0, NULL, 0) != 0) {
        return "not a sample";
    }
    snprintf (key, sizeof key, " %.*s ", (int) strcspn (line, "{ "), line);
    return strstr (names, key) ? NULL : "sample before its TYPE";
}

static void
test_metrics_prometheus_valid (void **state)
{
    regex_t sample;
    const char *label = "[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\"";
    char pattern[512];
    snprintf (pattern, sizeof pattern,
              "^zjob_[a-z_]+(\\{%s(,%s)*\\})? -?[0-9]+(\\.[0-9]+)?$", label,
              label);
    assert_int_equal (regcomp (&sample, pattern, REG_EXTENDED | REG_NOSUB), 0);
    char *text = s_prometheus (true);
    char names[8192] = "";
    size_t lines = 0;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line;
         line = strtok_r (NULL, "\n", &save), lines++) {
        const char *why = s_check_line (line, &sample, names, sizeof names);
        if (why) {
            fail_msg ("%s: '%s'", why, line);
        }
    }
    assert_true (lines > 60);
    free (text);
    regfree (&sample);
}

static void
test_metrics_sort_queues (void **state)
{
    metrics_sort_queues (&s_snap);
    assert_string_equal (s_snap.queues[0]->name, ODD_NAME);
    assert_string_equal (s_snap.queues[1]->name, "alpha");
    assert_string_equal (s_snap.queues[2]->name, "zeta");
}

/* Renders one JSON document of s_snap and parses it. */
static json_t *
s_json (metrics_render_fn *render)
{
    size_t len = 0;
    char *text = render (&s_snap, &s_info, &len);
    assert_non_null (text);
    json_error_t error;
    json_t *value = json_loadb (text, len, 0, &error);
    if (!value) {
        fail_msg ("not JSON (%s): %s", error.text, text);
    }
    free (text);
    return value;
}

static void
test_metrics_json_queues (void **state)
{
    json_t *queues = s_json (metrics_json_queues);
    assert_true (json_is_array (queues));
    assert_int_equal (json_array_size (queues), 3);
    json_t *odd = json_array_get (queues, 1);
    assert_string_equal (json_string_value (json_object_get (odd, "name")),
                         ODD_NAME);
    assert_int_equal (json_integer_value (json_object_get (odd, "queued")), 6);
    assert_int_equal (json_integer_value (json_object_get (odd, "workers")), 2);
    assert_int_equal (json_object_size (odd), 7);
    json_decref (queues);
}

static void
test_metrics_json_workers (void **state)
{
    json_t *workers = s_json (metrics_json_workers);
    assert_int_equal (json_array_size (workers), 2);
    json_t *second = json_array_get (workers, 1);
    assert_string_equal (json_string_value (json_object_get (second, "name")),
                         "w<2>");
    assert_true (json_is_true (json_object_get (second, "draining")));
    json_t *served = json_object_get (second, "queues");
    assert_int_equal (json_array_size (served), 2);
    assert_string_equal (json_string_value (json_array_get (served, 1)),
                         ODD_NAME);
    json_decref (workers);
}

static void
test_metrics_json_stats (void **state)
{
    json_t *stats = s_json (metrics_json_stats);
    assert_int_equal (json_integer_value (json_object_get (stats, "succeeded")),
                      7);
    assert_int_equal (
        json_integer_value (json_object_get (stats, "journal_bytes")), 4096);
    assert_int_equal (json_integer_value (json_object_get (stats, "uptime_ms")),
                      12345);
    assert_int_equal (json_object_size (stats), 21);
    json_decref (stats);
}

/* A broker with nothing yet: empty lists, zero counters, still valid. */
static void
test_metrics_empty_snapshot (void **state)
{
    Zjob__AdminReply empty = ZJOB__ADMIN_REPLY__INIT;
    size_t len = 0;
    char *text = metrics_json_queues (&empty, &s_info, &len);
    assert_string_equal (text, "[]");
    free (text);
    text = metrics_json_stats (&empty, &s_info, &len);
    assert_non_null (strstr (text, "\"succeeded\":0"));
    free (text);
    text = metrics_prometheus (&empty, &s_info, &len);
    assert_non_null (strstr (text, "\nzjob_worker_slots 0\n"));
    assert_null (strstr (text, "{queue="));
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_metrics_label_escaping, s_setup),
        cmocka_unit_test_setup (test_metrics_prometheus_series, s_setup),
        cmocka_unit_test_setup (test_metrics_prometheus_valid, s_setup),
        cmocka_unit_test_setup (test_metrics_sort_queues, s_setup),
        cmocka_unit_test_setup (test_metrics_json_queues, s_setup),
        cmocka_unit_test_setup (test_metrics_json_workers, s_setup),
        cmocka_unit_test_setup (test_metrics_json_stats, s_setup),
        cmocka_unit_test_setup (test_metrics_empty_snapshot, s_setup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
