/* Open-addressing hash index of jobs by id; see jobtable.h. */
#include "broker/jobtable.h"

#include <stdlib.h>

#define JOBTABLE_MIN_SLOTS 1024

struct jobtable_t {
    job_t **slots; /* slot_count entries, NULL for free */
    size_t mask;   /* slot_count - 1 (a power of two) */
    size_t size;   /* jobs in the table */
};

/* Mixes the id so sequential ids spread over the slots (splitmix64). */
static size_t
s_hash (uint64_t id)
{
    id ^= id >> 30;
    id *= 0xbf58476d1ce4e5b9ULL;
    id ^= id >> 27;
    id *= 0x94d049bb133111ebULL;
    id ^= id >> 31;
    return (size_t) id;
}

jobtable_t *
jobtable_new (void)
{
    jobtable_t *self = calloc (1, sizeof *self);
    if (!self) {
        return NULL;
    }
    self->slots = calloc (JOBTABLE_MIN_SLOTS, sizeof *self->slots);
    if (!self->slots) {
        free (self);
        return NULL;
    }
    self->mask = JOBTABLE_MIN_SLOTS - 1;
    return self;
}

void
jobtable_destroy (jobtable_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->slots);
        free (*self_p);
        *self_p = NULL;
    }
}

/* Places job in the first free slot of its probe sequence. */
static void
s_place (job_t **slots, size_t mask, job_t *job)
{
    size_t i = s_hash (job->id) & mask;
    while (slots[i]) {
        i = (i + 1) & mask;
    }
    slots[i] = job;
}

/* Doubles the slot array. Returns 0, or -1 when out of memory. */
static int
s_grow (jobtable_t *self)
{
    size_t count = (self->mask + 1) * 2;
    job_t **slots = calloc (count, sizeof *slots);
    if (!slots) {
        return -1;
    }
    for (size_t i = 0; i <= self->mask; i++) {
        if (self->slots[i]) {
            s_place (slots, count - 1, self->slots[i]);
        }
    }
    free (self->slots);
    self->slots = slots;
    self->mask = count - 1;
    return 0;
}

int
jobtable_insert (jobtable_t *self, job_t *job)
{
    if ((self->size + 1) * 10 > (self->mask + 1) * 7 && s_grow (self) != 0) {
        return -1;
    }
    s_place (self->slots, self->mask, job);
    self->size++;
    return 0;
}

/* Returns the slot index holding id, or SIZE_MAX. */
static size_t
s_lookup (const jobtable_t *self, uint64_t id)
{
    size_t i = s_hash (id) & self->mask;
    while (self->slots[i]) {
        if (self->slots[i]->id == id) {
            return i;
        }
        i = (i + 1) & self->mask;
    }
    return SIZE_MAX;
}

job_t *
jobtable_find (const jobtable_t *self, uint64_t id)
{
    size_t i = s_lookup (self, id);
    return i == SIZE_MAX ? NULL : self->slots[i];
}

/* Backward-shift deletion: pulls later entries of the probe run into the
 * hole when their home slot allows it, so lookups never need tombstones. */
static void
s_close_hole (jobtable_t *self, size_t hole)
{
    size_t i = (hole + 1) & self->mask;
    while (self->slots[i]) {
        size_t home = s_hash (self->slots[i]->id) & self->mask;
        /* The entry may move to hole if home is not in (hole, i]. */
        if (((i - home) & self->mask) >= ((i - hole) & self->mask)) {
            self->slots[hole] = self->slots[i];
            self->slots[i] = NULL;
            hole = i;
        }
        i = (i + 1) & self->mask;
    }
}

job_t *
jobtable_remove (jobtable_t *self, uint64_t id)
{
    size_t i = s_lookup (self, id);
    if (i == SIZE_MAX) {
        return NULL;
    }
    job_t *job = self->slots[i];
    self->slots[i] = NULL;
    self->size--;
    s_close_hole (self, i);
    return job;
}

size_t
jobtable_size (const jobtable_t *self)
{
    return self->size;
}

void
jobtable_each (const jobtable_t *self, void (*fn) (job_t *, void *), void *arg)
{
    for (size_t i = 0; i <= self->mask; i++) {
        if (self->slots[i]) {
            fn (self->slots[i], arg);
        }
    }
}
