/* test_netguard.c - which addresses a webhook may reach (netguard.h). */
// LINK: server/netguard.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <string.h>

#include "../../server/netguard.h"

static int internal(const char *text)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};

    if (inet_pton(AF_INET, text, &s4.sin_addr) == 1)
        return netguard_addr_internal((const struct sockaddr *)&s4);
    assert_int_equal(inet_pton(AF_INET6, text, &s6.sin6_addr), 1);
    return netguard_addr_internal((const struct sockaddr *)&s6);
}

static void addresses(void **state)
{
    static const char *const inside[] = {
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "100.127.255.1",
        "127.0.0.1",
        "127.9.9.9",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.168.1.1",
        "198.18.0.1",
        "198.19.255.1",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.1.1.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "::127.0.0.1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "100::1",
    };
    static const char *const outside[] = {
        "1.1.1.1",         "8.8.8.8",      "100.63.255.255", "100.128.0.1",
        "172.15.255.255",  "172.32.0.1",   "192.167.1.1",    "192.169.0.1",
        "198.17.0.1",      "198.20.0.1",   "223.255.255.1",  "202.114.0.1",
        "2001:4860::8888", "2400:cb00::1", "::ffff:8.8.8.8", "64:ff9b::808:808",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++)
        if (!internal(inside[i]))
            fail_msg("%s counted as public", inside[i]);
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
        if (internal(outside[i]))
            fail_msg("%s counted as internal", outside[i]);
    assert_int_equal(netguard_addr_internal(NULL), 1);
    {
        struct sockaddr un = {.sa_family = AF_UNIX};
        assert_int_equal(netguard_addr_internal(&un), 1);
    }
}

static void urls(void **state)
{
    (void)state;
    assert_int_equal(netguard_url_internal("https://hooks.example.com/labshare"), 0);
    assert_int_equal(netguard_url_internal("https://8.8.8.8:8443/x?y=1"), 0);
    assert_int_equal(netguard_url_internal("https://[2001:4860::8888]/x"), 0);
    assert_int_equal(netguard_url_internal("http://127.0.0.1:9/hook"), 1);
    assert_int_equal(netguard_url_internal("http://user:pw@127.0.0.1/"), 1);
    assert_int_equal(netguard_url_internal("http://localhost/"), 1);
    assert_int_equal(netguard_url_internal("http://LocalHost./"), 1);
    assert_int_equal(netguard_url_internal("http://api.localhost/"), 1);
    assert_int_equal(netguard_url_internal("http://notlocalhost/"), 0);
    assert_int_equal(netguard_url_internal("http://[::1]:80/"), 1);
    assert_int_equal(netguard_url_internal("http://[::ffff:7f00:1]/"), 1);
    assert_int_equal(netguard_url_internal("http://[fe80::1%25eth0]/"), 1);
    /* numeric spellings of 127.0.0.1 and 169.254.169.254 that libcurl normalises */
    assert_int_equal(netguard_url_internal("http://2130706433/"), 1);
    assert_int_equal(netguard_url_internal("http://0x7f.1/"), 1);
    assert_int_equal(netguard_url_internal("http://0251.0376.0251.0376/"), 1);
    assert_int_equal(netguard_url_internal("http://10.1.2.3/"), 1);
    assert_int_equal(netguard_url_internal("http://"), -1);
    assert_int_equal(netguard_url_internal("not a url"), -1);
}

static void text(void **state)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr un = {.sa_family = AF_UNIX};
    char out[64];

    (void)state;
    s4.sin_addr.s_addr = htonl(0x7f000001);
    netguard_addr_text((const struct sockaddr *)&s4, out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
    netguard_addr_text(&un, out, sizeof(out));
    assert_string_equal(out, "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addresses),
        cmocka_unit_test(urls),
        cmocka_unit_test(text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
