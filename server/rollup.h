/*
 * rollup.h - usage summed per instrument and local day (the platform's time zone), so that
 * reports over whole days read a row per instrument and day instead of every session part, and
 * reports over whole months a row per instrument and month (issue 15). Pure functions (any thread;
 * localtime_r reads TZ, set once at start).
 *
 * A part's run time is shared among the days it spans in proportion to its time in each, in
 * whole milliseconds that add up to the part's exactly (a part with no length counts on the day
 * it starts), as the live query over parts does in real numbers: the two agree to under a
 * millisecond per part that crosses midnight.
 */
#ifndef LS_SRV_ROLLUP_H
#define LS_SRV_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

struct day_sum {
    int64_t day_ms;       /* local midnight the day starts at */
    int64_t effective_ms; /* metered run time */
    int64_t external_ms;  /* of it, by users of other organisations than the owner's */
    int64_t inside_ms;    /* of it, inside bookings */
};

/* Day sums being gathered, ordered by day_ms. */
struct day_sums {
    struct day_sum *v;
    size_t n, cap;
};

/* Local midnight at or before ms; the next local midnight after day_ms (23 to 25 hours on). */
int64_t rollup_day_start(int64_t ms);
int64_t rollup_next_day(int64_t day_ms);
/* The local weekday of ms, 0 = Monday. */
int rollup_weekday(int64_t ms);
/* ms is a local midnight. */
int rollup_is_day_start(int64_t ms);
/* Local midnight of the first of ms's month; ms is one. */
int64_t rollup_month_start(int64_t ms);
int rollup_is_month_start(int64_t ms);

/* Add (sign 1) or take away (sign -1) a part [start_ms, end_ms) of run_ms to d (a part that
 * does not end after it starts counts whole on its first day). LS_ERR_NOMEM. */
int day_sums_add(struct day_sums *d, int64_t start_ms, int64_t end_ms, int64_t run_ms, int external,
                 int inside, int sign);
/* Add d's days to the months they are in (day_ms then holds each month's start). */
int day_sums_months(const struct day_sums *d, struct day_sums *months);
void day_sums_free(struct day_sums *d);

#endif /* LS_SRV_ROLLUP_H */
