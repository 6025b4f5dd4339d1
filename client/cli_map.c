/* `zjob map`: pipelined submission with a bounded window and a reorder
 * buffer; see cli_map.h.
 *
 * Design notes: every input line gets a slot in the reorder buffer before
 * its job is sent, so the window bounds the jobs in flight, the payloads
 * kept and the results held. Each line's payload and idempotency key stay
 * in its slot until the broker accepts the job: a job refused with "busy"
 * is sent again, with the same key, and no new line is sent meanwhile.
 * Against a busy broker an in-flight limit (flow.h) bounds the jobs at the
 * broker (sent and unanswered, or accepted and unfinished): a refusal cuts
 * it in half, acceptances grow it back towards the window. Refused jobs
 * then go again in small amounts, as results make room; only when none of
 * our jobs is at the broker (a queue full of other clients' jobs) does a
 * timer pace them (5 ms doubling to 200 ms, with jitter, started over by
 * any acceptance). A batch's req_id
 * maps to the list of its lines; an accepted job's id maps to its line.
 * A result that overtakes its ack (possible when the broker dispatches
 * before it acknowledges) is kept aside until the ack names its line.
 * Broker restarts are the library's business: it sends unacknowledged
 * batches again and waits again for accepted jobs, delivering each result
 * once. */
#include "client/cli_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/backoff.h"
#include "client/cli_args.h"
#include "client/flow.h"
#include "client/idmap.h"
#include "client/reorder.h"
#include "common/clock.h"

#define MAP_POLL_MS       100
#define MAP_PROGRESS_MS   100
#define MAP_BUSY_FIRST_MS 5
#define MAP_BUSY_MAX_MS   200

/* A result that arrived before its job's ack. */
typedef struct s_early {
    uint64_t id;          /* job id */
    bool failed;          /* not succeeded */
    char *data;           /* owned result bytes */
    size_t len;           /* bytes in data */
    char *error;          /* owned reason, NULL when none */
    struct s_early *next; /* next early result */
} s_early_t;

/* A line's job until the broker accepts it. */
typedef struct {
    char *payload;          /* owned: the job's payload, NULL once accepted */
    size_t len;             /* bytes in payload */
    char key[ZJOB_KEY_LEN]; /* its idempotency key, the same on every send */
} s_slot_t;

/* The lines of one Submit, in the order of its jobs. */
typedef struct {
    size_t count;    /* jobs in the Submit */
    size_t acked;    /* acks seen so far */
    uint64_t round;  /* the in-flight limit's round when it was sent */
    uint64_t line[]; /* line of each job */
} s_batch_t;

typedef struct {
    zjob_client_t *client;
    const client_map_options_t *options;
    client_reorder_t *reorder;      /* lines in flight, in input order */
    client_idmap_t *lines;          /* job id -> line */
    client_idmap_t *batches;        /* req_id -> s_batch_t * */
    s_slot_t *slots;                /* per line in flight: line % window */
    uint64_t *retry;                /* ring of lines refused as busy */
    size_t retry_head, retry_count; /* the ring's oldest entry, its size */
    client_backoff_t backoff;       /* delay before sending busy lines again */
    uint64_t retry_at_ms;           /* monotonic: when to send them */
    client_flow_t flow;             /* how many jobs may be at the broker */
    size_t unacked;                 /* jobs sent, not answered yet */
    size_t open;                    /* jobs accepted, result not in yet */
    bool busy_seen, accepted; /* in the last poll: busy acks, accepted ones */
    s_early_t *early;         /* results that overtook their acks */
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

/* The slot of line. */
static s_slot_t *
s_slot (s_map_t *map, uint64_t line)
{
    return &map->slots[line % map->options->window];
}

/* Frees the payload of line: its job was accepted or its line is done. */
static void
s_slot_clear (s_map_t *map, uint64_t line)
{
    s_slot_t *slot = s_slot (map, line);
    free (slot->payload);
    slot->payload = NULL;
}

/* Queues line to be sent again after the backoff. */
static void
s_retry_push (s_map_t *map, uint64_t line)
{
    size_t window = map->options->window;
    map->retry[(map->retry_head + map->retry_count++) % window] = line;
    map->busy_seen = true;
}

/* Fails line without a result, with reason. */
static void
s_fail_line (s_map_t *map, uint64_t line, const char *reason)
{
    s_slot_clear (map, line);
    s_complete (map, line, 0, true, "", 0, reason);
}

/* Answers one job of a batch: accepted, busy (try later) or refused. */
static void
s_on_ack (s_map_t *map, const zjob_event_t *event)
{
    uint64_t value;
    if (!client_idmap_take (map->batches, event->req_id, &value)) {
        return;
    }
    s_batch_t *batch = (s_batch_t *) (uintptr_t) value;
    uint64_t line =
        event->index < batch->count ? batch->line[event->index] : UINT64_MAX;
    uint64_t round = batch->round;
    map->unacked--;
    if (++batch->acked < batch->count) {
        client_idmap_put (map->batches, event->req_id, value);
    } else {
        free (batch);
    }
    if (line == UINT64_MAX) {
        return;
    }
    if (event->err == ZJOB_EBUSY) {
        client_flow_busy (&map->flow, round, map->open);
        s_retry_push (map, line);
    } else if (event->err != ZJOB_OK) {
        s_fail_line (map, line, event->error);
    } else {
        map->accepted = true;
        client_flow_accepted (&map->flow);
        s_slot_clear (map, line);
        if (s_take_early (map, event->id, line)) {
            return;
        }
        map->open++;
        if (client_idmap_put (map->lines, event->id, line) != 0) {
            map->broken = true;
        }
    }
}

/* A whole batch was refused: busy lines go again later, others fail. */
static void
s_on_error (s_map_t *map, const zjob_event_t *event)
{
    uint64_t value;
    if (!client_idmap_take (map->batches, event->req_id, &value)) {
        return;
    }
    s_batch_t *batch = (s_batch_t *) (uintptr_t) value;
    map->unacked -= batch->count - batch->acked;
    if (event->err == ZJOB_EBUSY) {
        client_flow_busy (&map->flow, batch->round, map->open);
    }
    for (size_t i = batch->acked; i < batch->count; i++) {
        if (event->err == ZJOB_EBUSY) {
            s_retry_push (map, batch->line[i]);
        } else {
            s_fail_line (map, batch->line[i], event->error);
        }
    }
    free (batch);
}

/* Completes the line of a final job, or keeps its result until its ack. */
static void
s_on_result (s_map_t *map, const zjob_info_t *info)
{
    uint64_t line;
    if (!client_idmap_take (map->lines, info->id, &line)) {
        s_keep_early (map, info);
        return;
    }
    map->open--;
    if (info->state == ZJOB_STATE_SUCCEEDED) {
        s_complete (map, line, info->id, false, info->result, info->result_len,
                    NULL);
    } else {
        s_complete (map, line, info->id, true, "", 0, s_failure (info));
    }
}

static void
s_on_event (const zjob_event_t *event, void *arg)
{
    s_map_t *map = arg;
    if (event->type == ZJOB_EVENT_ACK) {
        s_on_ack (map, event);
    } else if (event->type == ZJOB_EVENT_ERROR) {
        s_on_error (map, event);
    } else {
        s_on_result (map, event->info);
    }
}

/* Submits the jobs of lines[0, count) (payloads and keys from their
 * slots) as one batch. Returns ZJOB_OK or the submit's error. */
static zjob_err_t
s_submit_lines (s_map_t *map, const uint64_t *lines, size_t count,
                zjob_spec_t *specs)
{
    if (count == 0 || map->broken) {
        return ZJOB_OK;
    }
    s_batch_t *batch = malloc (sizeof *batch + count * sizeof (uint64_t));
    if (!batch) {
        map->broken = true;
        return ZJOB_OK;
    }
    *batch = (s_batch_t){.count = count, .round = map->flow.round};
    for (size_t i = 0; i < count; i++) {
        s_slot_t *slot = s_slot (map, lines[i]);
        batch->line[i] = lines[i];
        specs[i] = map->options->base;
        specs[i].payload = slot->payload;
        specs[i].payload_len = slot->len;
        specs[i].key = slot->key;
    }
    uint64_t req_id;
    zjob_err_t err = zjob_submit_async (map->client, specs, count, &req_id);
    if (err != ZJOB_OK ||
        client_idmap_put (map->batches, req_id, (uintptr_t) batch) != 0) {
        free (batch);
        map->broken = map->broken || err == ZJOB_OK;
    } else {
        map->unacked += count;
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
s_fill_batch (s_map_t *map, size_t room, zjob_spec_t *specs, uint64_t *lines)
{
    size_t count = 0;
    size_t bytes = 0;
    uint64_t line;
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
        s_slot_t *slot = s_slot (map, line);
        s_slot_clear (map, line);
        if (!s_line_payload (map, line, (size_t) len, &slot->payload,
                             &slot->len)) {
            continue;
        }
        zjob_client_new_key (map->client, slot->key, sizeof slot->key);
        lines[count++] = line;
        bytes += slot->len;
    }
    return s_submit_lines (map, lines, count, specs);
}

/* How many more jobs the in-flight limit lets go to the broker now. */
static size_t
s_flow_room (const s_map_t *map)
{
    return client_flow_room (&map->flow, map->unacked + map->open);
}

/* Sends lines refused as busy again, as many as the in-flight limit has
 * room for: paced by our own results while jobs of ours are accepted and
 * unfinished, else by the backoff. Returns ZJOB_OK or the submit's error. */
static zjob_err_t
s_fill_retries (s_map_t *map, zjob_spec_t *specs, uint64_t *lines)
{
    zjob_err_t err = ZJOB_OK;
    size_t window = map->options->window;
    if (map->open == 0 && clock_mono_ms () < map->retry_at_ms) {
        return ZJOB_OK;
    }
    size_t room;
    while (err == ZJOB_OK && map->retry_count > 0 &&
           (room = s_flow_room (map)) > 0) {
        size_t count = 0;
        size_t bytes = 0;
        while (count < map->options->batch && count < room &&
               map->retry_count > 0 && bytes < MAP_BATCH_BYTES) {
            lines[count] = map->retry[map->retry_head];
            bytes += s_slot (map, lines[count++])->len;
            map->retry_head = (map->retry_head + 1) % window;
            map->retry_count--;
        }
        err = s_submit_lines (map, lines, count, specs);
    }
    return err;
}

/* Submits batches while the window and the in-flight limit have room and
 * input lasts; while busy lines wait to go again, nothing new is sent. */
static zjob_err_t
s_fill (s_map_t *map)
{
    const client_map_options_t *options = map->options;
    zjob_spec_t *specs = calloc (options->batch, sizeof *specs);
    uint64_t *lines = calloc (options->batch, sizeof *lines);
    zjob_err_t err = (specs && lines) ? ZJOB_OK : ZJOB_ENOMEM;
    if (err == ZJOB_OK && map->retry_count > 0) {
        err = s_fill_retries (map, specs, lines);
    }
    while (err == ZJOB_OK && map->retry_count == 0 && !map->eof &&
           !map->broken) {
        size_t room = options->window - client_reorder_in_flight (map->reorder);
        size_t flow = s_flow_room (map);
        room = flow < room ? flow : room;
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
            const char *error = entry.error ? entry.error : "failed";
            if (entry.job_id) {
                fprintf (map->err, "zjob: line %llu (job %llu): %s\n",
                         (unsigned long long) entry.line + 1,
                         (unsigned long long) entry.job_id, error);
            } else { /* refused: it never became a job */
                fprintf (map->err, "zjob: line %llu: %s\n",
                         (unsigned long long) entry.line + 1, error);
            }
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

/* After a poll: an acceptance starts the backoff over, busy acks push
 * the next timed retry further off. */
static void
s_backoff_update (s_map_t *map)
{
    if (map->accepted) {
        client_backoff_reset (&map->backoff);
    }
    if (map->busy_seen) {
        uint64_t random = ((uint64_t) rand () << 31) ^ (uint64_t) rand ();
        map->retry_at_ms =
            clock_mono_ms () + client_backoff_step (&map->backoff, random);
    }
    map->busy_seen = false;
    map->accepted = false;
}

/* How long the next poll may wait: until busy lines are due at most. */
static int
s_poll_ms (const s_map_t *map)
{
    uint64_t now = clock_mono_ms ();
    if (map->retry_count == 0 || map->open > 0 ||
        map->retry_at_ms >= now + MAP_POLL_MS) {
        return MAP_POLL_MS;
    }
    return map->retry_at_ms > now ? (int) (map->retry_at_ms - now) : 0;
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
            err = zjob_client_poll (map->client, s_poll_ms (map), s_on_event,
                                    map);
        }
        s_backoff_update (map);
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
    uint64_t req_id, value;
    size_t cursor = 0;
    while (map->batches && client_idmap_next (map->batches, &cursor, &req_id)) {
        client_idmap_take (map->batches, req_id, &value);
        free ((s_batch_t *) (uintptr_t) value);
        cursor = 0; /* the map changed: start over */
    }
    for (size_t i = 0; map->slots && i < map->options->window; i++) {
        free (map->slots[i].payload);
    }
    free (map->slots);
    free (map->retry);
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
    map.slots = calloc (options->window, sizeof *map.slots);
    map.retry = calloc (options->window, sizeof *map.retry);
    client_backoff_init (&map.backoff, MAP_BUSY_FIRST_MS, MAP_BUSY_MAX_MS);
    client_flow_init (&map.flow, options->window);
    srand ((unsigned) clock_mono_ms ());
    map.started_ms = clock_mono_ms ();
    zjob_err_t rc = ZJOB_ENOMEM;
    if (map.reorder && map.lines && map.batches && map.slots && map.retry) {
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
