/* Unit tests of the simulator's scenario parser and runner (firmware-stubs/scenario.c) and of
 * the meter model's counters (firmware-stubs/meter.c). */
// LINK: firmware-stubs/scenario.c firmware-stubs/meter.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../firmware-stubs/scenario.h"
#include "labshare/rc.h"

static void parses_the_documented_example(void **state)
{
    struct scenario sc;
    char err[300];
    const char *text = "# a session\n"
                       "0 state=idle\n"
                       "5 state=running badge=1042 power_w=1500   # log in\n"
                       "\n"
                       "65 state=idle badge=0 samples+=12\n"
                       "65.5 fault_code=7 reset=counters samples=3\n"
                       "90\n";

    (void)state;
    assert_int_equal(scenario_parse("s.txt", text, &sc, err, sizeof(err)), LS_OK);
    assert_int_equal(sc.count, 5);
    assert_int_equal(sc.steps[1].at_ms, 5000);
    assert_int_equal(sc.steps[1].flags, STEP_STATE | STEP_BADGE | STEP_POWER);
    assert_int_equal(sc.steps[1].state, LS_STATE_RUNNING);
    assert_int_equal(sc.steps[1].badge, 1042);
    assert_true(sc.steps[1].power_w == 1500.0);
    assert_int_equal(sc.steps[1].line, 3);
    assert_int_equal(sc.steps[2].flags, STEP_STATE | STEP_BADGE | STEP_SAMPLES_ADD);
    assert_int_equal(sc.steps[2].samples, 12);
    assert_int_equal(sc.steps[3].at_ms, 65500);
    assert_int_equal(sc.steps[3].flags, STEP_FAULT | STEP_RESET | STEP_SAMPLES_SET);
    assert_int_equal(sc.steps[4].flags, 0); /* a no-op step: the loop's length */
    assert_int_equal(sc.steps[4].at_ms, 90000);
    scenario_release(&sc);
}

/* Every malformed line is refused with file:line and a reason. */
static void rejects_malformed_lines(void **state)
{
    static const struct {
        const char *text;
        const char *want; /* prefix "bad.txt:N: " and a word of the reason */
    } bad[] = {
        {"x state=idle\n", "bad.txt:1: 'x' is not a time"},
        {"-1 state=idle\n", "bad.txt:1: '-1' is not a time"},
        {"0 state=idle\n# ok\n5 state=sleeping\n", "bad.txt:3: state must be"},
        {"0 colour=red\n", "bad.txt:1: unknown field 'colour'"},
        {"0 state\n", "bad.txt:1: 'state' is not field=value"},
        {"0 =idle\n", "bad.txt:1: '=idle' is not field=value"},
        {"0 state=\n", "bad.txt:1: 'state=' is not field=value"},
        {"0 badge=-3\n", "bad.txt:1: badge must be"},
        {"0 badge=4294967296\n", "bad.txt:1: badge must be"},
        {"0 power_w=lots\n", "bad.txt:1: power_w must be"},
        {"0 power_w=nan\n", "bad.txt:1: power_w must be"},
        {"0 samples=1.5\n", "bad.txt:1: samples must be"},
        {"0 badge+=1\n", "bad.txt:1: only samples can be added"},
        {"0 fault_code=70000\n", "bad.txt:1: fault_code must be"},
        {"0 reset=everything\n", "bad.txt:1: reset takes only"},
        {"0 state=idle state=running\n", "bad.txt:1: state is given twice"},
        {"0 samples=1 samples+=2\n", "bad.txt:1: samples is given twice"},
        {"10 state=idle\n5 state=running\n", "bad.txt:2: time 5 goes back"},
        {"1e9 state=idle\n", "bad.txt:1: '1e9' is not a time"},
        {"# nothing but comments\n\n", "bad.txt: no steps"},
    };
    struct scenario sc;
    char err[300];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (scenario_parse("bad.txt", bad[i].text, &sc, err, sizeof(err)) == LS_OK)
            fail_msg("case %zu accepted: %s", i, bad[i].text);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, err, bad[i].want);
        assert_null(sc.steps);
    }
}

static void rejects_overlong_line(void **state)
{
    char text[1100], err[200];
    struct scenario sc;

    (void)state;
    memset(text, ' ', sizeof(text));
    memcpy(text, "0 state=idle", 12);
    text[sizeof(text) - 2] = '\n';
    text[sizeof(text) - 1] = '\0';
    assert_int_equal(scenario_parse("long.txt", text, &sc, err, sizeof(err)), LS_ERR_INVAL);
    assert_non_null(strstr(err, "long.txt:1: line longer than"));
}

static void runs_steps_at_their_times(void **state)
{
    struct scenario sc;
    struct meter m;
    char err[200];
    const int64_t t0 = 1000000;

    (void)state;
    assert_int_equal(scenario_parse("s",
                                    "0 state=idle\n10 state=running power_w=3600\n"
                                    "70 state=idle samples+=5\n",
                                    &sc, err, sizeof(err)),
                     LS_OK);
    meter_init(&m, "x", t0);
    scenario_start(&sc, t0);
    assert_int_equal(scenario_step(&sc, &m, t0), 1);
    assert_int_equal(scenario_next_ms(&sc), t0 + 10000);
    assert_int_equal(scenario_step(&sc, &m, t0 + 9999), 0);
    assert_int_equal(m.state, LS_STATE_IDLE);
    assert_int_equal(scenario_step(&sc, &m, t0 + 40000), 1);
    assert_int_equal(m.state, LS_STATE_RUNNING);
    meter_advance(&m, t0 + 40000);
    assert_int_equal(m.run_seconds, 30);
    /* the stop is applied at its own time (70 s), even when seen late (100 s) */
    assert_int_equal(scenario_step(&sc, &m, t0 + 100000), 1);
    meter_advance(&m, t0 + 100000);
    assert_int_equal(m.run_seconds, 60);
    assert_int_equal(m.samples, 5);
    /* 60 s at 3600 W = 60 Wh, plus idle power before and after */
    assert_true(m.energy_wh >= 60 && m.energy_wh <= 60 + 2);
    assert_int_equal(scenario_next_ms(&sc), INT64_MAX);
    scenario_release(&sc);
}

static void loops(void **state)
{
    struct scenario sc;
    struct meter m;
    char err[200];

    (void)state;
    assert_int_equal(
        scenario_parse("s", "0 state=running\n2 state=idle samples+=1\n3\n", &sc, err, sizeof(err)),
        LS_OK);
    sc.loop = 1;
    meter_init(&m, "x", 0);
    scenario_start(&sc, 0);
    scenario_step(&sc, &m, 0);
    /* passes of 3 s: at 9.5 s three passes are done and the fourth is running */
    scenario_step(&sc, &m, 9500);
    assert_int_equal(m.samples, 3);
    assert_int_equal(m.state, LS_STATE_RUNNING);
    meter_advance(&m, 9500);
    assert_int_equal(m.run_seconds, 3 * 2);
    scenario_release(&sc);
}

static void interlock_blocks_running(void **state)
{
    struct scenario sc;
    struct meter m;
    char err[200];

    (void)state;
    assert_int_equal(scenario_parse("s", "1 state=running badge=7\n", &sc, err, sizeof(err)),
                     LS_OK);
    meter_init(&m, "x", 0);
    meter_set_interlock(&m, 0, 0);
    scenario_start(&sc, 0);
    assert_int_equal(scenario_step(&sc, &m, 2000), 1);
    assert_int_equal(m.state, LS_STATE_IDLE); /* refused */
    assert_int_equal(m.badge, 7);             /* the rest of the step still applies */
    /* closing the relay lets the next run start; opening it stops a run */
    meter_set_interlock(&m, 1, 3000);
    assert_int_equal(meter_set_state(&m, LS_STATE_RUNNING, 3000), LS_OK);
    meter_set_interlock(&m, 0, 5000);
    assert_int_equal(m.state, LS_STATE_IDLE);
    assert_int_equal(m.run_seconds, 2);
    scenario_release(&sc);
}

static void counters_wrap_and_reset(void **state)
{
    struct meter m;
    uint16_t regs[LS_REG_COUNT];
    double v;

    (void)state;
    meter_init(&m, "x", 0);
    m.run_seconds = UINT32_MAX - 1;
    meter_set_state(&m, LS_STATE_RUNNING, 0);
    meter_advance(&m, 3500);
    assert_int_equal(m.run_seconds, 1); /* 2^32 - 1 + 3 wraps to 1, like the u32 register */
    assert_int_equal(m.run_ms_frac, 500);
    meter_to_registers(&m, regs);
    ls_reg_decode(regs + LS_REG_RUN_SECONDS, LS_TYPE_U32, LS_WORD_BIG, &v);
    assert_true(v == 1.0);
    m.samples = 40;
    meter_reset_counters(&m, 4000);
    assert_int_equal(m.run_seconds, 0);
    assert_int_equal(m.samples, 0);
    assert_int_equal(m.energy_wh, 0);
    assert_int_equal(m.state, LS_STATE_RUNNING); /* a reset does not stop the instrument */
    /* a clock that steps back changes nothing */
    meter_advance(&m, 1000);
    assert_int_equal(m.run_seconds, 0);
    meter_advance(&m, 2000);
    assert_int_equal(m.run_seconds, 1);
}

static void register_images(void **state)
{
    struct meter m;
    uint16_t regs[LS_REG_COUNT], ir[METER_POWER_IR_COUNT];
    double v;

    (void)state;
    meter_init(&m, "x", 0);
    meter_set_state(&m, LS_STATE_RUNNING, 0);
    m.power_w = 1234.56;
    m.badge = 70000;
    m.samples = 65537;
    m.fault_code = 9;
    meter_to_registers(&m, regs);
    assert_int_equal(regs[LS_REG_STATE], 2);
    assert_int_equal(regs[LS_REG_POWER_DW], 0); /* 12346 dW, high word first */
    assert_int_equal(regs[LS_REG_POWER_DW + 1], 12346);
    assert_int_equal(regs[LS_REG_BADGE], 1);
    assert_int_equal(regs[LS_REG_BADGE + 1], 70000 - 65536);
    assert_int_equal(regs[LS_REG_SAMPLES + 1], 1);
    assert_int_equal(regs[LS_REG_FAULT_CODE], 9);
    assert_int_equal(regs[LS_REG_INTERLOCK], 1);
    m.word_order = LS_WORD_LITTLE;
    m.energy_wh = 12345;
    meter_to_power_registers(&m, ir);
    ls_reg_decode(ir + METER_POWER_IR_W, LS_TYPE_F32, LS_WORD_LITTLE, &v);
    assert_true(v > 1234.5 && v < 1234.6);
    ls_reg_decode(ir + METER_POWER_IR_KWH, LS_TYPE_F32, LS_WORD_LITTLE, &v);
    assert_true(v > 12.3449 && v < 12.3451);
    assert_int_equal(ir[0], 0);
    meter_set_state(&m, LS_STATE_OFF, 0);
    meter_to_power_registers(&m, ir);
    ls_reg_decode(ir + METER_POWER_IR_W, LS_TYPE_F32, LS_WORD_LITTLE, &v);
    assert_true(v == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_documented_example),
        cmocka_unit_test(rejects_malformed_lines),
        cmocka_unit_test(rejects_overlong_line),
        cmocka_unit_test(runs_steps_at_their_times),
        cmocka_unit_test(loops),
        cmocka_unit_test(interlock_blocks_running),
        cmocka_unit_test(counters_wrap_and_reset),
        cmocka_unit_test(register_images),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
