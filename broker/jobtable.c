/* Open-addressing hash index of jobs by id or by key; see jobtable.h. */
#include "broker/jobtable.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define JOBTABLE_MIN_SLOTS 1024

struct jobtable_t {
    job_t **slots; /* slot_count entries, NULL for free */
    size_t mask;   /* slot_count - 1 (a power of two) */
    size_t size;   /* jobs in the table */
    bool by_key;   /* indexed by job->key instead of job->id */
};

/* What a lookup looks for: an id, a key, or one job by its address. */
typedef struct {
    size_t hash;       /* the hash its probe sequence starts from */
    uint64_t id;       /* by id */
    const char *key;   /* by key */
    uint32_t key_hash; /* by key: s_key_hash32 (key) */
    const job_t *this; /* when set, only this job matches */
} s_probe_t;

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

/* Hashes a key to 32 bits (FNV-1a): what job->key_hash keeps. */
static uint32_t
s_key_hash32 (const char *key)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char *c = (const unsigned char *) key; *c; c++) {
        hash = (hash ^ *c) * 0x100000001b3ULL;
    }
    return (uint32_t) (hash ^ hash >> 32);
}

/* The hash job is filed under in self. A key table reads the hash the job
 * keeps rather than walk its key again (growing and deleting rehash). */
static size_t
s_job_hash (const jobtable_t *self, const job_t *job)
{
    return s_hash (self->by_key ? job->key_hash : job->id);
}

/* Returns true when job is what probe looks for. */
static bool
s_matches (const jobtable_t *self, const job_t *job, const s_probe_t *probe)
{
    if (probe->this) {
        return job == probe->this;
    }
    return self->by_key ? job->key_hash == probe->key_hash &&
                              strcmp (job->key, probe->key) == 0
                        : job->id == probe->id;
}

/* Creates an empty table, by key when by_key. */
static jobtable_t *
s_new (bool by_key)
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
    self->by_key = by_key;
    return self;
}

jobtable_t *
jobtable_new (void)
{
    return s_new (false);
}

jobtable_t *
jobtable_new_by_key (void)
{
    return s_new (true);
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
s_place (const jobtable_t *self, job_t **slots, size_t mask, job_t *job)
{
    size_t i = s_job_hash (self, job) & mask;
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
            s_place (self, slots, count - 1, self->slots[i]);
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
    if (self->by_key) {
        job->key_hash = s_key_hash32 (job->key);
    }
    if ((self->size + 1) * 10 > (self->mask + 1) * 7 && s_grow (self) != 0) {
        return -1;
    }
    s_place (self, self->slots, self->mask, job);
    self->size++;
    return 0;
}

/* Returns the slot index holding what probe looks for, or SIZE_MAX. */
static size_t
s_lookup (const jobtable_t *self, const s_probe_t *probe)
{
    size_t i = probe->hash & self->mask;
    while (self->slots[i]) {
        if (s_matches (self, self->slots[i], probe)) {
            return i;
        }
        i = (i + 1) & self->mask;
    }
    return SIZE_MAX;
}

job_t *
jobtable_find (const jobtable_t *self, uint64_t id)
{
    s_probe_t probe = {.hash = s_hash (id), .id = id};
    size_t i = s_lookup (self, &probe);
    return i == SIZE_MAX ? NULL : self->slots[i];
}

job_t *
jobtable_find_key (const jobtable_t *self, const char *key)
{
    uint32_t key_hash = s_key_hash32 (key);
    s_probe_t probe = {
        .hash = s_hash (key_hash), .key = key, .key_hash = key_hash};
    size_t i = s_lookup (self, &probe);
    return i == SIZE_MAX ? NULL : self->slots[i];
}

/* Backward-shift deletion: pulls later entries of the probe run into the
 * hole when their home slot allows it, so lookups never need tombstones. */
static void
s_close_hole (jobtable_t *self, size_t hole)
{
    size_t i = (hole + 1) & self->mask;
    while (self->slots[i]) {
        size_t home = s_job_hash (self, self->slots[i]) & self->mask;
        /* The entry may move to hole if home is not in (hole, i]. */
        if (((i - home) & self->mask) >= ((i - hole) & self->mask)) {
            self->slots[hole] = self->slots[i];
            self->slots[i] = NULL;
            hole = i;
        }
        i = (i + 1) & self->mask;
    }
}

/* Empties slot i and returns the job it held. */
static job_t *
s_take (jobtable_t *self, size_t i)
{
    job_t *job = self->slots[i];
    self->slots[i] = NULL;
    self->size--;
    s_close_hole (self, i);
    return job;
}

job_t *
jobtable_remove (jobtable_t *self, uint64_t id)
{
    s_probe_t probe = {.hash = s_hash (id), .id = id};
    size_t i = s_lookup (self, &probe);
    return i == SIZE_MAX ? NULL : s_take (self, i);
}

bool
jobtable_remove_job (jobtable_t *self, const job_t *job)
{
    s_probe_t probe = {.hash = s_job_hash (self, job), .this = job};
    size_t i = s_lookup (self, &probe);
    return i != SIZE_MAX && s_take (self, i) == job;
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
