/* Unit tests of sample-testing orders (server/order.c): the status machine, what a results file
 * may be called and typed, and what a completed order costs. */
// LINK: server/order.c
// LINK: server/billing.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../server/order.h"
#include "labshare/rc.h"

static void status_machine(void **state)
{
    enum order_status next;
    char why[200];

    (void)state;
    /* the way through */
    assert_int_equal(order_next_status(ORDER_REQUESTED, ORDER_ACCEPT, &next, why, sizeof(why)),
                     LS_OK);
    assert_int_equal(next, ORDER_ACCEPTED);
    assert_int_equal(order_next_status(ORDER_ACCEPTED, ORDER_RECEIVE, &next, why, sizeof(why)),
                     LS_OK);
    assert_int_equal(next, ORDER_RECEIVED);
    assert_int_equal(order_next_status(ORDER_RECEIVED, ORDER_SCHEDULE, &next, why, sizeof(why)),
                     LS_OK);
    assert_int_equal(next, ORDER_SCHEDULED);
    assert_int_equal(order_next_status(ORDER_SCHEDULED, ORDER_SCHEDULE, &next, why, sizeof(why)),
                     LS_OK);
    assert_int_equal(order_next_status(ORDER_SCHEDULED, ORDER_COMPLETE, &next, why, sizeof(why)),
                     LS_OK);
    assert_int_equal(next, ORDER_COMPLETED);
    /* work done off the calendar (per sample only) completes from received */
    assert_int_equal(order_next_status(ORDER_RECEIVED, ORDER_COMPLETE, &next, why, sizeof(why)),
                     LS_OK);
    /* out of order */
    assert_int_equal(order_next_status(ORDER_REQUESTED, ORDER_RECEIVE, &next, why, sizeof(why)),
                     LS_ERR_RULE);
    assert_non_null(strstr(why, "accepted"));
    assert_int_equal(order_next_status(ORDER_ACCEPTED, ORDER_SCHEDULE, &next, why, sizeof(why)),
                     LS_ERR_RULE);
    assert_int_equal(order_next_status(ORDER_ACCEPTED, ORDER_COMPLETE, &next, why, sizeof(why)),
                     LS_ERR_RULE);
    assert_int_equal(order_next_status(ORDER_RECEIVED, ORDER_DECLINE, &next, why, sizeof(why)),
                     LS_ERR_RULE);
    /* final statuses stay final, cancel included */
    for (enum order_status s = ORDER_DECLINED; s < ORDER_STATUS_COUNT; s++) {
        if (!order_status_final(s))
            continue;
        for (enum order_action a = ORDER_ACCEPT; a < ORDER_ACTION_COUNT; a++) {
            assert_int_equal(order_next_status(s, a, &next, why, sizeof(why)), LS_ERR_RULE);
            assert_non_null(strstr(why, "already"));
        }
    }
    /* every open status may be cancelled; the orderer only before the samples arrive */
    assert_int_equal(order_next_status(ORDER_SCHEDULED, ORDER_CANCEL, &next, why, sizeof(why)),
                     LS_OK);
    assert_int_equal(next, ORDER_CANCELLED);
    assert_true(order_orderer_may_cancel(ORDER_REQUESTED));
    assert_true(order_orderer_may_cancel(ORDER_ACCEPTED));
    assert_false(order_orderer_may_cancel(ORDER_RECEIVED));
    assert_false(order_orderer_may_cancel(ORDER_SCHEDULED));
}

static void names_round_trip(void **state)
{
    enum order_status s;

    (void)state;
    for (int i = 0; i < ORDER_STATUS_COUNT; i++) {
        assert_int_equal(order_status_parse(order_status_name((enum order_status)i), &s), LS_OK);
        assert_int_equal(s, i);
    }
    assert_int_equal(order_status_parse("lost", &s), LS_ERR_INVAL);
    assert_int_equal(order_status_parse(NULL, &s), LS_ERR_INVAL);
    assert_string_equal(order_action_name(ORDER_SCHEDULE), "schedule");
}

static void results_file_names_and_types(void **state)
{
    char longest[ORDER_NAME_MAX + 2];

    (void)state;
    assert_true(order_result_name_ok("report-2026_12.pdf"));
    assert_false(order_result_name_ok(NULL));
    assert_false(order_result_name_ok(""));
    assert_false(order_result_name_ok(".htaccess"));
    assert_false(order_result_name_ok("../etc/passwd"));
    assert_false(order_result_name_ok("a b.pdf"));
    assert_false(order_result_name_ok("a\"b.pdf")); /* would break out of Content-Disposition */
    assert_false(order_result_name_ok("报告.pdf"));
    memset(longest, 'a', ORDER_NAME_MAX);
    longest[ORDER_NAME_MAX] = '\0';
    assert_true(order_result_name_ok(longest));
    longest[ORDER_NAME_MAX] = 'a';
    longest[ORDER_NAME_MAX + 1] = '\0';
    assert_false(order_result_name_ok(longest));
    assert_true(order_result_type_ok("application/pdf"));
    assert_true(order_result_type_ok("application/vnd.ms-excel"));
    assert_true(order_result_type_ok("image/svg+xml"));
    assert_false(order_result_type_ok("pdf"));
    assert_false(order_result_type_ok("/pdf"));
    assert_false(order_result_type_ok("application/"));
    assert_false(order_result_type_ok("a/b/c"));
    assert_false(order_result_type_ok("Application/PDF")); /* the route lowers it first */
    assert_false(order_result_type_ok("text/html\r\nX: y"));
}

static void charge_per_sample_and_metered_hour(void **state)
{
    struct billing_terms t;
    struct charge c;

    (void)state;
    billing_terms_default(&t);
    t.rates[CAT_INTERNAL] = 20000;
    t.rates[CAT_INDUSTRY] = 60000;
    t.per_sample = 5000;
    /* 6 s of work: one 15-minute increment at 600 yuan an hour = 150 yuan; 4 x 50 yuan */
    assert_int_equal(order_charge(&t, CAT_INDUSTRY, 6, 4, &c), LS_OK);
    assert_int_equal(c.minutes, 15);
    assert_int_equal(c.time_fee, 15000);
    assert_int_equal(c.sample_fee, 20000);
    assert_int_equal(c.amount, 35000);
    /* 61 minutes internal: 75 minutes at 200 yuan = 250 yuan, no samples */
    assert_int_equal(order_charge(&t, CAT_INTERNAL, 61 * 60, 0, &c), LS_OK);
    assert_int_equal(c.amount, 25000);
    /* samples only: no metered work, no minutes */
    assert_int_equal(order_charge(&t, CAT_INDUSTRY, 0, 10, &c), LS_OK);
    assert_int_equal(c.minutes, 0);
    assert_int_equal(c.amount, 50000);
    /* nonsense in, nothing negative out */
    assert_int_equal(order_charge(&t, CAT_INDUSTRY, -5, -3, &c), LS_OK);
    assert_int_equal(c.amount, 0);
    /* a product that does not fit is refused, not wrapped */
    t.per_sample = BILLING_AMOUNT_MAX;
    assert_int_equal(order_charge(&t, CAT_INDUSTRY, INT64_MAX / 2, INT64_MAX / 2, &c),
                     LS_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_machine),
        cmocka_unit_test(names_round_trip),
        cmocka_unit_test(results_file_names_and_types),
        cmocka_unit_test(charge_per_sample_and_metered_hour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
