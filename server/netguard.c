/* netguard.c - where the server's outgoing requests may go: see netguard.h. */
#include "netguard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "labshare/banned.h"

/* a (host order) within base/bits */
static int in4(uint32_t a, uint32_t base, int bits)
{
    uint32_t mask = bits == 0 ? 0 : ~(uint32_t)0 << (32 - bits);

    return (a & mask) == (base & mask);
}

static int internal4(uint32_t a)
{
    static const struct {
        uint32_t base;
        int bits;
    } nets[] = {
        {0x00000000, 8},  /* "this network" */
        {0x0a000000, 8},  /* private */
        {0x64400000, 10}, /* shared address space (carrier NAT) */
        {0x7f000000, 8},  /* loopback */
        {0xa9fe0000, 16}, /* link-local, cloud metadata services */
        {0xac100000, 12}, /* private */
        {0xc0000000, 24}, /* IETF protocol assignments */
        {0xc0000200, 24}, /* documentation */
        {0xc0a80000, 16}, /* private */
        {0xc6120000, 15}, /* benchmarking */
        {0xc6336400, 24}, /* documentation */
        {0xcb007100, 24}, /* documentation */
        {0xe0000000, 4},  /* multicast */
        {0xf0000000, 4},  /* reserved, broadcast */
    };

    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
        if (in4(a, nets[i].base, nets[i].bits))
            return 1;
    return 0;
}

static uint32_t v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int internal6(const unsigned char *b)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char zero[16] = {0};

    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return internal4(v4_at(b + 12));
    if (memcmp(b, zero, 15) == 0) /* :: and ::1 */
        return 1;
    if (memcmp(b, zero, 12) == 0) /* IPv4-compatible (deprecated) */
        return 1;
    if ((b[0] & 0xfe) == 0xfc) /* unique local */
        return 1;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* link-local */
        return 1;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* site-local (deprecated) */
        return 1;
    if (b[0] == 0xff) /* multicast */
        return 1;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* documentation */
        return 1;
    if ((b[0] & 0xe0) != 0x20) /* only 2000::/3 is global unicast */
        return 1;
    return 0;
}

int netguard_addr_internal(const struct sockaddr *sa)
{
    if (!sa)
        return 1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)sa;
        return internal4(ntohl(s->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)sa;
        return internal6(s->sin6_addr.s6_addr);
    }
    return 1;
}

void netguard_addr_text(const struct sockaddr *sa, char *out, size_t len)
{
    const void *a = NULL;

    if (sa && sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)len))
        snprintf(out, len, "?");
}

int netguard_url_internal(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    int r = -1;
    size_t n;

    if (!u)
        return -1;
    /* CURLU_NON_SUPPORT_SCHEME aside, libcurl normalises numeric IPv4 hosts (2130706433,
     * 0x7f.1) to dotted quads, so they are judged as what they mean */
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0]) {
        struct sockaddr_in s4 = {.sin_family = AF_INET};
        struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
        char lit[64];

        n = strlen(host);
        while (n > 0 && host[n - 1] == '.') /* "localhost." is localhost */
            host[--n] = '\0';
        if (strcasecmp(host, "localhost") == 0 ||
            (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0))
            r = 1;
        else if (inet_pton(AF_INET, host, &s4.sin_addr) == 1)
            r = internal4(ntohl(s4.sin_addr.s_addr));
        else if (host[0] == '[' && n > 2 && n - 2 < sizeof(lit)) {
            memcpy(lit, host + 1, n - 2);
            lit[n - 2] = '\0';
            /* a zone (fe80::1%eth0) is link-local whatever it says */
            r = strchr(lit, '%')                               ? 1
                : inet_pton(AF_INET6, lit, &s6.sin6_addr) == 1 ? internal6(s6.sin6_addr.s6_addr)
                                                               : -1;
        } else
            r = 0;
    }
    curl_free(host);
    curl_url_cleanup(u);
    return r;
}
