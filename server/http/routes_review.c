/* routes_review.c - GET /purchase-review: the new-purchase review (新购查重) of review.h over
 * the platform's last twelve whole months, for auditors and admins. Parses, asks the store for
 * the figures, lets review.c decide, renders (JSON, or the instruments as CSV). */
#include "routes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../metrics.h"
#include "../review.h"
#include "../rollup.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

/* Hours of expected use a request may state at most: a year of every hour of the day. */
#define EXPECTED_MAX 8784
#define CATEGORY_MAX 63
#define REGION_MAX 127

/* [from, to): the twelve whole local months before the current one, as the month sums have
 * them. */
static void window(int64_t now_ms, int64_t *from, int64_t *to)
{
    *to = *from = rollup_month_start(now_ms);
    for (int i = 0; i < 12; i++)
        *from = rollup_month_start(*from - 1);
}

static double round1(double h)
{
    return floor(h * 10 + 0.5) / 10;
}

int route_purchase_review(struct http_req *req, struct http_resp *resp)
{
    const char *category = http_query(req, "category"), *region = http_query(req, "region");
    const char *value = http_query(req, "value_yuan"),
               *expected = http_query(req, "expected_hours");
    const char *format = http_query(req, "format");
    struct review_thresholds th = {req->cfg->review_value_band, req->cfg->review_spare_share};
    struct metric_raw *raw = NULL;
    struct review_candidate *cand = NULL;
    struct review_verdict v;
    size_t n = 0, nc = 0;
    int64_t value_yuan, want_hours, from, to, lo, hi;
    json_t *items, *body, *reasons, *codes;
    char a[40], b[40];

    if (!http_is_admin(req) && !http_is_auditor(req))
        return http_error(resp, LS_ERR_DENIED, "the purchase review is for auditors and admins");
    if (!category || !*category || strlen(category) > CATEGORY_MAX)
        return http_error(resp, LS_ERR_INVAL,
                          "category is required (the instruments' category, at most %d bytes)",
                          CATEGORY_MAX);
    if (region && strlen(region) > REGION_MAX)
        return http_error(resp, LS_ERR_INVAL, "region is at most %d bytes", REGION_MAX);
    if (!value || ls_parse_i64(value, 1, 100000000000LL, &value_yuan))
        return http_error(resp, LS_ERR_INVAL,
                          "value_yuan is required: the new instrument's value in yuan, 1 to 10^11");
    if (!expected || ls_parse_i64(expected, 1, EXPECTED_MAX, &want_hours))
        return http_error(resp, LS_ERR_INVAL,
                          "expected_hours is required: the hours a year the new instrument would"
                          " run, 1 to %d",
                          EXPECTED_MAX);
    if (http_query(req, "from") || http_query(req, "to") || http_query(req, "month") ||
        http_query(req, "limit") || http_query(req, "offset"))
        return http_error(resp, LS_ERR_INVAL,
                          "the review covers the last twelve whole months, every comparable"
                          " instrument: from, to, month, limit and offset are not taken");
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
        return http_error(resp, LS_ERR_INVAL, "format must be json or csv");
    window(ls_now_ms(), &from, &to);
    if (store_metric_raws(req->st, from, to, &raw, &n))
        return http_error(resp, LS_ERR_DB, "cannot read the figures");
    items = json_array();
    cand = calloc(n ? n : 1, sizeof(*cand));
    if (!items || !cand) {
        json_decref(items);
        free(raw);
        free(cand);
        return http_error(resp, LS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const struct metric_raw *r = &raw[i];
        struct review_candidate *c = &cand[nc];
        json_t *it;
        if (!review_comparable(r->category, r->location, r->value_yuan, category, region,
                               value_yuan, th.value_band) ||
            !metrics_rated_in(r, from, to, &c->rated_hours))
            continue;
        nc++;
        c->metered = r->metered;
        c->effective_hours = r->effective_ms / 3600000.0;
        c->external_hours = r->external_ms / 3600000.0;
        it = json_pack(
            "{s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:b, s:f, s:f, s:f, s:f, s:f}", "instrument",
            r->instrument, "name", r->name, "org_id", (json_int_t)r->org_id, "org", r->org_name,
            "category", r->category, "location", r->location, "value_yuan",
            (json_int_t)r->value_yuan, "metered", c->metered, "rated_hours", round1(c->rated_hours),
            "effective_hours", round1(c->effective_hours), "external_hours",
            round1(c->external_hours), "utilization",
            c->rated_hours > 0 ? floor(c->effective_hours / c->rated_hours * 1000 + 0.5) / 1000
                               : 0.0,
            "spare_hours", round1(review_spare_hours(c)));
        if (it)
            json_array_append_new(items, it);
    }
    review_decide(cand, nc, (double)want_hours, &th, &v);
    free(raw);
    free(cand);
    if (format && strcmp(format, "csv") == 0) {
        /* the instruments, each with the verdict they share */
        size_t k;
        json_t *it;
        json_array_foreach(items, k, it)
            json_object_set_new(it, "verdict", json_string(review_verdict_name(&v)));
        return http_list(req, resp, items, (int64_t)json_array_size(items), "purchase-review");
    }
    reasons = json_array();
    codes = json_array();
    for (size_t i = 0; reasons && codes && i < v.nreasons; i++) {
        json_array_append_new(reasons, json_string(v.reasons[i]));
        json_array_append_new(codes, json_string(v.codes[i]));
    }
    review_band(value_yuan, th.value_band, &lo, &hi);
    ls_time_format(from, a, sizeof(a));
    ls_time_format(to, b, sizeof(b));
    body =
        json_pack("{s:s, s:s?, s:I, s:I, s:s, s:s, s:[I,I], s:f, s:o, s:I, s:{s:I, s:I, s:f, "
                  "s:f, s:f, s:f, s:f}, s:s, s:o?, s:o?}",
                  "category", category, "region", region && *region ? region : NULL, "value_yuan",
                  (json_int_t)value_yuan, "expected_hours", (json_int_t)want_hours, "from", a, "to",
                  b, "value_band", (json_int_t)lo, (json_int_t)hi, "spare_share", th.spare_share,
                  "items", items, "total", (json_int_t)json_array_size(items), "totals",
                  "comparable", (json_int_t)v.comparable, "metered", (json_int_t)v.metered,
                  "rated_hours", round1(v.rated_hours), "effective_hours",
                  round1(v.effective_hours), "external_hours", round1(v.external_hours),
                  "spare_hours", round1(v.spare_hours), "usable_hours", round1(v.usable_hours),
                  "verdict", review_verdict_name(&v), "reasons", reasons, "reason_codes", codes);
    if (!body)
        return http_error(resp, LS_ERR_NOMEM, "out of memory");
    return http_json(resp, 200, body);
}

/* One category of the public summary. */
struct capacity {
    char category[64];
    int64_t instruments, metered;
    double rated, effective, external, spare;
};

/* GET /catalog/capacity (no login): the review's summary for society - per category of the
 * public instruments, over the same twelve months, how many there are and are metered, their
 * metered hours, utilization and spare rated hours. No values, no verdicts, no single
 * instrument's use. */
int route_catalog_capacity(struct http_req *req, struct http_resp *resp)
{
    struct metric_raw *raw = NULL;
    struct capacity *cats = NULL;
    size_t n = 0, nc = 0;
    int64_t from, to;
    json_t *items;
    char a[40], b[40];

    window(ls_now_ms(), &from, &to);
    if (store_metric_raws(req->st, from, to, &raw, &n))
        return http_error(resp, LS_ERR_DB, "cannot read the figures");
    cats = calloc(n ? n : 1, sizeof(*cats));
    if (!cats) {
        free(raw);
        return http_error(resp, LS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const struct metric_raw *r = &raw[i];
        struct review_candidate c;
        size_t k;
        if (!r->is_public || !r->category[0])
            continue;
        memset(&c, 0, sizeof(c));
        if (!metrics_rated_in(r, from, to, &c.rated_hours))
            continue;
        c.metered = r->metered;
        c.effective_hours = r->effective_ms / 3600000.0;
        c.external_hours = r->external_ms / 3600000.0;
        for (k = 0; k < nc; k++)
            if (review_comparable(r->category, "", 1, cats[k].category, NULL, 1, 0))
                break;
        if (k == nc)
            snprintf(cats[nc++].category, sizeof(cats[0].category), "%s", r->category);
        cats[k].instruments++;
        if (!c.metered)
            continue;
        cats[k].metered++;
        cats[k].rated += c.rated_hours;
        cats[k].effective += c.effective_hours;
        cats[k].external += c.external_hours;
        cats[k].spare += review_spare_hours(&c);
    }
    free(raw);
    items = json_array();
    for (size_t k = 0; items && k < nc; k++) {
        const struct capacity *c = &cats[k];
        json_t *it =
            json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:f}", "category", c->category,
                      "instruments", (json_int_t)c->instruments, "metered", (json_int_t)c->metered,
                      "rated_hours", round1(c->rated), "effective_hours", round1(c->effective),
                      "external_hours", round1(c->external), "utilization",
                      c->rated > 0 ? floor(c->effective / c->rated * 1000 + 0.5) / 1000 : 0.0,
                      "spare_hours", round1(c->spare));
        if (!it || json_array_append_new(items, it)) {
            json_decref(items);
            items = NULL;
        }
    }
    free(cats);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "out of memory");
    {
        const char *format = http_query(req, "format");
        if (format && strcmp(format, "csv") == 0)
            return http_list(req, resp, items, (int64_t)json_array_size(items), "capacity");
    }
    ls_time_format(from, a, sizeof(a));
    ls_time_format(to, b, sizeof(b));
    return http_json(resp, 200, json_pack("{s:s, s:s, s:o}", "from", a, "to", b, "items", items));
}
