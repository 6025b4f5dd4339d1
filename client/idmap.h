/* A fixed-capacity hash map from uint64 keys (job ids) to uint64 values,
 * used by `zjob map` and zjob-bench to find what a result belongs to. */
#ifndef ZJOB_CLIENT_IDMAP_H
#define ZJOB_CLIENT_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct client_idmap client_idmap_t;

/* Creates a map for at most max_entries keys at a time; 0: no limit, the
 * map grows as keys are added. Returns NULL when out of memory; free with
 * client_idmap_destroy. */
client_idmap_t *client_idmap_new (size_t max_entries);

/* Frees the map and nulls *map; NULL is fine. */
void client_idmap_destroy (client_idmap_t **map);

/* Sets key (not 0) to value, replacing an earlier value. Returns 0, or -1
 * when key is 0, the map already holds max_entries keys, or it could not
 * grow (out of memory). */
int client_idmap_put (client_idmap_t *map, uint64_t key, uint64_t value);

/* Removes key and stores its value in *value; returns false when absent. */
bool client_idmap_take (client_idmap_t *map, uint64_t key, uint64_t *value);

/* Returns true when key is in the map. */
bool client_idmap_has (const client_idmap_t *map, uint64_t key);

/* Iterates: stores the next key at or after slot *cursor (start at 0) in
 * *key and moves *cursor past it. Returns false at the end. The map must
 * not change during an iteration. */
bool client_idmap_next (const client_idmap_t *map, size_t *cursor,
                        uint64_t *key);

/* Returns the number of keys held. */
size_t client_idmap_size (const client_idmap_t *map);

#endif
