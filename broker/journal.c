/* The journal's files, framing, replay and group commit.
 *
 * Design notes
 * - Files: DIR/lock (held with flock: one broker per journal) and segments
 *   DIR/seg-<16 hex digits>.zj, numbered upwards. Replay reads them all in
 *   number order; appends go to a fresh segment opened after replay.
 * - Framing: a segment starts with the 8 bytes "ZJOBJNL1"; then each record
 *   is [u32 length][u32 crc][body], little endian, the crc (zlib's crc32)
 *   covering the 4 length bytes and the body.
 * - A record that is short, too long or fails its crc ends the segment. In
 *   the last segment that is a torn tail (a crash in mid-write): it is
 *   logged with its offset and size and cut off. In an earlier segment it
 *   is damage: logged as an error and the rest of that segment skipped.
 *   Either way the broker starts.
 * - Threads: only the loop thread appends, into `fill`. In batch mode one
 *   writer thread owns the segment descriptor: journal_commit swaps `fill`
 *   with the writer's empty `flush` under the mutex when the writer is
 *   idle; the writer writes and fdatasyncs `flush`, publishes its sequence
 *   as durable and writes a byte to a pipe the loop polls. At most one
 *   batch is in flight, and whatever is appended meanwhile forms the next
 *   group: that is the group commit. In always and never modes the loop
 *   thread does the same work inline and there is no thread.
 * - File operations ride on batches, so they happen in record order: a
 *   batch may switch to a new segment at a byte offset, and may delete the
 *   older segments once its own records are durable.
 * - Invariants: durable <= appended; a record counts as durable only after
 *   fdatasync returned (never mode: after write returned); old segments
 *   are deleted only after the records that replace them are durable.
 * - A failed write or fsync is fatal (exit 1): after it, nobody can say
 *   what the disk holds, and acknowledging anything would be a lie. The
 *   next start replays what did reach the disk.
 */
#include "broker/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/log.h"

#define JOURNAL_MAGIC     "ZJOBJNL1"
#define JOURNAL_MAGIC_LEN 8
#define JOURNAL_HEADER    8
#define JOURNAL_NO_ROTATE SIZE_MAX

/* Appended bytes and the file operations that go with them. */
typedef struct {
    uint8_t *data;         /* owned */
    size_t len;            /* bytes used */
    size_t cap;            /* bytes allocated */
    uint64_t seq;          /* records up to this one are in it */
    size_t rotate_at;      /* offset where a new segment starts, or
                              JOURNAL_NO_ROTATE */
    uint64_t rotate_to;    /* number of that segment */
    uint64_t delete_below; /* delete segments numbered below this once
                              durable; 0: none */
} batch_t;

/* One segment that exists, as the loop thread accounts for it. */
typedef struct {
    uint64_t no;    /* its number */
    uint64_t bytes; /* its size */
} segment_t;

struct journal_t {
    char *dir;           /* owned path */
    journal_mode_t mode; /* durability mode */
    int lock_fd;         /* holds the flock */
    int dir_fd;          /* for fsync after creating or deleting files */
    int fd;              /* current segment (writer side) */
    uint64_t oldest_no;  /* lowest segment number that may exist */
    segment_t *segs;     /* owned, loop side: segments, oldest first */
    size_t seg_count;
    size_t seg_cap;
    uint64_t appended;        /* loop side: records appended */
    batch_t fill;             /* loop side: appended, not handed over */
    batch_t flush;            /* writer side while busy */
    _Atomic uint64_t durable; /* records durable */
    _Atomic uint64_t syncs;   /* fsyncs done */
    pthread_t thread;         /* batch mode writer */
    bool thread_started;
    pthread_mutex_t mutex; /* guards busy and stopping, and the swap */
    pthread_cond_t work;   /* busy became true or stopping was set */
    pthread_cond_t idle;   /* busy became false */
    bool busy;             /* flush holds a batch being written */
    bool stopping;         /* the writer should leave when idle */
    int wake[2];           /* batch mode: pipe, writer -> loop */
};

/* ---- small helpers ---- */

static void
s_put_le32 (uint8_t *out, uint32_t value)
{
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t) (value >> (8 * i));
    }
}

static uint32_t
s_get_le32 (const uint8_t *in)
{
    return (uint32_t) in[0] | (uint32_t) in[1] << 8 | (uint32_t) in[2] << 16 |
           (uint32_t) in[3] << 24;
}

/* crc of a record: its 4 length bytes, then its body. */
static uint32_t
s_crc (const uint8_t *len_bytes, const uint8_t *body, size_t len)
{
    uLong crc = crc32 (0L, Z_NULL, 0);
    crc = crc32 (crc, len_bytes, 4);
    crc = crc32_z (crc, body, len);
    return (uint32_t) crc;
}

/* Logs a fatal journal error and exits: see the design notes. */
static void
s_fatal (const char *what, const char *dir)
{
    LOG_ERROR ("journal_failed",
               "op=%s dir=%s reason=\"%s\" note=\"stopping: what reached the "
               "disk is unknown; a restart replays the journal\"",
               what, dir, strerror (errno));
    _exit (1);
}

/* Writes all of data to fd, retrying short writes. Returns 0 or -1. */
static int
s_write_all (int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write (fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

static void
s_segment_path (const journal_t *self, uint64_t no, char *path, size_t size)
{
    snprintf (path, size, "%s/seg-%016llx.zj", self->dir,
              (unsigned long long) no);
}

/* Creates segment no with its magic and makes it durable. Returns the
 * descriptor, or -1 with errno set and the half-made file removed. */
static int
s_segment_try_create (journal_t *self, uint64_t no)
{
    char path[4096];
    s_segment_path (self, no, path, sizeof path);
    int fd =
        open (path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -1;
    }
    if (s_write_all (fd, (const uint8_t *) JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) ||
        (self->mode != JOURNAL_NEVER &&
         (fdatasync (fd) != 0 || fsync (self->dir_fd) != 0))) {
        int saved = errno;
        close (fd);
        unlink (path);
        errno = saved;
        return -1;
    }
    return fd;
}

/* As s_segment_try_create, for a segment the journal cannot go on without:
 * exits on failure (see the design notes). */
static int
s_segment_create (journal_t *self, uint64_t no)
{
    int fd = s_segment_try_create (self, no);
    if (fd < 0) {
        s_fatal ("create", self->dir);
    }
    return fd;
}

/* ---- writing ---- */

/* Makes fd's data durable unless the mode says never. */
static void
s_sync (journal_t *self, int fd)
{
    if (self->mode == JOURNAL_NEVER) {
        return;
    }
    if (fdatasync (fd) != 0) {
        s_fatal ("fsync", self->dir);
    }
    atomic_fetch_add (&self->syncs, 1);
}

/* Deletes segments numbered below limit. */
static void
s_delete_below (journal_t *self, uint64_t limit)
{
    char path[4096];
    for (uint64_t no = self->oldest_no; no < limit; no++) {
        s_segment_path (self, no, path, sizeof path);
        if (unlink (path) != 0 && errno != ENOENT) {
            LOG_WARN ("journal_delete_failed", "path=%s reason=\"%s\"", path,
                      strerror (errno));
        }
    }
    self->oldest_no = limit;
    if (self->mode != JOURNAL_NEVER && fsync (self->dir_fd) != 0) {
        s_fatal ("fsync", self->dir);
    }
}

/* Writes one batch with its file operations, then empties it. Runs on the
 * writer thread in batch mode, inline otherwise. */
static void
s_batch_write (journal_t *self, batch_t *batch)
{
    size_t start = 0;
    if (batch->rotate_at != JOURNAL_NO_ROTATE) {
        if (s_write_all (self->fd, batch->data, batch->rotate_at) != 0) {
            s_fatal ("write", self->dir);
        }
        s_sync (self, self->fd);
        close (self->fd);
        self->fd = s_segment_create (self, batch->rotate_to);
        start = batch->rotate_at;
    }
    if (s_write_all (self->fd, batch->data + start, batch->len - start) != 0) {
        s_fatal ("write", self->dir);
    }
    s_sync (self, self->fd);
    if (batch->delete_below) {
        s_delete_below (self, batch->delete_below);
    }
    batch->len = 0;
    batch->rotate_at = JOURNAL_NO_ROTATE;
    batch->delete_below = 0;
}

/* The batch-mode writer thread: see the design notes. */
static void *
s_writer (void *arg)
{
    journal_t *self = arg;
    pthread_mutex_lock (&self->mutex);
    while (true) {
        while (!self->busy && !self->stopping) {
            pthread_cond_wait (&self->work, &self->mutex);
        }
        if (!self->busy) {
            break;
        }
        pthread_mutex_unlock (&self->mutex);
        uint64_t seq = self->flush.seq;
        s_batch_write (self, &self->flush);
        atomic_store (&self->durable, seq);
        pthread_mutex_lock (&self->mutex);
        self->busy = false;
        pthread_cond_broadcast (&self->idle);
        ssize_t rc = write (self->wake[1], "", 1);
        (void) rc; /* a full pipe already wakes the loop */
    }
    pthread_mutex_unlock (&self->mutex);
    return NULL;
}

static bool
s_batch_empty (const batch_t *batch)
{
    return batch->len == 0 && batch->rotate_at == JOURNAL_NO_ROTATE &&
           batch->delete_below == 0;
}

void
journal_commit (journal_t *self)
{
    if (s_batch_empty (&self->fill)) {
        return;
    }
    self->fill.seq = self->appended;
    if (self->mode != JOURNAL_BATCH) {
        s_batch_write (self, &self->fill);
        atomic_store (&self->durable, self->appended);
        return;
    }
    pthread_mutex_lock (&self->mutex);
    if (!self->busy) {
        batch_t swap = self->flush;
        self->flush = self->fill;
        self->fill = swap;
        self->busy = true;
        pthread_cond_signal (&self->work);
    }
    pthread_mutex_unlock (&self->mutex);
}

/* ---- appending ---- */

/* Makes room for extra more bytes in fill. Returns 0 or -1. */
static int
s_reserve (batch_t *batch, size_t extra)
{
    if (batch->cap - batch->len >= extra) {
        return 0;
    }
    size_t cap = batch->cap ? batch->cap : 1 << 16;
    while (cap - batch->len < extra) {
        cap *= 2;
    }
    uint8_t *data = realloc (batch->data, cap);
    if (!data) {
        return -1;
    }
    batch->data = data;
    batch->cap = cap;
    return 0;
}

uint8_t *
journal_reserve (journal_t *self, size_t max_len)
{
    if (max_len > JOURNAL_MAX_RECORD ||
        s_reserve (&self->fill, JOURNAL_HEADER + max_len) != 0) {
        return NULL;
    }
    return self->fill.data + self->fill.len + JOURNAL_HEADER;
}

void
journal_append_reserved (journal_t *self, size_t len)
{
    uint8_t *out = self->fill.data + self->fill.len;
    s_put_le32 (out, (uint32_t) len);
    s_put_le32 (out + 4, s_crc (out, out + JOURNAL_HEADER, len));
    self->fill.len += JOURNAL_HEADER + len;
    self->segs[self->seg_count - 1].bytes += JOURNAL_HEADER + len;
    self->appended++;
}

uint64_t
journal_appended (const journal_t *self)
{
    return self->appended;
}

uint64_t
journal_durable (journal_t *self)
{
    return atomic_load (&self->durable);
}

int
journal_wake_fd (const journal_t *self)
{
    return self->mode == JOURNAL_BATCH ? self->wake[0] : -1;
}

void
journal_wake_clear (journal_t *self)
{
    char sink[256];
    while (read (self->wake[0], sink, sizeof sink) > 0) {
    }
}

/* Adds a segment to the loop side's account. Returns 0 or -1. */
static int
s_segs_add (journal_t *self, uint64_t no, uint64_t bytes)
{
    if (self->seg_count == self->seg_cap) {
        size_t cap = self->seg_cap ? self->seg_cap * 2 : 8;
        segment_t *segs = realloc (self->segs, cap * sizeof *segs);
        if (!segs) {
            return -1;
        }
        self->segs = segs;
        self->seg_cap = cap;
    }
    self->segs[self->seg_count++] = (segment_t){no, bytes};
    return 0;
}

void
journal_rotate (journal_t *self)
{
    if (self->fill.rotate_at != JOURNAL_NO_ROTATE) {
        return; /* one switch per batch; the caller's records still follow
                   the last switch, which is what it asked for */
    }
    uint64_t no = self->segs[self->seg_count - 1].no + 1;
    if (s_segs_add (self, no, JOURNAL_MAGIC_LEN) != 0) {
        return;
    }
    self->fill.rotate_at = self->fill.len;
    self->fill.rotate_to = no;
}

void
journal_drop_old (journal_t *self)
{
    segment_t current = self->segs[self->seg_count - 1];
    self->segs[0] = current;
    self->seg_count = 1;
    self->fill.delete_below = current.no;
}

uint64_t
journal_size (const journal_t *self)
{
    uint64_t total = 0;
    for (size_t i = 0; i < self->seg_count; i++) {
        total += self->segs[i].bytes;
    }
    return total;
}

size_t
journal_segment_count (const journal_t *self)
{
    return self->seg_count;
}

uint64_t
journal_segment_bytes (const journal_t *self)
{
    return self->seg_count ? self->segs[self->seg_count - 1].bytes : 0;
}

uint64_t
journal_syncs (journal_t *self)
{
    return atomic_load (&self->syncs);
}

/* ---- replay ---- */

/* Handles a bad record at offset after which no valid record follows:
 * in the last segment a torn tail, cut off; in an earlier one damage, the
 * rest skipped. Returns the bytes dropped. */
static uint64_t
s_bad_end (int fd, const char *path, size_t offset, size_t size, bool last,
           const char *reason)
{
    uint64_t dropped = size - offset;
    if (!last) {
        LOG_ERROR ("journal_damaged",
                   "segment=%s offset=%zu skipped_bytes=%" PRIu64
                   " reason=%s note=\"the rest of this segment is lost\"",
                   path, offset, dropped, reason);
        return dropped;
    }
    LOG_WARN ("journal_tail_cut",
              "segment=%s offset=%zu dropped_bytes=%" PRIu64
              " reason=%s note=\"a record torn by a crash; everything "
              "before it is kept\"",
              path, offset, dropped, reason);
    if (ftruncate (fd, (off_t) offset) != 0 || fsync (fd) != 0) {
        LOG_WARN ("journal_cut_failed", "segment=%s reason=\"%s\"", path,
                  strerror (errno));
    }
    return dropped;
}

/* Returns why the record at offset is not valid, or NULL; sets *len. */
static const char *
s_record_check (const uint8_t *data, size_t size, size_t offset, uint32_t *len)
{
    if (size - offset < JOURNAL_HEADER) {
        return "short_header";
    }
    *len = s_get_le32 (data + offset);
    if (*len > JOURNAL_MAX_RECORD || *len > size - offset - JOURNAL_HEADER) {
        return "bad_length";
    }
    if (s_get_le32 (data + offset + 4) !=
        s_crc (data + offset, data + offset + JOURNAL_HEADER, *len)) {
        return "checksum";
    }
    return NULL;
}

/* Returns the offset of the first valid record after the bad one at bad
 * (whose length field reads len, and which failed for reason), or size
 * when none follows. A crash only tears the end of a file: a valid record
 * after a bad one means damage, and what follows it is kept. When only
 * the checksum failed the length is likely intact, and the record right
 * after it is tried first, so that a payload that happens to hold a
 * record's bytes is not taken for one; else the bytes are searched. */
static size_t
s_resync (const uint8_t *data, size_t size, size_t bad, uint32_t len,
          const char *reason)
{
    uint32_t next_len;
    size_t after = bad + JOURNAL_HEADER + len;
    if (strcmp (reason, "checksum") == 0 && after < size &&
        !s_record_check (data, size, after, &next_len)) {
        return after;
    }
    for (size_t offset = bad + 1; offset + JOURNAL_HEADER <= size; offset++) {
        if (!s_record_check (data, size, offset, &next_len)) {
            return offset;
        }
    }
    return size;
}

/* Walks the records of one mapped segment from offset. Returns the bytes
 * dropped. */
static uint64_t
s_replay_records (int fd, const char *path, const uint8_t *data, size_t size,
                  size_t offset, bool last, journal_visit_fn *visit, void *arg,
                  journal_replay_t *found)
{
    uint64_t dropped = 0;
    while (offset < size) {
        uint32_t len = 0;
        const char *reason = s_record_check (data, size, offset, &len);
        if (!reason) {
            visit (data + offset + JOURNAL_HEADER, len, arg);
            found->records++;
            offset += JOURNAL_HEADER + len;
            continue;
        }
        found->damaged++;
        size_t next = s_resync (data, size, offset, len, reason);
        if (next == size) {
            return dropped + s_bad_end (fd, path, offset, size, last, reason);
        }
        LOG_ERROR ("journal_damaged",
                   "segment=%s offset=%zu skipped_bytes=%zu reason=%s "
                   "note=\"valid records follow: damage, not a torn tail; "
                   "records in the skipped bytes are lost\"",
                   path, offset, next - offset, reason);
        dropped += next - offset;
        offset = next;
    }
    return dropped;
}

/* Replays one mapped segment of size bytes (data may be NULL when empty).
 * Returns the bytes dropped. */
static uint64_t
s_replay_mapped (int fd, const char *path, const uint8_t *data, size_t size,
                 bool last, journal_visit_fn *visit, void *arg,
                 journal_replay_t *found)
{
    if (size == 0) {
        return 0; /* created, magic never written: nothing in it */
    }
    if (size < JOURNAL_MAGIC_LEN) {
        found->damaged++;
        return s_bad_end (fd, path, 0, size, last, "short_magic");
    }
    if (memcmp (data, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) != 0) {
        found->damaged++;
        LOG_ERROR ("journal_damaged",
                   "segment=%s offset=0 reason=bad_magic note=\"reading its "
                   "records anyway\"",
                   path);
    }
    return s_replay_records (fd, path, data, size, JOURNAL_MAGIC_LEN, last,
                             visit, arg, found);
}

/* Replays segment no. Returns its size after any cut, or -1 when it cannot
 * be read at all. */
static int64_t
s_replay_segment (journal_t *self, uint64_t no, bool last,
                  journal_visit_fn *visit, void *arg, journal_replay_t *found)
{
    char path[4096];
    s_segment_path (self, no, path, sizeof path);
    int fd = open (path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) != 0) {
        LOG_ERROR ("journal_unreadable", "segment=%s reason=\"%s\"", path,
                   strerror (errno));
        if (fd >= 0) {
            close (fd);
        }
        return -1;
    }
    size_t size = (size_t) st.st_size;
    found->segments++;
    found->bytes += size;
    uint8_t *data =
        size ? mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (size && data == MAP_FAILED) {
        LOG_ERROR ("journal_unreadable", "segment=%s reason=\"%s\"", path,
                   strerror (errno));
        close (fd);
        return -1;
    }
    uint64_t dropped =
        s_replay_mapped (fd, path, data, size, last, visit, arg, found);
    if (size) {
        munmap (data, size);
    }
    close (fd);
    found->dropped_bytes += dropped;
    return (int64_t) (last ? size - dropped : size);
}

static int
s_compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a;
    uint64_t y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Lists the segment numbers in the directory, sorted. Returns the count,
 * or -1 (logged). *nos is owned by the caller. */
static ssize_t
s_list_segments (journal_t *self, uint64_t **nos)
{
    DIR *dir = opendir (self->dir);
    if (!dir) {
        LOG_ERROR ("journal_unreadable", "dir=%s reason=\"%s\"", self->dir,
                   strerror (errno));
        return -1;
    }
    size_t count = 0;
    size_t cap = 0;
    *nos = NULL;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        unsigned long long no;
        char tail[4];
        if (sscanf (entry->d_name, "seg-%16llx.%3s", &no, tail) != 2 ||
            strcmp (tail, "zj") != 0 || strlen (entry->d_name) != 23) {
            continue;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *grown = realloc (*nos, cap * sizeof *grown);
            if (!grown) {
                break;
            }
            *nos = grown;
        }
        (*nos)[count++] = no;
    }
    closedir (dir);
    if (count > 1) {
        qsort (*nos, count, sizeof **nos, s_compare_u64);
    }
    return (ssize_t) count;
}

int
journal_replay (journal_t *self, journal_visit_fn *visit, void *arg,
                journal_replay_t *found)
{
    memset (found, 0, sizeof *found);
    uint64_t *nos = NULL;
    ssize_t count = s_list_segments (self, &nos);
    int rc = count < 0 ? -1 : 0;
    for (ssize_t i = 0; i < count && rc == 0; i++) {
        if (i > 0 && nos[i] != nos[i - 1] + 1) {
            /* segments are numbered without gaps; only old ones are ever
             * deleted, all at once */
            found->damaged++;
            LOG_ERROR ("journal_damaged",
                       "dir=%s missing_segments=%" PRIu64 "-%" PRIu64
                       " note=\"their records are lost\"",
                       self->dir, nos[i - 1] + 1, nos[i] - 1);
        }
        int64_t size =
            s_replay_segment (self, nos[i], i == count - 1, visit, arg, found);
        if (size < 0 || s_segs_add (self, nos[i], (uint64_t) size) != 0) {
            rc = -1;
        }
    }
    if (count > 0) {
        self->oldest_no = nos[0];
    }
    free (nos);
    return rc;
}

/* ---- life cycle ---- */

int
journal_start (journal_t *self)
{
    uint64_t no = self->seg_count ? self->segs[self->seg_count - 1].no + 1 : 1;
    if (self->seg_count == 0) {
        self->oldest_no = no;
    }
    if (s_segs_add (self, no, JOURNAL_MAGIC_LEN) != 0) {
        return -1;
    }
    self->fd = s_segment_try_create (self, no);
    if (self->fd < 0) {
        LOG_ERROR ("journal_unusable",
                   "dir=%s reason=\"cannot create a "
                   "segment: %s\"",
                   self->dir, strerror (errno));
        return -1;
    }
    if (self->mode != JOURNAL_BATCH) {
        return 0;
    }
    if (pipe2 (self->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
        pthread_create (&self->thread, NULL, s_writer, self) != 0) {
        LOG_ERROR ("journal_failed", "op=thread reason=\"%s\"",
                   strerror (errno));
        return -1;
    }
    self->thread_started = true;
    return 0;
}

/* Opens and locks the directory. Returns 0, or -1 after logging. */
static int
s_open_dir (journal_t *self)
{
    if (mkdir (self->dir, 0750) != 0 && errno != EEXIST) {
        LOG_ERROR ("journal_unusable", "dir=%s reason=\"%s\"", self->dir,
                   strerror (errno));
        return -1;
    }
    char path[4096];
    snprintf (path, sizeof path, "%s/lock", self->dir);
    self->dir_fd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (self->dir_fd < 0 || self->lock_fd < 0) {
        LOG_ERROR ("journal_unusable", "dir=%s reason=\"%s\"", self->dir,
                   strerror (errno));
        return -1;
    }
    if (flock (self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        LOG_ERROR ("journal_in_use",
                   "dir=%s reason=\"another broker holds this journal\"",
                   self->dir);
        return -1;
    }
    return 0;
}

journal_t *
journal_open (const char *dir, journal_mode_t mode)
{
    journal_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (dir))) {
        free (self);
        return NULL;
    }
    self->mode = mode;
    self->fd = self->lock_fd = self->dir_fd = -1;
    self->wake[0] = self->wake[1] = -1;
    self->fill.rotate_at = self->flush.rotate_at = JOURNAL_NO_ROTATE;
    pthread_mutex_init (&self->mutex, NULL);
    pthread_cond_init (&self->work, NULL);
    pthread_cond_init (&self->idle, NULL);
    if (s_open_dir (self) != 0) {
        journal_close (&self);
    }
    return self;
}

/* Batch mode: writes out everything appended and stops the writer. */
static void
s_writer_stop (journal_t *self)
{
    pthread_mutex_lock (&self->mutex);
    while (self->busy || !s_batch_empty (&self->fill)) {
        while (self->busy) {
            pthread_cond_wait (&self->idle, &self->mutex);
        }
        pthread_mutex_unlock (&self->mutex);
        journal_commit (self);
        pthread_mutex_lock (&self->mutex);
    }
    self->stopping = true;
    pthread_cond_signal (&self->work);
    pthread_mutex_unlock (&self->mutex);
    pthread_join (self->thread, NULL);
}

void
journal_close (journal_t **self_p)
{
    journal_t *self = *self_p;
    if (!self) {
        return;
    }
    if (self->thread_started) {
        s_writer_stop (self);
    } else if (self->fd >= 0) {
        journal_commit (self);
    }
    for (int i = 0; i < 2; i++) {
        if (self->wake[i] >= 0) {
            close (self->wake[i]);
        }
    }
    int fds[] = {self->fd, self->dir_fd, self->lock_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (fds[i] >= 0) {
            close (fds[i]);
        }
    }
    pthread_mutex_destroy (&self->mutex);
    pthread_cond_destroy (&self->work);
    pthread_cond_destroy (&self->idle);
    free (self->fill.data);
    free (self->flush.data);
    free (self->segs);
    free (self->dir);
    free (self);
    *self_p = NULL;
}
