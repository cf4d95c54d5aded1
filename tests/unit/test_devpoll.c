/* Unit tests of one meter's poll as a sequence of Modbus operations (gateway/devpoll.c): the
 * operations asked for, in order, whatever carries them; the relay written and read back; what
 * a refused write, a relay that does not move, a timeout and a meter that does not answer do
 * to the link, the relay's fault and the reading. */
// LINK: gateway/devpoll.c gateway/relay.c gateway/tracker.c gateway/plan.c gateway/derive.c
// LINK: gateway/config.c gateway/outbox.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../gateway/devpoll.h"
#include "../../gateway/mbap.h"
#include "../../gateway/relay.h"
#include "labshare/rc.h"

struct fixture {
    struct gw_config cfg;
    struct gw_device d;
    struct dev_state ds;
    struct relays *rs;
    uint16_t regs[GW_FIELD_COUNT * 16];
};

static struct fixture fx;

static int setup(void **state)
{
    static const char disable[] =
        "{\"version\": 6, \"instruments\": [{\"instrument\": \"icp-1\", \"interlock\": "
        "\"disable\"}]}";
    char err[200];
    int64_t v;

    (void)state;
    memset(&fx, 0, sizeof(fx));
    fx.cfg.heartbeat_s = 60;
    snprintf(fx.d.id, sizeof(fx.d.id), "icp-1");
    fx.d.unit = 1;
    fx.d.poll_ms = 1000;
    fx.d.timeout_ms = 500;
    ls_field_spec_parse("hr:0:u16", &fx.d.fields[GW_F_STATE], NULL, 0);
    ls_field_spec_parse("hr:1:u32", &fx.d.fields[GW_F_RUN_SECONDS], NULL, 0);
    fx.d.field_present[GW_F_STATE] = fx.d.field_present[GW_F_RUN_SECONDS] = 1;
    fx.d.relay_table = LS_TABLE_CO;
    fx.d.relay_addr = 0;
    devpoll_init(&fx.ds, &fx.d, &fx.cfg, NULL, 0);
    assert_int_equal(relays_open(NULL, &fx.rs), LS_OK);
    assert_int_equal(relays_command(fx.rs, disable, strlen(disable), &v, err, sizeof(err)), LS_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    relays_free(fx.rs);
    return 0;
}

/* The next operation must be fn at addr with count_or_value n; returns where values go. */
static uint16_t *expect_op(uint8_t fn, uint16_t addr, uint16_t n)
{
    struct mb_op op;
    uint16_t *values = NULL;

    assert_int_equal(devpoll_next(&fx.ds, &op, &values), 1);
    assert_int_equal(op.function, fn);
    assert_int_equal(op.addr, addr);
    assert_int_equal(op.count_or_value, n);
    return values;
}

/* The plan's one read (state and run time, hr 0..2) answered: idle, 42 s. */
static void answer_plan(void)
{
    uint16_t *v = expect_op(MBAP_READ_HOLDING, 0, 3);
    v[0] = 1;
    v[1] = 0;
    v[2] = 42;
    devpoll_result(&fx.ds, LS_OK, "");
}

/* A poll up to the relay's write: the plan read, the relay read enabled (the command wants it
 * disabled), the write of 0 asked for. */
static void to_the_write(void)
{
    uint16_t *v;

    devpoll_begin(&fx.ds, fx.rs, fx.regs, 16, 0);
    answer_plan();
    v = expect_op(MBAP_READ_COILS, 0, 1);
    *v = 1;
    devpoll_result(&fx.ds, LS_OK, "");
    expect_op(MBAP_WRITE_COIL, 0, 0);
}

static const char *fault(void)
{
    static struct relay_report rep[4];
    size_t n = relays_report(fx.rs, rep, 4);

    for (size_t i = 0; i < n; i++)
        if (strcmp(rep[i].id, "icp-1") == 0)
            return rep[i].fault;
    return "(not reported)";
}

static void relay_written_and_read_back(void **state)
{
    struct mb_op op;
    uint16_t *v;

    (void)state;
    to_the_write();
    assert_int_equal(fx.ds.next_ms, 1000); /* the cadence: due poll_ms after this one was */
    devpoll_result(&fx.ds, LS_OK, "");
    v = expect_op(MBAP_READ_COILS, 0, 1);
    *v = 0;
    devpoll_result(&fx.ds, LS_OK, "");
    assert_int_equal(devpoll_next(&fx.ds, &op, &v), 0);
    assert_int_equal(fx.ds.phase, DP_DONE);
    assert_true(fx.ds.keep); /* the boot reading */
    assert_false(fx.ds.link_lost);
    assert_int_equal(fx.ds.r.state, LS_STATE_IDLE);
    assert_int_equal(fx.ds.r.run_seconds, 42);
    assert_true(fx.ds.r.has & LS_HAS_INTERLOCK);
    assert_int_equal(fx.ds.r.interlock, 0);
    assert_string_equal(fault(), "");
}

static void refused_write_keeps_the_link_and_backs_off(void **state)
{
    struct mb_op op;
    uint16_t *v;

    (void)state;
    to_the_write();
    devpoll_result(&fx.ds, LS_ERR_DENIED, "exception 4 (server device failure)");
    assert_int_equal(devpoll_next(&fx.ds, &op, &v), 0);
    assert_false(fx.ds.link_lost); /* an exception leaves the link in step */
    assert_non_null(strstr(fault(), "cannot disable: write of coil 0 refused: exception 4"));
    assert_int_equal(fx.ds.r.interlock, 1); /* as read: still enabled */
    /* the next poll, within the backoff (the poll interval): the relay is not tried */
    devpoll_begin(&fx.ds, fx.rs, fx.regs, 16, 500);
    answer_plan();
    assert_int_equal(devpoll_next(&fx.ds, &op, &v), 0);
    /* after it: tried again */
    devpoll_begin(&fx.ds, fx.rs, fx.regs, 16, 1000);
    answer_plan();
    expect_op(MBAP_READ_COILS, 0, 1);
}

static void stuck_relay_is_a_fault_not_a_lost_link(void **state)
{
    struct mb_op op;
    uint16_t *v;

    (void)state;
    to_the_write();
    devpoll_result(&fx.ds, LS_OK, "");
    v = expect_op(MBAP_READ_COILS, 0, 1);
    *v = 1; /* the write was acknowledged, the relay did not move */
    devpoll_result(&fx.ds, LS_OK, "");
    assert_int_equal(devpoll_next(&fx.ds, &op, &v), 0);
    assert_false(fx.ds.link_lost);
    assert_non_null(strstr(fault(), "coil 0 reads back enabled after the write"));
}

static void relay_timeout_drops_the_link(void **state)
{
    struct mb_op op;
    uint16_t *v;

    (void)state;
    devpoll_begin(&fx.ds, fx.rs, fx.regs, 16, 0);
    answer_plan();
    expect_op(MBAP_READ_COILS, 0, 1);
    devpoll_result(&fx.ds, LS_ERR_IO, "Connection timed out");
    assert_int_equal(devpoll_next(&fx.ds, &op, &v), 0);
    assert_true(fx.ds.link_lost);
    assert_non_null(strstr(fault(), "cannot read coil 0: Connection timed out"));
    assert_false(fx.ds.r.has & LS_HAS_INTERLOCK); /* not known */
}

static void silent_meter_gives_nothing(void **state)
{
    struct mb_op op;
    uint16_t *v;

    (void)state;
    devpoll_begin(&fx.ds, fx.rs, fx.regs, 16, 0);
    expect_op(MBAP_READ_HOLDING, 0, 3);
    devpoll_result(&fx.ds, LS_ERR_IO, "Connection timed out");
    assert_int_equal(devpoll_next(&fx.ds, &op, &v), 0);
    assert_true(fx.ds.link_lost);
    assert_true(fx.ds.failing);
    assert_false(fx.ds.keep);
    assert_false(fx.ds.polled);
    assert_string_equal(fault(), "meter unreachable: Connection timed out");
    /* an exception to a read of the plan also drops the link (libmodbus's old rule kept) */
    devpoll_begin(&fx.ds, fx.rs, fx.regs, 16, 1000);
    expect_op(MBAP_READ_HOLDING, 0, 3);
    devpoll_result(&fx.ds, LS_ERR_DENIED, "exception 2 (illegal data address)");
    assert_true(fx.ds.link_lost);
    /* an endpoint that cannot be connected: reported the same way, the cadence kept */
    devpoll_unreachable(&fx.ds, fx.rs, "Connection refused", 2500);
    assert_string_equal(fault(), "meter unreachable: Connection refused");
    assert_int_equal(fx.ds.next_ms, 3000); /* due at 2000, polled late: 3000 */
}

static void without_commands_the_relay_is_left_alone(void **state)
{
    struct mb_op op;
    uint16_t *v;

    (void)state;
    devpoll_begin(&fx.ds, NULL, fx.regs, 16, 0);
    answer_plan();
    assert_int_equal(devpoll_next(&fx.ds, &op, &v), 0);
    assert_true(fx.ds.keep);
    assert_false(fx.ds.r.has & LS_HAS_INTERLOCK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(relay_written_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_write_keeps_the_link_and_backs_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stuck_relay_is_a_fault_not_a_lost_link, setup, teardown),
        cmocka_unit_test_setup_teardown(relay_timeout_drops_the_link, setup, teardown),
        cmocka_unit_test_setup_teardown(silent_meter_gives_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(without_commands_the_relay_is_left_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
