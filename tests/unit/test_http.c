/* Unit tests of the HTTP helpers (server/http/http.c): time formats, the status table; and the
 * server config table (server/config.c). */
// LINK: ALL_SERVER
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../server/config.h"
#include "../../server/http/http.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"

static void times(void **state)
{
    int64_t ms;
    char buf[40];

    (void)state;
    assert_int_equal(ls_time_parse("2026-11-27T10:00:00Z", &ms), LS_OK);
    assert_int_equal(ms, 1795773600000LL);
    ls_time_format(ms, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-27T10:00:00.000Z");
    assert_int_equal(ls_time_parse("2026-11-27T18:00:00.25+08:00", &ms), LS_OK);
    assert_int_equal(ms, 1795773600250LL);
    assert_int_equal(ls_time_parse("2026-11-27", &ms), LS_OK);
    assert_int_equal(ms, 1795737600000LL);
    assert_int_equal(ls_time_parse("1969-12-31T23:59:59.5Z", &ms), LS_OK);
    assert_int_equal(ms, -500);
    ls_time_format(-500, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.500Z");
    /* refused */
    assert_int_not_equal(ls_time_parse("2026-02-30", &ms), LS_OK);
    assert_int_not_equal(ls_time_parse("2026-11-27T10:00:00", &ms), LS_OK); /* no zone */
    assert_int_not_equal(ls_time_parse("2026-11-27T10:00Z", &ms), LS_OK);
    assert_int_not_equal(ls_time_parse("2026-11-27 junk", &ms), LS_OK);
    assert_int_not_equal(ls_time_parse("2026-11-27T10:00:00+8", &ms), LS_OK);
    assert_int_not_equal(ls_time_parse("2026-1-2", &ms), LS_OK);
    assert_int_not_equal(ls_time_parse("", &ms), LS_OK);
}

static void status_table(void **state)
{
    (void)state;
    assert_int_equal(http_status_of(LS_OK), 200);
    assert_int_equal(http_status_of(LS_ERR_INVAL), 400);
    assert_int_equal(http_status_of(LS_ERR_AUTH), 401);
    assert_int_equal(http_status_of(LS_ERR_DENIED), 403);
    assert_int_equal(http_status_of(LS_ERR_NOTFOUND), 404);
    assert_int_equal(http_status_of(LS_ERR_CONFLICT), 409);
    assert_int_equal(http_status_of(LS_ERR_TOOBIG), 413);
    assert_int_equal(http_status_of(LS_ERR_RULE), 422);
    assert_int_equal(http_status_of(LS_ERR_DB), 500);
}

static void server_config(void **state)
{
    struct srv_config cfg;
    char path[] = "/tmp/ls-srvcfg-XXXXXX", err[500];
    int fd;
    FILE *f;

    (void)state;
    assert_int_equal(srv_config_check_table(), 0);
    fd = mkstemp(path);
    f = fdopen(fd, "w");
    fputs("[server]\nlisten = 0.0.0.0:9000\n[metrics]\nmerge_gap_s = 60\n", f);
    fclose(f);
    assert_int_equal(srv_config_load(path, &cfg, err, sizeof(err)), LS_OK);
    assert_int_equal(cfg.listen_port, 9000);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.merge_gap_s, 60);
    assert_int_equal(cfg.no_show_min_run_s, 300); /* default */
    assert_string_equal(cfg.timezone, "Asia/Shanghai");
    /* every section's defaults, also of sections the file does not name */
    assert_int_equal(cfg.interlock_period_s, 5);
    assert_int_equal(cfg.token_days, 90);
    assert_int_equal(cfg.max_future_s, 300);
    f = fopen(path, "w");
    fputs("[server]\ndb = x.db\n\n[mqtt]\nport = 99999\n", f);
    fclose(f);
    assert_int_equal(srv_config_load(path, &cfg, err, sizeof(err)), LS_ERR_INVAL);
    assert_non_null(strstr(err, ":5: [mqtt] port"));
    f = fopen(path, "w");
    fputs("[server]\nlisten_port = 1\n", f);
    fclose(f);
    assert_int_equal(srv_config_load(path, &cfg, err, sizeof(err)), LS_ERR_INVAL);
    assert_non_null(strstr(err, ":2: [server] unknown key 'listen_port'"));
    f = fopen(path, "w");
    fputs("[evaluation]\ngrade_good = 95\n", f);
    fclose(f);
    assert_int_equal(srv_config_load(path, &cfg, err, sizeof(err)), LS_ERR_INVAL);
    assert_non_null(strstr(err, "excellent >= good"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(times),
        cmocka_unit_test(status_table),
        cmocka_unit_test(server_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
