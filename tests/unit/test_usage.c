/* Unit tests of usage (server/usage.c): sessions, merge gap boundary, counter deltas with
 * resets and garbage, missed readings, attribution split at booking edges. */
// LINK: server/usage.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/usage.h"
#include "labshare/rc.h"

#define S 1000LL
#define RUN LS_STATE_RUNNING
#define IDLE LS_STATE_IDLE

static struct usage_reading rd(int64_t ts_s, enum ls_state st, int64_t run)
{
    struct usage_reading r;

    memset(&r, 0, sizeof(r));
    r.ts = ts_s * S;
    r.state = st;
    if (run >= 0) {
        r.run_seconds = run;
        r.has = LS_HAS_RUN_SECONDS;
    }
    return r;
}

/* rd() with a badge reported, whose user at arrival was user. */
static struct usage_reading rb(int64_t ts_s, enum ls_state st, int64_t run, int64_t badge,
                               int64_t user)
{
    struct usage_reading r = rd(ts_s, st, run);

    r.badge = badge;
    r.badge_user = user;
    r.has |= LS_HAS_BADGE;
    return r;
}

static void a_session_never_mixes_badges(void **state)
{
    /* one run: badge 1001 (user 7) for 30 s, then 2002 (user 8) logs in without a pause */
    struct usage_reading r[] = {rb(0, IDLE, 0, 0, 0), rb(10, RUN, 0, 1001, 7),
                                rb(40, RUN, 30, 2002, 8), rb(70, IDLE, 60, 0, 0)};
    struct usage_session *s;
    size_t n;

    (void)state;
    assert_int_equal(usage_sessions(r, 4, 120 * S, &s, &n), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].badge, 1001);
    assert_int_equal(s[0].badge_user, 7);
    assert_int_equal(s[0].start_ms, 10 * S);
    assert_int_equal(s[0].end_ms, 40 * S);
    assert_int_equal(s[0].run_ms, 30 * S);
    assert_int_equal(s[0].open, 0);
    assert_int_equal(s[1].badge, 2002);
    assert_int_equal(s[1].badge_user, 8);
    assert_int_equal(s[1].start_ms, 40 * S);
    assert_int_equal(s[1].run_ms, 30 * S);
    free(s);
}

static void log_out_and_in_within_the_merge_gap_are_two_sessions(void **state)
{
    /* 1001 runs, logs out (idle, badge 0), 2002 starts 20 s later: within merge_gap_s, but
     * another user, so not merged; the same badge coming back after a short pause is merged */
    struct usage_reading r[] = {rb(0, RUN, 0, 1001, 7),   rb(30, IDLE, 30, 0, 0),
                                rb(50, RUN, 30, 2002, 8), rb(80, IDLE, 60, 0, 0),
                                rb(90, RUN, 60, 2002, 8), rb(100, IDLE, 70, 0, 0)};
    struct usage_session *s;
    size_t n;

    (void)state;
    assert_int_equal(usage_sessions(r, 6, 120 * S, &s, &n), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].badge, 1001);
    assert_int_equal(s[0].run_ms, 30 * S);
    assert_int_equal(s[1].badge, 2002);
    assert_int_equal(s[1].start_ms, 50 * S);
    assert_int_equal(s[1].end_ms, 100 * S);
    assert_int_equal(s[1].run_ms, 40 * S);
    free(s);
}

static void a_log_out_while_running_ends_the_users_session(void **state)
{
    /* still running after the badge logged out: the rest is nobody's */
    struct usage_reading r[] = {rb(0, RUN, 0, 1001, 7), rb(20, RUN, 20, 0, 0),
                                rb(30, IDLE, 30, 0, 0)};
    struct usage_session *s;
    size_t n;

    (void)state;
    assert_int_equal(usage_sessions(r, 3, 120 * S, &s, &n), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].badge, 1001);
    assert_int_equal(s[0].run_ms, 20 * S);
    assert_int_equal(s[1].badge, 0);
    assert_int_equal(s[1].badge_seen, 1);
    assert_int_equal(s[1].run_ms, 10 * S);
    free(s);
}

static void one_session_from_counters(void **state)
{
    /* the heartbeat at 40 s is missing: the counter still gives the whole run */
    struct usage_reading r[] = {rd(0, IDLE, 100), rd(10, RUN, 100), rd(70, IDLE, 160)};
    struct usage_session *s;
    size_t n;

    (void)state;
    assert_int_equal(usage_sessions(r, 3, 120 * S, &s, &n), LS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].start_ms, 10 * S);
    assert_int_equal(s[0].end_ms, 70 * S);
    assert_int_equal(s[0].run_ms, 60 * S);
    assert_false(s[0].open);
    free(s);
}

static void merge_gap_boundary(void **state)
{
    struct usage_session *s;
    size_t n;
    /* a pause of 119 s merges, a pause of 120 s does not */
    struct usage_reading a[] = {rd(0, RUN, 0), rd(60, IDLE, 60), rd(179, RUN, 60),
                                rd(239, IDLE, 120)};
    struct usage_reading b[] = {rd(0, RUN, 0), rd(60, IDLE, 60), rd(180, RUN, 60),
                                rd(240, IDLE, 120)};

    (void)state;
    assert_int_equal(usage_sessions(a, 4, 120 * S, &s, &n), LS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].start_ms, 0);
    assert_int_equal(s[0].end_ms, 239 * S);
    assert_int_equal(s[0].run_ms, 120 * S); /* the pause is not run time */
    free(s);
    assert_int_equal(usage_sessions(b, 4, 120 * S, &s, &n), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(s[1].start_ms, 180 * S);
    assert_int_equal(s[0].run_ms + s[1].run_ms, 120 * S);
    free(s);
}

static void counter_reset_mid_session(void **state)
{
    /* factory reset between 0 and 30 s: the counter restarts, 5 s of it count, then 30 more */
    struct usage_reading r[] = {rd(0, RUN, 1000), rd(30, RUN, 5), rd(60, IDLE, 35)};
    struct usage_session *s;
    size_t n;

    (void)state;
    assert_int_equal(usage_sessions(r, 3, 120 * S, &s, &n), LS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].run_ms, 35 * S);
    free(s);
    /* never negative, never more than the time available */
    assert_int_equal(usage_counter_delta(100, 40, 1000), 40);
    assert_int_equal(usage_counter_delta(100, 100, 1000), 0);
    assert_int_equal(usage_counter_delta(0, 4000000000LL, 12), 12);
    assert_int_equal(usage_counter_delta(4294967290LL, 3, 100), 3); /* u32 wrap */
}

static void garbage_counter_is_capped(void **state)
{
    struct usage_reading r[] = {rd(0, RUN, 0), rd(10, IDLE, 1000000)};
    struct usage_session *s;
    size_t n;

    (void)state;
    assert_int_equal(usage_sessions(r, 2, 120 * S, &s, &n), LS_OK);
    assert_int_equal(s[0].run_ms, 12 * S); /* 10 s plus 2 s of slack, not 11 days */
    free(s);
}

static void state_durations_without_counter(void **state)
{
    struct usage_reading r[] = {rd(0, RUN, -1),   rd(30, IDLE, -1), rd(60, RUN, -1),
                                rd(90, IDLE, -1), rd(500, RUN, -1), rd(520, RUN, -1)};
    struct usage_session *s;
    size_t n;

    (void)state;
    assert_int_equal(usage_sessions(r, 6, 120 * S, &s, &n), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].run_ms, 60 * S);
    assert_int_equal(s[0].end_ms, 90 * S);
    assert_true(s[1].open); /* still running at the last reading */
    assert_int_equal(s[1].run_ms, 20 * S);
    free(s);
}

static void split_at_booking_edges(void **state)
{
    struct usage_session s = {.start_ms = 0,
                              .end_ms = 100 * S,
                              .run_ms = 100 * S,
                              .energy_wh = 30,
                              .samples = 7,
                              .badge = 42,
                              .open = 0};
    struct usage_booking b[] = {{5, 77, 50 * S, 200 * S}};
    struct usage_booking two[] = {{1, 10, 10 * S, 20 * S}, {2, 11, 20 * S, 40 * S}};
    struct usage_part *p;
    size_t n;

    (void)state;
    /* a session straddling the start of a booking: before it the badge user's, then the
     * booking user's */
    assert_int_equal(usage_split(&s, b, 1, 9, &p, &n), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(p[0].attribution, USAGE_BADGE);
    assert_int_equal(p[0].user_id, 9);
    assert_int_equal(p[0].end_ms, 50 * S);
    assert_int_equal(p[1].attribution, USAGE_BOOKING);
    assert_int_equal(p[1].booking_id, 5);
    assert_int_equal(p[1].user_id, 77);
    assert_int_equal(p[0].run_ms + p[1].run_ms, 100 * S);
    assert_int_equal(p[0].energy_wh + p[1].energy_wh, 30);
    assert_int_equal(p[0].samples + p[1].samples, 7);
    free(p);
    /* touching bookings; no badge: the rest is nobody's */
    assert_int_equal(usage_split(&s, two, 2, 0, &p, &n), LS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(p[0].attribution, USAGE_NONE);
    assert_int_equal(p[1].user_id, 10);
    assert_int_equal(p[2].user_id, 11);
    assert_int_equal(p[2].start_ms, 20 * S);
    assert_int_equal(p[3].attribution, USAGE_NONE);
    assert_int_equal(p[3].start_ms, 40 * S);
    assert_int_equal(p[0].run_ms + p[1].run_ms + p[2].run_ms + p[3].run_ms, 100 * S);
    assert_int_equal(p[1].run_ms, 10 * S);
    free(p);
}

static void huge_counters_neither_overflow_nor_count(void **state)
{
    /* samples and energy jump to 2^53 - 1 in one second of a run: capped like run time */
    struct usage_reading r[] = {
        {0, LS_STATE_RUNNING, LS_HAS_SAMPLES | LS_HAS_ENERGY_WH, 0, 0, 0, 0, 0},
        {1000, LS_STATE_RUNNING, LS_HAS_SAMPLES | LS_HAS_ENERGY_WH, 0, 9007199254740991LL,
         9007199254740991LL, 0, 0},
        {2000, LS_STATE_IDLE, LS_HAS_SAMPLES | LS_HAS_ENERGY_WH, 0, 9007199254740991LL,
         9007199254740991LL, 0, 0},
    };
    struct usage_booking bk[] = {{1, 7, 500, 1500}};
    struct usage_session *s;
    struct usage_part *p;
    size_t n, np;

    (void)state;
    assert_int_equal(usage_sessions(r, 3, 120000, &s, &n), LS_OK);
    assert_int_equal(n, 1);
    assert_true(s[0].samples <= 100 + 3 * 10); /* one step of 1 s + 2 s slack */
    assert_true(s[0].energy_wh <= 3 * 1000000 / 3600);
    /* and a split of a session with a huge counter does not overflow (UBSan would stop it) */
    s[0].samples = INT64_MAX / 2;
    assert_int_equal(usage_split(&s[0], bk, 1, 0, &p, &np), LS_OK);
    assert_int_equal(np, 3);
    assert_int_equal(p[0].samples + p[1].samples + p[2].samples, INT64_MAX / 2);
    assert_int_equal(p[1].samples, INT64_MAX / 2 / 2); /* half the session's time */
    free(p);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_session_never_mixes_badges),
        cmocka_unit_test(log_out_and_in_within_the_merge_gap_are_two_sessions),
        cmocka_unit_test(a_log_out_while_running_ends_the_users_session),
        cmocka_unit_test(huge_counters_neither_overflow_nor_count),
        cmocka_unit_test(one_session_from_counters),
        cmocka_unit_test(merge_gap_boundary),
        cmocka_unit_test(counter_reset_mid_session),
        cmocka_unit_test(garbage_counter_is_capped),
        cmocka_unit_test(state_durations_without_counter),
        cmocka_unit_test(split_at_booking_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
