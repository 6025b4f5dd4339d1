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
    size_t max_entries; /* keys allowed */
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

int
client_idmap_put (client_idmap_t *map, uint64_t key, uint64_t value)
{
    if (key == 0) {
        return -1;
    }
    size_t i = s_slot (map, key);
    while (map->slots[i].key && map->slots[i].key != key) {
        i = (i + 1) & map->mask;
    }
    if (!map->slots[i].key) {
        if (map->size >= map->max_entries) {
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

size_t
client_idmap_size (const client_idmap_t *map)
{
    return map->size;
}
