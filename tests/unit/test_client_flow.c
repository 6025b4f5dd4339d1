/* Unit tests of the in-flight limit `zjob map` keeps against a busy
 * broker: cut in half once per round, grown back towards the window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/flow.h"

static void
test_client_flow_starts_open (void **state)
{
    client_flow_t flow;
    client_flow_init (&flow, 2000);
    assert_int_equal (client_flow_room (&flow, 0), 2000);
    assert_int_equal (client_flow_room (&flow, 1500), 500);
    assert_int_equal (client_flow_room (&flow, 2500), 0);
    client_flow_accepted (&flow);
    assert_int_equal (flow.limit, 2000); /* never past max */
}

static void
test_client_flow_cuts_to_half_of_what_the_broker_holds (void **state)
{
    client_flow_t flow;
    client_flow_init (&flow, 2000);
    uint64_t round = flow.round;
    assert_true (client_flow_busy (&flow, round, 104));
    assert_int_equal (flow.limit, 52);
    /* the other refusals of that burst were sent before the cut */
    assert_false (client_flow_busy (&flow, round, 104));
    assert_int_equal (flow.limit, 52);
    assert_true (client_flow_busy (&flow, flow.round, 80));
    assert_int_equal (flow.limit, 26);
    for (int i = 0; i < 10; i++) {
        client_flow_busy (&flow, flow.round, 0);
    }
    assert_int_equal (flow.limit, 1); /* never below one */
    assert_int_equal (client_flow_room (&flow, 0), 1);
}

static void
test_client_flow_grows_back (void **state)
{
    client_flow_t flow;
    client_flow_init (&flow, 1000);
    client_flow_busy (&flow, flow.round, 100);
    assert_int_equal (flow.limit, 50);
    /* below half the old limit: one more per acceptance */
    for (int i = 0; i < 50; i++) {
        client_flow_accepted (&flow);
    }
    assert_int_equal (flow.limit, 100);
    client_flow_busy (&flow, flow.round, 100);
    assert_int_equal (flow.limit, 50);
    /* at half the old limit: one more per limit acceptances */
    for (int i = 0; i < 49; i++) {
        client_flow_accepted (&flow);
    }
    assert_int_equal (flow.limit, 50);
    client_flow_accepted (&flow);
    assert_int_equal (flow.limit, 51);
    /* cut deep by other clients' jobs: back to half the old limit fast */
    client_flow_busy (&flow, flow.round, 0);
    assert_int_equal (flow.limit, 1);
    for (int i = 0; i < 24; i++) {
        client_flow_accepted (&flow);
    }
    assert_int_equal (flow.limit, 25);
    for (int i = 0; i < 100000; i++) {
        client_flow_accepted (&flow);
    }
    assert_true (flow.limit > 400 && flow.limit <= 1000);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_client_flow_starts_open),
        cmocka_unit_test (
            test_client_flow_cuts_to_half_of_what_the_broker_holds),
        cmocka_unit_test (test_client_flow_grows_back),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
