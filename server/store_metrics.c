/* store_metrics.c - the sums behind metrics and evaluation (store.h, metrics.h). */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "rollup.h"
#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* run_ms of a usage part, in proportion to its time inside [?1, ?2) */
#define CLIPPED_RUN                                                                                \
    "(CASE WHEN u.end_ms > u.start_ms THEN u.run_ms * (" SQL_MIN2(                                 \
        "u.end_ms",                                                                                \
        "?2") " - " SQL_MAX2("u.start_ms",                                                         \
                             "?1") ") * 1.0 / (u.end_ms - u.start_ms) ELSE u.run_ms END)"

/* Each instrument's metered, external and inside-booking run time in [?1, ?2): from its parts of
 * sessions, clipped to the period; or, for whole days or months, from its sums (rollup.h). Then
 * each instrument's booked time in [?1, ?2), and of the bookings that ended then: how many, the
 * no-shows, the ratings' sum and count. (clang-format cannot lay out SQL built of macros.) */
#define ENDED_IN "end_ms >= ?1 AND end_ms < ?2"
// clang-format off
#define USAGE_BY_PARTS                                                                             \
    "SELECT u.instrument, sum(" CLIPPED_RUN "), sum(" CLIPPED_RUN " * u.external),"                \
    " sum(" CLIPPED_RUN " * " SQL_IF1("u.attribution = 'booking'") ") FROM usage u"                \
    " WHERE (u.end_ms > ?1 AND u.start_ms < ?2)"                                                   \
    " OR (u.end_ms = u.start_ms AND u.start_ms >= ?1 AND u.start_ms < ?2) GROUP BY u.instrument"
#define USAGE_BY_DAYS                                                                              \
    "SELECT instrument, sum(effective_ms), sum(external_ms), sum(inside_ms) FROM usage_days"       \
    " WHERE day_ms >= ?1 AND day_ms < ?2 GROUP BY instrument"
#define USAGE_BY_MONTHS                                                                            \
    "SELECT instrument, sum(effective_ms), sum(external_ms), sum(inside_ms) FROM usage_months"     \
    " WHERE month_ms >= ?1 AND month_ms < ?2 GROUP BY instrument"
#define BOOKINGS_IN_PERIOD                                                                         \
    "SELECT instrument,"                                                                           \
    " sum(" SQL_MAX2("0", "(" SQL_MIN2("end_ms", "?2") " - " SQL_MAX2("start_ms", "?1") ")") "),"  \
    " sum(" SQL_IF1(ENDED_IN " AND status IN ('completed','no_show')") "),"                        \
    " sum(" SQL_IF1(ENDED_IN " AND status = 'no_show'") "),"                                       \
    " sum(CASE WHEN " ENDED_IN " THEN coalesce(rating, 0) ELSE 0 END),"                            \
    " sum(" SQL_IF1(ENDED_IN " AND rating IS NOT NULL") ") FROM bookings"                          \
    " WHERE status IN ('confirmed','completed','no_show') AND end_ms >= ?1 AND start_ms < ?2"      \
    " GROUP BY instrument"
#define BOOKINGS_BY_MONTHS                                                                         \
    "SELECT instrument, sum(booked_ms), sum(ended), sum(no_shows), sum(rating_sum),"               \
    " sum(rating_count) FROM booking_months WHERE month_ms >= ?1 AND month_ms < ?2"                \
    " GROUP BY instrument"
// clang-format on

static int by_instrument(const void *a, const void *b)
{
    return strcmp(((const struct metric_raw *)a)->instrument,
                  ((const struct metric_raw *)b)->instrument);
}

/* The instrument id of v (sorted by by_instrument: a national platform's thousands are found by
 * halving, not one by one). */
static struct metric_raw *find(struct metric_raw *v, size_t n, const char *id)
{
    struct metric_raw key;

    if (n == 0) /* bsearch's array may not be NULL, even empty */
        return NULL;
    snprintf(key.instrument, sizeof(key.instrument), "%s", id ? id : "");
    return bsearch(&key, v, n, sizeof(*v), by_instrument);
}

/* The revenue and voucher share of the charges of [from_ms, to_ms), per instrument of v. */
static int add_charges(struct store *st, struct metric_raw *v, size_t cnt, int64_t from_ms,
                       int64_t to_ms, int whole_months)
{
    struct db_stmt *qc =
        store_stmt(st, whole_months ? "SELECT instrument, sum(amount), sum(voucher) FROM"
                                      " charge_months WHERE month_ms >= ?1 AND month_ms < ?2"
                                      " GROUP BY instrument"
                                    : "SELECT instrument, sum(amount), sum(voucher) FROM"
                                      " charges WHERE at_ms >= ?1 AND at_ms < ?2 GROUP BY"
                                      " instrument");
    struct metric_raw *m;
    int row;

    if (!qc)
        return LS_ERR_DB;
    db_bind_int64(qc, 1, from_ms);
    db_bind_int64(qc, 2, to_ms);
    while ((row = store_step_row(st, qc, "metrics: charges")) > 0) {
        if (!(m = find(v, cnt, (const char *)db_column_text(qc, 0))))
            continue;
        m->revenue = db_column_int64(qc, 1);
        m->voucher = db_column_int64(qc, 2);
    }
    db_reset(qc);
    if (row < 0)
        return LS_ERR_DB;
    return LS_OK;
}

/* The outage time of [from_ms, to_ms) per instrument of v: the union of its outage windows, so
 * overlapping outages count once. */
static int add_outages(struct store *st, struct metric_raw *v, size_t cnt, int64_t from_ms,
                       int64_t to_ms)
{
    struct db_stmt *qo =
        store_stmt(st, "SELECT instrument, " SQL_MAX2("start_ms", "?1") ", " SQL_MIN2(
                           "end_ms", "?2") " FROM outages WHERE end_ms > ?1 AND start_ms < ?2"
                                           " ORDER BY instrument, start_ms");
    struct metric_raw *m;
    char last[LS_ID_MAX] = "";
    int64_t cover_end = 0;
    int row;

    if (!qo)
        return LS_ERR_DB;
    db_bind_int64(qo, 1, from_ms);
    db_bind_int64(qo, 2, to_ms);
    while ((row = store_step_row(st, qo, "metrics: outages")) > 0) {
        const char *id = (const char *)db_column_text(qo, 0);
        int64_t s = db_column_int64(qo, 1), e = db_column_int64(qo, 2);
        if (!(m = find(v, cnt, id)))
            continue;
        if (strcmp(id, last) != 0) {
            snprintf(last, sizeof(last), "%s", id);
            cover_end = INT64_MIN;
        }
        if (s < cover_end)
            s = cover_end;
        if (e > s)
            m->outage_ms += e - s;
        if (e > cover_end)
            cover_end = e;
    }
    db_reset(qo);
    if (row < 0)
        return LS_ERR_DB;
    return LS_OK;
}

int store_metric_raws(struct store *st, int64_t from_ms, int64_t to_ms, struct metric_raw **out,
                      size_t *n)
{
    struct db_stmt *qi = store_stmt(st, "SELECT i.id, i.org_id, o.type, i.public, i.rated_hours,"
                                        " o.name, i.created_at, i.name, i.category, i.location,"
                                        " i.value_yuan, CASE WHEN i.gateway IS NOT NULL AND"
                                        " i.gateway <> '' THEN 1 ELSE 0 END"
                                        " FROM instruments i JOIN orgs o ON o.id = i.org_id"
                                        " ORDER BY i.id");
    /* a period of whole local months reads the month sums (usage, bookings, charges), of whole
     * days the usage's day sums; any other, the rows */
    int whole_months = rollup_is_month_start(from_ms) && rollup_is_month_start(to_ms);
    struct db_stmt *qu = store_stmt(st, whole_months ? USAGE_BY_MONTHS
                                        : rollup_is_day_start(from_ms) && rollup_is_day_start(to_ms)
                                            ? USAGE_BY_DAYS
                                            : USAGE_BY_PARTS);
    struct db_stmt *qb = store_stmt(st, whole_months ? BOOKINGS_BY_MONTHS : BOOKINGS_IN_PERIOD);
    struct metric_raw *v = NULL, *m;
    size_t cnt = 0, cap = 0;
    int row;

    *out = NULL;
    *n = 0;
    if (!qi || !qu || !qb)
        return LS_ERR_DB;
    while ((row = store_step_row(st, qi, "metrics: instruments")) > 0) {
        if (LS_GROW(v, cap, cnt + 1)) {
            db_reset(qi);
            free(v);
            return LS_ERR_NOMEM;
        }
        m = &v[cnt++];
        memset(m, 0, sizeof(*m));
        snprintf(m->instrument, sizeof(m->instrument), "%s", db_column_text(qi, 0));
        m->org_id = db_column_int64(qi, 1);
        snprintf(m->org_type, sizeof(m->org_type), "%s", db_column_text(qi, 2));
        m->is_public = db_column_int(qi, 3);
        m->rated_per_year = db_column_int64(qi, 4);
        snprintf(m->org_name, sizeof(m->org_name), "%s", db_column_text(qi, 5));
        m->joined_ms = db_column_int64(qi, 6);
        snprintf(m->name, sizeof(m->name), "%s", db_column_text(qi, 7));
        snprintf(m->category, sizeof(m->category), "%s", db_column_text(qi, 8));
        snprintf(m->location, sizeof(m->location), "%s", db_column_text(qi, 9));
        m->value_yuan = db_column_int64(qi, 10);
        m->metered = db_column_int(qi, 11);
        m->instruments = 1;
        m->public_count = m->is_public;
    }
    db_reset(qi);
    if (row < 0)
        goto fail;
    /* by id as strcmp orders (the engine's collation may not) */
    if (cnt > 1)
        qsort(v, cnt, sizeof(*v), by_instrument);
    db_bind_int64(qu, 1, from_ms);
    db_bind_int64(qu, 2, to_ms);
    while ((row = store_step_row(st, qu, "metrics: usage")) > 0) {
        if (!(m = find(v, cnt, (const char *)db_column_text(qu, 0))))
            continue;
        m->effective_ms = db_column_double(qu, 1);
        m->external_ms = db_column_double(qu, 2);
        m->inside_ms = db_column_double(qu, 3);
    }
    db_reset(qu);
    if (row < 0)
        goto fail;
    db_bind_int64(qb, 1, from_ms);
    db_bind_int64(qb, 2, to_ms);
    while ((row = store_step_row(st, qb, "metrics: bookings")) > 0) {
        if (!(m = find(v, cnt, (const char *)db_column_text(qb, 0))))
            continue;
        m->booked_ms = db_column_int64(qb, 1);
        m->ended = db_column_int64(qb, 2);
        m->no_shows = db_column_int64(qb, 3);
        m->rating_sum = db_column_int64(qb, 4);
        m->rating_count = db_column_int64(qb, 5);
    }
    db_reset(qb);
    if (row < 0)
        goto fail;
    if (add_charges(st, v, cnt, from_ms, to_ms, whole_months) ||
        add_outages(st, v, cnt, from_ms, to_ms))
        goto fail;
    *out = v;
    *n = cnt;
    return LS_OK;
fail: /* an error is not the end of the rows: no figures rather than wrong ones */
    free(v);
    return LS_ERR_DB;
}

static void collaboration_read(struct db_stmt *q, void *record)
{
    struct collaboration_row *r = record;

    snprintf(r->user_org_type, sizeof(r->user_org_type), "%s", db_column_text(q, 0));
    snprintf(r->owner_org_type, sizeof(r->owner_org_type), "%s", db_column_text(q, 1));
    r->run_ms = db_column_double(q, 2);
}

int store_collaboration(struct store *st, int64_t from_ms, int64_t to_ms,
                        struct collaboration_row **items, size_t *n)
{
    struct db_stmt *q = store_stmt(
        st, "SELECT coalesce(uo.type, 'unknown'), oo.type, sum(" CLIPPED_RUN ") FROM usage u"
            " JOIN instruments i ON i.id = u.instrument JOIN orgs oo ON oo.id = i.org_id"
            " LEFT JOIN users usr ON usr.id = u.user_id LEFT JOIN orgs uo ON uo.id = usr.org_id"
            " WHERE u.end_ms > ?1 AND u.start_ms < ?2 GROUP BY uo.type, oo.type"
            " ORDER BY coalesce(uo.type, 'unknown'), oo.type");

    *items = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, from_ms);
    db_bind_int64(q, 2, to_ms);
    return store_rows(st, q, "collaboration", sizeof(**items), collaboration_read, items, n);
}

int store_first_instrument(struct store *st, int64_t *ms)
{
    struct db_stmt *q = store_stmt(st, "SELECT min(created_at) FROM instruments");
    int step;

    if (!q)
        return LS_ERR_DB;
    step = db_step(q);
    if (step == DB_ROW && db_column_type(q, 0) != DB_NULL) {
        *ms = db_column_int64(q, 0);
        db_reset(q);
        return LS_OK;
    }
    db_reset(q);
    return step == DB_ROW ? LS_ERR_NOTFOUND : store_db_fail(st, "first instrument");
}
