/* Unit tests of forwarded.c: which X-Forwarded-For is believed, and which address it gives. */
// LINK: server/http/forwarded.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../server/http/forwarded.h"

static const char *client(const char *list, const char *peer, const char *xff)
{
    static char out[64];
    forwarded_client(list, peer, xff, out, sizeof(out));
    return out;
}

static void lists_of_numeric_addresses_are_valid(void **state)
{
    (void)state;
    assert_true(forwarded_list_valid(""));
    assert_true(forwarded_list_valid("127.0.0.1"));
    assert_true(forwarded_list_valid("10.0.0.5, 10.0.0.6,::1"));
    assert_false(forwarded_list_valid("proxy.example.org"));
    assert_false(forwarded_list_valid("10.0.0.0/8"));
    assert_false(forwarded_list_valid("10.0.0.5,"));
    assert_false(forwarded_list_valid("10.0.0.256"));
    assert_false(forwarded_list_valid("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7,"
                                      "8.8.8.8,9.9.9.9,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,"
                                      "1.1.1.7,1.1.1.8,1.1.1.9"));
}

static void a_peer_that_is_not_trusted_is_the_client(void **state)
{
    (void)state;
    assert_string_equal(client("", "203.0.113.9", "198.51.100.1"), "203.0.113.9");
    assert_string_equal(client("10.0.0.5", "203.0.113.9", "198.51.100.1"), "203.0.113.9");
    assert_false(forwarded_trusted("", "10.0.0.5"));
    assert_false(forwarded_trusted("10.0.0.5", "10.0.0.6"));
}

static void a_trusted_proxy_names_the_client(void **state)
{
    (void)state;
    assert_true(forwarded_trusted("10.0.0.5", "10.0.0.5"));
    assert_true(forwarded_trusted("10.0.0.5", "::ffff:10.0.0.5")); /* a v4 peer on a v6 socket */
    assert_string_equal(client("10.0.0.5", "10.0.0.5", "198.51.100.1"), "198.51.100.1");
    assert_string_equal(client("::1", "::1", " 2001:db8::7 "), "2001:db8::7");
    /* what the client wrote itself lies to the left: the proxy's hop is the rightmost */
    assert_string_equal(client("10.0.0.5", "10.0.0.5", "1.2.3.4, 198.51.100.1"), "198.51.100.1");
    /* two proxies of ours in a row */
    assert_string_equal(client("10.0.0.5,10.0.0.6", "10.0.0.5", "198.51.100.1, 10.0.0.6"),
                        "198.51.100.1");
}

static void a_header_that_is_not_addresses_is_not_believed(void **state)
{
    (void)state;
    assert_string_equal(client("10.0.0.5", "10.0.0.5", NULL), "10.0.0.5");
    assert_string_equal(client("10.0.0.5", "10.0.0.5", ""), "10.0.0.5");
    assert_string_equal(client("10.0.0.5", "10.0.0.5", "unknown"), "10.0.0.5");
    assert_string_equal(client("10.0.0.5", "10.0.0.5", "198.51.100.1,"), "10.0.0.5");
    assert_string_equal(client("10.0.0.5", "10.0.0.5", "198.51.100.1, evil"), "10.0.0.5");
    assert_string_equal(client("10.0.0.5", "10.0.0.5", "10.0.0.5"), "10.0.0.5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lists_of_numeric_addresses_are_valid),
        cmocka_unit_test(a_peer_that_is_not_trusted_is_the_client),
        cmocka_unit_test(a_trusted_proxy_names_the_client),
        cmocka_unit_test(a_header_that_is_not_addresses_is_not_believed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
