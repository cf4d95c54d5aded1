/* Unit tests of what the server believes (server/trust.c): value and time ranges at their edges,
 * range claims, and when a repeat is the same reading. */
// LINK: server/trust.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../server/trust.h"

static struct ls_reading reading(void)
{
    struct ls_reading r;

    memset(&r, 0, sizeof(r));
    r.seq = 1;
    snprintf(r.instrument, sizeof(r.instrument), "icp-ms-01");
    r.ts = 1000000;
    r.state = LS_STATE_RUNNING;
    r.has = LS_HAS_RUN_SECONDS | LS_HAS_ENERGY_WH | LS_HAS_SAMPLES | LS_HAS_BADGE | LS_HAS_POWER_W;
    return r;
}

static void values_in_range_both_ways(void **state)
{
    struct ls_reading r = reading();

    (void)state;
    assert_int_equal(trust_check_values(&r), -1);
    r.samples = TRUST_COUNTER_MAX;
    r.run_seconds = TRUST_COUNTER_MAX;
    r.energy_wh = TRUST_COUNTER_MAX;
    r.badge = TRUST_BADGE_MAX;
    r.power_w = TRUST_POWER_MAX;
    assert_int_equal(trust_check_values(&r), -1);
    r.samples = TRUST_COUNTER_MAX + 1;
    assert_int_equal(trust_check_values(&r), TRUST_BAD_VALUE);
    r = reading();
    r.badge = TRUST_BADGE_MAX + 1;
    assert_int_equal(trust_check_values(&r), TRUST_BAD_VALUE);
    r = reading();
    r.power_w = NAN;
    assert_int_equal(trust_check_values(&r), TRUST_BAD_VALUE);
    r.power_w = -0.5;
    assert_int_equal(trust_check_values(&r), TRUST_BAD_VALUE);
    r.has &= ~(unsigned)LS_HAS_POWER_W; /* an absent field is not judged */
    assert_int_equal(trust_check_values(&r), -1);
}

static void times_at_their_edges(void **state)
{
    struct trust_limits lim = {300000, 86400000, 10};
    struct ls_reading r = reading();

    (void)state;
    r.ts = 5000000 + 300000;
    assert_int_equal(trust_check_time(&r, 5000000, 0, &lim), -1);
    r.ts++;
    assert_int_equal(trust_check_time(&r, 5000000, 0, &lim), TRUST_BAD_TIME);
    r.ts = 100000000 - 86400000;
    assert_int_equal(trust_check_time(&r, 200000000, 100000000, &lim), -1);
    r.ts--;
    assert_int_equal(trust_check_time(&r, 200000000, 100000000, &lim), TRUST_BAD_TIME);
}

static void range_claims(void **state)
{
    struct ls_reading r[2] = {reading(), reading()};
    int64_t from = -1;

    (void)state;
    r[0].seq = 5;
    r[1].seq = 20;
    /* (4, 20] with 2 readings: 14 thinned; allowed 14, not 13 */
    assert_int_equal(trust_range_claim(4, 20, r, 2, 0, 14, &from), 1);
    assert_int_equal(from, 4);
    assert_int_equal(trust_range_claim(4, 20, r, 2, 0, 13, &from), 0);
    /* from behind the stored ack (10): taken from 10, 9 thinned in (10, 20] */
    assert_int_equal(trust_range_claim(4, 20, r, 2, 10, 9, &from), 1);
    assert_int_equal(from, 10);
    /* nothing left to claim beyond the ack */
    assert_int_equal(trust_range_claim(4, 20, r, 2, 20, 0, &from), -1);
}

static void same_reading_or_not(void **state)
{
    struct ls_reading a = reading(), b = reading();

    (void)state;
    b.has |= LS_HAS_TS; /* how the payload carried ts does not matter */
    assert_true(trust_same_reading(&a, &b));
    b.samples = 1;
    assert_false(trust_same_reading(&a, &b));
    b = reading();
    b.has &= ~(unsigned)LS_HAS_BADGE;
    assert_false(trust_same_reading(&a, &b));
    b = reading();
    snprintf(b.instrument, sizeof(b.instrument), "other");
    assert_false(trust_same_reading(&a, &b));
    assert_string_equal(trust_cause_name(TRUST_CONFLICTING_REPEAT), "conflicting_repeat");
    assert_string_equal(trust_cause_name(TRUST_CAUSE_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_in_range_both_ways),
        cmocka_unit_test(times_at_their_edges),
        cmocka_unit_test(range_claims),
        cmocka_unit_test(same_reading_or_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
