/* timefmt.c - RFC 3339 times: see timefmt.h. */
#include "labshare/timefmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

void ls_time_format(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)t * 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

int ls_time_parse(const char *s, int64_t *ms)
{
    struct tm tm;
    const char *p;
    int64_t frac = 0, scale = 1000, off_s = 0;
    int date_only = 0;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%d", &tm);
    if (!p || (p - s) != 10)
        return LS_ERR_INVAL;
    if (*p == '\0') {
        date_only = 1; /* midnight in the platform's time zone (TZ, set at start) */
        goto done;
    }
    if (*p != 'T' && *p != 't')
        return LS_ERR_INVAL;
    s = p + 1;
    p = strptime(s, "%H:%M:%S", &tm);
    if (!p || (p - s) != 8)
        return LS_ERR_INVAL;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return LS_ERR_INVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        char h[3] = {0}, m[3] = {0};
        if (strlen(p) != 6 || p[3] != ':')
            return LS_ERR_INVAL;
        memcpy(h, p + 1, 2);
        memcpy(m, p + 4, 2);
        if (ls_parse_int(h, 0, 23, &hh) || ls_parse_int(m, 0, 59, &mm))
            return LS_ERR_INVAL;
        off_s = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return LS_ERR_INVAL;
    }
    if (*p)
        return LS_ERR_INVAL;
done:
    /* strptime accepts 2026-02-31; normalise and compare to refuse it. */
    {
        struct tm check = tm;
        check.tm_isdst = -1;
        t = date_only ? mktime(&check) : timegm(&check);
        if (check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon)
            return LS_ERR_INVAL;
    }
    *ms = ((int64_t)t - off_s) * 1000 + frac;
    return LS_OK;
}
