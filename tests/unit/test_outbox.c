/* Unit tests of the gateway outbox (gateway/outbox.c) on real SQLite files. */
// LINK: gateway/outbox.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../gateway/outbox.h"
#include "labshare/rc.h"
#include "testutil.h"

static char path[128];

static int setup(void **state)
{
    (void)state;
    return test_dir_make("outbox.db", path, sizeof(path));
}

static int teardown(void **state)
{
    (void)state;
    return test_dir_remove();
}

static struct ls_reading reading(const char *id, int64_t ts)
{
    struct ls_reading r;

    memset(&r, 0, sizeof(r));
    snprintf(r.instrument, sizeof(r.instrument), "%s", id);
    r.ts = ts;
    r.state = LS_STATE_RUNNING;
    r.run_seconds = ts / 1000;
    r.has = LS_HAS_RUN_SECONDS;
    r.cause = LS_CAUSE_CHANGE;
    return r;
}

static void seq_starts_at_one_and_survives_reopen(void **state)
{
    struct outbox *ob;
    struct ls_reading r = reading("a", 1000), got[10];
    int64_t epoch;
    size_t n;

    (void)state;
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    epoch = outbox_epoch(ob);
    assert_true(epoch > 0);
    assert_true(epoch < 9007199254740992LL);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
        assert_int_equal(r.seq, i);
    }
    /* ack everything: rows go, but seq goes on from 4 after a restart */
    assert_int_equal(outbox_ack(ob, 3), LS_OK);
    assert_int_equal(outbox_count(ob), 0);
    outbox_free(ob);
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    assert_int_equal(outbox_epoch(ob), epoch);
    assert_int_equal(outbox_acked(ob), 3);
    assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
    assert_int_equal(r.seq, 4);
    assert_int_equal(outbox_fetch(ob, 0, got, 10, &n), LS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].seq, 4);
    outbox_free(ob);
}

static void new_file_new_epoch(void **state)
{
    struct outbox *ob;
    int64_t e1, e2;

    (void)state;
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    e1 = outbox_epoch(ob);
    outbox_free(ob);
    unlink(path);
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    e2 = outbox_epoch(ob);
    outbox_free(ob);
    assert_true(e1 != e2);
}

static void fetch_round_trips_fields(void **state)
{
    struct outbox *ob;
    struct ls_reading r = reading("icp", 5000), got[4];
    size_t n;

    (void)state;
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    r.has |= LS_HAS_POWER_W | LS_HAS_BADGE;
    r.power_w = 1234.5;
    r.badge = 42;
    r.cause = LS_CAUSE_BOOT;
    assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
    r = reading("sem", 6000);
    r.has = 0; /* a power-only meter may have no counters at all */
    assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
    assert_int_equal(outbox_fetch(ob, 0, got, 4, &n), LS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].instrument, "icp");
    assert_int_equal(got[0].has, LS_HAS_RUN_SECONDS | LS_HAS_POWER_W | LS_HAS_BADGE);
    assert_true(got[0].power_w == 1234.5);
    assert_int_equal(got[0].badge, 42);
    assert_int_equal(got[0].cause, LS_CAUSE_BOOT);
    assert_int_equal(got[1].has, 0);
    assert_int_equal(got[1].ts, 6000);
    /* after seq 1 only seq 2 */
    assert_int_equal(outbox_fetch(ob, 1, got, 4, &n), LS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].seq, 2);
    /* limit */
    assert_int_equal(outbox_fetch(ob, 0, got, 1, &n), LS_OK);
    assert_int_equal(n, 1);
    outbox_free(ob);
}

/* the relay state (issue 12) round-trips, and an outbox written before it gains the column
 * with its unsent rows kept */
static void interlock_column_added_to_an_old_outbox(void **state)
{
    struct outbox *ob;
    struct ls_reading r = reading("icp", 5000), got[4];
    sqlite3 *db;
    size_t n;

    (void)state;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(
            db,
            "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
            "INSERT INTO meta VALUES('epoch', 77), ('acked', 0);"
            "CREATE TABLE readings(seq INTEGER PRIMARY KEY AUTOINCREMENT, instrument TEXT"
            " NOT NULL, ts INTEGER NOT NULL, state INTEGER NOT NULL, run_seconds INTEGER,"
            " energy_wh INTEGER, power_w REAL, samples INTEGER, badge INTEGER, cause"
            " INTEGER NOT NULL);"
            "INSERT INTO readings(instrument, ts, state, cause) VALUES('old', 1000, 1, 2);",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    assert_int_equal(outbox_epoch(ob), 77);
    r.has |= LS_HAS_INTERLOCK;
    r.interlock = 1;
    assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
    assert_int_equal(outbox_fetch(ob, 0, got, 4, &n), LS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].instrument, "old");
    assert_false(got[0].has & LS_HAS_INTERLOCK);
    assert_int_equal(got[1].seq, 2);
    assert_true(got[1].has & LS_HAS_INTERLOCK);
    assert_int_equal(got[1].interlock, 1);
    outbox_free(ob);
}

static void ack_is_clamped_and_monotonic(void **state)
{
    struct outbox *ob;
    struct ls_reading r = reading("a", 1);

    (void)state;
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    for (int i = 0; i < 5; i++)
        outbox_append(ob, &r, -1);
    assert_int_equal(outbox_ack(ob, 2), LS_OK);
    assert_int_equal(outbox_count(ob), 3);
    assert_int_equal(outbox_ack(ob, 1), LS_OK); /* an old ack changes nothing */
    assert_int_equal(outbox_acked(ob), 2);
    assert_int_equal(outbox_count(ob), 3);
    assert_int_equal(outbox_ack(ob, 1000), LS_OK); /* beyond what exists: clamped */
    assert_int_equal(outbox_acked(ob), 5);
    assert_int_equal(outbox_count(ob), 0);
    outbox_append(ob, &r, -1);
    assert_int_equal(r.seq, 6); /* the clamp did not swallow future seqs */
    assert_int_equal(outbox_count(ob), 1);
    outbox_free(ob);
}

static void full_outbox_refuses_and_recovers(void **state)
{
    struct outbox *ob;
    struct ls_reading r = reading("a", 1);

    (void)state;
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
    assert_false(outbox_full(ob));
    assert_int_equal(outbox_append(ob, &r, -1), LS_ERR_FULL);
    assert_true(outbox_full(ob));
    assert_int_equal(outbox_count(ob), 100);
    assert_int_equal(outbox_last_seq(ob), 100);
    assert_int_equal(outbox_ack(ob, 10), LS_OK);
    assert_false(outbox_full(ob));
    assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
    assert_int_equal(r.seq, 101); /* no seq was burnt by the refusal */
    outbox_free(ob);
}

static void full_outbox_thins_redundant_heartbeats(void **state)
{
    struct outbox *ob;
    struct ls_reading r, got[200];
    size_t n;
    int64_t seqs[200];

    (void)state;
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    /* a: boot, 48 heartbeats, a change, 50 heartbeats (100 rows: full) */
    r = reading("a", 1);
    r.cause = LS_CAUSE_BOOT;
    outbox_append(ob, &r, -1);
    for (int i = 0; i < 99; i++) {
        r = reading("a", 2 + i);
        r.cause = i == 48 ? LS_CAUSE_CHANGE : LS_CAUSE_HEARTBEAT;
        assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
    }
    assert_int_equal(outbox_count(ob), 100);
    /* the next reading makes room by thinning, not by refusing */
    r = reading("b", 500);
    r.cause = LS_CAUSE_HEARTBEAT;
    assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
    assert_int_equal(r.seq, 101);
    assert_false(outbox_full(ob));
    /* kept: a's boot, its change, its last heartbeat; and b's heartbeat */
    assert_int_equal(outbox_fetch(ob, 0, got, 200, &n), LS_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        seqs[i] = got[i].seq;
    assert_int_equal(seqs[0], 1);
    assert_int_equal(got[1].cause, LS_CAUSE_CHANGE);
    assert_int_equal(seqs[2], 100);
    assert_int_equal(seqs[3], 101);
    assert_int_equal(outbox_thinned(ob), 97);
    outbox_free(ob);
}

static void nothing_to_thin_refuses(void **state)
{
    struct outbox *ob;
    struct ls_reading r;

    (void)state;
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    /* 100 state changes: none is redundant */
    for (int i = 0; i < 100; i++) {
        r = reading(i % 2 ? "a" : "b", i);
        assert_int_equal(outbox_append(ob, &r, -1), LS_OK);
    }
    r = reading("a", 1000);
    r.cause = LS_CAUSE_HEARTBEAT;
    assert_int_equal(outbox_append(ob, &r, -1), LS_ERR_FULL);
    assert_true(outbox_full(ob));
    assert_int_equal(outbox_count(ob), 100);
    outbox_free(ob);
}

static void byte_limit(void **state)
{
    struct outbox *ob;
    struct ls_reading r = reading("a-rather-long-instrument-name-to-fill-pages-faster", 1);
    int i, rc = LS_OK;

    (void)state;
    /* 64 KiB: a few hundred rows at most, far below the row limit */
    assert_int_equal(outbox_open(path, 1000000, 65536, &ob), LS_OK);
    for (i = 0; i < 100000 && rc == LS_OK; i++)
        rc = outbox_append(ob, &r, -1);
    assert_int_equal(rc, LS_ERR_FULL);
    assert_true(i > 50 && i < 5000);
    outbox_free(ob);
}

static void derived_run_time_survives_restart(void **state)
{
    struct outbox *ob;
    struct ls_reading r = reading("pm", 1);

    (void)state;
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    assert_int_equal(outbox_derived_run_ms(ob, "pm"), 0);
    assert_int_equal(outbox_append(ob, &r, 12345), LS_OK);
    assert_int_equal(outbox_append(ob, &r, 23456), LS_OK);
    outbox_free(ob);
    assert_int_equal(outbox_open(path, 100, 0, &ob), LS_OK);
    assert_int_equal(outbox_derived_run_ms(ob, "pm"), 23456);
    assert_int_equal(outbox_derived_run_ms(ob, "other"), 0);
    assert_int_equal(outbox_count(ob), 2);
    outbox_free(ob);
}

static void unwritable_path_fails_cleanly(void **state)
{
    struct outbox *ob = NULL;

    (void)state;
    assert_int_equal(outbox_open("/nonexistent-dir/outbox.db", 10, 0, &ob), LS_ERR_DB);
    assert_null(ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(seq_starts_at_one_and_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(new_file_new_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(fetch_round_trips_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(interlock_column_added_to_an_old_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_is_clamped_and_monotonic, setup, teardown),
        cmocka_unit_test_setup_teardown(full_outbox_refuses_and_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(full_outbox_thins_redundant_heartbeats, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_to_thin_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(byte_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(derived_run_time_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_path_fails_cleanly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
