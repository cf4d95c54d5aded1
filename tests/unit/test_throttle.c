/* Unit tests of login throttling (server/throttle.c) with a driven clock: the account's backoff
 * that never locks the right password out for long, the per-address budget, a table that volume
 * cannot flush, and IPv6 counted by /64. */
// LINK: server/throttle.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../server/throttle.h"

#define T0 1800000000000LL
#define WIN ((int64_t)THROTTLE_WINDOW_S * 1000)

static void addr_of(int i, char *out, size_t len)
{
    snprintf(out, len, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

/* five wrong passwords from five addresses: the right one from a sixth waits a second, no more */
static void account_backoff_is_short_and_grows(void **state)
{
    struct throttle *t = throttle_new(64, 64);
    char a[32];
    int64_t now = T0;

    (void)state;
    for (int i = 0; i < THROTTLE_ACCOUNT_FREE; i++) {
        addr_of(i, a, sizeof(a));
        assert_int_equal(throttle_wait(t, "mgr.chen", a, now), 0);
        throttle_failed(t, "mgr.chen", a, now);
    }
    assert_int_equal(throttle_wait(t, "mgr.chen", "192.0.2.9", now + 500), 1);
    assert_int_equal(throttle_wait(t, "mgr.chen", "192.0.2.9", now + 1000), 0);
    assert_int_equal(throttle_wait(t, "dr.li", "192.0.2.9", now + 500), 0); /* others unaffected */
    /* each further failure doubles the wait, up to the cap */
    int64_t want = 2000;
    for (int i = 0; i < 10; i++) {
        now += 60000;
        throttle_failed(t, "mgr.chen", "198.51.100.1", now);
        assert_int_equal(throttle_wait(t, "mgr.chen", "192.0.2.9", now + 1), (int)(want / 1000));
        assert_int_equal(throttle_wait(t, "mgr.chen", "192.0.2.9", now + want), 0);
        want = want * 2 > THROTTLE_ACCOUNT_DELAY_MAX_S * 1000 ? THROTTLE_ACCOUNT_DELAY_MAX_S * 1000
                                                              : want * 2;
    }
    /* the right password clears the account */
    throttle_succeeded(t, "mgr.chen");
    assert_int_equal(throttle_wait(t, "mgr.chen", "192.0.2.9", now + 1), 0);
    /* a slow guesser keeps the delay; a quiet window forgets it */
    for (int i = 0; i < THROTTLE_ACCOUNT_FREE + 1; i++)
        throttle_failed(t, "mgr.chen", "198.51.100.2", now += 200000);
    assert_true(throttle_wait(t, "mgr.chen", "192.0.2.9", now + 1) > 0);
    assert_int_equal(throttle_wait(t, "mgr.chen", "192.0.2.9", now + WIN + 1), 0);
    throttle_failed(t, "mgr.chen", "198.51.100.2", now + WIN + 1);
    assert_int_equal(throttle_wait(t, "mgr.chen", "192.0.2.9", now + WIN + 2), 0);
    throttle_free(t);
}

/* an address has a budget per window whatever accounts it tries; success does not reset it */
static void address_budget(void **state)
{
    struct throttle *t = throttle_new(64, 64);
    char acct[32];

    (void)state;
    for (int i = 0; i < THROTTLE_ADDR_FAILS; i++) {
        snprintf(acct, sizeof(acct), "user%d", i);
        assert_int_equal(throttle_wait(t, acct, "203.0.113.7", T0 + i), 0);
        throttle_failed(t, acct, "203.0.113.7", T0 + i);
    }
    throttle_succeeded(t, "user0");
    assert_int_equal(throttle_wait(t, "fresh", "203.0.113.7", T0 + 1000), THROTTLE_WINDOW_S - 1);
    assert_int_equal(throttle_wait(t, "fresh", "203.0.113.8", T0 + 1000), 0);
    /* the window ends: a new budget */
    assert_int_equal(throttle_wait(t, "fresh", "203.0.113.7", T0 + WIN + 1), 0);
    throttle_failed(t, "fresh", "203.0.113.7", T0 + WIN + 1);
    assert_int_equal(throttle_wait(t, "fresh2", "203.0.113.7", T0 + WIN + 2), 0);
    throttle_free(t);
}

/* 1,000 failures of made-up names from 250 addresses do not free a blocked address, and the
 * failures that found no slot share a global budget */
static void volume_cannot_flush(void **state)
{
    struct throttle *t = throttle_new(8, 8);
    char a[32], acct[32];
    int64_t now = T0;
    int i;

    (void)state;
    for (i = 0; i < THROTTLE_ADDR_FAILS; i++)
        throttle_failed(t, "victim", "198.51.100.66", now);
    assert_true(throttle_wait(t, "victim", "198.51.100.66", now) > 0);
    for (i = 0; i < 1000; i++) {
        addr_of(i % 250, a, sizeof(a));
        snprintf(acct, sizeof(acct), "made-up-%d", i);
        throttle_failed(t, acct, a, now + 1);
    }
    assert_true(throttle_wait(t, "victim", "198.51.100.66", now + 2) > 0);
    for (i = 0; i < THROTTLE_GLOBAL_FAILS; i++) {
        addr_of(1000 + i, a, sizeof(a));
        throttle_failed(t, NULL, a, now + 3);
    }
    /* an address with no slot now waits; one with a slot keeps its own count */
    assert_true(throttle_wait(t, NULL, "192.0.2.200", now + 4) > 0);
    assert_int_equal(throttle_wait(t, NULL, "10.0.0.1", now + 4), 0);
    /* when the window is over, everything is forgotten */
    assert_int_equal(throttle_wait(t, NULL, "192.0.2.200", now + WIN + 10), 0);
    assert_int_equal(throttle_wait(t, "victim", "198.51.100.66", now + WIN + 10), 0);
    throttle_free(t);
}

static void ipv6_by_prefix(void **state)
{
    struct throttle *t = throttle_new(64, 64);
    char k1[80], k2[80];
    char a[64];

    (void)state;
    throttle_addr_key("2001:db8:1:2::1", k1, sizeof(k1));
    throttle_addr_key("2001:db8:1:2:ffff::9", k2, sizeof(k2));
    assert_string_equal(k1, k2);
    throttle_addr_key("2001:db8:1:3::1", k2, sizeof(k2));
    assert_string_not_equal(k1, k2);
    throttle_addr_key("::ffff:192.0.2.1", k1, sizeof(k1));
    assert_string_equal(k1, "4:192.0.2.1");
    /* one host rotating through its /64 is one address */
    for (int i = 0; i < THROTTLE_ADDR_FAILS; i++) {
        snprintf(a, sizeof(a), "2001:db8:1:2::%x", i + 1);
        throttle_failed(t, NULL, a, T0);
    }
    assert_true(throttle_wait(t, NULL, "2001:db8:1:2:abcd::1", T0 + 1) > 0);
    assert_int_equal(throttle_wait(t, NULL, "2001:db8:1:3::1", T0 + 1), 0);
    throttle_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(account_backoff_is_short_and_grows),
        cmocka_unit_test(address_budget),
        cmocka_unit_test(volume_cannot_flush),
        cmocka_unit_test(ipv6_by_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
