#include "billing.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

static const char *const basis_names[] = {"booked", "metered", "max"};
static const char *const rate_keys[] = {"internal", "academic", "industry"};

void billing_terms_default(struct billing_terms *t)
{
    memset(t, 0, sizeof(*t));
    t->basis = BASIS_METERED;
    t->increment_min = 15;
    t->no_show_fraction = 0.5;
}

/* obj's integer key into *var when it is there: LS_ERR_INVAL with a reason outside [lo, hi]. */
static int int_in(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *var,
                  char *why, size_t len)
{
    const json_t *v = json_object_get(obj, key);

    if (!v)
        return LS_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(why, len, "billing.%s must be a whole number from %lld to %lld", key,
                 (long long)lo, (long long)hi);
        return LS_ERR_INVAL;
    }
    *var = json_integer_value(v);
    return LS_OK;
}

static int rates_parse(const json_t *rates, struct billing_terms *t, char *why, size_t len)
{
    const char *key;
    json_t *v;

    if (!rates)
        return LS_OK;
    if (!json_is_object(rates)) {
        snprintf(why, len, "billing.rates must be an object");
        return LS_ERR_INVAL;
    }
    json_object_foreach((json_t *)rates, key, v)
    {
        size_t i;
        for (i = 0; i < 3 && strcmp(rate_keys[i], key); i++)
            ;
        if (i == 3 || !json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > BILLING_AMOUNT_MAX) {
            snprintf(why, len,
                     "billing.rates: internal, academic and industry are whole "
                     "amounts of fen per hour from 0 to 100000000");
            return LS_ERR_INVAL;
        }
        t->rates[i] = json_integer_value(v);
    }
    return LS_OK;
}

int billing_terms_parse(const json_t *b, struct billing_terms *t, char *why, size_t len)
{
    static const char *const keys[] = {"basis", "increment_min", "minimum_min", "no_show_fraction",
                                       "rates", "per_sample",    NULL};
    const char *key;
    json_t *v;

    billing_terms_default(t);
    if (b && !json_is_object(b)) {
        snprintf(why, len, "billing must be an object");
        return LS_ERR_INVAL;
    }
    json_object_foreach((json_t *)b, key, v)
    {
        size_t i;
        for (i = 0; keys[i] && strcmp(keys[i], key); i++)
            ;
        if (!keys[i]) {
            snprintf(why, len, "billing.%.40s is not a billing setting", key);
            return LS_ERR_INVAL;
        }
    }
    if ((v = json_object_get(b, "basis"))) {
        size_t i;
        for (i = 0;
             i < 3 && !(json_is_string(v) && strcmp(json_string_value(v), basis_names[i]) == 0);
             i++)
            ;
        if (i == 3) {
            snprintf(why, len, "billing.basis must be booked, metered or max");
            return LS_ERR_INVAL;
        }
        t->basis = (enum billing_basis)i;
    }
    if (int_in(b, "increment_min", 1, BILLING_MINUTES_MAX, &t->increment_min, why, len) ||
        int_in(b, "minimum_min", 0, BILLING_MINUTES_MAX, &t->minimum_min, why, len) ||
        int_in(b, "per_sample", 0, BILLING_AMOUNT_MAX, &t->per_sample, why, len))
        return LS_ERR_INVAL;
    if ((v = json_object_get(b, "no_show_fraction"))) {
        if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1)) {
            snprintf(why, len, "billing.no_show_fraction must be a number from 0 to 1");
            return LS_ERR_INVAL;
        }
        t->no_show_fraction = json_number_value(v);
    }
    return rates_parse(json_object_get(b, "rates"), t, why, len);
}

const char *billing_basis_name(enum billing_basis b)
{
    return (unsigned)b < 3 ? basis_names[b] : "metered";
}

json_t *billing_terms_json(const struct billing_terms *t)
{
    return json_pack("{s:s, s:I, s:I, s:f, s:{s:I, s:I, s:I}, s:I}", "basis",
                     billing_basis_name(t->basis), "increment_min", (json_int_t)t->increment_min,
                     "minimum_min", (json_int_t)t->minimum_min, "no_show_fraction",
                     t->no_show_fraction, "rates", "internal", (json_int_t)t->rates[CAT_INTERNAL],
                     "academic", (json_int_t)t->rates[CAT_ACADEMIC], "industry",
                     (json_int_t)t->rates[CAT_INDUSTRY], "per_sample", (json_int_t)t->per_sample);
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
