/* forwarded.c - the client behind a trusted reverse proxy (forwarded.h). */
#include "forwarded.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "labshare/banned.h"

/* An address as 16 bytes (IPv4 as IPv4-mapped IPv6) from numeric text of at most len bytes,
 * spaces around it allowed: 0, or -1 when it is not an address. */
static int parse_addr(const char *s, size_t len, unsigned char out[16])
{
    char buf[64];
    struct in_addr v4;

    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

int forwarded_list_valid(const char *list)
{
    unsigned char a[16];
    int n = 0;

    if (!list[0])
        return 1;
    for (const char *p = list;; p++) { /* every element, an empty last one too */
        size_t len = strcspn(p, ",");
        if (parse_addr(p, len, a) != 0 || ++n > FORWARDED_MAX)
            return 0;
        p += len;
        if (!*p)
            return 1;
    }
}

static int in_list(const char *list, const unsigned char a[16])
{
    unsigned char b[16];

    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (parse_addr(p, len, b) == 0 && memcmp(a, b, 16) == 0)
            return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

int forwarded_trusted(const char *list, const char *addr)
{
    unsigned char a[16];

    return list[0] && parse_addr(addr, strlen(addr), a) == 0 && in_list(list, a);
}

void forwarded_client(const char *list, const char *peer, const char *xff, char *out, size_t len)
{
    unsigned char a[16];
    const char *end;

    snprintf(out, len, "%s", peer);
    if (!xff || !forwarded_trusted(list, peer) || strlen(xff) > 4096)
        return;
    /* every element must be an address (an empty last one too), or none is believed */
    if (!xff[0])
        return;
    for (const char *p = xff;; p++) {
        size_t n = strcspn(p, ",");
        if (parse_addr(p, n, a) != 0)
            return;
        p += n;
        if (!*p)
            break;
    }
    /* from the right: the first hop that is not one of our proxies */
    end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        if (parse_addr(start, (size_t)(end - start), a) == 0 && !in_list(list, a)) {
            char text[INET6_ADDRSTRLEN];
            if (a[10] == 0xff && a[11] == 0xff && memcmp(a, "\0\0\0\0\0\0\0\0\0\0", 10) == 0)
                inet_ntop(AF_INET, a + 12, text, sizeof(text));
            else
                inet_ntop(AF_INET6, a, text, sizeof(text));
            snprintf(out, len, "%s", text);
            return;
        }
        end = start > xff ? start - 1 : xff;
    }
}
