/* Unit tests of the gateway outbox (gateway/outbox.c) on real SQLite files. */
// LINK: gateway/outbox.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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
    assert_int_equal(outbox_open(path, 100, &ob), LS_OK);
    epoch = outbox_epoch(ob);
    assert_true(epoch > 0);
    assert_true(epoch < 9007199254740992LL);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(outbox_append(ob, &r), LS_OK);
        assert_int_equal(r.seq, i);
    }
    /* ack everything: rows go, but seq goes on from 4 after a restart */
    assert_int_equal(outbox_ack(ob, 3), LS_OK);
    assert_int_equal(outbox_count(ob), 0);
    outbox_free(ob);
    assert_int_equal(outbox_open(path, 100, &ob), LS_OK);
    assert_int_equal(outbox_epoch(ob), epoch);
    assert_int_equal(outbox_acked(ob), 3);
    assert_int_equal(outbox_append(ob, &r), LS_OK);
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
    assert_int_equal(outbox_open(path, 100, &ob), LS_OK);
    e1 = outbox_epoch(ob);
    outbox_free(ob);
    unlink(path);
    assert_int_equal(outbox_open(path, 100, &ob), LS_OK);
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
    assert_int_equal(outbox_open(path, 100, &ob), LS_OK);
    r.has |= LS_HAS_POWER_W | LS_HAS_BADGE;
    r.power_w = 1234.5;
    r.badge = 42;
    r.cause = LS_CAUSE_BOOT;
    assert_int_equal(outbox_append(ob, &r), LS_OK);
    r = reading("sem", 6000);
    r.has = 0; /* a power-only meter may have no counters at all */
    assert_int_equal(outbox_append(ob, &r), LS_OK);
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

static void ack_is_clamped_and_monotonic(void **state)
{
    struct outbox *ob;
    struct ls_reading r = reading("a", 1);

    (void)state;
    assert_int_equal(outbox_open(path, 100, &ob), LS_OK);
    for (int i = 0; i < 5; i++)
        outbox_append(ob, &r);
    assert_int_equal(outbox_ack(ob, 2), LS_OK);
    assert_int_equal(outbox_count(ob), 3);
    assert_int_equal(outbox_ack(ob, 1), LS_OK); /* an old ack changes nothing */
    assert_int_equal(outbox_acked(ob), 2);
    assert_int_equal(outbox_count(ob), 3);
    assert_int_equal(outbox_ack(ob, 1000), LS_OK); /* beyond what exists: clamped */
    assert_int_equal(outbox_acked(ob), 5);
    assert_int_equal(outbox_count(ob), 0);
    outbox_append(ob, &r);
    assert_int_equal(r.seq, 6); /* the clamp did not swallow future seqs */
    assert_int_equal(outbox_count(ob), 1);
    outbox_free(ob);
}

static void full_outbox_refuses_and_recovers(void **state)
{
    struct outbox *ob;
    struct ls_reading r = reading("a", 1);

    (void)state;
    assert_int_equal(outbox_open(path, 100, &ob), LS_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(outbox_append(ob, &r), LS_OK);
    assert_false(outbox_full(ob));
    assert_int_equal(outbox_append(ob, &r), LS_ERR_FULL);
    assert_true(outbox_full(ob));
    assert_int_equal(outbox_count(ob), 100);
    assert_int_equal(outbox_last_seq(ob), 100);
    assert_int_equal(outbox_ack(ob, 10), LS_OK);
    assert_false(outbox_full(ob));
    assert_int_equal(outbox_append(ob, &r), LS_OK);
    assert_int_equal(r.seq, 101); /* no seq was burnt by the refusal */
    outbox_free(ob);
}

static void unwritable_path_fails_cleanly(void **state)
{
    struct outbox *ob = NULL;

    (void)state;
    assert_int_equal(outbox_open("/nonexistent-dir/outbox.db", 10, &ob), LS_ERR_DB);
    assert_null(ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(seq_starts_at_one_and_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(new_file_new_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(fetch_round_trips_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_is_clamped_and_monotonic, setup, teardown),
        cmocka_unit_test_setup_teardown(full_outbox_refuses_and_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_path_fails_cleanly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
