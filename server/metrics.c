#include "metrics.h"

#include <math.h>
#include <string.h>

#include "labshare/banned.h"

#define HOUR_MS 3600000.0

void metrics_add(struct metric_raw *a, const struct metric_raw *b)
{
    a->effective_ms += b->effective_ms;
    a->external_ms += b->external_ms;
    a->inside_ms += b->inside_ms;
    a->booked_ms += b->booked_ms;
    a->outage_ms += b->outage_ms;
    a->ended += b->ended;
    a->no_shows += b->no_shows;
    a->rating_sum += b->rating_sum;
    a->rating_count += b->rating_count;
    a->instruments += b->instruments;
    a->public_count += b->public_count;
    a->revenue += b->revenue;
    a->voucher += b->voucher;
}

double metrics_rated_hours(const struct metric_raw *r, int64_t period_ms)
{
    double days = (double)period_ms / 86400000.0, outage_days = (double)r->outage_ms / 86400000.0;

    if (outage_days > days)
        outage_days = days;
    return (double)r->rated_per_year * (days - outage_days) / 365.0;
}

int metrics_rated_in(const struct metric_raw *r, int64_t from, int64_t to, double *hours)
{
    int64_t start = r->joined_ms > from ? r->joined_ms : from;

    if (start >= to)
        return 0;
    *hours = metrics_rated_hours(r, to - start);
    return 1;
}

/* Round to 4 decimals: figures an auditor reads, stable across platforms. */
static double r4(double v)
{
    return round(v * 10000.0) / 10000.0;
}

json_t *metrics_json(const struct metric_raw *r, int64_t period_ms, double rated_hours_sum,
                     double idle_utilization)
{
    double eff = r->effective_ms / HOUR_MS, ext = r->external_ms / HOUR_MS;
    double inside = r->inside_ms / HOUR_MS, booked = (double)r->booked_ms / HOUR_MS;
    double rated = rated_hours_sum >= 0 ? rated_hours_sum : metrics_rated_hours(r, period_ms);
    double util = rated > 0 ? eff / rated : 0;
    json_t *o = json_object();

    if (!o)
        return NULL;
    json_object_set_new(o, "effective_hours", json_real(r4(eff)));
    json_object_set_new(o, "external_hours", json_real(r4(ext)));
    json_object_set_new(o, "sharing_rate", json_real(r4(eff > 0 ? ext / eff : 0)));
    json_object_set_new(o, "rated_hours", json_real(r4(rated)));
    json_object_set_new(o, "utilization", json_real(r4(util)));
    json_object_set_new(o, "booked_hours", json_real(r4(booked)));
    json_object_set_new(o, "bookings_ended", json_integer(r->ended));
    json_object_set_new(o, "no_show_count", json_integer(r->no_shows));
    json_object_set_new(o, "no_show_rate",
                        json_real(r4(r->ended ? (double)r->no_shows / (double)r->ended : 0)));
    json_object_set_new(o, "unbooked_hours", json_real(r4(eff - inside)));
    json_object_set_new(o, "overbooking_ratio",
                        inside > 0 ? json_real(r4(booked / inside)) : json_null());
    json_object_set_new(o, "avg_rating",
                        r->rating_count
                            ? json_real(r4((double)r->rating_sum / (double)r->rating_count))
                            : json_null());
    json_object_set_new(o, "revenue", json_integer(r->revenue));
    json_object_set_new(o, "voucher_amount", json_integer(r->voucher));
    json_object_set_new(o, "instruments", json_integer(r->instruments));
    json_object_set_new(
        o, "public_share",
        json_real(r4(r->instruments ? (double)r->public_count / (double)r->instruments : 0)));
    /* for a group: its summed utilization is below the threshold (idle_instruments counts its
     * instruments that are, where the caller knows) */
    json_object_set_new(o, "idle", json_boolean(util < idle_utilization));
    return o;
}

void metrics_evaluate(json_t *m, const struct srv_config *cfg)
{
    double util = json_real_value(json_object_get(m, "utilization"));
    double share = json_real_value(json_object_get(m, "sharing_rate"));
    double nsr = json_real_value(json_object_get(m, "no_show_rate"));
    json_t *rating = json_object_get(m, "avg_rating");
    double ext = json_real_value(json_object_get(m, "external_hours"));
    double op = cfg->weight_operation * fmin(1.0, util / cfg->target_utilization);
    double sh = cfg->weight_sharing * fmin(1.0, share / cfg->target_sharing);
    double sv =
        cfg->weight_service / 2 * (1.0 - nsr) +
        cfg->weight_service / 2 * (json_is_null(rating) ? 1.0 : json_real_value(rating) / 5);
    double total = op + sh + sv;
    const char *grade = total >= cfg->grade_excellent ? "excellent"
                        : total >= cfg->grade_good    ? "good"
                        : total >= cfg->grade_pass    ? "pass"
                                                      : "poor";
    int64_t per_hour = strcmp(grade, "excellent") == 0 ? cfg->reward_excellent
                       : strcmp(grade, "good") == 0    ? cfg->reward_good
                       : strcmp(grade, "pass") == 0    ? cfg->reward_pass
                                                       : cfg->reward_poor;

    json_object_set_new(m, "operation", json_real(r4(op)));
    json_object_set_new(m, "sharing", json_real(r4(sh)));
    json_object_set_new(m, "service", json_real(r4(sv)));
    json_object_set_new(m, "total", json_real(r4(total)));
    json_object_set_new(m, "grade", json_string(grade));
    json_object_set_new(m, "grade_label",
                        json_string(strcmp(grade, "excellent") == 0 ? "\xe4\xbc\x98\xe7\xa7\x80"
                                    : strcmp(grade, "good") == 0    ? "\xe8\x89\xaf\xe5\xa5\xbd"
                                    : strcmp(grade, "pass") == 0    ? "\xe5\x90\x88\xe6\xa0\xbc"
                                                                    : "\xe8\xbe\x83\xe5\xb7\xae"));
    /* minor units per external service hour, rounded half up to whole minor units */
    json_object_set_new(m, "reward", json_integer((json_int_t)floor((double)per_hour * ext + 0.5)));
}
