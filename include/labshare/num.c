#include "labshare/num.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

int ls_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s))
        return LS_ERR_INVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return LS_ERR_INVAL;
    *out = v;
    return LS_OK;
}

int ls_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    /* strtoull accepts "-1" and wraps it: refuse any sign. */
    if (!s || !isdigit((unsigned char)*s))
        return LS_ERR_INVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return LS_ERR_INVAL;
    *out = v;
    return LS_OK;
}

int ls_parse_int(const char *s, int min, int max, int *out)
{
    int64_t v;
    int rc = ls_parse_i64(s, min, max, &v);

    if (rc == LS_OK)
        *out = (int)v;
    return rc;
}

int ls_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v;

    if (!s || !*s || isspace((unsigned char)*s))
        return LS_ERR_INVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return LS_ERR_INVAL;
    *out = v;
    return LS_OK;
}

int ls_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return LS_OK;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return LS_OK;
        }
    }
    return LS_ERR_INVAL;
}

int64_t ls_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ls_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ls_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t n;

    if (!colon)
        return LS_ERR_INVAL;
    n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        h = s + 1;
        n -= 2;
    }
    if (n == 0 || n >= hostlen)
        return LS_ERR_INVAL;
    if (ls_parse_int(colon + 1, 1, 65535, port))
        return LS_ERR_INVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    return LS_OK;
}
