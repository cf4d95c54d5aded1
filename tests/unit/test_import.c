/* Unit tests of the meter-log import (gateway/import.c): values become readings as polling
 * would make them (boot, changes, heartbeats by the log's clock, the power meter's derived
 * state), into a real outbox; a bad line stops with its number and keeps what came before. */
// LINK: gateway/config.c gateway/plan.c gateway/import.c gateway/tracker.c gateway/derive.c
// LINK: gateway/outbox.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/import.h"
#include "labshare/rc.h"
#include "testutil.h"

static char dir_ini[160], dir_db[160];

static int setup(void **state)
{
    (void)state;
    if (test_dir_make("gw.ini", dir_ini, sizeof(dir_ini)))
        return -1;
    snprintf(dir_db, sizeof(dir_db), "%s/outbox.db", test_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_dir_remove();
}

static void load_config(struct gw_config *cfg)
{
    FILE *f = fopen(dir_ini, "w");
    char err[300];

    fprintf(f,
            "[gateway]\nid = gw\noutbox = %s\n[uplink]\nhost = h\n[modbus:icp]\ntcp = h:1\n"
            "[modbus:xrd]\ntcp = h:2\npower_w = ir:12:f32\nstart_w = 500\nstop_w = 300\n"
            "min_on_s = 1\nmin_off_s = 1\n",
            dir_db);
    fclose(f);
    assert_int_equal(gw_config_load(dir_ini, cfg, err, sizeof(err)), LS_OK);
}

static size_t import_text(const struct gw_config *cfg, struct outbox *ob, const char *text, int *rc,
                          char *err, size_t errlen)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    size_t lines = 0, taken = 0;

    *rc = import_log(cfg, ob, in, 3600, &lines, &taken, err, errlen);
    fclose(in);
    return taken;
}

static void values_become_readings_as_polling_makes_them(void **state)
{
    struct gw_config cfg;
    struct outbox *ob;
    struct ls_reading r[32];
    size_t n = 0;
    char err[300] = "";
    int rc;
    const char *log =
        "icp {\"ts\":0,\"state\":\"idle\",\"run_seconds\":0}\n"
        "icp {\"ts\":60000,\"state\":\"idle\",\"run_seconds\":0}\n"   /* no change, no heartbeat */
        "icp {\"ts\":3600000,\"state\":\"idle\",\"run_seconds\":0}\n" /* an hour: heartbeat */
        "icp {\"ts\":3700000,\"state\":\"running\",\"run_seconds\":0,\"badge\":1001}\n"
        "xrd {\"ts\":3700000,\"state\":\"idle\",\"power_w\":40}\n"
        "xrd {\"ts\":3710000,\"state\":\"idle\",\"power_w\":1800}\n"
        "xrd {\"ts\":3712000,\"state\":\"idle\",\"power_w\":1800}\n" /* past min_on_s: running */
        "icp {\"ts\":3900000,\"state\":\"idle\",\"run_seconds\":200,\"badge\":0}\n";

    (void)state;
    load_config(&cfg);
    assert_int_equal(outbox_open(cfg.outbox, 1000, 0, &ob), LS_OK);
    assert_int_equal(import_text(&cfg, ob, log, &rc, err, sizeof(err)), 6);
    assert_int_equal(rc, LS_OK);
    assert_int_equal(outbox_fetch(ob, 0, r, 32, &n), LS_OK);
    assert_int_equal(n, 6);
    assert_string_equal(r[0].instrument, "icp");
    assert_int_equal(r[0].cause, LS_CAUSE_BOOT);
    assert_int_equal(r[1].cause, LS_CAUSE_HEARTBEAT);
    assert_int_equal(r[1].ts, 3600000);
    assert_int_equal(r[2].state, LS_STATE_RUNNING);
    assert_int_equal(r[2].cause, LS_CAUSE_CHANGE);
    assert_string_equal(r[3].instrument, "xrd"); /* boot, idle by its power */
    assert_int_equal(r[3].state, LS_STATE_IDLE);
    assert_string_equal(r[4].instrument, "xrd");
    assert_int_equal(r[4].state, LS_STATE_RUNNING); /* derived from power, debounced */
    assert_int_equal(r[4].ts, 3712000);
    assert_int_equal(r[5].state, LS_STATE_IDLE);
    assert_int_equal(r[5].run_seconds, 200);
    outbox_free(ob);
    gw_config_release(&cfg);
}

static void a_bad_line_stops_with_its_number(void **state)
{
    struct gw_config cfg;
    struct outbox *ob;
    char err[300] = "";
    int rc;

    (void)state;
    load_config(&cfg);
    assert_int_equal(outbox_open(cfg.outbox, 1000, 0, &ob), LS_OK);
    assert_int_equal(
        import_text(&cfg, ob,
                    "icp {\"ts\":0,\"state\":\"idle\"}\nnmr {\"ts\":1,\"state\":\"idle\"}\n", &rc,
                    err, sizeof(err)),
        1);
    assert_int_equal(rc, LS_ERR_INVAL);
    assert_non_null(strstr(err, "line 2: 'nmr' is not an instrument of this gateway"));
    assert_int_equal(outbox_count(ob), 1); /* what came before is kept */
    import_text(&cfg, ob, "icp {\"state\":\"idle\"}\n", &rc, err, sizeof(err));
    assert_int_equal(rc, LS_ERR_INVAL);
    assert_non_null(strstr(err, "needs its ts"));
    import_text(&cfg, ob, "icp {\"ts\":5,\"state\":\"exploded\"}\n", &rc, err, sizeof(err));
    assert_int_equal(rc, LS_ERR_INVAL);
    assert_non_null(strstr(err, "line 1: "));
    outbox_free(ob);
    gw_config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(values_become_readings_as_polling_makes_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_bad_line_stops_with_its_number, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
