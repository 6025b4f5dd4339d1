/* The broker's journal: an append-only log of records in numbered segment
 * files, made durable by fsync in groups. It knows bytes, not jobs; the
 * broker's persist.c decides what a record means.
 *
 * Use: journal_open, journal_replay (once), journal_start, then from the
 * loop thread only: journal_reserve, journal_append_reserved,
 * journal_commit, journal_durable, journal_rotate, journal_drop_old;
 * journal_close at the end.
 */
#ifndef ZJOB_BROKER_JOURNAL_H
#define ZJOB_BROKER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an acknowledgement waits for (see DESIGN.md). */
typedef enum {
    JOURNAL_ALWAYS = 0, /* fsync before anything that depends on it */
    JOURNAL_BATCH = 1,  /* group commit by a writer thread */
    JOURNAL_NEVER = 2   /* written to the file, never fsynced */
} journal_mode_t;

/* Largest record accepted on replay; anything longer is damage. */
#define JOURNAL_MAX_RECORD (256u << 20)

/* What a replay found. */
typedef struct {
    uint64_t segments;      /* files read */
    uint64_t records;       /* valid records handed to the visitor */
    uint64_t bytes;         /* bytes in all segments before any cut */
    uint64_t dropped_bytes; /* bytes cut from a torn tail or skipped as
                               damage */
    uint64_t damaged;       /* places where damage was found */
} journal_replay_t;

/* Called with the body of each valid record, in order. */
typedef void (journal_visit_fn) (const uint8_t *body, size_t len, void *arg);

typedef struct journal_t journal_t;

/* Opens (creating it when missing) the journal directory and locks it so
 * that a second broker cannot use it at the same time. Returns NULL after
 * logging why. */
journal_t *journal_open (const char *dir, journal_mode_t mode);

/* Reads every segment in order and calls visit for each valid record. A
 * torn or corrupt tail of the last segment is logged and cut off; damage
 * in an earlier segment is logged and the rest of that segment skipped.
 * Never fails for bad content. Returns 0, or -1 when a file cannot be read
 * at all (logged). */
int journal_replay (journal_t *self, journal_visit_fn *visit, void *arg,
                    journal_replay_t *found);

/* Opens a fresh segment for appends (and the writer thread in batch mode).
 * Returns 0, or -1 after logging. */
int journal_start (journal_t *self);

/* Makes room for a record of at most max_len bytes and returns where its
 * body goes, or NULL when out of memory or over the record limit. The
 * record exists once journal_append_reserved gives its length; nothing
 * else may be appended in between. */
uint8_t *journal_reserve (journal_t *self, size_t max_len);

/* Appends the record whose len bytes (at most what journal_reserve was
 * asked for) were written where journal_reserve pointed. */
void journal_append_reserved (journal_t *self, size_t len);

/* Records appended so far (a sequence number). */
uint64_t journal_appended (const journal_t *self);

/* Records known to be durable under the journal's mode. */
uint64_t journal_durable (journal_t *self);

/* Moves appended records towards the disk: always and never modes write
 * (and fsync) them now; batch mode hands them to the writer thread when it
 * is idle. A write or fsync error is fatal: it is logged and the process
 * exits, since what reached the disk is no longer known. */
void journal_commit (journal_t *self);

/* In batch mode, a descriptor that becomes readable when a batch turned
 * durable; -1 in the other modes. */
int journal_wake_fd (const journal_t *self);

/* Empties the wake descriptor. */
void journal_wake_clear (journal_t *self);

/* Starts a new segment from the next appended record on. */
void journal_rotate (journal_t *self);

/* Deletes every segment older than the current one once everything
 * appended so far is durable (the end of a compaction). */
void journal_drop_old (journal_t *self);

/* Bytes in the segments that exist or will exist once pending work is
 * done (deleted ones no longer count). */
uint64_t journal_size (const journal_t *self);

/* Segments that exist or will exist once pending work is done. */
size_t journal_segment_count (const journal_t *self);

/* Bytes appended since the last journal_rotate. */
uint64_t journal_segment_bytes (const journal_t *self);

/* fsyncs done so far. */
uint64_t journal_syncs (journal_t *self);

/* Makes everything appended durable, stops the writer, closes the files,
 * frees the journal and nulls the pointer. NULL is fine. */
void journal_close (journal_t **self_p);

#endif
