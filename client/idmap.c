/* Open addressing with linear probing and backward-shift deletion, at most
 * half full; see idmap.h. Key 0 marks an empty slot. */
#include "client/idmap.h"

#include <stdlib.h>

typedef struct {
    uint64_t key;   /* 0: empty */
    uint64_t value; /* what the key maps to */
} s_entry_t;

struct client_idmap {
    s_entry_t *slots;   /* mask + 1 slots */
    size_t mask;        /* slot count - 1 (a power of two less one) */
    size_t size;        /* keys held */
    size_t max_entries; /* keys allowed; 0: no limit (the map grows) */
};

/* Mixes the key's bits (ids are sequential) into a slot index. */
static size_t
s_slot (const client_idmap_t *map, uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t) key & map->mask;
}

client_idmap_t *
client_idmap_new (size_t max_entries)
{
    size_t slots = 16;
    while (slots < 2 * max_entries) {
        slots *= 2;
    }
    client_idmap_t *map = calloc (1, sizeof *map);
    if (map && !(map->slots = calloc (slots, sizeof *map->slots))) {
        free (map);
        return NULL;
    }
    if (map) {
        map->mask = slots - 1;
        map->max_entries = max_entries;
    }
    return map;
}

void
client_idmap_destroy (client_idmap_t **map)
{
    if (map && *map) {
        free ((*map)->slots);
        free (*map);
        *map = NULL;
    }
}

/* Doubles the slots of a growing map once it is half full. Returns 0, or
 * -1 when out of memory (the map is left as it was). */
static int
s_grow (client_idmap_t *map)
{
    size_t count = map->mask + 1;
    if (map->max_entries != 0 || map->size + 1 <= count / 2) {
        return 0;
    }
    s_entry_t *old = map->slots;
    s_entry_t *slots = calloc (count * 2, sizeof *slots);
    if (!slots) {
        return -1;
    }
    map->slots = slots;
    map->mask = count * 2 - 1;
    for (size_t i = 0; i < count; i++) {
        if (old[i].key) {
            size_t j = s_slot (map, old[i].key);
            while (slots[j].key) {
                j = (j + 1) & map->mask;
            }
            slots[j] = old[i];
        }
    }
    free (old);
    return 0;
}

int
client_idmap_put (client_idmap_t *map, uint64_t key, uint64_t value)
{
    if (key == 0 || s_grow (map) != 0) {
        return -1;
    }
    size_t i = s_slot (map, key);
    while (map->slots[i].key && map->slots[i].key != key) {
        i = (i + 1) & map->mask;
    }
    if (!map->slots[i].key) {
        if (map->max_entries && map->size >= map->max_entries) {
            return -1;
        }
        map->size++;
    }
    map->slots[i] = (s_entry_t){.key = key, .value = value};
    return 0;
}

/* Closes the hole at slot hole by moving back later entries of the run
 * that may not sit after it. */
static void
s_shift_back (client_idmap_t *map, size_t hole)
{
    size_t i = (hole + 1) & map->mask;
    while (map->slots[i].key) {
        size_t home = s_slot (map, map->slots[i].key);
        /* The entry may move to hole if hole lies in [home, i) cyclically. */
        if (((i - home) & map->mask) >= ((i - hole) & map->mask)) {
            map->slots[hole] = map->slots[i];
            map->slots[i].key = 0;
            hole = i;
        }
        i = (i + 1) & map->mask;
    }
}

bool
client_idmap_take (client_idmap_t *map, uint64_t key, uint64_t *value)
{
    if (key == 0) {
        return false;
    }
    size_t i = s_slot (map, key);
    while (map->slots[i].key && map->slots[i].key != key) {
        i = (i + 1) & map->mask;
    }
    if (!map->slots[i].key) {
        return false;
    }
    *value = map->slots[i].value;
    map->slots[i].key = 0;
    map->size--;
    s_shift_back (map, i);
    return true;
}

bool
client_idmap_has (const client_idmap_t *map, uint64_t key)
{
    if (key == 0) {
        return false;
    }
    size_t i = s_slot (map, key);
    while (map->slots[i].key && map->slots[i].key != key) {
        i = (i + 1) & map->mask;
    }
    return map->slots[i].key != 0;
}

bool
client_idmap_next (const client_idmap_t *map, size_t *cursor, uint64_t *key)
{
    for (size_t i = *cursor; i <= map->mask; i++) {
        if (map->slots[i].key) {
            *key = map->slots[i].key;
            *cursor = i + 1;
            return true;
        }
    }
    *cursor = map->mask + 1;
    return false;
}

size_t
client_idmap_size (const client_idmap_t *map)
{
    return map->size;
}
