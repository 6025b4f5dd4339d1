/* A min-heap of job timers: scheduled wake-ups, deadlines, cancel grace
 * periods and result expiry, ordered by due time.
 *
 * Entries name a job by id and are never removed early: when a job's timer
 * is superseded the old entry stays and is recognised as stale when it
 * fires (the owner compares it with the job's current state). That keeps
 * every operation O(log n) without back-pointers in the job record; the
 * owner prunes stale entries in one O(n) pass when they pile up (a job
 * with a long timeout that finished early leaves one behind).
 */
#ifndef ZJOB_BROKER_TIMER_H
#define ZJOB_BROKER_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    TIMER_WAKE = 0,     /* a SCHEDULED job becomes QUEUED */
    TIMER_DEADLINE = 1, /* a job not yet dispatched times out */
    TIMER_CANCEL = 2,   /* a running job's cancel grace period ends */
    TIMER_EXPIRE = 3,   /* a final job is forgotten */
    TIMER_RECLAIM = 4   /* a job running at a restart goes back in line
                           unless its worker claimed it */
} timer_kind_t;

typedef struct {
    uint64_t due_ms; /* monotonic time it fires */
    uint64_t id;     /* job id */
    uint32_t kind;   /* timer_kind_t */
} timer_entry_t;

typedef struct timer_heap_t timer_heap_t;

/* Creates an empty heap. Returns NULL when out of memory. */
timer_heap_t *timer_heap_new (void);

/* Frees the heap and nulls the pointer; NULL is fine. */
void timer_heap_destroy (timer_heap_t **self_p);

/* Adds a timer. Returns 0, or -1 when out of memory. */
int timer_heap_push (timer_heap_t *self, uint64_t due_ms, uint64_t id,
                     timer_kind_t kind);

/* Returns the due time of the earliest timer, or UINT64_MAX when empty. */
uint64_t timer_heap_next (const timer_heap_t *self);

/* Removes the earliest timer if it is due at or before now_ms and copies it
 * to *entry. Returns 1 when one was popped, 0 otherwise. */
int timer_heap_pop_due (timer_heap_t *self, uint64_t now_ms,
                        timer_entry_t *entry);

/* Tells whether a timer still matters to its owner. */
typedef bool (timer_live_fn) (const timer_entry_t *entry, void *arg);

/* Drops every timer for which live returns false, keeping the others in
 * heap order. Returns how many were dropped. O(n). */
size_t timer_heap_prune (timer_heap_t *self, timer_live_fn *live, void *arg);

/* Returns the number of pending timers. */
size_t timer_heap_size (const timer_heap_t *self);

#endif
