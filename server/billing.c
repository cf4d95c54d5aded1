#include "billing.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

int billing_terms_parse(const json_t *b, struct billing_terms *t)
{
    const char *basis = json_string_value(json_object_get(b, "basis"));
    json_t *rates = json_object_get(b, "rates");

    memset(t, 0, sizeof(*t));
    if (!basis || !json_is_object(rates))
        return LS_ERR_INVAL;
    t->basis = strcmp(basis, "booked") == 0 ? BASIS_BOOKED
               : strcmp(basis, "max") == 0  ? BASIS_MAX
                                            : BASIS_METERED;
    t->increment_min = json_integer_value(json_object_get(b, "increment_min"));
    t->minimum_min = json_integer_value(json_object_get(b, "minimum_min"));
    t->no_show_fraction = json_number_value(json_object_get(b, "no_show_fraction"));
    t->rates[CAT_INTERNAL] = json_integer_value(json_object_get(rates, "internal"));
    t->rates[CAT_ACADEMIC] = json_integer_value(json_object_get(rates, "academic"));
    t->rates[CAT_INDUSTRY] = json_integer_value(json_object_get(rates, "industry"));
    t->per_sample = json_integer_value(json_object_get(b, "per_sample"));
    if (t->increment_min < 1)
        t->increment_min = 1;
    /* the ranges the API normalises to (requests.c): terms outside them were not written by
     * it, and would overflow the arithmetic below (found by fuzz_http_json) */
    if (t->increment_min > BILLING_MINUTES_MAX || t->minimum_min < 0 ||
        t->minimum_min > BILLING_MINUTES_MAX ||
        !(t->no_show_fraction >= 0 && t->no_show_fraction <= 1) || t->per_sample < 0 ||
        t->per_sample > BILLING_AMOUNT_MAX)
        return LS_ERR_INVAL;
    for (int c = 0; c <= CAT_INDUSTRY; c++)
        if (t->rates[c] < 0 || t->rates[c] > BILLING_AMOUNT_MAX)
            return LS_ERR_INVAL;
    return LS_OK;
}

enum billing_category billing_category(int same_org, const char *user_org_type)
{
    if (same_org)
        return CAT_INTERNAL;
    return user_org_type && strcmp(user_org_type, "enterprise") == 0 ? CAT_INDUSTRY : CAT_ACADEMIC;
}

const char *billing_category_name(enum billing_category c)
{
    static const char *const names[] = {"internal", "academic", "industry"};

    return (unsigned)c <= CAT_INDUSTRY ? names[c] : "?";
}

/* Whole minutes of seconds, rounded up to the increment, at least the minimum. */
static int64_t billable_minutes(const struct billing_terms *t, int64_t seconds)
{
    int64_t inc = t->increment_min * 60;
    int64_t rounded = seconds <= 0 ? 0 : (seconds + inc - 1) / inc * t->increment_min;

    return rounded < t->minimum_min ? t->minimum_min : rounded;
}

/* rate x minutes / 60 x fraction, rounded half up, in integers where possible. LS_ERR_INVAL
 * when it does not fit in 64 bits. */
static int time_fee(int64_t rate, int64_t minutes, double fraction, int64_t *fee)
{
    int64_t p;
    double d;

    if (__builtin_mul_overflow(rate, minutes, &p) || __builtin_add_overflow(p, 30, &p))
        return LS_ERR_INVAL;
    if (fraction >= 1.0) {
        *fee = p / 60;
        return LS_OK;
    }
    d = floor((double)rate * (double)minutes * fraction / 60.0 + 0.5);
    if (!(d >= -9.0e18 && d <= 9.0e18))
        return LS_ERR_INVAL;
    *fee = (int64_t)d;
    return LS_OK;
}

/* The sample fee and the amount, overflow-checked. */
static int sum_up(const struct billing_terms *t, struct charge *c)
{
    if (__builtin_mul_overflow(c->samples, t->per_sample, &c->sample_fee) ||
        __builtin_add_overflow(c->time_fee, c->sample_fee, &c->amount))
        return LS_ERR_INVAL;
    return LS_OK;
}

int billing_booking(const struct billing_terms *t, enum billing_category cat, int64_t booked_s,
                    int64_t metered_s, int64_t samples, int no_show, struct charge *c)
{
    int64_t booked = billable_minutes(t, booked_s), metered = billable_minutes(t, metered_s);

    memset(c, 0, sizeof(*c));
    c->rate = t->rates[cat];
    if (no_show) {
        c->minutes = booked;
        return time_fee(c->rate, booked, t->no_show_fraction, &c->time_fee) || sum_up(t, c)
                   ? LS_ERR_INVAL
                   : LS_OK;
    }
    c->minutes = t->basis == BASIS_BOOKED    ? booked
                 : t->basis == BASIS_METERED ? metered
                                             : (booked > metered ? booked : metered);
    c->samples = samples;
    return time_fee(c->rate, c->minutes, 1.0, &c->time_fee) || sum_up(t, c) ? LS_ERR_INVAL : LS_OK;
}

int billing_unbooked(const struct billing_terms *t, enum billing_category cat, int64_t metered_s,
                     int64_t samples, struct charge *c)
{
    memset(c, 0, sizeof(*c));
    c->rate = t->rates[cat];
    c->minutes = billable_minutes(t, metered_s);
    c->samples = samples;
    return time_fee(c->rate, c->minutes, 1.0, &c->time_fee) || sum_up(t, c) ? LS_ERR_INVAL : LS_OK;
}

int64_t billing_voucher(int64_t amount, int64_t percent, int64_t left)
{
    int64_t v;

    if (amount <= 0 || percent <= 0 || left <= 0)
        return 0;
    /* percent is 1..100: amount x percent overflows only past 9.2e16, so divide first then */
    if (__builtin_mul_overflow(amount, percent, &v))
        v = amount / 100 * percent + amount % 100 * percent / 100;
    else
        v /= 100;
    return v > left ? left : v;
}

void billing_month(int64_t ms, char month[16], char day[24], int *year)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    snprintf(month, 16, "%04d-%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100);
    if (day)
        snprintf(day, 24, "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
                 tm.tm_mday % 100);
    if (year)
        *year = tm.tm_year + 1900;
}
