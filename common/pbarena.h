/* A bump allocator for protobuf-c unpacking.
 *
 * protobuf-c allocates every submessage, repeated-field array, string and
 * bytes field of a decoded message on its own, so a batch of 1,000 jobs
 * costs several thousand malloc and free calls. Unpacked through an arena,
 * all of those pieces come from a few large blocks that are released
 * together: per message, not per job.
 *
 * An arena belongs to one thread at a time. Its allocator's free function
 * does nothing; a message unpacked into an arena must never be passed to
 * the generated free_unpacked function with another allocator, and it dies
 * with pbarena_reset or pbarena_destroy.
 */
#ifndef ZJOB_PBARENA_H
#define ZJOB_PBARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct pbarena_t pbarena_t;

/* Creates an arena whose first block holds about hint bytes (blocks grow
 * as needed). Returns NULL when out of memory. */
pbarena_t *pbarena_new (size_t hint);

/* Frees every block, and everything allocated from them, and nulls the
 * pointer; NULL is fine. */
void pbarena_destroy (pbarena_t **self_p);

/* Forgets every allocation but keeps the first block for reuse; later
 * blocks are freed. */
void pbarena_reset (pbarena_t *self);

/* The allocator to pass to protobuf-c's unpack functions. */
ProtobufCAllocator *pbarena_allocator (pbarena_t *self);

/* The first allocation made since the arena was made or reset (protobuf-c
 * allocates the top message first), or NULL when there was none. */
void *pbarena_first (const pbarena_t *self);

/* The arena whose first allocation is pointer, which must be a pointer
 * pbarena_first returned (the arena lives just before it). */
pbarena_t *pbarena_of_first (void *pointer);

#endif
