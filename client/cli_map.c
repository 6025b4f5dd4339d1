/* `zjob map`: pipelined submission with a bounded window and a reorder
 * buffer; see cli_map.h.
 *
 * Design notes: every input line gets a slot in the reorder buffer before
 * its job is sent, so the window bounds both the jobs in flight and the
 * results held. A batch's req_id maps to its first line; an accepted job's
 * id maps to its line. A result that overtakes its ack (possible when the
 * broker dispatches before it acknowledges) is kept aside until the ack
 * names its line. */
#include "client/cli_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli_args.h"
#include "client/idmap.h"
#include "client/reorder.h"
#include "common/clock.h"

#define MAP_POLL_MS     100
#define MAP_PROGRESS_MS 100

/* A result that arrived before its job's ack. */
typedef struct s_early {
    uint64_t id;          /* job id */
    bool failed;          /* not succeeded */
    char *data;           /* owned result bytes */
    size_t len;           /* bytes in data */
    char *error;          /* owned reason, NULL when none */
    struct s_early *next; /* next early result */
} s_early_t;

typedef struct {
    zjob_client_t *client;
    const client_map_options_t *options;
    client_reorder_t *reorder; /* lines in flight, in input order */
    client_idmap_t *lines;     /* job id -> line */
    client_idmap_t *batches;   /* req_id -> first line of the batch */
    s_early_t *early;          /* results that overtook their acks */
    FILE *in, *out, *err;
    char *buffer;                  /* getline buffer */
    size_t buffer_cap;             /* bytes allocated in buffer */
    bool eof;                      /* input exhausted */
    bool broken;                   /* out of memory or bad input: stop */
    uint64_t done, failed;         /* lines written, of which failed */
    uint64_t started_ms, drawn_ms; /* for the progress line */
} s_map_t;

/* Completes line with a result or failure; failure text from info. */
static void
s_complete (s_map_t *map, uint64_t line, uint64_t id, bool failed,
            const void *data, size_t len, const char *error)
{
    if (client_reorder_complete (map->reorder, line, id, failed, data, len,
                                 error) != 0) {
        map->broken = true;
    }
}

/* Reason a final job did not succeed: its error, else its state. */
static const char *
s_failure (const zjob_info_t *info)
{
    return *info->error ? info->error : zjob_state_name (info->state);
}

/* Keeps a result whose ack has not arrived yet. */
static void
s_keep_early (s_map_t *map, const zjob_info_t *info)
{
    s_early_t *early = calloc (1, sizeof *early);
    bool failed = info->state != ZJOB_STATE_SUCCEEDED;
    const char *reason = failed ? s_failure (info) : NULL;
    if (early) {
        early->data = malloc (info->result_len + 1);
        early->error = reason ? strdup (reason) : NULL;
    }
    if (!early || !early->data || (reason && !early->error)) {
        map->broken = true;
        return;
    }
    if (info->result_len > 0) {
        memcpy (early->data, info->result, info->result_len);
    }
    *early = (s_early_t){.id = info->id,
                         .failed = failed,
                         .data = early->data,
                         .len = info->result_len,
                         .error = early->error,
                         .next = map->early};
    map->early = early;
}

/* Completes line from a kept early result of id, if there is one. */
static bool
s_take_early (s_map_t *map, uint64_t id, uint64_t line)
{
    for (s_early_t **link = &map->early; *link; link = &(*link)->next) {
        s_early_t *early = *link;
        if (early->id == id) {
            s_complete (map, line, id, early->failed, early->data, early->len,
                        early->error);
            *link = early->next;
            free (early->data);
            free (early->error);
            free (early);
            return true;
        }
    }
    return false;
}

/* Payload bytes per Submit, well under the default 64 MiB message limit
 * even when the last line added is as large as a payload may be. */
#define MAP_BATCH_BYTES (8u << 20)

/* A batch's entry in map->batches: first line and job count packed. */
#define MAP_BATCH_BITS 16

static void
s_on_ack (s_map_t *map, const zjob_event_t *event)
{
    uint64_t packed;
    if (!client_idmap_take (map->batches, event->req_id, &packed)) {
        return;
    }
    uint64_t count = packed & ((1u << MAP_BATCH_BITS) - 1);
    uint64_t line = (packed >> MAP_BATCH_BITS) + event->index;
    if (event->index + 1 < count) {
        client_idmap_put (map->batches, event->req_id, packed);
    }
    if (event->err != ZJOB_OK) {
        s_complete (map, line, 0, true, "", 0, event->error);
    } else if (!s_take_early (map, event->id, line) &&
               client_idmap_put (map->lines, event->id, line) != 0) {
        map->broken = true;
    }
}

/* A whole batch was refused: every line of it fails with the reason. */
static void
s_on_error (s_map_t *map, const zjob_event_t *event)
{
    uint64_t packed;
    if (!client_idmap_take (map->batches, event->req_id, &packed)) {
        return;
    }
    uint64_t count = packed & ((1u << MAP_BATCH_BITS) - 1);
    uint64_t first = packed >> MAP_BATCH_BITS;
    for (uint64_t line = first; line < first + count; line++) {
        client_reorder_complete (map->reorder, line, 0, true, "", 0,
                                 event->error);
    }
}

static void
s_on_event (const zjob_event_t *event, void *arg)
{
    s_map_t *map = arg;
    uint64_t line;
    if (event->type == ZJOB_EVENT_ACK) {
        s_on_ack (map, event);
    } else if (event->type == ZJOB_EVENT_ERROR) {
        s_on_error (map, event);
    } else if (!client_idmap_take (map->lines, event->info->id, &line)) {
        s_keep_early (map, event->info);
    } else if (event->info->state == ZJOB_STATE_SUCCEEDED) {
        s_complete (map, line, event->info->id, false, event->info->result,
                    event->info->result_len, NULL);
    } else {
        s_complete (map, line, event->info->id, true, "", 0,
                    s_failure (event->info));
    }
}

/* Submits count jobs for the consecutive lines from first on, then frees
 * their payloads. Returns ZJOB_OK or the submit's error. */
static zjob_err_t
s_submit_batch (s_map_t *map, zjob_spec_t *specs, char **lines, size_t count,
                uint64_t first)
{
    zjob_err_t err = ZJOB_OK;
    uint64_t req_id;
    if (count > 0 && !map->broken &&
        (err = zjob_submit_async (map->client, specs, count, &req_id)) ==
            ZJOB_OK) {
        client_idmap_put (map->batches, req_id,
                          first << MAP_BATCH_BITS | count);
    }
    for (size_t i = 0; i < count; i++) {
        free (lines[i]);
        lines[i] = NULL;
    }
    return err;
}

/* Reads a whole file into a new buffer of *len bytes; NULL with errno set
 * when it cannot be read. */
static char *
s_read_file (const char *path, size_t *len)
{
    FILE *file = fopen (path, "rb");
    char *data = NULL;
    size_t cap = 0;
    if (!file) {
        return NULL;
    }
    errno = 0;
    FILE *sink = open_memstream (&data, &cap);
    char chunk[65536];
    size_t got;
    while (sink && (got = fread (chunk, 1, sizeof chunk, file)) > 0) {
        fwrite (chunk, 1, got, sink);
    }
    int failed = ferror (file) || !sink;
    if (sink) {
        fclose (sink);
    }
    fclose (file);
    if (failed) {
        free (data);
        errno = errno ? errno : EIO;
        return NULL;
    }
    *len = cap;
    return data;
}

/* Makes the payload of one input line (the line in map->buffer, len bytes):
 * the line itself, or with options->files the content of the file it names.
 * Returns false when there is no job to send; the line is then failed. */
static bool
s_line_payload (s_map_t *map, uint64_t line, size_t len, char **payload,
                size_t *payload_len)
{
    if (map->options->files) {
        *payload = s_read_file (map->buffer, payload_len);
        if (!*payload) {
            char why[512];
            snprintf (why, sizeof why, "cannot read %s: %s", map->buffer,
                      strerror (errno));
            s_complete (map, line, 0, true, "", 0, why);
        }
        return *payload != NULL;
    }
    *payload = malloc (len + 1);
    if (!*payload) {
        map->broken = true;
        return false;
    }
    memcpy (*payload, map->buffer, len + 1);
    *payload_len = len;
    return true;
}

/* Reads up to room lines (and about MAP_BATCH_BYTES of payload) and
 * submits them as one batch. Returns ZJOB_OK (also at end of input) or the
 * submit's error. */
static zjob_err_t
s_fill_batch (s_map_t *map, size_t room, zjob_spec_t *specs, char **lines)
{
    size_t count = 0;
    size_t bytes = 0;
    uint64_t first = 0, line;
    while (count < room && !map->eof && bytes < MAP_BATCH_BYTES) {
        ssize_t len = getline (&map->buffer, &map->buffer_cap, map->in);
        if (len < 0) {
            map->eof = true;
            map->broken = ferror (map->in) != 0;
            break;
        }
        if (len > 0 && map->buffer[len - 1] == '\n') {
            map->buffer[--len] = '\0';
        }
        if (!client_reorder_reserve (map->reorder, &line)) {
            map->broken = true;
            break;
        }
        if (count > 0 && line != first + count) {
            /* A line failed without a job: batches hold consecutive lines. */
            zjob_err_t err = s_submit_batch (map, specs, lines, count, first);
            count = 0;
            if (err != ZJOB_OK) {
                return err;
            }
        }
        size_t payload_len;
        if (!s_line_payload (map, line, (size_t) len, &lines[count],
                             &payload_len)) {
            continue;
        }
        first = count == 0 ? line : first;
        specs[count] = map->options->base;
        specs[count].payload = lines[count];
        specs[count++].payload_len = payload_len;
        bytes += payload_len;
    }
    return s_submit_batch (map, specs, lines, count, first);
}

/* Submits batches while the window has room and input lasts. */
static zjob_err_t
s_fill (s_map_t *map)
{
    const client_map_options_t *options = map->options;
    zjob_spec_t *specs = calloc (options->batch, sizeof *specs);
    char **lines = calloc (options->batch, sizeof *lines);
    zjob_err_t err = (specs && lines) ? ZJOB_OK : ZJOB_ENOMEM;
    while (err == ZJOB_OK && !map->eof && !map->broken) {
        size_t room = options->window - client_reorder_in_flight (map->reorder);
        if (room == 0) {
            break;
        }
        err = s_fill_batch (map, room < options->batch ? room : options->batch,
                            specs, lines);
    }
    free (lines);
    free (specs);
    return err;
}

/* Writes every line that is done at the head of the order. */
static void
s_flush (s_map_t *map)
{
    client_reorder_entry_t entry;
    bool wrote = false;
    while (client_reorder_pop (map->reorder, &entry)) {
        fwrite (entry.data, 1, client_trim_newline (entry.data, entry.len),
                map->out);
        fputc ('\n', map->out);
        if (entry.failed) {
            fflush (map->out); /* keep stdout and stderr lines in step */
            map->failed++;
            fprintf (map->err, "zjob: line %llu (job %llu): %s\n",
                     (unsigned long long) entry.line + 1,
                     (unsigned long long) entry.job_id,
                     entry.error ? entry.error : "failed");
        }
        map->done++;
        wrote = true;
        client_reorder_entry_clear (&entry);
    }
    if (wrote) {
        fflush (map->out);
    }
}

/* Redraws the progress line at most every MAP_PROGRESS_MS (or when final). */
static void
s_progress (s_map_t *map, bool final)
{
    uint64_t now = clock_mono_ms ();
    if (!map->options->progress ||
        (!final && now - map->drawn_ms < MAP_PROGRESS_MS)) {
        return;
    }
    map->drawn_ms = now;
    double seconds = (double) (now - map->started_ms) / 1000.0;
    fprintf (map->err,
             "\r\033[Kzjob map: %llu done, %llu failed, %zu in flight, "
             "%.0f jobs/s%s",
             (unsigned long long) map->done, (unsigned long long) map->failed,
             client_reorder_in_flight (map->reorder),
             seconds > 0 ? (double) map->done / seconds : 0.0,
             final ? "\n" : "");
    fflush (map->err);
}

/* The main loop: fill the window, poll, write what is in order. */
static zjob_err_t
s_loop (s_map_t *map)
{
    zjob_err_t err = ZJOB_OK;
    while (err == ZJOB_OK && !map->broken &&
           !(map->eof && client_reorder_in_flight (map->reorder) == 0)) {
        err = s_fill (map);
        if (err == ZJOB_OK && client_reorder_in_flight (map->reorder) > 0) {
            err = zjob_client_poll (map->client, MAP_POLL_MS, s_on_event, map);
        }
        s_flush (map);
        s_progress (map, false);
    }
    return err;
}

static void
s_map_free (s_map_t *map)
{
    while (map->early) {
        s_early_t *next = map->early->next;
        free (map->early->data);
        free (map->early->error);
        free (map->early);
        map->early = next;
    }
    client_reorder_destroy (&map->reorder);
    client_idmap_destroy (&map->lines);
    client_idmap_destroy (&map->batches);
    free (map->buffer);
}

int
client_map_run (zjob_client_t *client, const client_map_options_t *options,
                FILE *in, FILE *out, FILE *err)
{
    s_map_t map = {
        .client = client, .options = options, .in = in, .out = out, .err = err};
    map.reorder = client_reorder_new (options->window);
    map.lines = client_idmap_new (options->window);
    map.batches = client_idmap_new (options->window);
    map.started_ms = clock_mono_ms ();
    zjob_err_t rc = ZJOB_ENOMEM;
    if (map.reorder && map.lines && map.batches) {
        rc = s_loop (&map);
    }
    s_progress (&map, true);
    int code = map.failed ? CLI_EXIT_JOB : CLI_EXIT_OK;
    if (rc != ZJOB_OK) {
        fprintf (err, "zjob: map: %s: %s\n", zjob_strerror (rc),
                 zjob_client_error (client));
        code = client_exit_code (rc);
    } else if (map.broken) {
        fprintf (err, "zjob: map: out of memory or unreadable input\n");
        code = CLI_EXIT_USAGE;
    }
    s_map_free (&map);
    return code;
}
