/* routes_metrics.c - sharing-efficiency metrics, evaluation grades and the collaboration
 * matrix (SPEC 6), computed from usage, bookings and outages at request time. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../metrics.h"
#include "../records.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

/* Local midnight of 1 January of year (platform time zone). */
static int64_t year_start(int year)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mday = 1;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

static int may_read_metrics(struct http_req *req, struct http_resp *resp)
{
    if (http_is_admin(req) || http_is_auditor(req) || strcmp(req->who.role, "manager") == 0)
        return 1;
    http_error(resp, LS_ERR_DENIED, "metrics are for managers, auditors and admins");
    return 0;
}

/* Group key of r for by: the instrument, the owner org, its type, or the platform. */
static void group_key(const struct metric_raw *r, const char *by, char *key, size_t len)
{
    if (strcmp(by, "instrument") == 0)
        snprintf(key, len, "%s", r->instrument);
    else if (strcmp(by, "org") == 0)
        snprintf(key, len, "%lld", (long long)r->org_id);
    else if (strcmp(by, "org_type") == 0)
        snprintf(key, len, "%s", r->org_type);
    else
        snprintf(key, len, "platform");
}

/* Figures for [from, to) grouped by `by`, as a JSON array; evaluated when cfg is given. Managers
 * see only their organisation's instruments. */
static json_t *compute_for(struct http_req *req, int64_t from, int64_t to, const char *by,
                           int64_t only_org, const struct srv_config *eval, int everyone)
{
    struct metric_raw *raw = NULL, *groups = NULL;
    double *rated = NULL;
    int64_t *idle = NULL;
    char(*keys)[LS_ID_MAX] = NULL;
    size_t n = 0, ng = 0;
    json_t *items = NULL;
    int restrict_org = !everyone && !http_is_admin(req) && !http_is_auditor(req);

    if (store_metric_raws(req->st, from, to, &raw, &n))
        return NULL;
    groups = calloc(n ? n : 1, sizeof(*groups));
    rated = calloc(n ? n : 1, sizeof(*rated));
    idle = calloc(n ? n : 1, sizeof(*idle));
    keys = calloc(n ? n : 1, sizeof(*keys));
    items = json_array();
    if (!groups || !rated || !idle || !keys || !items)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char key[LS_ID_MAX];
        size_t g;
        double r_i;
        if (restrict_org && raw[i].org_id != req->who.org_id)
            continue;
        if (only_org && raw[i].org_id != only_org)
            continue;
        if (!metrics_rated_in(&raw[i], from, to, &r_i))
            continue; /* not on the platform yet */
        group_key(&raw[i], by, key, sizeof(key));
        for (g = 0; g < ng && strcmp(keys[g], key); g++)
            ;
        if (g == ng) {
            snprintf(keys[ng], LS_ID_MAX, "%s", key);
            groups[ng] = raw[i];
            memset(&groups[ng].effective_ms, 0,
                   sizeof(*groups) - offsetof(struct metric_raw, effective_ms));
            ng++;
        }
        metrics_add(&groups[g], &raw[i]);
        /* a group's rated hours are the sum of its instruments' (each with its outages) */
        rated[g] += r_i;
        idle[g] += raw[i].effective_ms / 3600000.0 < r_i * req->cfg->idle_utilization;
    }
    for (size_t g = 0; g < ng; g++) {
        json_t *m = metrics_json(&groups[g], to - from, rated[g], req->cfg->idle_utilization);
        if (!m)
            continue;
        if (strcmp(by, "instrument") == 0) {
            char link[300], a[40], b[40];
            ls_time_format(from, a, sizeof(a));
            ls_time_format(to, b, sizeof(b));
            snprintf(link, sizeof(link), "/api/v1/usage?instrument=%s&from=%s&to=%s",
                     groups[g].instrument, a, b);
            json_object_set_new(m, "instrument", json_string(groups[g].instrument));
            json_object_set_new(m, "usage", json_string(link));
            json_object_set_new(m, "org_id", json_integer(groups[g].org_id));
            json_object_set_new(m, "org", json_string(groups[g].org_name));
        } else if (strcmp(by, "org") == 0) {
            char link[300], a[40], b[40];
            ls_time_format(from, a, sizeof(a));
            ls_time_format(to, b, sizeof(b));
            snprintf(link, sizeof(link), "/api/v1/metrics?by=instrument&org=%lld&from=%s&to=%s",
                     (long long)groups[g].org_id, a, b);
            json_object_set_new(m, "org_id", json_integer(groups[g].org_id));
            json_object_set_new(m, "org", json_string(groups[g].org_name));
            json_object_set_new(m, "org_type", json_string(groups[g].org_type));
            json_object_set_new(m, "instruments_detail", json_string(link));
        } else if (strcmp(by, "org_type") == 0) {
            json_object_set_new(m, "org_type", json_string(groups[g].org_type));
        }
        if (strcmp(by, "instrument") != 0)
            json_object_set_new(m, "idle_instruments", json_integer(idle[g]));
        if (eval)
            metrics_evaluate(m, eval);
        /* revenue, voucher_amount and reward are in the currency's minor unit */
        json_object_set_new(m, "currency", json_string(req->cfg->currency));
        json_array_append_new(items, m);
    }
out:
    free(raw);
    free(groups);
    free(rated);
    free(idle);
    free(keys);
    return items;
}

static json_t *compute(struct http_req *req, int64_t from, int64_t to, const char *by,
                       int64_t only_org, const struct srv_config *eval)
{
    return compute_for(req, from, to, by, only_org, eval, 0);
}

static const char *by_arg(struct http_req *req, struct http_resp *resp, int evaluation)
{
    const char *by = http_query(req, "by");

    (void)evaluation;
    if (!by)
        return "instrument"; /* the same default for metrics and evaluation */
    if (strcmp(by, "instrument") == 0 || strcmp(by, "org") == 0 ||
        (!evaluation && (strcmp(by, "org_type") == 0 || strcmp(by, "platform") == 0)))
        return by;
    http_error(resp, LS_ERR_INVAL, "by must be instrument, org%s",
               evaluation ? "" : ", org_type or platform");
    return NULL;
}

/* The org= filter: an organisation id, 0 when absent. LS_ERR_INVAL with a 400 in resp. */
static int org_arg(struct http_req *req, struct http_resp *resp, int64_t *org)
{
    const char *v = http_query(req, "org");

    *org = 0;
    if (v && ls_parse_i64(v, 1, INT64_MAX, org)) {
        http_error(resp, LS_ERR_INVAL, "org must be an organisation id (the owner)");
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

int route_metrics(struct http_req *req, struct http_resp *resp)
{
    int64_t limit, offset, from, to, org;
    const char *by;
    json_t *items;

    if (!may_read_metrics(req, resp))
        return LS_OK;
    if (http_list_args(req, resp, 1000, 10000, &limit, &offset, &from, &to) ||
        !(by = by_arg(req, resp, 0)) || org_arg(req, resp, &org))
        return LS_OK;
    if (from == INT64_MIN || to == INT64_MAX || to <= from)
        return http_error(resp, LS_ERR_INVAL,
                          "from and to, or month, are required, from before to");
    items = compute(req, from, to, by, org, NULL);
    if (!items)
        return http_error(resp, LS_ERR_DB, "cannot compute metrics");
    return http_list(req, resp, items, (int64_t)json_array_size(items), "metrics");
}

int route_evaluation(struct http_req *req, struct http_resp *resp)
{
    const char *y = http_query(req, "year"), *by;
    int64_t first = 0, org;
    int year;
    json_t *items;

    if (!may_read_metrics(req, resp))
        return LS_OK;
    if (!y || ls_parse_int(y, 2000, 2100, &year))
        return http_error(resp, LS_ERR_INVAL, "year (YYYY) is required");
    if (!(by = by_arg(req, resp, 1)) || org_arg(req, resp, &org))
        return LS_OK;
    /* a year that ended before the platform's first instrument is not graded */
    if (store_first_instrument(req->st, &first) == LS_OK && year_start(year + 1) <= first)
        return http_rule_error(resp, "before_platform", "the platform had no instrument that year");
    items = compute(req, year_start(year), year_start(year + 1), by, org, req->cfg);
    if (!items)
        return http_error(resp, LS_ERR_DB, "cannot compute the evaluation");
    return http_list(req, resp, items, (int64_t)json_array_size(items), "evaluation");
}

int route_collaboration(struct http_req *req, struct http_resp *resp)
{
    int64_t limit, offset, from, to;
    json_t *items = NULL;

    if (!http_is_admin(req) && !http_is_auditor(req))
        return http_error(resp, LS_ERR_DENIED,
                          "the collaboration matrix is for auditors and "
                          "admins");
    if (http_list_args(req, resp, 1000, 10000, &limit, &offset, &from, &to))
        return LS_OK;
    {
        struct collaboration_row *rows = NULL;
        size_t n = 0;
        int rc = store_collaboration(req->st, from, to, &rows, &n);
        if (rc == LS_OK && !(items = collaboration_rows_json(rows, n)))
            rc = LS_ERR_NOMEM;
        free(rows);
        if (rc)
            return http_error(resp, rc, "cannot compute the matrix");
    }
    return http_list(req, resp, items, (int64_t)json_array_size(items), "collaboration");
}

/* GET /figures?year=YYYY (no login): the platform's published sharing figures for a year (to
 * now, for the current one), in all and by owner type. Hours and ratios only: no money, and no
 * figure of a single instrument or organisation. */
int route_figures(struct http_req *req, struct http_resp *resp)
{
    static const char *const money[] = {"revenue", "voucher_amount", "currency", "idle"};
    const char *y = http_query(req, "year");
    int64_t from, to, now = ls_now_ms();
    json_t *platform = NULL, *types = NULL, *row;
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    int year;
    size_t i;

    localtime_r(&t, &tm);
    year = tm.tm_year + 1900;
    if (y && ls_parse_int(y, 2000, 2100, &year))
        return http_error(resp, LS_ERR_INVAL, "year must be YYYY");
    from = year_start(year);
    to = year_start(year + 1) < now ? year_start(year + 1) : now;
    if (to <= from)
        return http_error(resp, LS_ERR_INVAL, "that year has not begun");
    platform = compute_for(req, from, to, "platform", 0, NULL, 1);
    types = compute_for(req, from, to, "org_type", 0, NULL, 1);
    if (!platform || !types) {
        json_decref(platform);
        json_decref(types);
        return http_error(resp, LS_ERR_DB, "cannot compute the figures");
    }
    json_array_foreach(types, i, row) for (size_t k = 0; k < sizeof(money) / sizeof(money[0]); k++)
        json_object_del(row, money[k]);
    json_array_foreach(platform, i, row) for (size_t k = 0; k < sizeof(money) / sizeof(money[0]);
                                              k++) json_object_del(row, money[k]);
    {
        char a[40], b[40];
        json_t *all =
            json_array_size(platform) ? json_incref(json_array_get(platform, 0)) : json_object();
        json_decref(platform);
        ls_time_format(from, a, sizeof(a));
        ls_time_format(to, b, sizeof(b));
        return http_json(resp, 200,
                         json_pack("{s:i, s:s, s:s, s:o, s:o}", "year", year, "from", a, "to", b,
                                   "platform", all, "by_owner_type", types));
    }
}
