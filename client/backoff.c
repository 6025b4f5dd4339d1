/* Exponential backoff with "equal jitter"; see backoff.h. */
#include "client/backoff.h"

void
client_backoff_init (client_backoff_t *backoff, uint64_t first_ms,
                     uint64_t max_ms)
{
    backoff->first_ms = first_ms ? first_ms : 1;
    backoff->max_ms = max_ms < backoff->first_ms ? backoff->first_ms : max_ms;
    backoff->next_ms = backoff->first_ms;
}

uint64_t
client_backoff_step (client_backoff_t *backoff, uint64_t random)
{
    uint64_t step = backoff->next_ms;
    uint64_t half = step / 2;
    uint64_t delay = step - half + random % (half + 1);
    backoff->next_ms = step * 2 > backoff->max_ms ? backoff->max_ms : step * 2;
    return delay;
}

void
client_backoff_reset (client_backoff_t *backoff)
{
    backoff->next_ms = backoff->first_ms;
}
