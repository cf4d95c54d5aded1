/* Unit tests of the simulator's fleet files (firmware-stubs/fleet.c), state file
 * (firmware-stubs/statefile.c) and RTU framing (firmware-stubs/mb_server.c). */
// LINK: firmware-stubs/fleet.c firmware-stubs/statefile.c firmware-stubs/mb_server.c
// LINK: firmware-stubs/scenario.c firmware-stubs/meter.c firmware-stubs/duty.c firmware-stubs/sim.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../firmware-stubs/fleet.h"
#include "../../firmware-stubs/mb_server.h"
#include "../../firmware-stubs/statefile.h"
#include "labshare/rc.h"
#include "testutil.h"

static char path[128];

static int setup(void **state)
{
    (void)state;
    return test_dir_make("fleet.txt", path, sizeof(path));
}

static int teardown(void **state)
{
    (void)state;
    return test_dir_remove();
}

static void write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void fleet_lines(void **state)
{
    struct sim_spec *s;
    size_t n;
    char err[300];

    (void)state;
    write_file(path, "# fleet\n"
                     "icp-ms-01 tcp 127.0.0.1:1502 seed=3\n"
                     "pm-01 tcp 127.0.0.1:1502 unit=2 profile=power-meter word_order=big\n"
                     "\n"
                     "nmr rtu /dev/ttyS1 baud=19200 parity=E scenario=s.txt loop=yes\n"
                     "lc mqtt broker:1883 topic=lab/lc interval=5  # comment\n");
    assert_int_equal(fleet_load(path, &s, &n, err, sizeof(err)), LS_OK);
    assert_int_equal(n, 4);
    assert_string_equal(s[0].id, "icp-ms-01");
    assert_int_equal(s[0].transport, SIM_TCP);
    assert_int_equal(s[0].seed, 3);
    assert_int_equal(s[0].unit, 1);
    assert_int_equal(s[1].profile, METER_POWER);
    assert_int_equal(s[1].unit, 2);
    assert_true(s[1].word_order_set);
    assert_int_equal(s[2].transport, SIM_RTU);
    assert_int_equal(s[2].baud, 19200);
    assert_int_equal(s[2].parity, 'E');
    assert_true(s[2].loop);
    /* a relative scenario path is relative to the fleet file */
    assert_non_null(strstr(s[2].scenario, test_dir));
    assert_string_equal(s[3].topic, "lab/lc");
    assert_int_equal(s[3].interval_s, 5);
    assert_int_equal(s[3].line, 6);
    free(s);
}

static void fleet_errors(void **state)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"a tcp\n", ":1: expected"},
        {"a/b tcp h:1\n", ":1: 'a/b' is not a valid instrument id"},
        {"a udp h:1\n", ":1: transport must be"},
        {"a tcp nohost\n", ":1: 'nohost' is not host:port"},
        {"a tcp h:1 colour=red\n", ":1: unknown key 'colour'"},
        {"a tcp h:1 unit=300\n", ":1: bad value '300' for unit"},
        {"a tcp h:1 profile=toaster\n", ":1: bad value 'toaster' for profile"},
        {"a tcp h:1 seed\n", ":1: 'seed' is not key=value"},
        {"a tcp h:1\nb tcp h:1\n", ":2: unit 1 at h:1 is taken by 'a' (line 1)"},
        {"a tcp h:1\na tcp h:2\n", ":2: instrument 'a' already on line 1"},
        {"a mqtt h:1 topic=x/+/y\n", ":1: bad value 'x/+/y' for topic"},
        {"# empty\n", ": no instruments"},
    };
    struct sim_spec *s;
    size_t n;
    char err[300];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i].text);
        err[0] = '\0';
        if (fleet_load(path, &s, &n, err, sizeof(err)) == LS_OK)
            fail_msg("case %zu accepted", i);
        if (strncmp(err, path, strlen(path)) != 0 || !strstr(err, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].want);
        assert_null(s);
    }
}

static void state_file_round_trip(void **state)
{
    struct meter a, b, *ms[2] = {&a, &b};
    char sf[160], err[300];

    (void)state;
    snprintf(sf, sizeof(sf), "%s/state.json", test_dir);
    meter_init(&a, "a", 0);
    meter_init(&b, "b", 0);
    /* no file yet: nothing to restore, no error */
    assert_int_equal(statefile_load(sf, ms, 2, err, sizeof(err)), LS_OK);
    a.run_seconds = 4000000000u;
    a.energy_wh = 77;
    a.samples = 5;
    a.energy_frac = 0.25;
    b.samples = 9;
    assert_int_equal(statefile_save(sf, ms, 2), LS_OK);
    meter_init(&a, "a", 0);
    meter_init(&b, "b", 0);
    assert_int_equal(statefile_load(sf, ms, 2, err, sizeof(err)), LS_OK);
    assert_int_equal(a.run_seconds, 4000000000u);
    assert_int_equal(a.energy_wh, 77);
    assert_true(a.energy_frac == 0.25);
    assert_int_equal(b.samples, 9);
    write_file(sf, "{\"a\": {\"run_seconds\": -1, \"energy_wh\": 0, \"samples\": 0}}");
    assert_int_equal(statefile_load(sf, ms, 2, err, sizeof(err)), LS_ERR_INVAL);
    assert_non_null(strstr(err, "bad counters for instrument 'a'"));
    write_file(sf, "not json");
    assert_int_equal(statefile_load(sf, ms, 2, err, sizeof(err)), LS_ERR_INVAL);
    assert_non_null(strstr(err, "not a meter state file"));
}

static void rtu_framing(void **state)
{
    /* the classic read of 10 holding registers of unit 1, with its CRC C5 CD */
    uint8_t req[8] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD};
    uint8_t w16[13] = {0x11, 0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0, 1, 0, 2, 0, 0};

    (void)state;
    assert_int_equal(mb_crc16(req, 6), 0xCDC5); /* sent low byte first */
    assert_int_equal(mb_rtu_request_length(req, 1), 0);
    assert_int_equal(mb_rtu_request_length(req, 2), 8);
    assert_int_equal(mb_rtu_request_length(w16, 6), 0); /* byte count not yet read */
    assert_int_equal(mb_rtu_request_length(w16, 7), 13);
    w16[1] = 0x2B; /* an unsupported function: not a request we frame */
    assert_int_equal(mb_rtu_request_length(w16, 7), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fleet_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(fleet_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(state_file_round_trip, setup, teardown),
        cmocka_unit_test(rtu_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
