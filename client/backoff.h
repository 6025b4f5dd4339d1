/* Exponential backoff with jitter, for the command line's "try later"
 * answers (zjob map re-submitting jobs a busy broker refused). */
#ifndef ZJOB_CLIENT_BACKOFF_H
#define ZJOB_CLIENT_BACKOFF_H

#include <stdint.h>

/* One backoff sequence. */
typedef struct {
    uint64_t first_ms; /* the first delay */
    uint64_t max_ms;   /* delays never grow past this */
    uint64_t next_ms;  /* the delay the next step is based on */
} client_backoff_t;

/* Starts a sequence at first_ms (> 0), doubling up to max_ms. */
void client_backoff_init (client_backoff_t *backoff, uint64_t first_ms,
                          uint64_t max_ms);

/* Returns the delay to wait now: between half and all of the current
 * step, chosen by random, and doubles the step (capped at max_ms). */
uint64_t client_backoff_step (client_backoff_t *backoff, uint64_t random);

/* Starts the sequence over from first_ms (after a success). */
void client_backoff_reset (client_backoff_t *backoff);

#endif
