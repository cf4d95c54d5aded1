/* Unit tests of the day and month boundaries and day sums (server/rollup.c): the per-thread
 * cache of the last day gives what localtime_r and mktime give, in any order of questions and
 * across daylight saving changes; a part's run time is shared among its days exactly. */
// LINK: server/rollup.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <time.h>

#include "../../server/rollup.h"
#include "labshare/rc.h"

#define HOUR 3600000LL

/* Local midnight at or before ms, computed afresh (the definition, no cache). */
static int64_t midnight(int64_t ms)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

static void zone(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* A zone with daylight saving (23 and 25 hour days), questions forwards, backwards and at
 * random: each answer equals the uncached one, and the next day follows the day. */
static void day_starts_agree_with_the_zone(void **state)
{
    (void)state;
    zone("America/New_York");
    const int64_t from = 1772000000000LL; /* 2026-02-25, before the March change */
    const int64_t span = 300LL * 24 * HOUR;
    srand(7);
    for (int i = 0; i < 20000; i++) {
        int64_t ms = i < 8000    ? from + (int64_t)i * (span / 8000)           /* forwards */
                     : i < 12000 ? from + span - (int64_t)(i - 8000) * 1800000 /* backwards */
                                 : from + (int64_t)((double)rand() / RAND_MAX * (double)span);
        int64_t day = rollup_day_start(ms);
        assert_int_equal(day, midnight(ms));
        assert_true(day <= ms);
        int64_t next = rollup_next_day(day);
        assert_int_equal(next, midnight(day + 36 * HOUR));
        assert_true(next > ms);
        assert_true(next - day >= 23 * HOUR && next - day <= 25 * HOUR);
        assert_int_equal(rollup_is_day_start(day), 1);
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        assert_int_equal(rollup_weekday(ms), (tm.tm_wday + 6) % 7);
    }
    /* the spring-forward day is 23 hours, the fall-back day 25 */
    int64_t spring = rollup_day_start(1772971200000LL); /* 2026-03-08 12:00 UTC */
    int64_t fall = rollup_day_start(1793541600000LL);   /* 2026-11-01 14:00 UTC */
    assert_int_equal(rollup_next_day(rollup_day_start(1772971200000LL - 24 * HOUR)), spring);
    assert_int_equal(rollup_next_day(spring) - spring, 23 * HOUR);
    assert_int_equal(rollup_next_day(fall) - fall, 25 * HOUR);
    assert_int_equal(spring - rollup_day_start(spring - 1), 24 * HOUR);
    /* a new zone set (as at start): what the cache holds of the old one's days is not used */
    int64_t ny = rollup_day_start(1795000000000LL);
    zone("Asia/Shanghai");
    assert_int_equal(rollup_day_start(1795000000000LL), midnight(1795000000000LL));
    assert_true(rollup_day_start(1795000000000LL) != ny);
}

/* A part over three days shares its run exactly; taking it away leaves nothing. */
static void shares_add_up_exactly(void **state)
{
    (void)state;
    zone("Asia/Shanghai");
    struct day_sums d = {0};
    int64_t start = rollup_day_start(1795000000000LL) + 20 * HOUR;
    int64_t end = start + 30 * HOUR; /* 4 h, 24 h, 2 h */
    assert_int_equal(day_sums_add(&d, start, end, 7777777, 1, 0, 1), LS_OK);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.v[0].effective_ms + d.v[1].effective_ms + d.v[2].effective_ms, 7777777);
    assert_int_equal(d.v[0].effective_ms, 7777777LL * 4 / 30);
    assert_int_equal(d.v[1].effective_ms, 7777777LL * 28 / 30 - 7777777LL * 4 / 30);
    assert_int_equal(d.v[0].external_ms, d.v[0].effective_ms);
    assert_int_equal(d.v[2].inside_ms, 0);
    assert_int_equal(day_sums_add(&d, start, end, 7777777, 1, 0, -1), LS_OK);
    for (size_t i = 0; i < d.n; i++)
        assert_int_equal(d.v[i].effective_ms, 0);
    day_sums_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(day_starts_agree_with_the_zone),
        cmocka_unit_test(shares_add_up_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
