/* Unit tests of the metrics and evaluation formulas (server/metrics.c) with hand-computed
 * cases: outages in rated hours, rates from sums (never averaged), zero hours, grade edges. */
// LINK: server/metrics.c server/config.c server/http/forwarded.c server/notify.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../server/metrics.h"
#include "labshare/rc.h"

#define H 3600000.0
#define DAY 86400000LL

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static struct srv_config defaults(void)
{
    struct srv_config cfg;
    char path[] = "/tmp/ls-metrics-XXXXXX", err[200];
    int fd = mkstemp(path);

    close(fd);
    assert_int_equal(srv_config_load(path, &cfg, err, sizeof(err)), LS_OK);
    unlink(path);
    cfg.reward_good = 1000; /* fen per external hour */
    return cfg;
}

static void a_year_with_an_outage(void **state)
{
    struct metric_raw r;
    struct srv_config cfg = defaults();
    json_t *m;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.rated_per_year = 1400;
    r.outage_ms = 73 * DAY;   /* 73 of 365 days out of service */
    r.effective_ms = 560 * H; /* rated: 1400 x 292 / 365 = 1120 h -> utilization 0.5 */
    r.external_ms = 112 * H;  /* sharing rate 0.2 */
    r.inside_ms = 400 * H;
    r.booked_ms = (int64_t)(500 * H);
    r.ended = 4;
    r.no_shows = 1;
    r.rating_sum = 16; /* 4 ratings averaging 4.0 */
    r.rating_count = 4;
    r.instruments = 1;
    r.public_count = 1;
    m = metrics_json(&r, 365 * DAY, -1, 0.1);
    assert_true(fabs(num(m, "rated_hours") - 1120.0) < 1e-9);
    assert_true(fabs(num(m, "utilization") - 0.5) < 1e-9);
    assert_true(fabs(num(m, "sharing_rate") - 0.2) < 1e-9);
    assert_true(fabs(num(m, "no_show_rate") - 0.25) < 1e-9);
    assert_true(fabs(num(m, "unbooked_hours") - 160.0) < 1e-9);
    assert_true(fabs(num(m, "overbooking_ratio") - 1.25) < 1e-9);
    assert_true(fabs(num(m, "avg_rating") - 4.0) < 1e-9);
    assert_false(json_is_true(json_object_get(m, "idle")));
    metrics_evaluate(m, &cfg);
    /* operation 40 x 0.5 = 20; sharing 40 x min(1, 0.2 / 0.2) = 40;
     * service 10 x (1 - 0.25) + 10 x 4 / 5 = 15.5; total 75.5: good (>= 75) */
    assert_true(fabs(num(m, "operation") - 20.0) < 1e-9);
    assert_true(fabs(num(m, "sharing") - 40.0) < 1e-9);
    assert_true(fabs(num(m, "service") - 15.5) < 1e-9);
    assert_true(fabs(num(m, "total") - 75.5) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(m, "grade")), "good");
    assert_int_equal(json_integer_value(json_object_get(m, "reward")), 112000);
    json_decref(m);
}

static void zero_hours_and_no_ratings(void **state)
{
    struct metric_raw r;
    struct srv_config cfg = defaults();
    json_t *m;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.rated_per_year = 800;
    r.instruments = 1;
    m = metrics_json(&r, 30 * DAY, -1, 0.1);
    assert_true(num(m, "sharing_rate") == 0.0); /* 0 when effective is 0, not NaN */
    assert_true(num(m, "utilization") == 0.0);
    assert_true(json_is_null(json_object_get(m, "avg_rating")));
    assert_true(json_is_null(json_object_get(m, "overbooking_ratio")));
    assert_true(json_is_true(json_object_get(m, "idle"))); /* below 10 % utilization */
    metrics_evaluate(m, &cfg);
    /* no ratings count as 5 of 5; no bookings ended: no no-shows -> service 20 */
    assert_true(fabs(num(m, "service") - 20.0) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(m, "grade")), "poor");
    json_decref(m);
    /* an outage longer than the period leaves 0 rated hours, not negative ones */
    r.outage_ms = 40 * DAY;
    m = metrics_json(&r, 30 * DAY, -1, 0.1);
    assert_true(num(m, "rated_hours") == 0.0);
    json_decref(m);
}

static void rates_from_sums_not_averages(void **state)
{
    struct metric_raw a, b, org;
    json_t *m;

    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&org, 0, sizeof(org));
    a.effective_ms = 100 * H; /* sharing 1.0 */
    a.external_ms = 100 * H;
    a.instruments = a.public_count = 1;
    b.effective_ms = 900 * H; /* sharing 0.0 */
    b.instruments = 1;
    metrics_add(&org, &a);
    metrics_add(&org, &b);
    m = metrics_json(&org, 365 * DAY, 2800, 0.1);
    assert_true(fabs(num(m, "sharing_rate") - 0.1) < 1e-9); /* 100 / 1000, not (1 + 0) / 2 */
    assert_true(fabs(num(m, "utilization") - 1000.0 / 2800.0) < 1e-4);
    assert_int_equal(json_integer_value(json_object_get(m, "instruments")), 2);
    assert_true(fabs(num(m, "public_share") - 0.5) < 1e-9);
    json_decref(m);
}

static void grade_boundaries(void **state)
{
    struct srv_config cfg = defaults();
    /* utilization u, sharing s -> totals 90 (excellent), 89.99.. (good) */
    static const struct {
        double util, share;
        const char *grade;
    } cases[] = {{0.75, 0.2, "excellent"}, /* 30 + 40 + 20 = 90 */
                 {0.7499, 0.2, "good"},    /* 89.996 */
                 {0.375, 0.2, "good"},     /* 15 + 40 + 20 = 75 */
                 {0.0, 0.2, "pass"},       /* 0 + 40 + 20 = 60 */
                 {0.0, 0.1999, "poor"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *m =
            json_pack("{s:f, s:f, s:f, s:n, s:f}", "utilization", cases[i].util, "sharing_rate",
                      cases[i].share, "no_show_rate", 0.0, "avg_rating", "external_hours", 10.0);
        (void)state;
        metrics_evaluate(m, &cfg);
        if (strcmp(json_string_value(json_object_get(m, "grade")), cases[i].grade))
            fail_msg("case %zu: total %f graded %s", i, num(m, "total"),
                     json_string_value(json_object_get(m, "grade")));
        json_decref(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_year_with_an_outage),
        cmocka_unit_test(zero_hours_and_no_ratings),
        cmocka_unit_test(rates_from_sums_not_averages),
        cmocka_unit_test(grade_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
