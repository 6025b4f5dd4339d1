/* How many jobs a worker holds beyond one per thread (its prefetch), fixed
 * or adapted to how long its jobs run.
 *
 * Adaptive prefetch keeps about PREFETCH_COVER_US of work waiting for each
 * thread, so that short jobs do not each wait a round trip to the broker
 * for the next one, while long jobs are not hoarded by one worker when
 * others are idle. It grows by giving the broker more credit and shrinks
 * by revoking credit (Credit.credit and Credit.revoke). This module is the
 * policy alone: the caller measures and sends. */
#ifndef ZJOB_WORKER_PREFETCH_H
#define ZJOB_WORKER_PREFETCH_H

#include <stdbool.h>
#include <stdint.h>

/* Waiting work each thread should have, in microseconds of run time. */
#define PREFETCH_COVER_US 1000

/* Most prefetch per thread, and in all, when adaptive. */
#define PREFETCH_PER_THREAD_MAX 64
#define PREFETCH_MIN_CAP        128
#define PREFETCH_MAX            4096

typedef struct {
    unsigned threads; /* pool threads */
    bool adaptive;    /* false: current stays at its fixed value */
    unsigned cap;     /* the largest current may become */
    unsigned current; /* prefetch the broker's credit reflects */
    uint64_t run_us;  /* moving average of job run time; 0: none seen */
} prefetch_t;

/* Sets self up for threads; fixed is the prefetch to keep, or -1 for
 * adaptive (which starts at 0). */
void prefetch_init (prefetch_t *self, unsigned threads, long fixed);

/* Records one job's run time. */
void prefetch_sample (prefetch_t *self, uint64_t run_us);

/* Moves current toward what the run times call for, when it is far
 * enough off. Returns the change of credit to tell the broker: positive
 * to grant, negative to revoke, 0 for none. */
int prefetch_adjust (prefetch_t *self);

#endif
