/* Unit tests of the gateway's interlock commands (gateway/relay.c): versions only grow, a replay
 * never enables, the time limits hold without the server, released relays, and the command kept
 * on disk across a restart. */
// LINK: gateway/relay.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../gateway/relay.h"
#include "labshare/rc.h"

#define T 1800000000000LL

static int cmd(struct relays *r, const char *json)
{
    char err[200];
    int64_t v = 0;

    return relays_command(r, json, strlen(json), &v, err, sizeof(err));
}

static const char enable_v5[] =
    "{\"version\": 5, \"instruments\": [{\"instrument\": \"icp-ms-01\", \"interlock\": \"enable\","
    " \"booking\": 7, \"end\": 1800003600000, \"until\": 1800005400000}]}";
static const char disable_v6[] = "{\"version\": 6, \"instruments\": [{\"instrument\": "
                                 "\"icp-ms-01\", \"interlock\": \"disable\"}]}";

static void versions_only_grow(void **state)
{
    struct relays *r;

    (void)state;
    assert_int_equal(relays_open(NULL, &r), LS_OK);
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), -1); /* not under command */
    assert_int_equal(cmd(r, enable_v5), LS_OK);
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), 1);
    assert_int_equal(cmd(r, disable_v6), LS_OK);
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), 0);
    /* the old enable, replayed: refused, the relay stays off */
    assert_int_equal(cmd(r, enable_v5), LS_ERR_CONFLICT);
    assert_int_equal(cmd(r, disable_v6), LS_ERR_CONFLICT); /* the same again: ignored too */
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), 0);
    assert_int_equal(relays_version(r), 6);
    relays_free(r);
}

static void time_limits_hold_without_the_server(void **state)
{
    struct relays *r;
    const int64_t end = 1800003600000LL, until = 1800005400000LL;

    (void)state;
    relays_open(NULL, &r);
    cmd(r, enable_v5);
    assert_int_equal(relays_want(r, "icp-ms-01", end - 1, 0), 1);
    assert_int_equal(relays_want(r, "icp-ms-01", end, 0), 0); /* the end, idle: off */
    assert_int_equal(relays_want(r, "icp-ms-01", end, 1), 1); /* running: not cut */
    assert_int_equal(relays_want(r, "icp-ms-01", until - 1, 1), 1);
    assert_int_equal(relays_want(r, "icp-ms-01", until, 1), 0); /* until: off whatever */
    relays_free(r);
}

/* The server's view of the meter lags: a disable that comes while the gateway sees a run going
 * lets it finish within the grace it had, an outage's does not. */
static void a_late_disable_never_cuts_a_run(void **state)
{
    struct relays *r;
    const int64_t until = 1800005400000LL;

    (void)state;
    relays_open(NULL, &r);
    cmd(r, enable_v5);
    relays_actual(r, "icp-ms-01", 1);
    assert_int_equal(cmd(r, "{\"version\": 6, \"instruments\": [{\"instrument\": \"icp-ms-01\","
                            " \"interlock\": \"disable\", \"reason\": \"no_booking\"}]}"),
                     LS_OK);
    assert_int_equal(relays_want(r, "icp-ms-01", T, 1), 1);        /* running: held */
    assert_int_equal(relays_want(r, "icp-ms-01", until, 1), 0);    /* not past the grace */
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), 0);        /* idle: off ... */
    assert_int_equal(relays_want(r, "icp-ms-01", T + 1000, 1), 0); /* ... for good */
    /* an outage stops a run */
    cmd(r, "{\"version\": 7, \"instruments\": [{\"instrument\": \"icp-ms-01\", \"interlock\":"
           " \"enable\", \"booking\": 8, \"end\": 1800003600000, \"until\": 1800005400000}]}");
    relays_actual(r, "icp-ms-01", 1);
    cmd(r, "{\"version\": 8, \"instruments\": [{\"instrument\": \"icp-ms-01\", \"interlock\":"
           " \"disable\", \"reason\": \"outage\"}]}");
    assert_int_equal(relays_want(r, "icp-ms-01", T, 1), 0);
    relays_free(r);
}

static void malformed_changes_nothing(void **state)
{
    struct relays *r;

    (void)state;
    relays_open(NULL, &r);
    cmd(r, enable_v5);
    assert_int_equal(cmd(r, "not json"), LS_ERR_INVAL);
    assert_int_equal(cmd(r, "{\"instruments\": []}"), LS_ERR_INVAL);
    assert_int_equal(cmd(r, "{\"version\": 9, \"instruments\": [{\"instrument\": \"icp-ms-01\","
                            " \"interlock\": \"enable\"}]}"),
                     LS_ERR_INVAL); /* an enable without its limits */
    assert_int_equal(cmd(r, "{\"version\": 9, \"instruments\": [{\"instrument\": \"../x\","
                            " \"interlock\": \"disable\"}]}"),
                     LS_ERR_INVAL);
    assert_int_equal(cmd(r, "{\"version\": 9, \"instruments\": [{\"instrument\": \"a\","
                            " \"interlock\": \"open\"}]}"),
                     LS_ERR_INVAL);
    assert_int_equal(relays_version(r), 5);
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), 1);
    relays_free(r);
}

static void released_and_reported(void **state)
{
    struct relays *r;
    struct relay_report rep[4];
    uint64_t changes;

    (void)state;
    relays_open(NULL, &r);
    cmd(r, disable_v6);
    changes = relays_changes(r);
    relays_actual(r, "icp-ms-01", 0);
    assert_true(relays_changes(r) > changes);
    changes = relays_changes(r);
    relays_actual(r, "icp-ms-01", 0); /* the same again: nothing to report anew */
    assert_true(relays_changes(r) == changes);
    assert_int_equal(relays_report(r, rep, 4), 1);
    assert_string_equal(rep[0].id, "icp-ms-01");
    assert_int_equal(rep[0].on, 0);
    assert_string_equal(rep[0].fault, "");
    /* left out of a newer command: enabled once (the meter's default), then left alone */
    assert_int_equal(cmd(r, "{\"version\": 7, \"instruments\": []}"), LS_OK);
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), 1);
    relays_actual(r, "icp-ms-01", 1);
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), -1);
    assert_int_equal(relays_report(r, rep, 4), 0);
    relays_free(r);
}

/* a relay that cannot be put right is reported with its reason until it is, in printable ASCII
 * only, and cut to what the status carries */
static void faults_reported_until_cleared(void **state)
{
    struct relays *r;
    struct relay_report rep[2];
    char longer[400];
    uint64_t changes;

    (void)state;
    relays_open(NULL, &r);
    cmd(r, disable_v6);
    changes = relays_changes(r);
    relays_fault(r, "icp-ms-01", "meter unreachable:\nConnection refused");
    assert_true(relays_changes(r) > changes);
    /* reported before any read-back: the server learns why there is none */
    assert_int_equal(relays_report(r, rep, 2), 1);
    assert_int_equal(rep[0].on, -1);
    assert_string_equal(rep[0].fault, "meter unreachable:?Connection refused");
    changes = relays_changes(r);
    relays_fault(r, "icp-ms-01", "meter unreachable:\nConnection refused");
    assert_true(relays_changes(r) == changes);
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = 0;
    relays_fault(r, "icp-ms-01", longer);
    assert_int_equal(relays_report(r, rep, 2), 1);
    assert_int_equal(strlen(rep[0].fault), LS_FAULT_MAX - 1);
    relays_fault(r, "sem-01", "not under command: not kept");
    assert_int_equal(relays_report(r, rep, 2), 1);
    relays_actual(r, "icp-ms-01", 0);
    relays_fault(r, "icp-ms-01", NULL);
    assert_int_equal(relays_report(r, rep, 2), 1);
    assert_int_equal(rep[0].on, 0);
    assert_string_equal(rep[0].fault, "");
    relays_free(r);
}

/* monitor: observed relays are read back and reported, never written; from enforce to monitor
 * the relay is released first */
static void observed_not_written(void **state)
{
    struct relays *r;
    struct relay_report rep[2];

    (void)state;
    relays_open(NULL, &r);
    cmd(r, disable_v6);
    relays_actual(r, "icp-ms-01", 0);
    assert_int_equal(cmd(r, "{\"version\": 7, \"instruments\": [{\"instrument\": \"icp-ms-01\","
                            " \"interlock\": \"observe\"}]}"),
                     LS_OK);
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), 1); /* released once */
    relays_actual(r, "icp-ms-01", 1);
    assert_int_equal(relays_want(r, "icp-ms-01", T, 0), -1); /* then observed only */
    assert_true(relays_observed(r, "icp-ms-01"));
    assert_false(relays_observed(r, "sem-01"));
    assert_int_equal(relays_report(r, rep, 2), 1);
    assert_int_equal(rep[0].on, 1);
    relays_free(r);
}

static void kept_across_a_restart(void **state)
{
    char path[] = "/tmp/labshare-relay-XXXXXX";
    struct relays *r;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    relays_open(path, &r);
    assert_int_equal(cmd(r, enable_v5), LS_OK);
    relays_free(r);
    relays_open(path, &r); /* a restart with no broker: the command is still known */
    assert_int_equal(relays_version(r), 5);
    assert_int_equal(relays_want(r, "icp-ms-01", 1800003600000LL - 1, 0), 1);
    assert_int_equal(relays_want(r, "icp-ms-01", 1800003600000LL, 0), 0);
    assert_int_equal(cmd(r, enable_v5), LS_ERR_CONFLICT); /* and a replay after it is refused */
    relays_free(r);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions_only_grow),
        cmocka_unit_test(time_limits_hold_without_the_server),
        cmocka_unit_test(a_late_disable_never_cuts_a_run),
        cmocka_unit_test(malformed_changes_nothing),
        cmocka_unit_test(released_and_reported),
        cmocka_unit_test(faults_reported_until_cleared),
        cmocka_unit_test(observed_not_written),
        cmocka_unit_test(kept_across_a_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
