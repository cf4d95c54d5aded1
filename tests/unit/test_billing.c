/* Unit tests of charges (server/billing.c): bases, rounding to the increment, the minimum,
 * no-shows, per-sample fees, categories, round half up, and the voucher cap hit mid-charge. */
// LINK: server/billing.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../server/billing.h"
#include "labshare/rc.h"

static struct billing_terms terms(enum billing_basis basis)
{
    struct billing_terms t;

    memset(&t, 0, sizeof(t));
    t.basis = basis;
    t.increment_min = 15;
    t.no_show_fraction = 0.5;
    t.rates[CAT_INTERNAL] = 20000; /* 200 yuan an hour, in fen */
    t.rates[CAT_ACADEMIC] = 40000;
    t.rates[CAT_INDUSTRY] = 60000;
    t.per_sample = 5000;
    return t;
}

static void bases_and_rounding(void **state)
{
    struct billing_terms t = terms(BASIS_METERED);
    struct charge c;

    (void)state;
    /* booked 2 h, metered 61 min -> metered basis: 75 min (rounded up to 15) at 600/h */
    billing_booking(&t, CAT_INDUSTRY, 7200, 61 * 60, 0, 0, &c);
    assert_int_equal(c.minutes, 75);
    assert_int_equal(c.amount, 75000);
    /* exactly 60 min stays 60 */
    billing_booking(&t, CAT_INDUSTRY, 7200, 3600, 0, 0, &c);
    assert_int_equal(c.minutes, 60);
    /* one second more is the next increment */
    billing_booking(&t, CAT_INDUSTRY, 7200, 3601, 0, 0, &c);
    assert_int_equal(c.minutes, 75);
    t.basis = BASIS_BOOKED;
    billing_booking(&t, CAT_ACADEMIC, 7200, 61 * 60, 0, 0, &c);
    assert_int_equal(c.minutes, 120);
    assert_int_equal(c.amount, 80000);
    t.basis = BASIS_MAX;
    billing_booking(&t, CAT_INTERNAL, 3600, 95 * 60, 0, 0, &c);
    assert_int_equal(c.minutes, 105); /* metered 95 -> 105 beats booked 60 */
    assert_int_equal(c.amount, 35000);
    /* round half up: 7 min at 1 fen/h... 100 fen/h x 15 min = 25 fen exactly; 101 x 15 / 60 =
     * 25.25 -> 25; 102 x 15 / 60 = 25.5 -> 26 */
    t.rates[CAT_INTERNAL] = 102;
    billing_booking(&t, CAT_INTERNAL, 900, 0, 0, 0, &c);
    assert_int_equal(c.amount, 26);
    t.rates[CAT_INTERNAL] = 101;
    billing_booking(&t, CAT_INTERNAL, 900, 0, 0, 0, &c);
    assert_int_equal(c.amount, 25);
}

static void minimum_no_show_and_samples(void **state)
{
    struct billing_terms t = terms(BASIS_METERED);
    struct charge c;

    (void)state;
    t.minimum_min = 30;
    billing_booking(&t, CAT_INDUSTRY, 3600, 5 * 60, 3, 0, &c);
    assert_int_equal(c.minutes, 30); /* 15 after rounding, raised to the minimum */
    assert_int_equal(c.time_fee, 30000);
    assert_int_equal(c.sample_fee, 15000);
    assert_int_equal(c.amount, 45000);
    /* a no-show pays half the booked charge, no sample fees */
    billing_booking(&t, CAT_INDUSTRY, 3600, 0, 3, 1, &c);
    assert_int_equal(c.minutes, 60);
    assert_int_equal(c.amount, 30000);
    /* unbooked use attributed by badge: the metered basis whatever the instrument's */
    t.basis = BASIS_BOOKED;
    t.minimum_min = 0;
    billing_unbooked(&t, CAT_ACADEMIC, 20 * 60, 1, &c);
    assert_int_equal(c.minutes, 30);
    assert_int_equal(c.amount, 20000 + 5000);
}

static void categories(void **state)
{
    (void)state;
    assert_int_equal(billing_category(1, "enterprise"), CAT_INTERNAL);
    assert_int_equal(billing_category(0, "enterprise"), CAT_INDUSTRY);
    assert_int_equal(billing_category(0, "university"), CAT_ACADEMIC);
    assert_int_equal(billing_category(0, "government"), CAT_ACADEMIC);
    assert_int_equal(billing_category(0, "institute"), CAT_ACADEMIC);
}

static void voucher_cap_mid_charge(void **state)
{
    (void)state;
    assert_int_equal(billing_voucher(10001, 60, 1000000), 6000); /* floor(6000.6) */
    assert_int_equal(billing_voucher(10000, 60, 2500), 2500);    /* the cap hit mid-charge */
    assert_int_equal(billing_voucher(10000, 60, 0), 0);
    assert_int_equal(billing_voucher(-500, 60, 1000), 0);
}

static void month_edge_in_the_platform_time_zone(void **state)
{
    char month[16], day[24];
    int year;

    (void)state;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    /* 2026-11-30T15:59:59Z is 23:59:59 on 30 November in Beijing; one second later it is
     * December there while still November in UTC */
    billing_month(1796054399000LL, month, day, &year);
    assert_string_equal(month, "2026-11");
    assert_string_equal(day, "2026-11-30");
    billing_month(1796054400000LL, month, day, &year);
    assert_string_equal(month, "2026-12");
    assert_string_equal(day, "2026-12-01");
    /* and the new year comes 8 hours before UTC's */
    billing_month(1798732800000LL, month, NULL, &year); /* 2026-12-31T16:00Z */
    assert_string_equal(month, "2027-01");
    assert_int_equal(year, 2027);
}

static void outside_numbers_never_overflow(void **state)
{
    struct billing_terms t;
    char why[200];
    struct charge c;
    json_t *b = json_pack("{s:s, s:{s:I, s:I, s:I}, s:I}", "basis", "metered", "rates", "internal",
                          (json_int_t)1, "academic", (json_int_t)1, "industry", (json_int_t)1,
                          "per_sample", (json_int_t)5000);

    (void)state;
    assert_int_equal(billing_terms_parse(b, &t, why, sizeof(why)), LS_OK);
    /* 2^53 - 1 samples at 50 yuan each does not fit: refused, not a number */
    assert_int_equal(billing_booking(&t, CAT_INDUSTRY, 3600, 3600, 9007199254740991LL, 0, &c),
                     LS_ERR_INVAL);
    assert_int_equal(billing_unbooked(&t, CAT_INDUSTRY, 3600, 9007199254740991LL, &c),
                     LS_ERR_INVAL);
    /* the largest that fits is charged exactly */
    assert_int_equal(billing_unbooked(&t, CAT_INDUSTRY, 0, INT64_MAX / 5000, &c), LS_OK);
    assert_int_equal(c.sample_fee, INT64_MAX / 5000 * 5000);
    /* vouchers: exact floor(amount x percent / 100) where amount x percent overflows */
    assert_int_equal(billing_voucher(INT64_MAX, 100, INT64_MAX), INT64_MAX);
    assert_int_equal(billing_voucher(INT64_MAX, 50, INT64_MAX), INT64_MAX / 2);
    assert_int_equal(billing_voucher(9007199254740991LL, 30, INT64_MAX),
                     9007199254740991LL * 3 / 10);
    json_decref(b);
}

/* Found by fuzz_http_json: terms out of the ranges the API writes (an increment of 1.5e18
 * minutes) overflowed the billable minutes. The parser refuses them; those at the limits parse. */
static void terms_out_of_range_refused(void **state)
{
    static const char *const bad[] = {
        "{\"basis\": \"metered\", \"increment_min\": 1555555555555555530, \"rates\": {}}",
        "{\"basis\": \"metered\", \"increment_min\": 1441, \"rates\": {}}",
        "{\"basis\": \"metered\", \"minimum_min\": -1, \"rates\": {}}",
        "{\"basis\": \"metered\", \"no_show_fraction\": 1.5, \"rates\": {}}",
        "{\"basis\": \"metered\", \"per_sample\": 100000001, \"rates\": {}}",
        "{\"basis\": \"metered\", \"rates\": {\"industry\": -5}}",
        "{\"basis\": \"metered\", \"rates\": {\"academic\": 9223372036854775807}}",
        NULL};
    struct billing_terms t;
    char why[200];
    struct charge c;
    json_t *b;
    (void)state;

    for (size_t i = 0; bad[i]; i++) {
        b = json_loads(bad[i], 0, NULL);
        assert_non_null(b);
        assert_int_equal(billing_terms_parse(b, &t, why, sizeof(why)), LS_ERR_INVAL);
        json_decref(b);
    }
    b = json_loads("{\"basis\": \"max\", \"increment_min\": 1440, \"minimum_min\": 1440, "
                   "\"no_show_fraction\": 1, \"per_sample\": 100000000, \"rates\": "
                   "{\"internal\": 100000000, \"academic\": 0, \"industry\": 100000000}}",
                   0, NULL);
    assert_int_equal(billing_terms_parse(b, &t, why, sizeof(why)), LS_OK);
    assert_int_equal(billing_booking(&t, CAT_INDUSTRY, 3600, 3000, 5, 0, &c), LS_OK);
    assert_int_equal(c.minutes, 1440); /* one increment of a day */
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outside_numbers_never_overflow),
        cmocka_unit_test(terms_out_of_range_refused),
        cmocka_unit_test(bases_and_rounding),
        cmocka_unit_test(minimum_no_show_and_samples),
        cmocka_unit_test(categories),
        cmocka_unit_test(voucher_cap_mid_charge),
        cmocka_unit_test(month_edge_in_the_platform_time_zone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
