/*
 * review.h - new-purchase review (新购大型仪器查重评议, issue 16): before public money buys a
 * large instrument, does the platform already have comparable ones with the spare capacity the
 * new one is wanted for? Answered from metered figures only. Pure functions; any thread.
 *
 * Comparable: the same category (case and surrounding spaces aside), a value within the band
 * [value / (1 + band), value x (1 + band)], and - when a region is asked for - a location that
 * starts with it (case aside). Only metered instruments (bound to a gateway) count: an
 * unmetered one has no evidence of how much it is used, so its hours are not spare capacity;
 * it is listed and named in the reasons. An instrument's spare rated hours over the window are
 * its rated hours (pro rata from joining, minus outages) less its metered hours, never below 0.
 * Existing capacity suffices when spare_share of the comparable instruments' spare hours covers
 * the expected use; otherwise the purchase is justified.
 */
#ifndef LS_SRV_REVIEW_H
#define LS_SRV_REVIEW_H

#include <stddef.h>
#include <stdint.h>

struct review_thresholds {
    double value_band;  /* [evaluation] review_value_band: 0.5 = from 2/3 to 1.5 x the value */
    double spare_share; /* [evaluation] review_spare_share: of spare hours, what counts as free */
};

/* Whether an instrument (category, location, value_yuan) is comparable to the one asked for
 * (want_region NULL or "" for anywhere). */
int review_comparable(const char *category, const char *location, int64_t value_yuan,
                      const char *want_category, const char *want_region, int64_t want_value,
                      double band);

/* The value band's bounds in yuan, rounded outwards. */
void review_band(int64_t value, double band, int64_t *lo, int64_t *hi);

struct review_candidate {
    int metered;
    double rated_hours;     /* over the window */
    double effective_hours; /* metered run time in it */
    double external_hours;
};

double review_spare_hours(const struct review_candidate *c);

#define REVIEW_REASONS 4
#define REVIEW_REASON_MAX 320

struct review_verdict {
    int suffices; /* 1: existing capacity suffices; 0: purchase justified */
    size_t comparable, metered;
    double rated_hours, effective_hours, external_hours; /* of the metered ones */
    double spare_hours, usable_hours;                    /* usable = spare x spare_share */
    size_t nreasons;
    char reasons[REVIEW_REASONS][REVIEW_REASON_MAX];
    /* each reason's code, for a client to say it in its own language from the figures above:
     * "no_comparable", "none_metered", "metered_use", "spare_covers", "spare_short",
     * "not_metered" */
    const char *codes[REVIEW_REASONS];
};

/* The verdict on n comparable instruments for expected_hours of use over the window. */
void review_decide(const struct review_candidate *c, size_t n, double expected_hours,
                   const struct review_thresholds *t, struct review_verdict *v);

/* The verdict's name: "existing capacity suffices" or "purchase justified". */
const char *review_verdict_name(const struct review_verdict *v);

#endif /* LS_SRV_REVIEW_H */
