/* rollup.c - usage per instrument and local day: see rollup.h. */
#include "rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* products of two times in ms need more than 64 bits */
__extension__ typedef __int128 wide;

/* a / b rounded towards minus infinity (times before 1970). */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t day_start(int64_t ms)
{
    time_t t = (time_t)floor_div(ms, 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

/* The days asked for last, per thread: readings come in time order and calendars ask for the
 * same weeks, so most questions are about a day asked about before, and localtime_r + mktime
 * cost a microsecond or more each (perf, issue 15: 12 % of ingest with usage was mktime
 * reloading the zone, a sixth of an availability request mktime for its windows). */
#define DAYS_KEPT 16
static _Thread_local struct {
    struct {
        int64_t day, next;
        int weekday; /* 0 = Monday */
    } v[DAYS_KEPT];
    unsigned n, last; /* kept, the one found last */
    char zone[64];    /* TZ they were found in: a zone set anew (tests do) empties them */
} days;

/* The index of the kept day holding ms, found or made (-1: a clock the zone cannot place, or
 * a zone too long to remember). */
static int kept_day(int64_t ms)
{
    const char *tz = getenv("TZ");
    int64_t day, next;
    struct tm tm;
    time_t t;
    unsigned i;

    if (strncmp(days.zone, tz ? tz : "", sizeof(days.zone)) != 0) {
        days.n = 0;
        if (strlen(tz ? tz : "") >= sizeof(days.zone))
            return -1; /* a zone too long to remember: nothing kept */
        snprintf(days.zone, sizeof(days.zone), "%s", tz ? tz : "");
    }
    if (days.n && ms >= days.v[days.last].day && ms < days.v[days.last].next)
        return (int)days.last;
    for (i = 0; i < days.n; i++)
        if (ms >= days.v[i].day && ms < days.v[i].next)
            return (int)(days.last = i);
    day = day_start(ms);
    /* 36 hours on is inside the next day whatever the daylight saving */
    next = day_start(day + 36 * 3600000LL);
    if (ms < day || ms >= next)
        return -1;
    i = days.n < DAYS_KEPT ? days.n++ : (days.last + 1) % DAYS_KEPT;
    days.v[i].day = day;
    days.v[i].next = next;
    t = (time_t)floor_div(day, 1000);
    localtime_r(&t, &tm);
    days.v[i].weekday = (tm.tm_wday + 6) % 7;
    return (int)(days.last = i);
}

int64_t rollup_day_start(int64_t ms)
{
    int i = kept_day(ms);

    return i >= 0 ? days.v[i].day : day_start(ms);
}

int64_t rollup_next_day(int64_t day_ms)
{
    int i = kept_day(day_ms);

    if (i >= 0 && days.v[i].day == day_ms)
        return days.v[i].next;
    /* 36 hours on is inside the next day whatever the daylight saving */
    return rollup_day_start(day_ms + 36 * 3600000LL);
}

int rollup_weekday(int64_t ms)
{
    int i = kept_day(ms);
    struct tm tm;
    time_t t = (time_t)floor_div(ms, 1000);

    if (i >= 0)
        return days.v[i].weekday;
    localtime_r(&t, &tm);
    return (tm.tm_wday + 6) % 7;
}

int rollup_is_day_start(int64_t ms)
{
    return rollup_day_start(ms) == ms;
}

int64_t rollup_month_start(int64_t ms)
{
    time_t t = (time_t)floor_div(ms, 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

int rollup_is_month_start(int64_t ms)
{
    return rollup_month_start(ms) == ms;
}

/* The sum of day_ms in d, made when missing (kept in order). */
static struct day_sum *day_of(struct day_sums *d, int64_t day_ms)
{
    size_t lo = 0, hi = d->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->v[mid].day_ms < day_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < d->n && d->v[lo].day_ms == day_ms)
        return &d->v[lo];
    if (LS_GROW(d->v, d->cap, d->n + 1))
        return NULL;
    memmove(&d->v[lo + 1], &d->v[lo], (d->n - lo) * sizeof(d->v[0]));
    d->n++;
    memset(&d->v[lo], 0, sizeof(d->v[0]));
    d->v[lo].day_ms = day_ms;
    return &d->v[lo];
}

static int add_share(struct day_sums *d, int64_t day_ms, int64_t share, int external, int inside)
{
    struct day_sum *s = day_of(d, day_ms);

    if (!s)
        return LS_ERR_NOMEM;
    s->effective_ms += share;
    if (external)
        s->external_ms += share;
    if (inside)
        s->inside_ms += share;
    return LS_OK;
}

int day_sums_add(struct day_sums *d, int64_t start_ms, int64_t end_ms, int64_t run_ms, int external,
                 int inside, int sign)
{
    wide len = (wide)end_ms - start_ms, given = 0;

    if (len <= 0)
        return add_share(d, rollup_day_start(start_ms), sign * run_ms, external, inside);
    for (int64_t day = rollup_day_start(start_ms); day < end_ms; day = rollup_next_day(day)) {
        int64_t next = rollup_next_day(day), to = next < end_ms ? next : end_ms;
        /* the run up to the end of this day, floored: the shares add up to run_ms exactly */
        wide upto = (wide)run_ms * ((wide)to - start_ms) / len;
        int rc = add_share(d, day, sign * (int64_t)(upto - given), external, inside);
        if (rc)
            return rc;
        given = upto;
    }
    return LS_OK;
}

int day_sums_months(const struct day_sums *d, struct day_sums *months)
{
    for (size_t i = 0; i < d->n; i++) {
        struct day_sum *m = day_of(months, rollup_month_start(d->v[i].day_ms));
        if (!m)
            return LS_ERR_NOMEM;
        m->effective_ms += d->v[i].effective_ms;
        m->external_ms += d->v[i].external_ms;
        m->inside_ms += d->v[i].inside_ms;
    }
    return LS_OK;
}

void day_sums_free(struct day_sums *d)
{
    free(d->v);
    memset(d, 0, sizeof(*d));
}
