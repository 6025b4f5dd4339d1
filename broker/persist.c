/* What the journal says about jobs: the record of each change, replay at
 * start, and compaction while the broker runs.
 *
 * Design notes
 * - Write-ahead: every state change of a job appends one JournalJob record
 *   (broker_persist_job, from broker_job_transition and the few places that
 *   change a job without a transition). The first record of a job is full
 *   (spec and payload); later ones carry only what changes. A peer never
 *   sees a change before its record is durable: replies that reveal one
 *   (SubmitReply, Dispatch, DoneAck, Results, CancelReply) wait in the
 *   outbox until then (broker.c).
 * - Replay rebuilds the job table from the records, then settles each job:
 *   queued and scheduled jobs go back in line (in id order, so FIFO holds),
 *   running ones stay RUNNING without a worker for one liveness window so
 *   that their worker can re-register and claim them (it lists them in
 *   Register.holding), then go back in line; finished ones stay answerable
 *   until their result time is over. Nothing is journaled during replay.
 * - Compaction: when the journal has grown past max(journal-compact, twice
 *   the live size), or has more than 16 segments, the journal switches to
 *   a new segment, a cursor walks a list of the ids that were live then
 *   and writes a full record of each (a few thousand per loop turn, so the
 *   loop keeps serving), and once the last one is appended the older
 *   segments are deleted when durable. Records of changes made meanwhile
 *   land in the new segment too; since a full record is written from the
 *   job's state at that moment, replaying the new segment alone gives the
 *   current state.
 * - Ids: each segment starts with a record of the next id, so ids stay
 *   unique across restarts even when every job has been forgotten.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/broker_impl.h"
#include "broker/journal.h"
#include "broker/jrecord.h"
#include "common/clock.h"
#include "common/pbarena.h"

/* Segments (each start of the broker opens one) before a compaction
 * folds them into one, however small they are. */
#define PERSIST_MAX_SEGMENTS 16

/* Full records written per loop turn while compacting. */
#define PERSIST_COMPACT_STEP 4096

/* Converts a monotonic due time into unix ms (0 stays 0). */
static uint64_t
s_to_wall (uint64_t mono_ms, uint64_t now_mono, uint64_t now_wall)
{
    if (mono_ms == 0) {
        return 0;
    }
    return mono_ms >= now_mono ? now_wall + (mono_ms - now_mono)
                               : now_wall - (now_mono - mono_ms);
}

/* Converts unix ms into a monotonic due time, never before now. */
static uint64_t
s_to_mono (uint64_t wall_ms, uint64_t now_mono, uint64_t now_wall)
{
    return wall_ms > now_wall ? now_mono + (wall_ms - now_wall) : now_mono;
}

/* Fills the spec part of a full record. */
static void
s_record_spec (const job_t *job, Zjob__JournalJob *rec, uint64_t now_mono,
               uint64_t now_wall)
{
    rec->full = true;
    rec->queue = job->queue->name;
    rec->payload.data = job->payload;
    rec->payload.len = job->payload_len;
    rec->priority = job->priority;
    rec->max_attempts = job->max_attempts;
    rec->deadline_ms = s_to_wall (job->deadline_ms, now_mono, now_wall);
    rec->key = job->key ? job->key : "";
    rec->created_ms = job->created_ms;
}

/* Fills rec from job; pointers borrow the job's strings and bytes. The
 * clocks are read only for records that convert a time (most do not). */
static void
s_record_fill (const job_t *job, bool full, Zjob__JournalJob *rec)
{
    bool times = full || job->state == ZJOB__STATE__STATE_SCHEDULED;
    uint64_t now_mono = times ? clock_mono_ms () : 0;
    uint64_t now_wall = times ? clock_wall_ms () : 0;
    zjob__journal_job__init (rec);
    rec->id = job->id;
    rec->state = (Zjob__State) job->state;
    rec->attempt = job->attempt;
    rec->failures = job->failures;
    rec->lost = job->lost;
    rec->cancel_requested = job->cancel_requested;
    rec->started_ms = job->started_ms;
    if (job->state == ZJOB__STATE__STATE_SCHEDULED) {
        rec->run_at_ms = s_to_wall (job->timer_ms, now_mono, now_wall);
    }
    if (job_is_final (job)) {
        rec->finished_ms = job->finished_ms;
        rec->result.data = job->result;
        rec->result.len = job->result_len;
        rec->error = job->error ? job->error : "";
        rec->worker = job->worker ? job->worker->name : "";
    }
    if (full) {
        s_record_spec (job, rec, now_mono, now_wall);
    }
}

/* Appends rec; a record the journal cannot take is fatal in spirit (the
 * change would not survive a restart), so it is logged loudly. */
static void
s_append (broker_t *self, const Zjob__JournalJob *rec)
{
    uint8_t *body = journal_reserve (self->journal, jrecord_bound (rec));
    if (body) {
        journal_append_reserved (self->journal, jrecord_encode (rec, body));
    } else {
        LOG_ERROR ("journal_append_failed",
                   "job=%" PRIu64 " reason=out_of_memory", rec->id);
    }
}

void
broker_persist_job (broker_t *self, job_t *job)
{
    if (!self->journal || self->replaying) {
        return;
    }
    Zjob__JournalJob rec;
    s_record_fill (job, !job->journaled, &rec);
    job->journaled = true;
    s_append (self, &rec);
}

void
broker_persist_forget (broker_t *self, job_t *job)
{
    if (!self->journal || !job->journaled) {
        return;
    }
    Zjob__JournalJob rec = ZJOB__JOURNAL_JOB__INIT;
    rec.id = job->id;
    rec.forget = true;
    s_append (self, &rec);
}

/* Appends the next-id record that opens a segment. */
static void
s_append_next_id (broker_t *self)
{
    Zjob__JournalJob rec = ZJOB__JOURNAL_JOB__INIT;
    rec.next_id = self->next_id;
    s_append (self, &rec);
}

/* ---- replay ---- */

/* Copies the bytes of src into a fresh allocation (NULL for none). */
static uint8_t *
s_bytes_dup (ProtobufCBinaryData src, uint32_t *len)
{
    *len = 0;
    if (!src.len) {
        return NULL;
    }
    uint8_t *copy = malloc (src.len);
    if (copy) {
        memcpy (copy, src.data, src.len);
        *len = (uint32_t) src.len;
    }
    return copy;
}

/* Returns the stand-in worker record for a finished job's worker name. */
static worker_t *
s_ghost_worker (broker_t *self, zhashx_t *ghosts, const char *name)
{
    if (!name || !name[0]) {
        return NULL;
    }
    worker_t *ghost = zhashx_lookup (ghosts, name);
    if (!ghost && (ghost = dispatch_worker_new (name, 1, 0))) {
        ghost->gone = true;
        zhashx_insert (ghosts, name, ghost);
    }
    if (ghost) {
        ghost->refs++;
    }
    return ghost;
}

/* What replay carries between records. */
typedef struct {
    broker_t *broker;
    zhashx_t *ghosts;  /* worker name -> stand-in worker_t (one ref) */
    pbarena_t *arena;  /* each record is unpacked here, then reset */
    uint64_t orphans;  /* change records for jobs never seen in full */
    uint64_t unusable; /* records that did not decode */
} replay_t;

/* Applies the changing part of rec to job. */
static void
s_apply_change (replay_t *replay, job_t *job, const Zjob__JournalJob *rec)
{
    job->state = (uint8_t) rec->state;
    job->attempt = (uint16_t) rec->attempt;
    job->failures = (uint16_t) rec->failures;
    job->lost = (uint8_t) (rec->lost > 255 ? 255 : rec->lost);
    job->cancel_requested = rec->cancel_requested;
    job->started_ms = rec->started_ms;
    job->timer_ms = rec->run_at_ms; /* unix ms until the job settles */
    if (rec->state < ZJOB__STATE__STATE_SUCCEEDED) {
        return;
    }
    job->finished_ms = rec->finished_ms;
    free (job->result);
    job->result = s_bytes_dup (rec->result, &job->result_len);
    free (job->error);
    job->error = rec->error && rec->error[0] ? strdup (rec->error) : NULL;
    dispatch_worker_unref (&job->worker);
    job->worker = s_ghost_worker (replay->broker, replay->ghosts, rec->worker);
    if (rec->state != ZJOB__STATE__STATE_DEAD) {
        free (job->payload);
        job->payload = NULL;
        job->payload_len = 0;
    }
}

/* Creates (or replaces) a job from a full record. */
static void
s_apply_full (replay_t *replay, const Zjob__JournalJob *rec)
{
    broker_t *self = replay->broker;
    job_t *old = jobtable_remove (self->jobs, rec->id);
    if (old) {
        broker_job_free (old);
    }
    queue_t *queue = broker_queue_get (self, rec->queue);
    job_t *job = queue ? calloc (1, sizeof *job) : NULL;
    if (!job) {
        replay->unusable++;
        return;
    }
    job->id = rec->id;
    job->queue = queue;
    job->payload = s_bytes_dup (rec->payload, &job->payload_len);
    job->priority = rec->priority;
    job->max_attempts = (uint16_t) rec->max_attempts;
    job->deadline_ms = rec->deadline_ms; /* unix ms until it settles */
    job->key = rec->key && rec->key[0] ? strdup (rec->key) : NULL;
    job->created_ms = rec->created_ms;
    job->journaled = true;
    s_apply_change (replay, job, rec);
    if (jobtable_insert (self->jobs, job) != 0) {
        broker_job_free (job);
        replay->unusable++;
    }
}

/* journal_visit_fn: applies one record. */
static void
s_replay_visit (const uint8_t *body, size_t len, void *arg)
{
    replay_t *replay = arg;
    broker_t *self = replay->broker;
    pbarena_reset (replay->arena);
    Zjob__JournalJob *rec = zjob__journal_job__unpack (
        pbarena_allocator (replay->arena), len, body);
    if (!rec) {
        replay->unusable++;
        return;
    }
    if (rec->id == 0) {
        if (rec->next_id > self->next_id) {
            self->next_id = rec->next_id;
        }
    } else if (rec->forget) {
        job_t *job = jobtable_remove (self->jobs, rec->id);
        if (job) {
            broker_job_free (job);
        }
    } else if (rec->full) {
        s_apply_full (replay, rec);
    } else {
        job_t *job = jobtable_find (self->jobs, rec->id);
        if (job) {
            s_apply_change (replay, job, rec);
        } else {
            replay->orphans++;
        }
    }
    if (rec->id >= self->next_id) {
        self->next_id = rec->id + 1;
    }
}

/* Collects every job of the table (jobtable_each callback). */
typedef struct {
    job_t **jobs;
    size_t count;
} job_list_t;

static void
s_collect (job_t *job, void *arg)
{
    job_list_t *list = arg;
    list->jobs[list->count++] = job;
}

static int
s_by_id (const void *a, const void *b)
{
    const job_t *x = *(job_t *const *) a;
    const job_t *y = *(job_t *const *) b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Puts every replayed job in place, oldest first. Returns 0 or -1. */
static int
s_settle_all (broker_t *self)
{
    job_list_t list = {NULL, 0};
    size_t count = jobtable_size (self->jobs);
    list.jobs = calloc (count + 1, sizeof *list.jobs);
    if (!list.jobs) {
        return -1;
    }
    jobtable_each (self->jobs, s_collect, &list);
    qsort (list.jobs, list.count, sizeof *list.jobs, s_by_id);
    uint64_t now_mono = clock_mono_ms ();
    uint64_t now_wall = clock_wall_ms ();
    for (size_t i = 0; i < list.count; i++) {
        job_t *job = list.jobs[i];
        job->deadline_ms =
            job->deadline_ms ? s_to_mono (job->deadline_ms, now_mono, now_wall)
                             : 0;
        job->timer_ms = s_to_mono (job->timer_ms, now_mono, now_wall);
        broker_job_restore (self, job, now_wall);
    }
    free (list.jobs);
    return 0;
}

/* Logs what the replay found. */
static void
s_log_replay (broker_t *self, const journal_replay_t *found,
              const replay_t *replay, uint64_t took_ms)
{
    /* Change records of jobs whose full record comes later are normal
     * after a compaction (see the design notes): they are counted, not
     * reported as losses. */
    LOG_INFO ("journal_replayed",
              "dir=%s segments=%" PRIu64 " records=%" PRIu64 " bytes=%" PRIu64
              " jobs=%zu queued=%" PRIu64 " running=%" PRIu64
              " superseded=%" PRIu64 " took_ms=%" PRIu64,
              self->config.journal_dir, found->segments, found->records,
              found->bytes, jobtable_size (self->jobs), self->stats.queued,
              self->stats.running, replay->orphans, took_ms);
    if (found->damaged || replay->unusable) {
        LOG_WARN ("journal_losses",
                  "dropped_bytes=%" PRIu64 " damaged=%" PRIu64
                  " unusable_records=%" PRIu64,
                  found->dropped_bytes, found->damaged, replay->unusable);
    }
}

/* Frees the stand-in workers' replay references. */
static void
s_ghosts_free (zhashx_t **ghosts)
{
    for (worker_t *w = zhashx_first (*ghosts); w; w = zhashx_next (*ghosts)) {
        dispatch_worker_unref (&w);
    }
    zhashx_destroy (ghosts);
}

int
broker_persist_open (broker_t *self)
{
    const char *dir = self->config.journal_dir;
    if (!dir || !dir[0]) {
        return 0;
    }
    self->journal = journal_open (dir, self->config.fsync);
    if (!self->journal) {
        return -1;
    }
    uint64_t started = clock_mono_ms ();
    replay_t replay = {self, zhashx_new (), pbarena_new (4096), 0, 0};
    journal_replay_t found;
    self->replaying = true;
    int rc =
        replay.ghosts && replay.arena
            ? journal_replay (self->journal, s_replay_visit, &replay, &found)
            : -1;
    if (rc == 0) {
        rc = s_settle_all (self);
    }
    self->replaying = false;
    if (replay.ghosts) {
        s_ghosts_free (&replay.ghosts);
    }
    pbarena_destroy (&replay.arena);
    if (rc == 0) {
        self->stats.recovered = jobtable_size (self->jobs);
        s_log_replay (self, &found, &replay, clock_mono_ms () - started);
    }
    return rc;
}

int
broker_persist_start (broker_t *self)
{
    if (!self->journal) {
        return 0;
    }
    if (journal_start (self->journal) != 0) {
        return -1;
    }
    s_append_next_id (self);
    journal_commit (self->journal);
    return 0;
}

/* ---- compaction ---- */

/* Starts a compaction: a new segment and the list of ids live now. */
static void
s_compact_begin (broker_t *self)
{
    job_list_t list = {NULL, 0};
    size_t count = jobtable_size (self->jobs);
    list.jobs = calloc (count + 1, sizeof *list.jobs);
    self->compact_ids = calloc (count + 1, sizeof *self->compact_ids);
    if (!list.jobs || !self->compact_ids) {
        free (list.jobs);
        free (self->compact_ids);
        self->compact_ids = NULL;
        return;
    }
    jobtable_each (self->jobs, s_collect, &list);
    qsort (list.jobs, list.count, sizeof *list.jobs, s_by_id);
    for (size_t i = 0; i < list.count; i++) {
        self->compact_ids[i] = list.jobs[i]->id;
    }
    free (list.jobs);
    self->compact_count = list.count;
    self->compact_pos = 0;
    self->compact_started = journal_size (self->journal);
    journal_rotate (self->journal);
    s_append_next_id (self);
    LOG_INFO ("journal_compacting", "jobs=%zu journal_bytes=%" PRIu64,
              list.count, self->compact_started);
}

/* Writes the next step of full records; ends the compaction after the
 * last one. */
static void
s_compact_step (broker_t *self)
{
    size_t end = self->compact_pos + PERSIST_COMPACT_STEP;
    if (end > self->compact_count) {
        end = self->compact_count;
    }
    for (; self->compact_pos < end; self->compact_pos++) {
        job_t *job =
            jobtable_find (self->jobs, self->compact_ids[self->compact_pos]);
        if (job) {
            Zjob__JournalJob rec;
            s_record_fill (job, true, &rec);
            s_append (self, &rec);
        }
    }
    if (self->compact_pos < self->compact_count) {
        return;
    }
    free (self->compact_ids);
    self->compact_ids = NULL;
    self->compact_live = journal_segment_bytes (self->journal);
    journal_drop_old (self->journal);
    LOG_INFO ("journal_compacted",
              "jobs=%zu before_bytes=%" PRIu64 " after_bytes=%" PRIu64,
              self->compact_count, self->compact_started, self->compact_live);
}

void
broker_persist_turn (broker_t *self)
{
    if (!self->journal) {
        return;
    }
    if (self->compact_ids) {
        s_compact_step (self);
    } else {
        uint64_t limit = 2 * self->compact_live;
        if (limit < self->config.journal_compact) {
            limit = self->config.journal_compact;
        }
        if (journal_size (self->journal) > limit ||
            journal_segment_count (self->journal) > PERSIST_MAX_SEGMENTS) {
            s_compact_begin (self);
        }
    }
    journal_commit (self->journal);
    self->stats.journal_bytes = journal_size (self->journal);
    self->stats.journal_syncs = journal_syncs (self->journal);
}

void
broker_persist_close (broker_t *self)
{
    free (self->compact_ids);
    self->compact_ids = NULL;
    journal_close (&self->journal);
}
