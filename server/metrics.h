/*
 * metrics.h - sharing-efficiency metrics and evaluation grades (SPEC section 6), as pure
 * functions (any thread) over per-instrument sums the store gathers for a period.
 */
#ifndef LS_SRV_METRICS_H
#define LS_SRV_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "labshare/wire.h"

/* What the store sums for one instrument over [from, to). Times in ms. */
struct metric_raw {
    char instrument[LS_ID_MAX];
    int64_t org_id;
    char org_type[16];
    int is_public;
    int64_t rated_per_year; /* rated hours per year */
    char org_name[128];
    int64_t joined_ms; /* when the instrument joined the platform (registered) */
    char name[128];    /* the instrument's, and what a new-purchase review compares */
    char category[64];
    char location[128];
    int64_t value_yuan;
    int metered;             /* bound to a gateway */
    double effective_ms;     /* metered run time */
    double external_ms;      /* of it, attributed to users of other organisations */
    double inside_ms;        /* of it, inside bookings */
    int64_t booked_ms;       /* booked time (confirmed, completed, no-show) in the period */
    int64_t outage_ms;       /* union of outage windows in the period */
    int64_t ended, no_shows; /* bookings that ended in the period; of them no-shows */
    int64_t rating_sum, rating_count;
    int64_t instruments; /* 1 for an instrument; the count for a group */
    int64_t public_count;
    int64_t revenue, voucher; /* charge lines in the period (gross, voucher share) */
};

/* Add b's sums to a (for organisation, org type and platform totals). */
void metrics_add(struct metric_raw *a, const struct metric_raw *b);

/* The SPEC 6 figures of r over a period of period_ms (rated hours scale with the period minus
 * outages; for a group, the sum of its instruments' rated hours is in rated_hours_sum, or < 0 to
 * compute it from r). Rates come from sums, never from averaged rates. Returns a new object. */
json_t *metrics_json(const struct metric_raw *r, int64_t period_ms, double rated_hours_sum,
                     double idle_utilization);

/* Rated hours of one instrument over the period: per year x (days - outage days) / 365. */
double metrics_rated_hours(const struct metric_raw *r, int64_t period_ms);

/* An instrument counts from the day it joined: its rated hours over [from, to), pro rata from
 * joining, into *hours; returns 0 when it had not joined by to (it does not count), else 1. */
int metrics_rated_in(const struct metric_raw *r, int64_t from, int64_t to, double *hours);

/* Evaluation scores (section 6) of figures m (as made by metrics_json): adds "operation",
 * "sharing", "service", "total", "grade" and "reward" (minor units per external hour x external
 * hours of the grade) to m. */
void metrics_evaluate(json_t *m, const struct srv_config *cfg);

#endif /* LS_SRV_METRICS_H */
