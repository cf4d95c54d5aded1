/* Unit tests of the gateway config (gateway/config.c) and read plan (gateway/plan.c). */
// LINK: gateway/config.c gateway/plan.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../gateway/config.h"
#include "../../gateway/plan.h"
#include "labshare/rc.h"

static char path[64];

static const char head[] = "[gateway]\nid = gw-1\noutbox = /tmp/x.db\n[uplink]\nhost = localhost\n";

static int load(const char *text, struct gw_config *cfg, char *err, size_t len)
{
    FILE *f;
    int fd;

    snprintf(path, sizeof(path), "/tmp/ls-gwcfg-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    err[0] = '\0';
    int rc = gw_config_load(path, cfg, err, len);
    unlink(path);
    return rc;
}

static void table_defaults_parse(void **state)
{
    (void)state;
    assert_int_equal(gw_config_check_table(), 0);
}

static void minimal_config_gets_defaults(void **state)
{
    struct gw_config cfg;
    char err[600], text[512];

    (void)state;
    snprintf(text, sizeof(text), "%s[modbus:icp-ms-01]\ntcp = 10.0.0.5:502\n", head);
    assert_int_equal(load(text, &cfg, err, sizeof(err)), LS_OK);
    assert_string_equal(cfg.id, "gw-1");
    assert_int_equal(cfg.heartbeat_s, 60);
    assert_int_equal(cfg.batch_max, 100);
    assert_int_equal(cfg.ack_timeout_s, 30);
    assert_int_equal(cfg.port, 1883);
    assert_int_equal(cfg.device_count, 1);
    assert_string_equal(cfg.devices[0].host, "10.0.0.5");
    assert_int_equal(cfg.devices[0].port, 502);
    assert_int_equal(cfg.devices[0].kind, GW_DEV_MODBUS_TCP);
    assert_int_equal(cfg.devices[0].unit, 1);
    assert_int_equal(cfg.devices[0].poll_ms, 1000);
    /* no field named: the LabShare map */
    for (int f = 0; f < GW_FIELD_COUNT; f++)
        assert_true(cfg.devices[0].field_present[f]);
    assert_int_equal(cfg.devices[0].fields[GW_F_POWER_W].address, 5);
    /* the relay of SPEC 2: coil 0 */
    assert_false(cfg.devices[0].relay_none);
    assert_int_equal(cfg.devices[0].relay_table, LS_TABLE_CO);
    assert_int_equal(cfg.devices[0].relay_addr, 0);
    gw_config_release(&cfg);
    snprintf(text, sizeof(text),
             "%s[modbus:a]\ntcp = h:1\nrelay = hr:65535\n[modbus:b]\ntcp = h:2\nrelay = none\n",
             head);
    assert_int_equal(load(text, &cfg, err, sizeof(err)), LS_OK);
    assert_int_equal(cfg.devices[0].relay_table, LS_TABLE_HR);
    assert_int_equal(cfg.devices[0].relay_addr, 65535);
    assert_true(cfg.devices[1].relay_none);
    gw_config_release(&cfg);
}

static void naming_a_field_reads_only_named_fields(void **state)
{
    struct gw_config cfg;
    char err[600], text[512];
    struct plan p;

    (void)state;
    snprintf(text, sizeof(text),
             "%s[modbus:pm]\nrtu = /dev/ttyUSB0\nword_order = little\npower_w = ir:12:f32\n"
             "energy_wh = ir:342:f32*1000\nstart_w = 50\nstop_w = 20\n",
             head);
    assert_int_equal(load(text, &cfg, err, sizeof(err)), LS_OK);
    assert_int_equal(cfg.devices[0].kind, GW_DEV_MODBUS_RTU);
    assert_false(cfg.devices[0].field_present[GW_F_STATE]);
    assert_true(cfg.devices[0].field_present[GW_F_POWER_W]);
    assert_int_equal(cfg.devices[0].word_order, LS_WORD_LITTLE);
    plan_build(&cfg.devices[0], &p);
    /* 12..13 and 342..343 are too far apart for one request */
    assert_int_equal(p.request_count, 2);
    assert_int_equal(p.requests[0].start, 12);
    assert_int_equal(p.requests[1].start, 342);
    gw_config_release(&cfg);
}

/* Each broken config stops with file:line and a reason. */
static void errors_name_the_line(void **state)
{
    static const struct {
        const char *body;
        int line; /* 0 = whole-file error (no line) */
        const char *why;
    } bad[] = {
        {"[modbus:a]\ntcp = h:1\nbogus = 1\n", 8, "unknown key 'bogus'"},
        {"[modbus:a]\ntcp = h:1\npoll_ms = 10\n", 8, "poll_ms"},
        {"[modbus:a]\ntcp = h:1\npoll_ms = 1000x\n", 8, "poll_ms"},
        {"[modbus:a]\ntcp = h:1\ntcp = h:2\n", 8, "given twice"},
        {"[modbus:a]\ntcp = nohostport\n", 7, "host:port"},
        {"[modbus:a]\ntcp = h:1\nstate = hr:1:u9\n", 8, "type"},
        {"[modbus:a]\ntcp = h:1\nword_order = middle\n", 8, "big or little"},
        {"[modbus:a]\ntcp = h:1\nparity = X\n", 8, "N, E or O"},
        {"[modbus:a]\ntcp = h:1\nrelay = ir:1\n", 8, "not co:N (a coil), hr:N"},
        {"[modbus:a]\ntcp = h:1\nrelay = co:65536\n", 8, "N from 0 to 65535"},
        {"[modbus:a]\ntcp = h:1\nrelay = co:-1\n", 8, "relay"},
        {"[modbus:a]\ntcp = h:1\nrelay = hr:\n", 8, "relay"},
        {"[modbus:a/b]\ntcp = h:1\n", 7, "valid instrument id"},
        {"[weird]\nx = 1\n", 7, "unknown section"},
        {"[modbus:a]\ntcp = h:1\n[modbus:a]\ntcp = h:2\n", 9, "twice"},
        {"[modbus:a]\nthis is not ini\n", 7, "syntax"},
        {"[modbus:a]\nunit = 1\n", 0, "exactly one of tcp"},
        {"[modbus:a]\ntcp = h:1\nrtu = /dev/x\n", 0, "exactly one of tcp"},
        {"[modbus:a]\ntcp = h:1\npower_w = ir:1:f32\n", 0, "start_w"},
        {"[modbus:a]\ntcp = h:1\ntimeout_ms = 2000\n", 0, "longer than poll_ms"},
        {"", 0, "nothing to read"},
        {"[mqtt:a]\npassword = p\n", 0, "[mqtt:a] password needs a username"},
        {"[mqtt:a]\ncertfile = c.pem\n", 0, "[mqtt:a] certfile and keyfile go together"},
        {"[mqtt:a]\nuser = u\n", 7, "unknown key 'user'"},
    };
    struct gw_config cfg;
    char err[600], text[1024], want[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", head, bad[i].body);
        if (load(text, &cfg, err, sizeof(err)) == LS_OK)
            fail_msg("case %zu accepted", i);
        if (!strstr(err, bad[i].why))
            fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].why);
        if (bad[i].line) {
            snprintf(want, sizeof(want), "%s:%d: ", path, bad[i].line);
            if (strncmp(err, want, strlen(want)) != 0)
                fail_msg("case %zu: '%s' does not start with '%s'", i, err, want);
        }
        gw_config_release(&cfg);
    }
}

static void mqtt_sections_take_credentials(void **state)
{
    struct gw_config cfg;
    char err[600], text[1024];

    (void)state;
    snprintf(text, sizeof(text), "%s%s", head,
             "[mqtt:a]\nusername = gw\npassword = secret\ncafile = ca.pem\ncertfile = c.pem\n"
             "keyfile = k.pem\n[mqtt:b]\nport = 1883\n");
    assert_int_equal(load(text, &cfg, err, sizeof(err)), LS_OK);
    assert_int_equal(cfg.device_count, 2);
    assert_string_equal(cfg.devices[0].username, "gw");
    assert_string_equal(cfg.devices[0].password, "secret");
    assert_string_equal(cfg.devices[0].cafile, "ca.pem");
    assert_string_equal(cfg.devices[0].keyfile, "k.pem");
    /* same broker, other credentials: not one connection */
    assert_false(gw_same_endpoint(&cfg.devices[0], &cfg.devices[1]));
    gw_config_release(&cfg);
}

static void missing_required_keys(void **state)
{
    struct gw_config cfg;
    char err[600];

    (void)state;
    assert_int_equal(load("[uplink]\nhost = h\n[modbus:a]\ntcp = h:1\n", &cfg, err, sizeof(err)),
                     LS_ERR_INVAL);
    assert_non_null(strstr(err, "id is required"));
    gw_config_release(&cfg);
    assert_int_equal(
        load("[gateway]\nid = g\noutbox = o\n[modbus:a]\ntcp = h:1\n", &cfg, err, sizeof(err)),
        LS_ERR_INVAL);
    assert_non_null(strstr(err, "[uplink] host"));
    gw_config_release(&cfg);
    assert_int_equal(gw_config_load("/nonexistent/gw.ini", &cfg, err, sizeof(err)), LS_ERR_IO);
    assert_non_null(strstr(err, "cannot open"));
    gw_config_release(&cfg);
}

static void plan_merges_adjacent_fields(void **state)
{
    struct gw_device d;
    struct plan p;

    (void)state;
    memset(&d, 0, sizeof(d));
    ls_field_spec_parse("hr:0:u16", &d.fields[GW_F_STATE], NULL, 0);
    ls_field_spec_parse("hr:100:u32", &d.fields[GW_F_RUN_SECONDS], NULL, 0);
    ls_field_spec_parse("hr:2:u32", &d.fields[GW_F_ENERGY_WH], NULL, 0);
    ls_field_spec_parse("ir:2:f32", &d.fields[GW_F_POWER_W], NULL, 0);
    ls_field_spec_parse("hr:110:u16", &d.fields[GW_F_SAMPLES], NULL, 0);
    ls_field_spec_parse("hr:125:u16", &d.fields[GW_F_BADGE], NULL, 0);
    for (int f = 0; f < GW_FIELD_COUNT; f++)
        d.field_present[f] = 1;
    plan_build(&d, &p);
    /* hr 0..3 (state, energy); hr 100..110 (run_seconds, samples: gap 8 <= 16);
     * hr 125 joins it (gap 14: 26 regs); ir 2..3 on its own */
    assert_int_equal(p.request_count, 3);
    assert_int_equal(p.requests[0].table, LS_TABLE_HR);
    assert_int_equal(p.requests[0].start, 0);
    assert_int_equal(p.requests[0].count, 4);
    assert_int_equal(p.requests[1].start, 100);
    assert_int_equal(p.requests[1].count, 26);
    assert_int_equal(p.requests[2].table, LS_TABLE_IR);
    assert_int_equal(p.field_request[GW_F_POWER_W], 2);
    assert_int_equal(p.field_request[GW_F_BADGE], 1);
}

static void plan_respects_125_register_limit(void **state)
{
    struct gw_device d;
    struct plan p;

    (void)state;
    memset(&d, 0, sizeof(d));
    /* 0..123 is 124 registers apart; a u32 at 123 ends at 124: 125 registers, one request */
    ls_field_spec_parse("hr:0:u16", &d.fields[GW_F_STATE], NULL, 0);
    d.field_present[GW_F_STATE] = 1;
    ls_field_spec_parse("hr:16:u32", &d.fields[GW_F_RUN_SECONDS], NULL, 0);
    ls_field_spec_parse("hr:32:u32", &d.fields[GW_F_ENERGY_WH], NULL, 0);
    ls_field_spec_parse("hr:48:u32", &d.fields[GW_F_SAMPLES], NULL, 0);
    ls_field_spec_parse("hr:123:u32", &d.fields[GW_F_BADGE], NULL, 0);
    d.field_present[GW_F_RUN_SECONDS] = d.field_present[GW_F_ENERGY_WH] = 1;
    d.field_present[GW_F_SAMPLES] = d.field_present[GW_F_BADGE] = 1;
    plan_build(&d, &p);
    /* 48..123 is a gap of 73 > 16: a second request */
    assert_int_equal(p.request_count, 2);
    for (unsigned i = 0; i < p.request_count; i++)
        assert_true(p.requests[i].count <= PLAN_MAX_REGS);
    /* at exactly 125 registers the fields still share a request */
    memset(&d, 0, sizeof(d));
    for (int f = 0; f < 6; f++)
        d.field_present[f] = 1;
    ls_field_spec_parse("hr:0:u16", &d.fields[0], NULL, 0);
    ls_field_spec_parse("hr:16:u16", &d.fields[1], NULL, 0);
    ls_field_spec_parse("hr:32:u16", &d.fields[2], NULL, 0);
    ls_field_spec_parse("hr:48:u16", &d.fields[3], NULL, 0);
    ls_field_spec_parse("hr:64:u16", &d.fields[4], NULL, 0);
    ls_field_spec_parse("hr:80:u16", &d.fields[5], NULL, 0);
    plan_build(&d, &p);
    assert_int_equal(p.request_count, 1);
    assert_int_equal(p.requests[0].count, 81);
    ls_field_spec_parse("hr:96:u16", &d.fields[5], NULL, 0); /* 64 -> 96 is a gap of 31 */
    plan_build(&d, &p);
    assert_int_equal(p.request_count, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_defaults_parse),
        cmocka_unit_test(minimal_config_gets_defaults),
        cmocka_unit_test(naming_a_field_reads_only_named_fields),
        cmocka_unit_test(errors_name_the_line),
        cmocka_unit_test(missing_required_keys),
        cmocka_unit_test(mqtt_sections_take_credentials),
        cmocka_unit_test(plan_merges_adjacent_fields),
        cmocka_unit_test(plan_respects_125_register_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
