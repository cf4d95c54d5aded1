/* review.c - new-purchase review from metered figures: see review.h. */
#include "review.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "labshare/banned.h"

/* s without leading and trailing spaces: *len bytes from the returned pointer */
static const char *trimmed(const char *s, size_t *len)
{
    size_t n;

    while (*s && isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

void review_band(int64_t value, double band, int64_t *lo, int64_t *hi)
{
    *lo = (int64_t)floor((double)value / (1.0 + band));
    *hi = (int64_t)ceil((double)value * (1.0 + band));
}

int review_comparable(const char *category, const char *location, int64_t value_yuan,
                      const char *want_category, const char *want_region, int64_t want_value,
                      double band)
{
    size_t a, b;
    const char *x = trimmed(category, &a), *y = trimmed(want_category, &b);
    int64_t lo, hi;

    if (a == 0 || a != b || strncasecmp(x, y, a) != 0)
        return 0;
    review_band(want_value, band, &lo, &hi);
    if (value_yuan < lo || value_yuan > hi)
        return 0;
    if (want_region && *want_region) {
        x = trimmed(want_region, &b);
        y = trimmed(location, &a);
        if (b > a || strncasecmp(x, y, b) != 0)
            return 0;
    }
    return 1;
}

double review_spare_hours(const struct review_candidate *c)
{
    double s = c->rated_hours - c->effective_hours;

    return c->metered && s > 0 ? s : 0;
}

const char *review_verdict_name(const struct review_verdict *v)
{
    return v->suffices ? "existing capacity suffices" : "purchase justified";
}

void review_decide(const struct review_candidate *c, size_t n, double expected_hours,
                   const struct review_thresholds *t, struct review_verdict *v)
{
    memset(v, 0, sizeof(*v));
    v->comparable = n;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].metered)
            continue;
        v->metered++;
        v->rated_hours += c[i].rated_hours;
        v->effective_hours += c[i].effective_hours;
        v->external_hours += c[i].external_hours;
        v->spare_hours += review_spare_hours(&c[i]);
    }
    v->usable_hours = v->spare_hours * t->spare_share;
    v->suffices = v->metered > 0 && v->usable_hours >= expected_hours;
    if (n == 0) {
        v->codes[v->nreasons] = "no_comparable";
        snprintf(v->reasons[v->nreasons++], REVIEW_REASON_MAX,
                 "no comparable instrument on the platform");
    } else if (v->metered == 0) {
        v->codes[v->nreasons] = "none_metered";
        snprintf(v->reasons[v->nreasons++], REVIEW_REASON_MAX,
                 "%zu comparable instrument%s, none metered: no evidence of spare capacity", n,
                 n == 1 ? "" : "s");
    } else {
        v->codes[v->nreasons] = "metered_use";
        snprintf(v->reasons[v->nreasons++], REVIEW_REASON_MAX,
                 "%zu metered comparable instrument%s ran %.0f h of %.0f rated hours in the"
                 " window (utilization %.0f %%, %.0f h external)",
                 v->metered, v->metered == 1 ? "" : "s", v->effective_hours, v->rated_hours,
                 v->rated_hours > 0 ? 100.0 * v->effective_hours / v->rated_hours : 0.0,
                 v->external_hours);
        v->codes[v->nreasons] = v->suffices ? "spare_covers" : "spare_short";
        snprintf(v->reasons[v->nreasons++], REVIEW_REASON_MAX,
                 "%.0f spare rated hours, of which %.0f %% count as free: %.0f h %s the %.0f h"
                 " of expected use",
                 v->spare_hours, 100.0 * t->spare_share, v->usable_hours,
                 v->suffices ? "cover" : "fall short of", expected_hours);
    }
    if (v->metered < n) {
        v->codes[v->nreasons] = "not_metered";
        snprintf(v->reasons[v->nreasons++], REVIEW_REASON_MAX,
                 "%zu comparable instrument%s not metered: %s capacity is not counted",
                 n - v->metered, n - v->metered == 1 ? " is" : "s are",
                 n - v->metered == 1 ? "its" : "their");
    }
}
