/* Unit tests for the journal: framing, replay, torn and corrupt tails,
 * damage in an earlier segment, group commit, rotation and the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "broker/journal.h"
#include "broker/jrecord.h"
#include "zjob.pb-c.h"

/* What a replay saw: the ids of the records, in order. */
typedef struct {
    uint64_t ids[256];
    size_t count;
} seen_t;

static void
s_visit (const uint8_t *body, size_t len, void *arg)
{
    seen_t *seen = arg;
    Zjob__JournalJob *rec = zjob__journal_job__unpack (NULL, len, body);
    assert_non_null (rec);
    if (seen->count < 256) {
        seen->ids[seen->count++] = rec->id;
    }
    zjob__journal_job__free_unpacked (rec, NULL);
}

/* Makes a fresh journal directory under TMPDIR; returns its path. */
static char *
s_tempdir (void)
{
    const char *tmp = getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
    char *path = malloc (4096);
    snprintf (path, 4096, "%s/zjob-journal-XXXXXX", tmp);
    assert_non_null (mkdtemp (path));
    return path;
}

static void
s_rmdir (const char *path)
{
    DIR *dir = opendir (path);
    struct dirent *entry;
    char file[4096];
    while (dir && (entry = readdir (dir))) {
        if (entry->d_name[0] != '.') {
            snprintf (file, sizeof file, "%s/%s", path, entry->d_name);
            unlink (file);
        }
    }
    if (dir) {
        closedir (dir);
    }
    rmdir (path);
}

/* Appends records with ids first..last, each with a payload of id bytes. */
/* Appends rec the way the broker does (broker/persist.c). */
static void
s_append (journal_t *journal, const Zjob__JournalJob *rec)
{
    uint8_t *body = journal_reserve (journal, jrecord_bound (rec));
    assert_non_null (body);
    journal_append_reserved (journal, jrecord_encode (rec, body));
}

static void
s_append_ids (journal_t *journal, uint64_t first, uint64_t last)
{
    uint8_t payload[300];
    memset (payload, 'x', sizeof payload);
    for (uint64_t id = first; id <= last; id++) {
        Zjob__JournalJob rec = ZJOB__JOURNAL_JOB__INIT;
        rec.id = id;
        rec.full = true;
        rec.queue = "q";
        rec.payload.data = payload;
        rec.payload.len = id % sizeof payload;
        s_append (journal, &rec);
    }
}

/* Opens dir, replays into seen, starts, appends first..last, closes. */
static journal_replay_t
s_session (const char *dir, journal_mode_t mode, seen_t *seen, uint64_t first,
           uint64_t last)
{
    journal_t *journal = journal_open (dir, mode);
    assert_non_null (journal);
    journal_replay_t found;
    seen->count = 0;
    assert_int_equal (journal_replay (journal, s_visit, seen, &found), 0);
    assert_int_equal (journal_start (journal), 0);
    if (first) {
        s_append_ids (journal, first, last);
    }
    journal_close (&journal);
    assert_null (journal);
    return found;
}

/* Returns the path of the n-th segment (sorted) of dir in out. */
static void
s_segment (const char *dir, int n, char *out, size_t size)
{
    struct dirent **names;
    int count = scandir (dir, &names, NULL, alphasort);
    int seen = 0;
    out[0] = '\0';
    for (int i = 0; i < count; i++) {
        if (strncmp (names[i]->d_name, "seg-", 4) == 0 && seen++ == n) {
            snprintf (out, size, "%s/%s", dir, names[i]->d_name);
        }
        free (names[i]);
    }
    free (names);
    assert_true (out[0] != '\0');
}

static off_t
s_size (const char *path)
{
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    return st.st_size;
}

static void
test_journal_replays_in_order (void **state)
{
    char *dir = s_tempdir ();
    seen_t seen;
    s_session (dir, JOURNAL_ALWAYS, &seen, 1, 50);
    s_session (dir, JOURNAL_BATCH, &seen, 51, 60);
    journal_replay_t found = s_session (dir, JOURNAL_NEVER, &seen, 0, 0);
    assert_int_equal (seen.count, 60);
    for (size_t i = 0; i < seen.count; i++) {
        assert_int_equal (seen.ids[i], i + 1);
    }
    assert_int_equal (found.damaged, 0);
    assert_int_equal (found.dropped_bytes, 0);
    s_rmdir (dir);
    free (dir);
}

static void
test_journal_cuts_garbage_tail (void **state)
{
    char *dir = s_tempdir ();
    seen_t seen;
    s_session (dir, JOURNAL_ALWAYS, &seen, 1, 10);
    char path[4096];
    s_segment (dir, 0, path, sizeof path);
    off_t good = s_size (path);
    int fd = open (path, O_WRONLY | O_APPEND);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, "\x05\0\0\0garbage!", 12), 12);
    close (fd);
    journal_replay_t found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (seen.count, 10);
    assert_int_equal (found.damaged, 1);
    assert_int_equal (found.dropped_bytes, 12);
    assert_int_equal (s_size (path), good); /* cut back to the last record */
    found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (found.damaged, 0);
    assert_int_equal (seen.count, 10);
    s_rmdir (dir);
    free (dir);
}

static void
test_journal_cuts_torn_record (void **state)
{
    char *dir = s_tempdir ();
    seen_t seen;
    s_session (dir, JOURNAL_ALWAYS, &seen, 1, 10);
    char path[4096];
    s_segment (dir, 0, path, sizeof path);
    assert_int_equal (truncate (path, s_size (path) - 3), 0);
    journal_replay_t found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (seen.count, 9); /* the torn last record is gone */
    assert_int_equal (seen.ids[8], 9);
    assert_int_equal (found.damaged, 1);
    assert_true (found.dropped_bytes > 0);
    s_rmdir (dir);
    free (dir);
}

static void
test_journal_skips_damage_in_earlier_segment (void **state)
{
    char *dir = s_tempdir ();
    seen_t seen;
    s_session (dir, JOURNAL_ALWAYS, &seen, 1, 10);
    s_session (dir, JOURNAL_ALWAYS, &seen, 11, 20);
    char path[4096];
    s_segment (dir, 0, path, sizeof path);
    off_t size = s_size (path);
    int fd = open (path, O_RDWR);
    assert_true (fd >= 0);
    /* flip a byte well inside the segment: a record's crc fails */
    uint8_t byte;
    assert_int_equal (pread (fd, &byte, 1, size / 2), 1);
    byte ^= 0x55;
    assert_int_equal (pwrite (fd, &byte, 1, size / 2), 1);
    close (fd);
    journal_replay_t found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (found.damaged, 1);
    assert_true (seen.count >= 10 && seen.count < 20);
    assert_int_equal (seen.ids[seen.count - 1], 20); /* later segment read */
    assert_int_equal (s_size (path), size);          /* damage is not cut off */
    s_rmdir (dir);
    free (dir);
}

/* Flips the byte at offset of path. */
static void
s_flip (const char *path, off_t offset)
{
    int fd = open (path, O_RDWR);
    assert_true (fd >= 0);
    uint8_t byte;
    assert_int_equal (pread (fd, &byte, 1, offset), 1);
    byte ^= 0x55;
    assert_int_equal (pwrite (fd, &byte, 1, offset), 1);
    close (fd);
}

static void
test_journal_keeps_records_after_damage_in_last_segment (void **state)
{
    char *dir = s_tempdir ();
    seen_t seen;
    s_session (dir, JOURNAL_ALWAYS, &seen, 1, 20);
    char path[4096];
    s_segment (dir, 0, path, sizeof path);
    off_t size = s_size (path);
    s_flip (path, size / 2);
    /* damage, not a torn tail: valid records follow, so nothing is cut
     * and only the damaged record is lost */
    journal_replay_t found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (found.damaged, 1);
    assert_int_equal (seen.count, 19);
    assert_int_equal (seen.ids[18], 20);
    assert_int_equal (s_size (path), size);
    assert_int_equal (seen.ids[0], 1);
    s_flip (path, 0); /* the magic too: the records are still read */
    found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (found.damaged, 2);
    assert_int_equal (seen.count, 19);
    s_rmdir (dir);
    free (dir);
}

/* Frames rec as the journal does: length, crc32 of length and body, body.
 * Returns the bytes written to out. */
static size_t
s_frame (const Zjob__JournalJob *rec, uint8_t *out)
{
    size_t len = zjob__journal_job__pack (rec, out + 8);
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t) (len >> (8 * i));
    }
    uLong crc = crc32 (crc32 (0L, Z_NULL, 0), out, 4);
    crc = crc32 (crc, out + 8, (uInt) len);
    for (int i = 0; i < 4; i++) {
        out[4 + i] = (uint8_t) (crc >> (8 * i));
    }
    return 8 + len;
}

static void
test_journal_damage_does_not_replay_a_payload (void **state)
{
    char *dir = s_tempdir ();
    journal_t *journal = journal_open (dir, JOURNAL_ALWAYS);
    journal_replay_t found;
    seen_t seen;
    assert_int_equal (journal_replay (journal, s_visit, &seen, &found), 0);
    assert_int_equal (journal_start (journal), 0);
    /* job 2's payload holds a well-framed record of a job 999 */
    uint8_t forged[256];
    Zjob__JournalJob inner = ZJOB__JOURNAL_JOB__INIT;
    inner.id = 999;
    inner.full = true;
    inner.queue = "q";
    size_t forged_len = s_frame (&inner, forged);
    Zjob__JournalJob rec = ZJOB__JOURNAL_JOB__INIT;
    rec.full = true;
    rec.queue = "q";
    for (uint64_t id = 1; id <= 3; id++) {
        rec.id = id;
        rec.payload.data = id == 2 ? forged : NULL;
        rec.payload.len = id == 2 ? forged_len : 0;
        s_append (journal, &rec);
    }
    journal_close (&journal);
    /* break job 2's checksum, leaving its length intact */
    char path[4096];
    s_segment (dir, 0, path, sizeof path);
    uint8_t first[64];
    rec.id = 1;
    rec.payload.len = 0;
    s_flip (path, 8 + (off_t) s_frame (&rec, first) + 4);
    found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (found.damaged, 1);
    assert_int_equal (seen.count, 2);
    assert_int_equal (seen.ids[0], 1);
    assert_int_equal (seen.ids[1], 3);
    s_rmdir (dir);
    free (dir);
}

static void
test_journal_reports_missing_segment (void **state)
{
    char *dir = s_tempdir ();
    seen_t seen;
    s_session (dir, JOURNAL_ALWAYS, &seen, 1, 5);
    s_session (dir, JOURNAL_ALWAYS, &seen, 6, 10);
    s_session (dir, JOURNAL_ALWAYS, &seen, 11, 15);
    char path[4096];
    s_segment (dir, 1, path, sizeof path);
    assert_int_equal (unlink (path), 0);
    journal_replay_t found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (found.damaged, 1);
    assert_int_equal (seen.count, 10);
    /* an empty segment (created, nothing written) is no damage */
    char empty[4200];
    snprintf (empty, sizeof empty, "%s/seg-0000000000000005.zj", dir);
    close (open (empty, O_WRONLY | O_CREAT, 0640)); /* after 1, 3 and 4 */
    found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (found.damaged, 1); /* only the gap */
    assert_int_equal (seen.count, 10);
    s_rmdir (dir);
    free (dir);
}

static void
test_journal_batch_turns_durable (void **state)
{
    char *dir = s_tempdir ();
    journal_t *journal = journal_open (dir, JOURNAL_BATCH);
    assert_non_null (journal);
    journal_replay_t found;
    seen_t seen = {.count = 0};
    assert_int_equal (journal_replay (journal, s_visit, &seen, &found), 0);
    assert_int_equal (journal_start (journal), 0);
    s_append_ids (journal, 1, 100);
    assert_int_equal (journal_appended (journal), 100);
    journal_commit (journal);
    struct pollfd item = {journal_wake_fd (journal), POLLIN, 0};
    for (int i = 0; i < 100 && journal_durable (journal) < 100; i++) {
        poll (&item, 1, 100);
        journal_wake_clear (journal);
        journal_commit (journal);
    }
    assert_int_equal (journal_durable (journal), 100);
    assert_true (journal_syncs (journal) >= 1);
    journal_close (&journal);
    s_rmdir (dir);
    free (dir);
}

static void
test_journal_drop_old_keeps_new_segment (void **state)
{
    char *dir = s_tempdir ();
    seen_t seen;
    s_session (dir, JOURNAL_ALWAYS, &seen, 1, 10);
    journal_t *journal = journal_open (dir, JOURNAL_BATCH);
    journal_replay_t found;
    assert_int_equal (journal_replay (journal, s_visit, &seen, &found), 0);
    assert_int_equal (journal_start (journal), 0);
    s_append_ids (journal, 11, 12);
    journal_rotate (journal);
    s_append_ids (journal, 13, 15);
    uint64_t before = journal_size (journal);
    journal_drop_old (journal);
    assert_true (journal_size (journal) < before);
    journal_close (&journal);
    found = s_session (dir, JOURNAL_ALWAYS, &seen, 0, 0);
    assert_int_equal (seen.count, 3);
    assert_int_equal (seen.ids[0], 13);
    assert_int_equal (found.segments, 1); /* only the one rotated to */
    s_rmdir (dir);
    free (dir);
}

static void
test_journal_refuses_second_broker (void **state)
{
    char *dir = s_tempdir ();
    journal_t *first = journal_open (dir, JOURNAL_ALWAYS);
    assert_non_null (first);
    journal_t *second = journal_open (dir, JOURNAL_ALWAYS);
    assert_null (second);
    journal_close (&first);
    second = journal_open (dir, JOURNAL_ALWAYS);
    assert_non_null (second);
    journal_close (&second);
    s_rmdir (dir);
    free (dir);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_journal_replays_in_order),
        cmocka_unit_test (test_journal_cuts_garbage_tail),
        cmocka_unit_test (test_journal_cuts_torn_record),
        cmocka_unit_test (test_journal_skips_damage_in_earlier_segment),
        cmocka_unit_test (
            test_journal_keeps_records_after_damage_in_last_segment),
        cmocka_unit_test (test_journal_reports_missing_segment),
        cmocka_unit_test (test_journal_damage_does_not_replay_a_payload),
        cmocka_unit_test (test_journal_batch_turns_durable),
        cmocka_unit_test (test_journal_drop_old_keeps_new_segment),
        cmocka_unit_test (test_journal_refuses_second_broker),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
