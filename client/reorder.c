/* A ring of slots indexed by line number modulo the window; see reorder.h. */
#include "client/reorder.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    bool done;                    /* completed and waiting to be popped */
    client_reorder_entry_t entry; /* the completed line */
} s_slot_t;

struct client_reorder {
    s_slot_t *slots; /* capacity slots; line L lives in L % capacity */
    size_t capacity; /* lines in flight at most */
    uint64_t head;   /* oldest line not yet popped */
    uint64_t next;   /* next line to reserve */
};

client_reorder_t *
client_reorder_new (size_t capacity)
{
    if (capacity == 0) {
        return NULL;
    }
    client_reorder_t *reorder = calloc (1, sizeof *reorder);
    if (reorder) {
        reorder->slots = calloc (capacity, sizeof *reorder->slots);
        reorder->capacity = capacity;
    }
    if (reorder && !reorder->slots) {
        free (reorder);
        reorder = NULL;
    }
    return reorder;
}

void
client_reorder_destroy (client_reorder_t **reorder)
{
    if (reorder && *reorder) {
        for (size_t i = 0; i < (*reorder)->capacity; i++) {
            client_reorder_entry_clear (&(*reorder)->slots[i].entry);
        }
        free ((*reorder)->slots);
        free (*reorder);
        *reorder = NULL;
    }
}

bool
client_reorder_reserve (client_reorder_t *reorder, uint64_t *line)
{
    if (reorder->next - reorder->head >= reorder->capacity) {
        return false;
    }
    *line = reorder->next++;
    return true;
}

int
client_reorder_complete (client_reorder_t *reorder, uint64_t line,
                         uint64_t job_id, bool failed, const void *data,
                         size_t len, const char *error)
{
    if (line < reorder->head || line >= reorder->next) {
        return -1;
    }
    s_slot_t *slot = &reorder->slots[line % reorder->capacity];
    if (slot->done) {
        return -1;
    }
    char *copy = malloc (len + 1);
    char *reason = error ? strdup (error) : NULL;
    if (!copy || (error && !reason)) {
        free (copy);
        free (reason);
        return -1;
    }
    if (len) {
        memcpy (copy, data, len);
    }
    copy[len] = '\0';
    slot->entry = (client_reorder_entry_t){.line = line,
                                           .job_id = job_id,
                                           .failed = failed,
                                           .data = copy,
                                           .len = len,
                                           .error = reason};
    slot->done = true;
    return 0;
}

bool
client_reorder_pop (client_reorder_t *reorder, client_reorder_entry_t *entry)
{
    if (reorder->head == reorder->next) {
        return false;
    }
    s_slot_t *slot = &reorder->slots[reorder->head % reorder->capacity];
    if (!slot->done) {
        return false;
    }
    *entry = slot->entry;
    memset (slot, 0, sizeof *slot);
    reorder->head++;
    return true;
}

void
client_reorder_entry_clear (client_reorder_entry_t *entry)
{
    free (entry->data);
    free (entry->error);
    memset (entry, 0, sizeof *entry);
}

size_t
client_reorder_in_flight (const client_reorder_t *reorder)
{
    return (size_t) (reorder->next - reorder->head);
}
