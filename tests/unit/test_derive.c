/* Unit tests of state and run time derived from power (gateway/derive.c): hysteresis,
 * debounce at its exact boundary, run time summed from state durations. */
// LINK: gateway/derive.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../gateway/derive.h"

static struct gw_device dev(double start_w, double stop_w, int min_on_s, int min_off_s)
{
    struct gw_device d;

    memset(&d, 0, sizeof(d));
    d.start_w = start_w;
    d.stop_w = stop_w;
    d.min_on_s = min_on_s;
    d.min_off_s = min_off_s;
    d.field_present[GW_F_POWER_W] = 1;
    return d;
}

/* Feed power p at time t (ms); return the state and put run_seconds in *run. */
static enum ls_state feed(struct derive *dv, double p, int64_t t, int64_t *run)
{
    struct ls_reading r;

    memset(&r, 0, sizeof(r));
    r.power_w = p;
    r.has = LS_HAS_POWER_W;
    derive_apply(dv, &r, t);
    if (run)
        *run = r.run_seconds;
    return r.state;
}

static void hysteresis(void **state)
{
    struct gw_device d = dev(1000, 500, 0, 0);
    struct derive dv;

    (void)state;
    derive_init(&dv, &d, 0);
    assert_int_equal(feed(&dv, 999.9, 0, NULL), LS_STATE_IDLE);
    assert_int_equal(feed(&dv, 1000, 100, NULL), LS_STATE_RUNNING); /* at start_w: on */
    assert_int_equal(feed(&dv, 700, 200, NULL), LS_STATE_RUNNING);  /* between: stays on */
    assert_int_equal(feed(&dv, 500, 300, NULL), LS_STATE_RUNNING);  /* at stop_w: still on */
    assert_int_equal(feed(&dv, 499.9, 400, NULL), LS_STATE_IDLE);   /* below stop_w: off */
    assert_int_equal(feed(&dv, 700, 500, NULL), LS_STATE_IDLE);     /* between: stays off */
    assert_int_equal(feed(&dv, 0, 600, NULL), LS_STATE_OFF);        /* no power at all */
}

static void debounce_boundary(void **state)
{
    struct gw_device d = dev(1000, 500, 2, 3);
    struct derive dv;
    int64_t run;

    (void)state;
    derive_init(&dv, &d, 0);
    feed(&dv, 10, 0, NULL);
    /* a spike of 1.999 s is not a run */
    assert_int_equal(feed(&dv, 1500, 1000, NULL), LS_STATE_IDLE);
    assert_int_equal(feed(&dv, 1500, 2999, NULL), LS_STATE_IDLE);
    assert_int_equal(feed(&dv, 10, 3000, NULL), LS_STATE_IDLE);
    /* 2 s exactly is: the run counts from when the power crossed */
    assert_int_equal(feed(&dv, 1500, 10000, NULL), LS_STATE_IDLE);
    assert_int_equal(feed(&dv, 1500, 12000, &run), LS_STATE_RUNNING);
    assert_int_equal(run, 2);
    /* a dip of 2.9 s keeps it running, and its time counts */
    assert_int_equal(feed(&dv, 100, 20000, NULL), LS_STATE_RUNNING);
    assert_int_equal(feed(&dv, 1500, 22900, &run), LS_STATE_RUNNING);
    assert_int_equal(run, 12);
    /* a stop of 3 s ends the run when the power dropped (30 s): 20 s of running in all */
    assert_int_equal(feed(&dv, 100, 30000, NULL), LS_STATE_RUNNING);
    assert_int_equal(feed(&dv, 100, 33000, &run), LS_STATE_IDLE);
    assert_int_equal(run, 20);
    assert_int_equal(feed(&dv, 100, 60000, &run), LS_STATE_IDLE);
    assert_int_equal(run, 20);
}

static void restored_run_time_and_counter_meters(void **state)
{
    struct gw_device d = dev(100, 100, 0, 0);
    struct derive dv;
    struct ls_reading r;
    int64_t run;

    (void)state;
    derive_init(&dv, &d, 3600500); /* restored from the outbox */
    feed(&dv, 200, 0, NULL);
    feed(&dv, 200, 10000, &run);
    assert_int_equal(run, 3610);
    /* a meter with its own run-time counter keeps it */
    d.field_present[GW_F_RUN_SECONDS] = 1;
    derive_init(&dv, &d, 0);
    memset(&r, 0, sizeof(r));
    r.power_w = 200;
    r.run_seconds = 77;
    r.has = LS_HAS_POWER_W | LS_HAS_RUN_SECONDS;
    derive_apply(&dv, &r, 5000);
    assert_int_equal(r.state, LS_STATE_RUNNING);
    assert_int_equal(r.run_seconds, 77);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hysteresis),
        cmocka_unit_test(debounce_boundary),
        cmocka_unit_test(restored_run_time_and_counter_meters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
