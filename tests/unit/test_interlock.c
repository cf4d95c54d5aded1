/* Unit tests of the interlock's desired state (server/interlock.c) at every boundary: the lead
 * time, the end, the overrun grace, outage edges, back-to-back bookings, walk-up, policy parsing.
 */
// LINK: server/interlock.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../server/interlock.h"
#include "labshare/rc.h"

#define MIN 60000LL
#define T0 1800000000000LL /* a booking starts here */

static struct interlock_policy enforce(void)
{
    struct interlock_policy p;
    char why[100];

    interlock_policy_parse(NULL, &p, why, sizeof(why));
    p.mode = INTERLOCK_ENFORCE; /* lead 10 min, grace 30 min */
    return p;
}

static struct interlock_desired at(const struct interlock_policy *p, int64_t now,
                                   const struct interlock_booking *b, size_t nb,
                                   const struct interlock_span *o, size_t no, int running,
                                   int64_t idle_at, int badge)
{
    struct interlock_input in = {now, b, nb, o, no, running, idle_at, badge};
    struct interlock_desired d;

    interlock_desire(p, &in, &d);
    return d;
}

static void lead_time_and_end(void **state)
{
    struct interlock_policy p = enforce();
    struct interlock_booking b = {7, T0, T0 + 60 * MIN};
    struct interlock_desired d;

    (void)state;
    d = at(&p, T0 - 10 * MIN - 1, &b, 1, NULL, 0, 0, 0, 0);
    assert_false(d.enable);
    assert_int_equal(d.until_ms, T0 - 10 * MIN); /* when it will change */
    d = at(&p, T0 - 10 * MIN, &b, 1, NULL, 0, 0, 0, 0);
    assert_true(d.enable);
    assert_int_equal(d.reason, IL_ON_BOOKING);
    assert_int_equal(d.booking, 7);
    assert_int_equal(d.end_ms, T0 + 60 * MIN);
    assert_int_equal(d.until_ms, T0 + 90 * MIN);
    d = at(&p, T0 + 60 * MIN - 1, &b, 1, NULL, 0, 0, 0, 0);
    assert_true(d.enable);
    d = at(&p, T0 + 60 * MIN, &b, 1, NULL, 0, 0, 0, 0); /* the end, idle: off */
    assert_false(d.enable);
    assert_int_equal(d.reason, IL_OFF_NO_BOOKING);
    p.lead_min = 0;
    assert_false(at(&p, T0 - 1, &b, 1, NULL, 0, 0, 0, 0).enable);
    assert_true(at(&p, T0, &b, 1, NULL, 0, 0, 0, 0).enable);
}

static void overrun_never_cuts_a_run(void **state)
{
    struct interlock_policy p = enforce();
    struct interlock_booking b = {7, T0, T0 + 60 * MIN};
    const int64_t end = T0 + 60 * MIN;
    struct interlock_desired d;

    (void)state;
    d = at(&p, end, &b, 1, NULL, 0, 1, T0 - MIN, 0); /* running at the end */
    assert_true(d.enable);
    assert_int_equal(d.reason, IL_ON_OVERRUN);
    assert_int_equal(d.until_ms, end + 30 * MIN);
    assert_true(at(&p, end + 30 * MIN - 1, &b, 1, NULL, 0, 1, T0 - MIN, 0).enable);
    assert_false(at(&p, end + 30 * MIN, &b, 1, NULL, 0, 1, T0 - MIN, 0).enable); /* grace over */
    /* it went idle after the end: disabled, and a new run cannot bring it back */
    assert_false(at(&p, end + 5 * MIN, &b, 1, NULL, 0, 1, end + 2 * MIN, 0).enable);
    assert_false(at(&p, end + 5 * MIN, &b, 1, NULL, 0, 0, end + 2 * MIN, 0).enable);
    /* grace 0: off at the end, running or not */
    p.overrun_grace_min = 0;
    assert_false(at(&p, end, &b, 1, NULL, 0, 1, 0, 0).enable);
}

static void outages_disable(void **state)
{
    struct interlock_policy p = enforce();
    struct interlock_booking b = {7, T0, T0 + 60 * MIN};
    struct interlock_span o = {T0 + 20 * MIN, T0 + 40 * MIN};
    struct interlock_desired d;

    (void)state;
    d = at(&p, T0 + 10 * MIN, &b, 1, &o, 1, 0, 0, 0);
    assert_true(d.enable);
    assert_int_equal(d.until_ms, T0 + 20 * MIN); /* the gateway stops it where the outage begins */
    assert_int_equal(d.end_ms, T0 + 20 * MIN);
    d = at(&p, T0 + 20 * MIN, &b, 1, &o, 1, 1, 0, 0); /* running, but the outage begins */
    assert_false(d.enable);
    assert_int_equal(d.reason, IL_OFF_OUTAGE);
    assert_int_equal(d.until_ms, T0 + 40 * MIN);
    assert_false(at(&p, T0 + 40 * MIN - 1, &b, 1, &o, 1, 0, 0, 0).enable);
    assert_true(at(&p, T0 + 40 * MIN, &b, 1, &o, 1, 0, 0, 0).enable); /* its end: back on */
}

static void back_to_back_and_next(void **state)
{
    struct interlock_policy p = enforce();
    struct interlock_booking b[2] = {{8, T0 + 60 * MIN, T0 + 120 * MIN}, {7, T0, T0 + 60 * MIN}};
    struct interlock_desired d;

    (void)state;
    /* in the first booking, within the second's lead: the later end holds it */
    d = at(&p, T0 + 55 * MIN, b, 2, NULL, 0, 0, 0, 0);
    assert_true(d.enable);
    assert_int_equal(d.booking, 8);
    d = at(&p, T0 + 60 * MIN, b, 2, NULL, 0, 1, 0, 0);
    assert_true(d.enable);
    assert_int_equal(d.reason, IL_ON_BOOKING);
    assert_int_equal(d.booking, 8);
    /* an overrun ends where the next booking's lead begins (it is theirs then) */
    struct interlock_booking c[2] = {{7, T0, T0 + 60 * MIN}, {9, T0 + 80 * MIN, T0 + 90 * MIN}};
    d = at(&p, T0 + 60 * MIN, c, 2, NULL, 0, 1, 0, 0);
    assert_int_equal(d.reason, IL_ON_OVERRUN);
    assert_int_equal(d.until_ms, T0 + 70 * MIN);
    d = at(&p, T0 + 70 * MIN, c, 2, NULL, 0, 1, 0, 0);
    assert_int_equal(d.reason, IL_ON_BOOKING);
    assert_int_equal(d.booking, 9);
}

static void walkup_and_modes(void **state)
{
    struct interlock_policy p = enforce();
    struct interlock_booking b = {7, T0, T0 + 60 * MIN};
    struct interlock_desired d;

    (void)state;
    assert_false(at(&p, T0 - 60 * MIN, &b, 1, NULL, 0, 0, 0, 1).enable); /* walk-up not allowed */
    p.walkup = 1;
    d = at(&p, T0 - 60 * MIN, &b, 1, NULL, 0, 0, 0, 1);
    assert_true(d.enable);
    assert_int_equal(d.reason, IL_ON_WALKUP);
    assert_int_equal(d.until_ms, T0 - 10 * MIN); /* the booking's lead time takes over */
    assert_false(at(&p, T0 - 60 * MIN, &b, 1, NULL, 0, 0, 0, 0).enable); /* no badge: no */
    p.mode = INTERLOCK_NONE;
    assert_false(at(&p, T0, &b, 1, NULL, 0, 0, 0, 0).enable);
    p.mode = INTERLOCK_MONITOR; /* computed the same; only not sent */
    assert_true(at(&p, T0, &b, 1, NULL, 0, 0, 0, 0).enable);
}

static void policy_parse(void **state)
{
    struct interlock_policy p;
    char why[120];
    json_t *j;

    (void)state;
    assert_int_equal(interlock_policy_parse(NULL, &p, why, sizeof(why)), LS_OK);
    assert_int_equal(p.mode, INTERLOCK_NONE);
    assert_int_equal(p.lead_min, 10);
    assert_int_equal(p.overrun_grace_min, 30);
    j = json_pack("{s:s, s:i, s:i, s:b}", "mode", "enforce", "lead_min", 0, "overrun_grace_min",
                  1440, "walkup", 1);
    assert_int_equal(interlock_policy_parse(j, &p, why, sizeof(why)), LS_OK);
    assert_int_equal(p.mode, INTERLOCK_ENFORCE);
    assert_true(p.walkup);
    json_decref(j);
    j = interlock_policy_json(&p);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "enforce");
    json_decref(j);
    j = json_pack("{s:s}", "mode", "strict");
    assert_int_equal(interlock_policy_parse(j, &p, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(j);
    j = json_pack("{s:i}", "lead_min", 1441);
    assert_int_equal(interlock_policy_parse(j, &p, why, sizeof(why)), LS_ERR_INVAL);
    assert_non_null(strstr(why, "interlock.lead_min"));
    json_decref(j);
    j = json_pack("{s:i}", "colour", 1);
    assert_int_equal(interlock_policy_parse(j, &p, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(j);
    j = json_pack("{s:i}", "walkup", 1);
    assert_int_equal(interlock_policy_parse(j, &p, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lead_time_and_end), cmocka_unit_test(overrun_never_cuts_a_run),
        cmocka_unit_test(outages_disable),   cmocka_unit_test(back_to_back_and_next),
        cmocka_unit_test(walkup_and_modes),  cmocka_unit_test(policy_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
