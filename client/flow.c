/* AIMD in-flight limit for `zjob map`; see flow.h. */
#include "client/flow.h"

void
client_flow_init (client_flow_t *flow, size_t max)
{
    max = max ? max : 1;
    *flow = (client_flow_t){.max = max, .limit = max, .threshold = max};
}

size_t
client_flow_room (const client_flow_t *flow, size_t at_broker)
{
    return at_broker < flow->limit ? flow->limit - at_broker : 0;
}

bool
client_flow_busy (client_flow_t *flow, uint64_t round, size_t held)
{
    if (round != flow->round) {
        return false;
    }
    size_t base = held < flow->limit ? held : flow->limit;
    size_t cut = base / 2 ? base / 2 : 1;
    flow->threshold = flow->limit / 2 > cut ? flow->limit / 2 : cut;
    flow->limit = cut;
    flow->credit = 0;
    flow->round++;
    return true;
}

void
client_flow_accepted (client_flow_t *flow)
{
    if (flow->limit >= flow->max) {
        return;
    }
    size_t step = flow->limit < flow->threshold ? 1 : flow->limit;
    if (++flow->credit >= step) {
        flow->credit = 0;
        flow->limit++;
    }
}
