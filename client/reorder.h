/* The reorder buffer of `zjob map`: results arrive in any order and leave
 * in input order, holding at most a window of lines in memory. */
#ifndef ZJOB_CLIENT_REORDER_H
#define ZJOB_CLIENT_REORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct client_reorder client_reorder_t;

/* One completed line taken out of the buffer. */
typedef struct {
    uint64_t line;   /* 0-based input line number */
    uint64_t job_id; /* the job that ran it; 0 if it was never accepted */
    bool failed;     /* true: error holds the reason, data is empty */
    char *data;      /* owned: the result bytes (NUL-terminated) */
    size_t len;      /* bytes in data, without the terminator */
    char *error;     /* owned: the failure reason, NULL when none */
} client_reorder_entry_t;

/* Creates a buffer for at most capacity lines in flight (> 0). Returns
 * NULL when out of memory; free with client_reorder_destroy. */
client_reorder_t *client_reorder_new (size_t capacity);

/* Frees the buffer and every result it still holds; nulls *reorder. */
void client_reorder_destroy (client_reorder_t **reorder);

/* Reserves the next input line and stores its number in *line. Returns
 * false when capacity lines are already in flight. */
bool client_reorder_reserve (client_reorder_t *reorder, uint64_t *line);

/* Records line as done, copying data (len bytes) or error. Returns 0, or
 * -1 when the line is not in flight, already done, or memory ran out. */
int client_reorder_complete (client_reorder_t *reorder, uint64_t line,
                             uint64_t job_id, bool failed, const void *data,
                             size_t len, const char *error);

/* Moves the oldest line out into *entry when it is done; returns false
 * when it is not (or nothing is in flight). The caller owns the entry's
 * strings and frees them with client_reorder_entry_clear. */
bool client_reorder_pop (client_reorder_t *reorder,
                         client_reorder_entry_t *entry);

/* Frees an entry's strings and zeroes it. */
void client_reorder_entry_clear (client_reorder_entry_t *entry);

/* Returns the number of lines reserved and not yet popped. */
size_t client_reorder_in_flight (const client_reorder_t *reorder);

#endif
