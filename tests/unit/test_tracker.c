/* Unit tests of what becomes a reading: the tracker (gateway/tracker.c) and register decoding
 * into readings (poller_decode in gateway/devpoll.c). */
// LINK: gateway/tracker.c gateway/devpoll.c gateway/plan.c
// LINK: gateway/config.c gateway/outbox.c gateway/derive.c gateway/relay.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../gateway/plan.h"
#include "../../gateway/devpoll.h"
#include "../../gateway/tracker.h"
#include "labshare/rc.h"

static struct ls_reading r_of(enum ls_state s, int64_t run, int64_t badge)
{
    struct ls_reading r;

    memset(&r, 0, sizeof(r));
    r.state = s;
    r.run_seconds = run;
    r.badge = badge;
    r.has = LS_HAS_RUN_SECONDS | LS_HAS_BADGE;
    return r;
}

/* observe and, if sent, mark sent (as the poller does on a successful append) */
static int step(struct tracker *t, struct ls_reading r, int64_t now, enum ls_cause *cause)
{
    int send = tracker_observe(t, &r, now);
    if (send) {
        tracker_sent(t, &r, now);
        *cause = r.cause;
    }
    return send;
}

static void boot_change_heartbeat(void **state)
{
    struct tracker t;
    enum ls_cause c;

    (void)state;
    tracker_init(&t, 60);
    assert_true(step(&t, r_of(LS_STATE_IDLE, 0, 0), 0, &c));
    assert_int_equal(c, LS_CAUSE_BOOT);
    assert_false(step(&t, r_of(LS_STATE_IDLE, 0, 0), 1000, &c));
    /* state change */
    assert_true(step(&t, r_of(LS_STATE_RUNNING, 0, 0), 2000, &c));
    assert_int_equal(c, LS_CAUSE_CHANGE);
    /* counters moving is not a change */
    assert_false(step(&t, r_of(LS_STATE_RUNNING, 5, 0), 7000, &c));
    /* badge change */
    assert_true(step(&t, r_of(LS_STATE_RUNNING, 6, 1001), 8000, &c));
    assert_int_equal(c, LS_CAUSE_CHANGE);
    /* heartbeat exactly 60 s after the last sent reading, not before */
    assert_false(step(&t, r_of(LS_STATE_RUNNING, 30, 1001), 67999, &c));
    assert_true(step(&t, r_of(LS_STATE_RUNNING, 60, 1001), 68000, &c));
    assert_int_equal(c, LS_CAUSE_HEARTBEAT);
}

static void counter_reset_is_a_change(void **state)
{
    struct tracker t;
    enum ls_cause c;

    (void)state;
    tracker_init(&t, 60);
    step(&t, r_of(LS_STATE_IDLE, 500, 0), 0, &c);
    assert_false(step(&t, r_of(LS_STATE_IDLE, 500, 0), 1000, &c));
    assert_true(step(&t, r_of(LS_STATE_IDLE, 3, 0), 2000, &c)); /* factory reset */
    assert_int_equal(c, LS_CAUSE_CHANGE);
    assert_false(step(&t, r_of(LS_STATE_IDLE, 3, 0), 3000, &c));
}

static void refused_change_is_retried(void **state)
{
    struct tracker t;
    struct ls_reading r;
    enum ls_cause c;

    (void)state;
    tracker_init(&t, 60);
    step(&t, r_of(LS_STATE_IDLE, 0, 0), 0, &c);
    r = r_of(LS_STATE_RUNNING, 0, 0);
    assert_true(tracker_observe(&t, &r, 1000)); /* ...but the outbox was full: not sent */
    r = r_of(LS_STATE_RUNNING, 1, 0);
    assert_true(tracker_observe(&t, &r, 2000)); /* still differs from what was sent */
    assert_int_equal(r.cause, LS_CAUSE_CHANGE);
}

/* the relay's state (issue 12): a change of it, its first report and its loss are changes */
static void interlock_change_is_a_change(void **state)
{
    struct tracker t;
    struct ls_reading r;
    enum ls_cause c;

    (void)state;
    tracker_init(&t, 60);
    step(&t, r_of(LS_STATE_IDLE, 0, 0), 0, &c);
    r = r_of(LS_STATE_IDLE, 0, 0);
    r.has |= LS_HAS_INTERLOCK;
    r.interlock = 0;
    assert_true(step(&t, r, 1000, &c)); /* now under command: its state is news */
    assert_int_equal(c, LS_CAUSE_CHANGE);
    assert_false(step(&t, r, 2000, &c));
    r.interlock = 1;
    assert_true(step(&t, r, 3000, &c));
    assert_int_equal(c, LS_CAUSE_CHANGE);
    assert_false(step(&t, r, 4000, &c));
    r.has &= ~(unsigned)LS_HAS_INTERLOCK;
    assert_true(step(&t, r, 5000, &c)); /* released: no state any more */
    assert_false(step(&t, r, 6000, &c));
}

static void decode_labshare_map(void **state)
{
    struct gw_device d;
    struct plan p;
    uint16_t regs[13] = {2, 0, 100, 0, 7, 0, 15005, 0, 3, 0, 1001, 0, 1};
    uint16_t *rp[GW_FIELD_COUNT] = {regs};
    struct ls_reading r;
    char err[100];

    (void)state;
    memset(&d, 0, sizeof(d));
    ls_field_spec_parse("hr:0:u16", &d.fields[GW_F_STATE], NULL, 0);
    ls_field_spec_parse("hr:1:u32", &d.fields[GW_F_RUN_SECONDS], NULL, 0);
    ls_field_spec_parse("hr:3:u32", &d.fields[GW_F_ENERGY_WH], NULL, 0);
    ls_field_spec_parse("hr:5:u32*0.1", &d.fields[GW_F_POWER_W], NULL, 0);
    ls_field_spec_parse("hr:7:u32", &d.fields[GW_F_SAMPLES], NULL, 0);
    ls_field_spec_parse("hr:9:u32", &d.fields[GW_F_BADGE], NULL, 0);
    for (int f = 0; f < GW_FIELD_COUNT; f++)
        d.field_present[f] = 1;
    plan_build(&d, &p);
    assert_int_equal(p.request_count, 1);
    memset(&r, 0, sizeof(r));
    assert_int_equal(poller_decode(&d, &p, rp, &r, err, sizeof(err)), LS_OK);
    assert_int_equal(r.state, LS_STATE_RUNNING);
    assert_int_equal(r.run_seconds, 100);
    assert_int_equal(r.energy_wh, 7);
    assert_true(r.power_w > 1500.49 && r.power_w < 1500.51);
    assert_int_equal(r.samples, 3);
    assert_int_equal(r.badge, 1001);
    /* garbage: a state code that is not 0-3 */
    regs[0] = 9;
    memset(&r, 0, sizeof(r));
    assert_int_equal(poller_decode(&d, &p, rp, &r, err, sizeof(err)), LS_ERR_INVAL);
    assert_non_null(strstr(err, "state"));
}

static void decode_power_meter_little_endian_floats(void **state)
{
    struct gw_device d;
    struct plan p;
    uint16_t power[2], energy[2];
    uint16_t *rp[GW_FIELD_COUNT];
    struct ls_reading r;
    char err[100];

    (void)state;
    memset(&d, 0, sizeof(d));
    d.word_order = LS_WORD_LITTLE;
    ls_field_spec_parse("ir:12:f32", &d.fields[GW_F_POWER_W], NULL, 0);
    ls_field_spec_parse("ir:342:f32*1000", &d.fields[GW_F_ENERGY_WH], NULL, 0);
    d.field_present[GW_F_POWER_W] = d.field_present[GW_F_ENERGY_WH] = 1;
    plan_build(&d, &p);
    ls_reg_encode_f32(power, LS_WORD_LITTLE, 2250.5f);
    ls_reg_encode_f32(energy, LS_WORD_LITTLE, 12.345f); /* kWh */
    rp[p.field_request[GW_F_POWER_W]] = power;
    rp[p.field_request[GW_F_ENERGY_WH]] = energy;
    memset(&r, 0, sizeof(r));
    assert_int_equal(poller_decode(&d, &p, rp, &r, err, sizeof(err)), LS_OK);
    assert_true(r.power_w == 2250.5);
    assert_int_equal(r.energy_wh, 12345); /* kWh float scaled to Wh, rounded */
    assert_int_equal(r.has, LS_HAS_POWER_W | LS_HAS_ENERGY_WH);
    /* NaN power is garbage */
    power[0] = 0x0000;
    power[1] = 0x7FC0;
    assert_int_equal(poller_decode(&d, &p, rp, &r, err, sizeof(err)), LS_ERR_INVAL);
    /* negative energy is garbage */
    ls_reg_encode_f32(power, LS_WORD_LITTLE, 1.0f);
    ls_reg_encode_f32(energy, LS_WORD_LITTLE, -1.0f);
    assert_int_equal(poller_decode(&d, &p, rp, &r, err, sizeof(err)), LS_ERR_INVAL);
    assert_non_null(strstr(err, "energy_wh"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boot_change_heartbeat),
        cmocka_unit_test(counter_reset_is_a_change),
        cmocka_unit_test(refused_change_is_retried),
        cmocka_unit_test(interlock_change_is_a_change),
        cmocka_unit_test(decode_labshare_map),
        cmocka_unit_test(decode_power_meter_little_endian_floats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
