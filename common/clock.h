/* Time sources: a monotonic clock for timers and a wall clock for stamps. */
#ifndef ZJOB_CLOCK_H
#define ZJOB_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: for deadlines, timers and intervals. */
uint64_t clock_mono_ms (void);

/* Microseconds on CLOCK_MONOTONIC: for latency measurements. */
uint64_t clock_mono_us (void);

/* Milliseconds since the Unix epoch: for timestamps shown to people. */
uint64_t clock_wall_ms (void);

#endif
