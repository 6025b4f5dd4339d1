/* The in-flight limit of `zjob map` against a busy broker: how many of its
 * jobs may be at the broker (sent and not answered, or accepted and not
 * finished), cut in half when the broker says "try later" and grown again
 * as jobs are accepted (additive increase, multiplicative decrease). */
#ifndef ZJOB_CLIENT_FLOW_H
#define ZJOB_CLIENT_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One limit. */
typedef struct {
    size_t max;       /* the limit never grows past this (> 0) */
    size_t limit;     /* jobs that may be at the broker now, 1..max */
    size_t threshold; /* below it the limit grows by one per acceptance,
                         from it on by one per limit acceptances */
    size_t credit;    /* acceptances counted toward the next step */
    uint64_t round;   /* bumped by every cut: jobs sent in an earlier
                         round do not cut the limit again */
} client_flow_t;

/* Starts with the limit at max (> 0): no limit until the first cut. */
void client_flow_init (client_flow_t *flow, size_t max);

/* Returns how many more jobs may be sent with at_broker of them already
 * sent and not finished. */
size_t client_flow_room (const client_flow_t *flow, size_t at_broker);

/* A job sent in round was refused as busy while held jobs of ours were
 * accepted and not finished: unless the limit was cut since round, cuts it
 * to half of the smaller of the limit and held (at least 1), and returns
 * true. The growth threshold becomes half the old limit, so that a limit
 * cut deep by other clients' jobs comes back quickly. */
bool client_flow_busy (client_flow_t *flow, uint64_t round, size_t held);

/* A job was accepted: grows the limit towards max. */
void client_flow_accepted (client_flow_t *flow);

#endif
