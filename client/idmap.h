/* A fixed-capacity hash map from uint64 keys (job ids) to uint64 values,
 * used by `zjob map` and zjob-bench to find what a result belongs to. */
#ifndef ZJOB_CLIENT_IDMAP_H
#define ZJOB_CLIENT_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct client_idmap client_idmap_t;

/* Creates a map for at most max_entries keys at a time. Returns NULL when
 * out of memory; free with client_idmap_destroy. */
client_idmap_t *client_idmap_new (size_t max_entries);

/* Frees the map and nulls *map; NULL is fine. */
void client_idmap_destroy (client_idmap_t **map);

/* Sets key (not 0) to value, replacing an earlier value. Returns 0, or -1
 * when key is 0 or the map already holds max_entries keys. */
int client_idmap_put (client_idmap_t *map, uint64_t key, uint64_t value);

/* Removes key and stores its value in *value; returns false when absent. */
bool client_idmap_take (client_idmap_t *map, uint64_t key, uint64_t *value);

/* Returns the number of keys held. */
size_t client_idmap_size (const client_idmap_t *map);

#endif
