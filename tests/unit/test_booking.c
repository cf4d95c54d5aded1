/* Unit tests of the booking rules (server/booking.c) at every boundary, the status machine,
 * service hours across day boundaries in the platform time zone, and interval arithmetic. */
// LINK: server/booking.c server/rollup.c server/records.c server/usage.c
// LINK: server/billing.c server/interlock.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../server/booking.h"
#include "../../server/records.h"
#include "labshare/rc.h"

/* 2026-12-01 (a Tuesday) 00:00 in Asia/Shanghai = 2026-11-30T16:00:00Z */
#define TUE_MIDNIGHT_MS 1796054400000LL
#define H (3600LL * 1000)
#define M (60LL * 1000)

static int setup(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    return 0;
}

/* booking_check's verdict as a string ("ok" when it passes), for assert_string_equal. */
static const char *verdict(const struct booking_rules *r, const struct service_hours *h,
                           const struct booking_request *q)
{
    static char msg[200];
    const char *rule = booking_check(r, h, q, msg, sizeof(msg));

    return rule ? rule : "ok";
}

static struct booking_request req_at(int64_t start, int64_t end)
{
    struct booking_request q;

    memset(&q, 0, sizeof(q));
    q.start_ms = start;
    q.end_ms = end;
    q.now_ms = TUE_MIDNIGHT_MS - 2 * 86400000LL; /* two days before */
    return q;
}

/* The figure each rule names, for a client to say the rule in its own language. */
static void rule_limits(void **state)
{
    struct booking_rules r = {.min_minutes = 30,
                              .max_minutes = 240,
                              .slot_minutes = 10,
                              .horizon_days = 60,
                              .min_notice_minutes = 120,
                              .cancel_notice_minutes = 720,
                              .max_future_bookings = 3};

    (void)state;
    assert_int_equal(booking_rule_limit(&r, "min_duration"), 30);
    assert_int_equal(booking_rule_limit(&r, "max_duration"), 240);
    assert_int_equal(booking_rule_limit(&r, "slot"), 10);
    assert_int_equal(booking_rule_limit(&r, "horizon"), 60);
    assert_int_equal(booking_rule_limit(&r, "min_notice"), 120);
    assert_int_equal(booking_rule_limit(&r, "cancel_notice"), 720);
    assert_int_equal(booking_rule_limit(&r, "max_future_bookings"), 3);
    assert_int_equal(booking_rule_limit(&r, "in_past"), -1);
    assert_int_equal(booking_rule_limit(&r, "service_hours"), -1);
    assert_int_equal(booking_rule_limit(&r, "qualification"), -1);
    assert_int_equal(booking_rule_limit(&r, NULL), -1);
}

static void defaults_and_parse_errors(void **state)
{
    struct booking_rules r;
    char why[200];
    json_t *j;

    (void)state;
    assert_int_equal(booking_rules_parse(NULL, &r, why, sizeof(why)), LS_OK);
    assert_int_equal(r.min_minutes, 15);
    assert_int_equal(r.slot_minutes, 15);
    assert_true(r.approval_external);
    j = json_pack("{s:i, s:b}", "min_minutes", 30, "approval_external", 0);
    assert_int_equal(booking_rules_parse(j, &r, why, sizeof(why)), LS_OK);
    assert_int_equal(r.min_minutes, 30);
    assert_false(r.approval_external);
    json_decref(j);
    j = json_pack("{s:b}", "requires_qualification", 1);
    assert_int_equal(booking_rules_parse(j, &r, why, sizeof(why)), LS_OK);
    assert_true(r.requires_qualification);
    json_decref(j);
    j = json_pack("{s:i}", "requires_qualification", 1);
    assert_int_equal(booking_rules_parse(j, &r, why, sizeof(why)), LS_ERR_INVAL);
    assert_non_null(strstr(why, "booking.requires_qualification must be true or false"));
    json_decref(j);
    j = json_pack("{s:i}", "colour", 1);
    assert_int_equal(booking_rules_parse(j, &r, why, sizeof(why)), LS_ERR_INVAL);
    assert_non_null(strstr(why, "booking.colour is not a booking rule"));
    json_decref(j);
    j = json_pack("{s:s}", "min_minutes", "30");
    assert_int_equal(booking_rules_parse(j, &r, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(j);
    j = json_pack("{s:i, s:i}", "min_minutes", 60, "max_minutes", 30);
    assert_int_equal(booking_rules_parse(j, &r, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(j);
    j = json_pack("{s:i}", "slot_minutes", 0);
    assert_int_equal(booking_rules_parse(j, &r, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(j);
}

static void rule_boundaries(void **state)
{
    struct booking_rules r;
    struct service_hours h;
    struct booking_request q;
    char why[200];
    const int64_t nine = TUE_MIDNIGHT_MS + 9 * H;

    (void)state;
    booking_rules_parse(NULL, &r, why, sizeof(why));
    service_hours_parse(NULL, &h, why, sizeof(why)); /* Mon-Fri 08:00-18:00 */
    q = req_at(nine, nine + 15 * M);
    assert_string_equal(verdict(&r, &h, &q), "ok"); /* exactly the minimum */
    q = req_at(nine, nine + 14 * M);
    assert_string_equal(verdict(&r, &h, &q), "min_duration");
    q = req_at(TUE_MIDNIGHT_MS + 17 * H, TUE_MIDNIGHT_MS + 18 * H + 15 * M); /* past 18:00 */
    assert_string_equal(verdict(&r, &h, &q), "service_hours");
    q = req_at(TUE_MIDNIGHT_MS + 8 * H, TUE_MIDNIGHT_MS + 16 * H);
    assert_string_equal(verdict(&r, &h, &q), "ok"); /* 8 h = the maximum */
    q = req_at(TUE_MIDNIGHT_MS + 8 * H, TUE_MIDNIGHT_MS + 16 * H + 15 * M);
    assert_string_equal(verdict(&r, &h, &q), "max_duration");
    q = req_at(nine + 5 * M, nine + 20 * M);
    assert_string_equal(verdict(&r, &h, &q), "slot");
    q = req_at(TUE_MIDNIGHT_MS + 7 * H + 45 * M, TUE_MIDNIGHT_MS + 8 * H + 15 * M);
    assert_string_equal(verdict(&r, &h, &q), "service_hours");
    q = req_at(TUE_MIDNIGHT_MS + 17 * H + 45 * M, TUE_MIDNIGHT_MS + 18 * H); /* ends at closing */
    assert_string_equal(verdict(&r, &h, &q), "ok");
    /* notice: 60 minutes exactly is enough, 59 is not */
    q = req_at(nine, nine + 30 * M);
    q.now_ms = nine - 60 * M;
    assert_string_equal(verdict(&r, &h, &q), "ok");
    q.now_ms = nine - 59 * M;
    assert_string_equal(verdict(&r, &h, &q), "min_notice");
    q.now_ms = nine + 1;
    assert_string_equal(verdict(&r, &h, &q), "in_past");
    /* horizon: 90 days ahead exactly, not one minute more */
    q.now_ms = nine - 90 * 86400000LL;
    assert_string_equal(verdict(&r, &h, &q), "ok");
    q.now_ms = nine - 90 * 86400000LL - M;
    assert_string_equal(verdict(&r, &h, &q), "horizon");
    /* max future bookings */
    q = req_at(nine, nine + 30 * M);
    q.future_count = 9;
    assert_string_equal(verdict(&r, &h, &q), "ok");
    q.future_count = 10;
    assert_string_equal(verdict(&r, &h, &q), "max_future_bookings");
    /* a manager or admin records bookings outside the rules (walk-ins, migration) */
    q = req_at(nine - 30 * 86400000LL, nine - 30 * 86400000LL + 5 * M);
    q.privileged = 1;
    assert_string_equal(verdict(&r, &h, &q), "ok");
    /* qualification: required only when the instrument says so; assisted use is privileged */
    q = req_at(nine, nine + 30 * M);
    assert_false(r.requires_qualification);
    assert_string_equal(verdict(&r, &h, &q), "ok");
    r.requires_qualification = 1;
    assert_string_equal(verdict(&r, &h, &q), "qualification");
    q.qualified = 1;
    assert_string_equal(verdict(&r, &h, &q), "ok");
    q.qualified = 0;
    q.privileged = 1;
    assert_string_equal(verdict(&r, &h, &q), "ok");
    r.requires_qualification = 0;
    /* Saturday is closed by default */
    q = req_at(TUE_MIDNIGHT_MS + 4 * 86400000LL + 9 * H, TUE_MIDNIGHT_MS + 4 * 86400000LL + 10 * H);
    assert_string_equal(verdict(&r, &h, &q), "service_hours");
}

static void service_hours_across_midnight(void **state)
{
    struct service_hours h;
    struct interval *w;
    size_t n;
    char why[200];
    json_t *j = json_loads("{\"tue\": [[\"20:00\", \"24:00\"]], \"wed\": [[\"00:00\", \"06:00\"],"
                           " [\"13:00\", \"14:00\"]]}",
                           0, NULL);
    json_t *back;

    (void)state;
    assert_int_equal(service_hours_parse(j, &h, why, sizeof(why)), LS_OK);
    /* Tue 20:00 to Wed 06:00 local is one window across midnight (an overnight run) */
    assert_int_equal(service_windows(&h, TUE_MIDNIGHT_MS, TUE_MIDNIGHT_MS + 2 * 86400000LL, &w, &n),
                     LS_OK);
    assert_int_equal(n, 2);
    assert_true(w[0].start_ms == TUE_MIDNIGHT_MS + 20 * H);
    assert_true(w[0].end_ms == TUE_MIDNIGHT_MS + 30 * H);
    assert_true(w[1].start_ms == TUE_MIDNIGHT_MS + 37 * H);
    free(w);
    back = service_hours_json(&h);
    assert_string_equal(
        json_string_value(json_array_get(json_array_get(json_object_get(back, "wed"), 1), 0)),
        "13:00");
    json_decref(back);
    json_decref(j);
    /* refused */
    j = json_loads("{\"tue\": [[\"10:00\", \"09:00\"]]}", 0, NULL);
    assert_int_equal(service_hours_parse(j, &h, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(j);
    j = json_loads("{\"tue\": [[\"10:00\", \"12:00\"], [\"11:00\", \"13:00\"]]}", 0, NULL);
    assert_int_equal(service_hours_parse(j, &h, why, sizeof(why)), LS_ERR_INVAL);
    assert_non_null(strstr(why, "overlap"));
    json_decref(j);
    j = json_loads("{\"someday\": []}", 0, NULL);
    assert_int_equal(service_hours_parse(j, &h, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(j);
    j = json_loads("{\"mon\": [[\"24:30\", \"25:00\"]]}", 0, NULL);
    assert_int_equal(service_hours_parse(j, &h, why, sizeof(why)), LS_ERR_INVAL);
    json_decref(j);
}

/* Found by fuzz_requests: a schedule closed all week was written as {} and read back as the
 * default hours (Monday to Friday 08:00-18:00), so a closed instrument took bookings. What
 * service_hours_json writes parses back to the same schedule. */
static void service_hours_round_trip(void **state)
{
    static const char *const cases[] = {"{\"mon\": []}", "{}",
                                        "{\"sat\": [[\"09:00\", \"12:00\"]]}",
                                        "{\"mon\": [[\"00:00\", \"24:00\"]], \"sun\": [[\"08:00\", "
                                        "\"09:00\"], [\"10:00\", \"11:00\"]]}",
                                        NULL};
    char why[200];
    (void)state;

    for (size_t i = 0; cases[i]; i++) {
        struct service_hours h, back;
        json_t *in = json_loads(cases[i], 0, NULL), *out;
        assert_int_equal(service_hours_parse(in, &h, why, sizeof(why)), LS_OK);
        out = service_hours_json(&h);
        assert_int_equal(json_object_size(out), 7);
        assert_int_equal(service_hours_parse(out, &back, why, sizeof(why)), LS_OK);
        assert_memory_equal(&h, &back, sizeof(h));
        if (i == 0) /* closed all week: no window on any day */
            for (int d = 0; d < 7; d++)
                assert_int_equal(back.count[d], 0);
        json_decref(out);
        json_decref(in);
    }
}

/* A booking as the API shows it: absent texts and numbers are null, times RFC 3339 UTC with
 * milliseconds, the requester's organisation null for a user without one. */
static void booking_json_shape(void **state)
{
    struct booking_view v;
    json_t *o;
    char *text;
    (void)state;

    memset(&v, 0, sizeof(v));
    v.b.id = 7;
    snprintf(v.b.instrument, sizeof(v.b.instrument), "nmr-600");
    v.b.user_id = 3;
    v.b.start_ms = TUE_MIDNIGHT_MS;
    v.b.end_ms = TUE_MIDNIGHT_MS + H + 5;
    v.b.status = BOOKING_CONFIRMED;
    v.b.created_at = TUE_MIDNIGHT_MS - 1;
    snprintf(v.requester.username, sizeof(v.requester.username), "admin");
    o = booking_view_json(&v);
    text = json_dumps(o, JSON_COMPACT);
    assert_string_equal(
        text, "{\"id\":7,\"instrument\":\"nmr-600\",\"user_id\":3,\"project\":\"\",\"start\":"
              "\"2026-11-30T16:00:00.000Z\",\"end\":\"2026-11-30T17:00:00.005Z\",\"status\":"
              "\"confirmed\",\"reason\":null,\"metered_seconds\":0,\"created_by\":0,"
              "\"created_at\":\"2026-11-30T15:59:59.999Z\",\"rating\":null,\"comment\":null,"
              "\"requester\":{\"username\":\"admin\",\"display_name\":\"\",\"org_id\":null,"
              "\"org\":null,\"org_type\":null},\"order_id\":null}");
    free(text);
    json_decref(o);
    v.b.has_reason = 1;
    snprintf(v.b.reason, sizeof(v.b.reason), "rejected: no slot");
    v.b.rating = 4;
    v.requester.org_id = 2;
    snprintf(v.requester.org, sizeof(v.requester.org), "NCU");
    o = booking_view_json(&v);
    assert_string_equal(json_string_value(json_object_get(o, "reason")), "rejected: no slot");
    assert_int_equal(json_integer_value(json_object_get(o, "rating")), 4);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "requester"), "org")),
                        "NCU");
    json_decref(o);
    v.b.order_id = 12; /* the staff's work on a sample-testing order names it */
    o = booking_view_json(&v);
    assert_int_equal(json_integer_value(json_object_get(o, "order_id")), 12);
    json_decref(o);
}

static void status_machine(void **state)
{
    /* expected next status per action (approve, reject, cancel, rate); -1 = forbidden */
    static const int expect[BOOKING_STATUS_COUNT][4] = {
        [BOOKING_PENDING] = {BOOKING_CONFIRMED, BOOKING_CANCELLED, BOOKING_CANCELLED, -1},
        [BOOKING_CONFIRMED] = {-1, -1, BOOKING_CANCELLED, -1},
        [BOOKING_CANCELLED] = {-1, -1, -1, -1},
        [BOOKING_COMPLETED] = {-1, -1, -1, BOOKING_COMPLETED},
        [BOOKING_NO_SHOW] = {-1, -1, -1, -1},
    };
    char msg[200];

    (void)state;
    for (int s = 0; s < BOOKING_STATUS_COUNT; s++) {
        const char *name = booking_status_name((enum booking_status)s);
        enum booking_status parsed;
        /* every status's name parses back to it */
        assert_int_equal(booking_status_parse(name, &parsed), LS_OK);
        assert_int_equal(parsed, s);
        for (int a = 0; a < 4; a++) {
            enum booking_status got = BOOKING_STATUS_COUNT;
            int rc = booking_next_status((enum booking_status)s, (enum booking_action)a, &got, msg,
                                         sizeof(msg));
            if (expect[s][a] < 0 && rc == LS_OK)
                fail_msg("%s + action %d allowed", name, a);
            if (expect[s][a] >= 0 && (rc != LS_OK || (int)got != expect[s][a]))
                fail_msg("%s + action %d: %s", name, a, rc ? msg : booking_status_name(got));
            /* a refusal names the status it refused */
            if (rc != LS_OK && !strstr(msg, name))
                fail_msg("%s + action %d: '%s' does not name the status", name, a, msg);
        }
    }
    assert_int_equal(booking_status_parse("done", &(enum booking_status){0}), LS_ERR_INVAL);
    assert_int_equal(booking_status_parse(NULL, &(enum booking_status){0}), LS_ERR_INVAL);
    assert_string_equal(booking_status_name(BOOKING_STATUS_COUNT), "unknown");
}

/* Settlement once the meter's evidence reaches the end: completed from no_show_min_run_s of
 * running, no_show below it; not before the end; cancelled and pending ones never. */
static void settlement(void **state)
{
    static const struct {
        enum booking_status from;
        int64_t evidence_ms, metered_s;
        enum booking_status expect;
    } cases[] = {
        /* ended at 1000, evidence at 1000: settled; 300 s needed */
        {BOOKING_CONFIRMED, 1000, 300, BOOKING_COMPLETED},
        {BOOKING_CONFIRMED, 1000, 299, BOOKING_NO_SHOW},
        /* evidence 1 ms before the end: not yet */
        {BOOKING_CONFIRMED, 999, 0, BOOKING_CONFIRMED},
        /* late readings move a settled one both ways */
        {BOOKING_NO_SHOW, 5000, 400, BOOKING_COMPLETED},
        {BOOKING_COMPLETED, 5000, 10, BOOKING_NO_SHOW},
        {BOOKING_CANCELLED, 5000, 400, BOOKING_CANCELLED},
        {BOOKING_PENDING, 5000, 400, BOOKING_PENDING},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (booking_settled_status(cases[i].from, 1000, cases[i].evidence_ms, cases[i].metered_s,
                                   300) != cases[i].expect)
            fail_msg("case %zu: not %s", i, booking_status_name(cases[i].expect));
}

static void subtract(void **state)
{
    struct interval f[2] = {{0, 100}, {200, 300}};
    struct interval b[3] = {{-10, 10}, {50, 60}, {60, 250}};
    struct interval *out;
    size_t n;

    (void)state;
    assert_int_equal(interval_subtract(f, 2, b, 3, &out, &n), LS_OK);
    /* [0,100) - [-10,10) - [50,60) - [60,250) = [10,50); [200,300) - [60,250) = [250,300) */
    assert_int_equal(n, 2);
    assert_true(out[0].start_ms == 10 && out[0].end_ms == 50);
    assert_true(out[1].start_ms == 250 && out[1].end_ms == 300);
    free(out);
    /* busy touching a free interval's ends removes nothing */
    {
        struct interval f1 = {100, 200}, b1[2] = {{0, 100}, {200, 300}};
        assert_int_equal(interval_subtract(&f1, 1, b1, 2, &out, &n), LS_OK);
        assert_int_equal(n, 1);
        assert_true(out[0].start_ms == 100 && out[0].end_ms == 200);
        free(out);
    }
}

/* a qualification's edges: a booking must lie inside it; a walk-up at t asks for [t, t + 1) */
static void qualification_edges(void **state)
{
    const int64_t since = 1000000, expires = 2000000;

    (void)state;
    assert_true(qualification_covers(since, expires, since, expires));
    assert_false(qualification_covers(since, expires, since - 1, expires));
    assert_false(qualification_covers(since, expires, since, expires + 1));
    assert_true(qualification_covers(since, INT64_MAX, since, INT64_MAX));
    /* walk-up: qualified from its first instant, no longer at its expiry */
    assert_false(qualification_covers(since, expires, since - 1, since));
    assert_true(qualification_covers(since, expires, since, since + 1));
    assert_true(qualification_covers(since, expires, expires - 1, expires));
    assert_false(qualification_covers(since, expires, expires, expires + 1));
    /* an empty span is no use */
    assert_false(qualification_covers(since, expires, since + 5, since + 5));
}

/* Windows follow the local clock across a daylight saving change: 08:00-12:00 and 13:00-24:00
 * every day in New York over 2026-03-07 (EST, UTC-5), 03-08 (23 hours: EDT from 02:00) and
 * 03-09 (EDT, UTC-4), hand-computed in UTC. */
static void service_windows_across_daylight_saving(void **state)
{
    struct service_hours h;
    struct interval *w = NULL;
    size_t n = 0;
    const int64_t mar7 = 1772859600000LL; /* 2026-03-07 00:00 EST = 05:00 UTC */
    const int64_t mar8 = mar7 + 24 * H, mar9 = mar8 + 23 * H;

    (void)state;
    memset(&h, 0, sizeof(h));
    for (int d = 0; d < 7; d++) {
        h.count[d] = 2;
        h.from[d][0] = 8 * 60;
        h.to[d][0] = 12 * 60;
        h.from[d][1] = 13 * 60;
        h.to[d][1] = 1440;
    }
    setenv("TZ", "America/New_York", 1);
    tzset();
    assert_int_equal(service_windows(&h, mar7, mar9 + 24 * H, &w, &n), LS_OK);
    assert_int_equal(n, 6);
    assert_true(w[0].start_ms == mar7 + 8 * H && w[0].end_ms == mar7 + 12 * H);
    assert_true(w[1].start_ms == mar7 + 13 * H && w[1].end_ms == mar8);
    /* the short day: 08:00 EDT is 7 hours after midnight EST */
    assert_true(w[2].start_ms == mar8 + 7 * H && w[2].end_ms == mar8 + 11 * H);
    assert_true(w[3].start_ms == mar8 + 12 * H && w[3].end_ms == mar9);
    assert_true(w[4].start_ms == mar9 + 8 * H && w[4].end_ms == mar9 + 12 * H);
    assert_true(w[5].start_ms == mar9 + 13 * H && w[5].end_ms == mar9 + 24 * H);
    free(w);
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(qualification_edges),
        cmocka_unit_test(defaults_and_parse_errors),
        cmocka_unit_test(rule_limits),
        cmocka_unit_test(rule_boundaries),
        cmocka_unit_test(service_hours_across_midnight),
        cmocka_unit_test(status_machine),
        cmocka_unit_test(settlement),
        cmocka_unit_test(subtract),
        cmocka_unit_test(service_hours_round_trip),
        cmocka_unit_test(service_windows_across_daylight_saving),
        cmocka_unit_test(booking_json_shape),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
