/* A bump allocator for protobuf-c unpacking; see pbarena.h.
 *
 * Design notes.
 * - Layout. The arena and its first block share one malloc'd region: the
 *   arena struct, then the first block's header, then its data. Later
 *   blocks are malloc'd on their own and pushed on the front of the list.
 * - Allocation. Sizes are rounded up to the alignment of max_align_t and
 *   taken from the newest block; one that does not fit starts a new block
 *   of at least twice the previous block's size, so a message needs a
 *   handful of blocks at most, whatever its shape.
 * - Invariant. An allocation that opens a block sits at the very start of
 *   that block's data, right after its header, and the header names the
 *   arena. After pbarena_new or pbarena_reset only the first block is
 *   left and it is empty, so the arena's first allocation always opens a
 *   block (that one, or a new one if it is too large for it): that is
 *   what makes pbarena_of_first work.
 */
#include "common/pbarena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct s_block_t {
    struct s_block_t *next; /* older block; NULL for the first */
    pbarena_t *arena;       /* the arena it belongs to */
    size_t capacity;        /* bytes in data */
    size_t used;            /* bytes handed out from data */
    alignas (max_align_t) unsigned char data[];
} s_block_t;

struct pbarena_t {
    ProtobufCAllocator allocator; /* what protobuf-c calls */
    s_block_t *blocks;            /* newest first; ends at first_block */
    s_block_t *first_block;       /* lives in the arena's own region */
    void *first;                  /* first allocation since new or reset */
    size_t next_capacity;         /* capacity of the next block made */
};

#define S_ALIGN    (alignof (max_align_t))
#define S_MIN_HINT 256

static size_t
s_round (size_t size)
{
    return (size + S_ALIGN - 1) & ~(S_ALIGN - 1);
}

/* Header size of the arena region: the arena struct, padded so that the
 * block header after it is aligned like a block of its own. */
static size_t
s_arena_head (void)
{
    return s_round (sizeof (pbarena_t));
}

static void *
s_alloc (void *data, size_t size)
{
    pbarena_t *self = data;
    if (size > SIZE_MAX - S_ALIGN) {
        return NULL;
    }
    size = s_round (size ? size : 1);
    s_block_t *block = self->blocks;
    if (block->capacity - block->used < size) {
        size_t capacity = self->next_capacity;
        if (capacity < size) {
            capacity = size;
        }
        if (capacity > SIZE_MAX - sizeof (s_block_t)) {
            return NULL;
        }
        block = malloc (sizeof (s_block_t) + capacity);
        if (!block) {
            return NULL;
        }
        block->arena = self;
        block->capacity = capacity;
        block->used = 0;
        block->next = self->blocks;
        self->blocks = block;
        if (capacity <= SIZE_MAX / 2) {
            self->next_capacity = capacity * 2;
        }
    }
    void *pointer = block->data + block->used;
    block->used += size;
    if (!self->first) {
        self->first = pointer;
    }
    return pointer;
}

static void
s_free (void *data, void *pointer)
{
    (void) data;
    (void) pointer; /* everything goes at once, with the arena */
}

pbarena_t *
pbarena_new (size_t hint)
{
    size_t capacity = s_round (hint < S_MIN_HINT ? S_MIN_HINT : hint);
    size_t head = s_arena_head ();
    if (capacity > SIZE_MAX - head - sizeof (s_block_t)) {
        return NULL;
    }
    unsigned char *region = malloc (head + sizeof (s_block_t) + capacity);
    if (!region) {
        return NULL;
    }
    pbarena_t *self = (pbarena_t *) region;
    s_block_t *block = (s_block_t *) (region + head);
    block->next = NULL;
    block->arena = self;
    block->capacity = capacity;
    block->used = 0;
    self->allocator.alloc = s_alloc;
    self->allocator.free = s_free;
    self->allocator.allocator_data = self;
    self->blocks = block;
    self->first_block = block;
    self->first = NULL;
    self->next_capacity = capacity * 2;
    return self;
}

/* Frees every block but the first. */
static void
s_free_later_blocks (pbarena_t *self)
{
    while (self->blocks != self->first_block) {
        s_block_t *block = self->blocks;
        self->blocks = block->next;
        free (block);
    }
}

void
pbarena_destroy (pbarena_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    s_free_later_blocks (*self_p);
    free (*self_p); /* the region that holds the first block too */
    *self_p = NULL;
}

void
pbarena_reset (pbarena_t *self)
{
    s_free_later_blocks (self);
    self->first_block->used = 0;
    self->first = NULL;
    self->next_capacity = self->first_block->capacity * 2;
}

ProtobufCAllocator *
pbarena_allocator (pbarena_t *self)
{
    return &self->allocator;
}

void *
pbarena_first (const pbarena_t *self)
{
    return self->first;
}

pbarena_t *
pbarena_of_first (void *pointer)
{
    s_block_t *block =
        (s_block_t *) ((unsigned char *) pointer - offsetof (s_block_t, data));
    return block->arena;
}
