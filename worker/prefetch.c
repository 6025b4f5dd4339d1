/* A worker's prefetch, fixed or adapted to its jobs' run times. */
#include "worker/prefetch.h"

void
prefetch_init (prefetch_t *self, unsigned threads, long fixed)
{
    *self = (prefetch_t){.threads = threads, .adaptive = fixed < 0};
    if (self->adaptive) {
        uint64_t cap = (uint64_t) threads * PREFETCH_PER_THREAD_MAX;
        cap = cap < PREFETCH_MIN_CAP ? PREFETCH_MIN_CAP : cap;
        self->cap = cap > PREFETCH_MAX ? PREFETCH_MAX : (unsigned) cap;
    } else {
        self->cap = (unsigned) fixed;
        self->current = (unsigned) fixed;
    }
}

void
prefetch_sample (prefetch_t *self, uint64_t run_us)
{
    /* an average over about the last eight jobs; the first sets it */
    self->run_us = self->run_us ? (7 * self->run_us + run_us) / 8 : run_us;
    self->run_us += self->run_us == 0;
}

/* The prefetch the run times call for. */
static unsigned
s_target (const prefetch_t *self)
{
    uint64_t want = (uint64_t) self->threads * PREFETCH_COVER_US / self->run_us;
    return want > self->cap ? self->cap : (unsigned) want;
}

int
prefetch_adjust (prefetch_t *self)
{
    if (!self->adaptive || self->run_us == 0) {
        return 0;
    }
    unsigned target = s_target (self);
    unsigned gap = target > self->current ? target - self->current
                                          : self->current - target;
    /* small moves would only trade messages back and forth */
    unsigned slack =
        self->current / 4 > self->threads ? self->current / 4 : self->threads;
    if (gap <= slack && target != 0) {
        return 0;
    }
    int change = (int) target - (int) self->current;
    self->current = target;
    return change;
}
