/* Monotonic and wall-clock readings in integer units; see clock.h. */
#include "common/clock.h"

#include <time.h>

static uint64_t
s_read_us (clockid_t clock)
{
    struct timespec now;
    clock_gettime (clock, &now);
    return (uint64_t) now.tv_sec * 1000000u + (uint64_t) now.tv_nsec / 1000u;
}

uint64_t
clock_mono_ms (void)
{
    return s_read_us (CLOCK_MONOTONIC) / 1000u;
}

uint64_t
clock_mono_us (void)
{
    return s_read_us (CLOCK_MONOTONIC);
}

uint64_t
clock_wall_ms (void)
{
    return s_read_us (CLOCK_REALTIME) / 1000u;
}
