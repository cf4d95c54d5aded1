/* Unit tests of the new-purchase review (server/review.c): what is comparable, spare hours, the
 * verdict and its reasons, with figures computed by hand. */
// LINK: server/review.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../server/review.h"

static const struct review_thresholds th = {0.5, 0.8};

static void comparable_by_category_value_and_region(void **state)
{
    int64_t lo, hi;

    (void)state;
    /* a band of 0.5 around 3,000,000: 2,000,000 to 4,500,000 */
    review_band(3000000, 0.5, &lo, &hi);
    assert_int_equal(lo, 2000000);
    assert_int_equal(hi, 4500000);
    assert_true(review_comparable("Microscopy", "Nanchang, A-101", 3500000, " microscopy ", NULL,
                                  3000000, 0.5));
    assert_true(review_comparable("microscopy", "", 2000000, "microscopy", "", 3000000, 0.5));
    assert_false(review_comparable("microscopy", "", 1999999, "microscopy", "", 3000000, 0.5));
    assert_false(review_comparable("microscopy", "", 4500001, "microscopy", "", 3000000, 0.5));
    assert_false(
        review_comparable("microscopy (cryo)", "", 3000000, "microscopy", "", 3000000, 0.5));
    assert_false(review_comparable("", "", 3000000, "", "", 3000000, 0.5)); /* no category */
    /* region: the location starts with it */
    assert_true(
        review_comparable("xrd", "Nanchang, B-2", 3000000, "xrd", "nanchang", 3000000, 0.5));
    assert_false(review_comparable("xrd", "Ganzhou", 3000000, "xrd", "Nanchang", 3000000, 0.5));
    assert_false(review_comparable("xrd", "Nan", 3000000, "xrd", "Nanchang", 3000000, 0.5));
}

static void spare_hours_are_metered_and_never_negative(void **state)
{
    struct review_candidate busy = {1, 1400, 1600, 300}, idle = {1, 1400, 42, 0},
                            unmetered = {0, 1400, 0, 0};

    (void)state;
    assert_true(review_spare_hours(&busy) == 0);
    assert_true(review_spare_hours(&idle) == 1358);
    assert_true(review_spare_hours(&unmetered) == 0);
}

static void capacity_suffices(void **state)
{
    /* 1358 + 400 spare = 1758; 80 % = 1406.4 >= 1400 */
    struct review_candidate c[] = {{1, 1400, 42, 10}, {1, 1400, 1000, 500}, {0, 1400, 0, 0}};
    struct review_verdict v;

    (void)state;
    review_decide(c, 3, 1400, &th, &v);
    assert_true(v.suffices);
    assert_string_equal(review_verdict_name(&v), "existing capacity suffices");
    assert_int_equal(v.comparable, 3);
    assert_int_equal(v.metered, 2);
    assert_true(v.rated_hours == 2800 && v.effective_hours == 1042 && v.external_hours == 510);
    assert_true(v.spare_hours == 1758);
    assert_true(v.usable_hours > 1406.39 && v.usable_hours < 1406.41);
    assert_int_equal(v.nreasons, 3);
    assert_non_null(strstr(v.reasons[0], "2 metered comparable instruments ran 1042 h of 2800"));
    assert_non_null(strstr(v.reasons[0], "utilization 37 %"));
    assert_non_null(strstr(v.reasons[1], "1758 spare rated hours"));
    assert_non_null(strstr(v.reasons[1], "1406 h cover the 1400 h"));
    assert_non_null(strstr(v.reasons[2], "1 comparable instrument is not metered"));
    assert_string_equal(v.codes[0], "metered_use");
    assert_string_equal(v.codes[1], "spare_covers");
    assert_string_equal(v.codes[2], "not_metered");
    /* one hour more than the usable: justified */
    review_decide(c, 3, 1407, &th, &v);
    assert_false(v.suffices);
    assert_non_null(strstr(v.reasons[1], "fall short of the 1407 h"));
    assert_string_equal(v.codes[1], "spare_short");
}

static void nothing_comparable_or_nothing_metered(void **state)
{
    struct review_candidate c[] = {{0, 1400, 0, 0}};
    struct review_verdict v;

    (void)state;
    review_decide(NULL, 0, 10, &th, &v);
    assert_false(v.suffices);
    assert_string_equal(review_verdict_name(&v), "purchase justified");
    assert_string_equal(v.reasons[0], "no comparable instrument on the platform");
    assert_string_equal(v.codes[0], "no_comparable");
    assert_int_equal(v.nreasons, 1);
    /* an unmetered instrument, however idle it may be, is no evidence of spare capacity */
    review_decide(c, 1, 10, &th, &v);
    assert_false(v.suffices);
    assert_non_null(strstr(v.reasons[0], "none metered"));
    assert_string_equal(v.codes[0], "none_metered");
    assert_string_equal(v.codes[1], "not_metered");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(comparable_by_category_value_and_region),
        cmocka_unit_test(spare_hours_are_metered_and_never_negative),
        cmocka_unit_test(capacity_suffices),
        cmocka_unit_test(nothing_comparable_or_nothing_metered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
