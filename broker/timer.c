/* Binary min-heap of job timers; see timer.h. */
#include "broker/timer.h"

#include <stdlib.h>

struct timer_heap_t {
    timer_entry_t *entries; /* owned array, heap-ordered by due_ms */
    size_t count;           /* entries in use */
    size_t capacity;        /* entries allocated */
};

timer_heap_t *
timer_heap_new (void)
{
    return calloc (1, sizeof (timer_heap_t));
}

void
timer_heap_destroy (timer_heap_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->entries);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_swap (timer_entry_t *a, timer_entry_t *b)
{
    timer_entry_t held = *a;
    *a = *b;
    *b = held;
}

static void
s_sift_up (timer_entry_t *entries, size_t at)
{
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (entries[parent].due_ms <= entries[at].due_ms) {
            break;
        }
        s_swap (&entries[parent], &entries[at]);
        at = parent;
    }
}

static void
s_sift_down (timer_entry_t *entries, size_t count, size_t at)
{
    for (;;) {
        size_t least = at;
        size_t left = 2 * at + 1;
        size_t right = left + 1;
        if (left < count && entries[left].due_ms < entries[least].due_ms) {
            least = left;
        }
        if (right < count && entries[right].due_ms < entries[least].due_ms) {
            least = right;
        }
        if (least == at) {
            return;
        }
        s_swap (&entries[at], &entries[least]);
        at = least;
    }
}

int
timer_heap_push (timer_heap_t *self, uint64_t due_ms, uint64_t id,
                 timer_kind_t kind)
{
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 256;
        timer_entry_t *grown =
            realloc (self->entries, capacity * sizeof *grown);
        if (!grown) {
            return -1;
        }
        self->entries = grown;
        self->capacity = capacity;
    }
    self->entries[self->count] = (timer_entry_t){due_ms, id, kind};
    s_sift_up (self->entries, self->count);
    self->count++;
    return 0;
}

uint64_t
timer_heap_next (const timer_heap_t *self)
{
    return self->count ? self->entries[0].due_ms : UINT64_MAX;
}

int
timer_heap_pop_due (timer_heap_t *self, uint64_t now_ms, timer_entry_t *entry)
{
    if (self->count == 0 || self->entries[0].due_ms > now_ms) {
        return 0;
    }
    *entry = self->entries[0];
    self->count--;
    self->entries[0] = self->entries[self->count];
    s_sift_down (self->entries, self->count, 0);
    return 1;
}

size_t
timer_heap_size (const timer_heap_t *self)
{
    return self->count;
}

size_t
timer_heap_prune (timer_heap_t *self, timer_live_fn *live, void *arg)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->count; i++) {
        if (live (&self->entries[i], arg)) {
            self->entries[kept++] = self->entries[i];
        }
    }
    size_t dropped = self->count - kept;
    self->count = kept;
    for (size_t i = kept / 2; i-- > 0;) {
        s_sift_down (self->entries, kept, i); /* heapify bottom-up */
    }
    return dropped;
}
