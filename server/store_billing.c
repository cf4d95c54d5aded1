/* store_billing.c - charge lines, vouchers, statements and closed months (store.h). */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing.h"
#include "order.h"
#include "labshare/num.h"
#include "labshare/grow.h"
#include "labshare/log.h"
#include "labshare/json_guard.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

int store_month_closed(struct store *st, const char *month, int *closed)
{
    struct db_stmt *q = store_stmt(st, "SELECT 1 FROM closed_months WHERE month = ?");
    int64_t v;
    int rc;

    *closed = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, month);
    rc = store_int_one(st, q, &v);
    if (rc == LS_ERR_NOTFOUND)
        return LS_OK;
    if (rc == LS_OK)
        *closed = 1;
    return rc;
}

/* The first open month at or after month (in place). LS_ERR_DB when it cannot be told. */
static int open_month(struct store *st, char month[16])
{
    int y, m, closed = 1, rc;

    for (int guard = 0; guard < 1200; guard++) {
        if ((rc = store_month_closed(st, month, &closed)) || !closed)
            return rc;
        if (sscanf(month, "%4d-%2d", &y, &m) != 2)
            return LS_ERR_INVAL;
        if (++m > 12) {
            m = 1;
            y++;
        }
        snprintf(month, 16, "%04d-%02d", y % 10000, m % 100);
    }
    return LS_ERR_INVAL; /* a hundred years closed ahead: not a ledger */
}

/* What a source should cost now. */
struct desired {
    char source[96];
    int64_t org_id, user_id, booking_id, at_ms, owner_org;
    char instrument[LS_ID_MAX];
    char category[16];
    char description[200];
    struct charge c;
};

/* The applicable voucher of org at day for an instrument of owner: its id, percent and what is
 * left of its cap in year. 0 when none, -1 when it cannot be told (the line is not written:
 * charged in full, it would be wrong). */
static int64_t voucher_for(struct store *st, int64_t org_id, int64_t owner, const char *day,
                           int year, int64_t *percent, int64_t *left)
{
    struct db_stmt *q = store_stmt(
        st, "SELECT v.id, v.percent, v.annual_cap - coalesce((SELECT sum(c.voucher) FROM charges"
            " c WHERE c.voucher_id = v.id AND substr(c.month, 1, 4) = ?4), 0) FROM vouchers v"
            " JOIN orgs o ON o.id = v.org_id WHERE v.org_id = ?1 AND o.type = 'enterprise' AND"
            " ?1 <> ?2 AND v.valid_from <= ?3 AND v.valid_to >= ?3 ORDER BY v.id LIMIT 1");
    char y[16];
    int64_t id = 0;

    if (!q)
        return -1;
    snprintf(y, sizeof(y), "%04d", year % 10000);
    db_bind_int64(q, 1, org_id);
    db_bind_int64(q, 2, owner);
    store_bind_text(q, 3, day);
    store_bind_text(q, 4, y);
    switch (store_step_row(st, q, "the voucher of a line")) {
    case 1:
        id = db_column_int64(q, 0);
        *percent = db_column_int64(q, 1);
        *left = db_column_int64(q, 2);
        break;
    case 0:
        break;
    default:
        id = -1;
    }
    db_reset(q);
    return id;
}

static int insert_line(struct store *st, const struct desired *d, const char *kind,
                       const char *month, int64_t amount, int64_t minutes, int64_t samples,
                       int64_t sample_fee)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO charges(source, kind, org_id, user_id,"
                                       " instrument, booking_id, at_ms, month, category, minutes,"
                                       " rate, samples, sample_fee, amount, voucher, voucher_id,"
                                       " description, created_at)"
                                       " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    char m[16], day[24];
    int year;
    int64_t percent = 0, left = 0, vid, voucher = 0;

    if (!q)
        return LS_ERR_DB;
    billing_month(d->at_ms, m, day, &year);
    vid = voucher_for(st, d->org_id, d->owner_org, day, year, &percent, &left);
    if (vid < 0)
        return LS_ERR_DB;
    if (vid && amount > 0)
        voucher = billing_voucher(amount, percent, left);
    else if (vid && amount < 0) /* a refund gives back the voucher share, floor towards zero */
        voucher = -billing_voucher(-amount, percent, INT64_MAX);
    store_bind_text(q, 1, d->source);
    store_bind_text(q, 2, kind);
    db_bind_int64(q, 3, d->org_id);
    if (d->user_id)
        db_bind_int64(q, 4, d->user_id);
    store_bind_text(q, 5, d->instrument);
    if (d->booking_id)
        db_bind_int64(q, 6, d->booking_id);
    db_bind_int64(q, 7, d->at_ms);
    store_bind_text(q, 8, month);
    store_bind_text(q, 9, d->category);
    db_bind_int64(q, 10, minutes);
    db_bind_int64(q, 11, d->c.rate);
    db_bind_int64(q, 12, samples);
    db_bind_int64(q, 13, sample_fee);
    db_bind_int64(q, 14, amount);
    db_bind_int64(q, 15, voucher);
    if (vid && voucher)
        db_bind_int64(q, 16, vid);
    store_bind_text(q, 17, d->description);
    db_bind_int64(q, 18, ls_now_ms());
    if (store_step_done(st, q))
        return LS_ERR_DB;
    return store_charge_sums(st, d->instrument, d->at_ms, amount, voucher, 1);
}

/* The billing terms of instrument in force at time t (SPEC 7): the newest that began at or
 * before it, else the first (an after-the-fact booking before the instrument was registered). */
#define TERMS_AT(instrument, t)                                                                    \
    "coalesce((SELECT tt.billing FROM instrument_terms tt WHERE tt.instrument = " instrument       \
    " AND tt.valid_from <= " t " ORDER BY tt.valid_from DESC LIMIT 1), i.billing)"

/* Take line id out of the month sums (before it is deleted). */
static int charge_line_unsummed(struct store *st, int64_t id)
{
    struct db_stmt *q =
        store_stmt(st, "SELECT instrument, at_ms, amount, voucher FROM charges WHERE id = ?");
    char instrument[LS_ID_MAX];
    int64_t at = 0, amount = 0, voucher = 0;
    int row;

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, id);
    row = store_step_row(st, q, "a charge line");
    if (row > 0) {
        snprintf(instrument, sizeof(instrument), "%s", db_column_text(q, 0));
        at = db_column_int64(q, 1);
        amount = db_column_int64(q, 2);
        voucher = db_column_int64(q, 3);
    }
    db_reset(q);
    if (row <= 0)
        return LS_ERR_DB;
    return store_charge_sums(st, instrument, at, amount, voucher, -1);
}

/* Bring the lines of one source in line with d (amount 0 when the source no longer costs). */
static int settle(struct store *st, const struct desired *d, int64_t *added)
{
    struct db_stmt *q = store_stmt(st, "SELECT coalesce(sum(amount), 0), count(*), min(id),"
                                       " min(month) FROM charges WHERE source = ?");
    struct db_stmt *fix = store_stmt(st, "DELETE FROM charges WHERE id = ?");
    int64_t have = 0, lines = 0, first = 0;
    char month[16], first_month[16] = "";
    int first_closed = 1, rc;

    if (!q || !fix)
        return LS_ERR_DB;
    store_bind_text(q, 1, d->source);
    /* an aggregate: always one row, so none is an error - never "no lines yet", which would
     * charge the source a second time */
    if (store_step_row(st, q, "charge lines of a source") != 1) {
        db_reset(q);
        return LS_ERR_DB;
    }
    have = db_column_int64(q, 0);
    lines = db_column_int64(q, 1);
    first = db_column_int64(q, 2);
    if (db_column_text(q, 3))
        snprintf(first_month, sizeof(first_month), "%s", db_column_text(q, 3));
    db_reset(q);
    if (have == d->c.amount && lines > 0)
        return LS_OK;
    if (lines == 0 && d->c.amount == 0)
        return LS_OK;
    billing_month(d->at_ms, month, NULL, NULL);
    if (lines == 0) {
        int closed;
        rc = store_month_closed(st, month, &closed);
        if (rc == LS_OK)
            rc = open_month(st, month);
        if (rc)
            return rc;
        (*added)++;
        return insert_line(st, d, closed ? "adjustment" : "charge", month, d->c.amount,
                           d->c.minutes, d->c.samples, d->c.sample_fee);
    }
    /* one line in a month still open: replace it (its voucher share is recomputed) */
    if (lines == 1 && (rc = store_month_closed(st, first_month, &first_closed)))
        return rc;
    if (lines == 1 && !first_closed) {
        db_bind_int64(fix, 1, first);
        if (charge_line_unsummed(st, first) || store_step_done(st, fix))
            return LS_ERR_DB;
        (*added)++;
        if (d->c.amount == 0)
            return LS_OK;
        snprintf(month, sizeof(month), "%s", first_month);
        return insert_line(st, d, "charge", month, d->c.amount, d->c.minutes, d->c.samples,
                           d->c.sample_fee);
    }
    /* otherwise the books of a closed month stay as they are: the difference is an adjustment
     * in the first open month */
    if ((rc = open_month(st, month)))
        return rc;
    (*added)++;
    return insert_line(st, d, "adjustment", month, d->c.amount - have, 0, 0, 0);
}

static int cmp_source(const void *a, const void *b)
{
    const struct desired *const *x = a, *const *y = b;

    return strcmp((*x)->source, (*y)->source);
}

static int cmp_at(const void *a, const void *b)
{
    const struct desired *x = a, *y = b;

    return x->at_ms < y->at_ms ? -1 : x->at_ms > y->at_ms ? 1 : strcmp(x->source, y->source);
}

/* A new zeroed slot at the end of *v (*n used of *cap; the caller counts it when it keeps it),
 * or NULL when out of memory. */
static struct desired *next_desired(struct desired **v, size_t *n, size_t *cap)
{
    if (LS_GROW(*v, *cap, *n + 1))
        return NULL;
    memset(&(*v)[*n], 0, sizeof(**v));
    return &(*v)[*n];
}

/* What each completed or no-show booking should cost, appended to *v (*n of *cap). */
static int desired_bookings(struct store *st, struct desired **v, size_t *n, size_t *cap)
{
    struct db_stmt *q = store_stmt(
        st, "SELECT b.id, b.instrument, b.user_id, coalesce(u.org_id, 0), coalesce(o.type, ''),"
            " i.org_id, " TERMS_AT(
                "b.instrument",
                "b.start_ms") ", b.start_ms, b.end_ms,"
                              " b.metered_seconds, b.status,"
                              " coalesce((SELECT sum(samples) FROM usage WHERE booking_id = b.id), "
                              "0), i.name"
                              " FROM bookings b JOIN instruments i ON i.id = b.instrument JOIN "
                              "users u ON u.id ="
                              " b.user_id LEFT JOIN orgs o ON o.id = u.org_id WHERE b.status IN"
                              " ('completed','no_show') AND b.order_id IS NULL");
    int row, oom = 0;

    if (!q)
        return LS_ERR_DB;
    while ((row = store_step_row(st, q, "bookings to charge")) > 0) {
        struct billing_terms t;
        char why[200];
        json_t *bj = ls_json_loads((const char *)db_column_text(q, 6), 0, NULL, &oom);
        struct desired *d = oom ? NULL : next_desired(v, n, cap);
        enum billing_category cat;

        /* terms that could not be read (out of memory) must not price the use at nothing */
        if (!d) {
            json_decref(bj);
            db_reset(q);
            return LS_ERR_NOMEM;
        }
        d->booking_id = db_column_int64(q, 0);
        snprintf(d->source, sizeof(d->source), "booking/%lld", (long long)d->booking_id);
        snprintf(d->instrument, sizeof(d->instrument), "%s", db_column_text(q, 1));
        d->user_id = db_column_int64(q, 2);
        d->org_id = db_column_int64(q, 3);
        d->owner_org = db_column_int64(q, 5);
        d->at_ms = db_column_int64(q, 8);
        cat = billing_category(d->org_id == d->owner_org, (const char *)db_column_text(q, 4));
        snprintf(d->category, sizeof(d->category), "%s", billing_category_name(cat));
        if (billing_terms_parse(bj, &t, why, sizeof(why)) == LS_OK) {
            enum booking_status bs;
            int no_show = booking_status_parse((const char *)db_column_text(q, 10), &bs) == LS_OK &&
                          bs == BOOKING_NO_SHOW;
            if (billing_booking(&t, cat, (db_column_int64(q, 8) - db_column_int64(q, 7)) / 1000,
                                db_column_int64(q, 9), db_column_int64(q, 11), no_show, &d->c)) {
                ls_error("billing: the charge of booking %lld does not fit in 64 bits: not "
                         "charged",
                         (long long)d->booking_id);
                json_decref(bj);
                continue;
            }
            snprintf(d->description, sizeof(d->description), "%s %s booking %lld (%.100s)",
                     no_show ? "no-show of" : "use of", d->instrument, (long long)d->booking_id,
                     db_column_text(q, 12));
            (*n)++;
        }
        json_decref(bj);
    }
    db_reset(q);
    /* an error is not the end of the bookings: nothing is settled */
    return row < 0 ? LS_ERR_DB : LS_OK;
}

/* What each closed session of unbooked (badge) use should cost, appended to *v. */
static int desired_unbooked(struct store *st, struct desired **v, size_t *n, size_t *cap)
{
    struct db_stmt *q =
        store_stmt(st, "SELECT u.instrument, u.start_ms, u.end_ms, u.run_ms, u.samples, u.user_id,"
                       " coalesce(usr.org_id, 0), coalesce(o.type, ''), i.org_id,"
                       " " TERMS_AT("u.instrument",
                                    "u.start_ms") ", i.name"
                                                  " FROM usage u JOIN instruments i ON i.id = "
                                                  "u.instrument JOIN users usr ON usr.id ="
                                                  " u.user_id LEFT JOIN orgs o ON o.id = "
                                                  "usr.org_id WHERE u.attribution = 'badge' AND"
                                                  " u.open = 0");
    int row, oom = 0;

    if (!q)
        return LS_ERR_DB;
    while ((row = store_step_row(st, q, "unbooked use to charge")) > 0) {
        struct billing_terms t;
        char why[200];
        json_t *bj = ls_json_loads((const char *)db_column_text(q, 9), 0, NULL, &oom);
        struct desired *d = oom ? NULL : next_desired(v, n, cap);
        enum billing_category cat;

        /* terms that could not be read (out of memory) must not price the use at nothing */
        if (!d) {
            json_decref(bj);
            db_reset(q);
            return LS_ERR_NOMEM;
        }
        snprintf(d->instrument, sizeof(d->instrument), "%s", db_column_text(q, 0));
        snprintf(d->source, sizeof(d->source), "usage/%s/%lld", d->instrument,
                 (long long)db_column_int64(q, 1));
        d->at_ms = db_column_int64(q, 2);
        d->user_id = db_column_int64(q, 5);
        d->org_id = db_column_int64(q, 6);
        d->owner_org = db_column_int64(q, 8);
        cat = billing_category(d->org_id == d->owner_org, (const char *)db_column_text(q, 7));
        snprintf(d->category, sizeof(d->category), "%s", billing_category_name(cat));
        if (billing_terms_parse(bj, &t, why, sizeof(why)) == LS_OK) {
            if (billing_unbooked(&t, cat, db_column_int64(q, 3) / 1000, db_column_int64(q, 4),
                                 &d->c)) {
                ls_error("billing: the charge of %s does not fit in 64 bits: not charged",
                         d->source);
                json_decref(bj);
                continue;
            }
            snprintf(d->description, sizeof(d->description),
                     "use of %s without a booking (badge) (%.100s)", d->instrument,
                     db_column_text(q, 10));
            (*n)++;
        }
        json_decref(bj);
    }
    db_reset(q);
    return row < 0 ? LS_ERR_DB : LS_OK;
}

/* What each completed sample-testing order should cost (order.h), appended to *v: the samples
 * received and the metered work inside its bookings, at the orderer's category, on the terms in
 * force when it was accepted (the price the lab agreed to). */
static int desired_orders(struct store *st, struct desired **v, size_t *n, size_t *cap)
{
    struct db_stmt *q = store_stmt(
        st,
        "SELECT r.id, r.instrument, r.user_id, coalesce(u.org_id, 0), coalesce(o.type, ''),"
        " i.org_id, " TERMS_AT(
            "r.instrument",
            "coalesce(r.accepted_at, r.created_at)") ","
                                                     " r.completed_at, "
                                                     "coalesce(r.samples_received, 0), "
                                                     "coalesce((SELECT sum(us.run_ms)"
                                                     " FROM usage us JOIN bookings b ON b.id = "
                                                     "us.booking_id WHERE b.order_id = r.id), 0),"
                                                     " i.name FROM orders r JOIN instruments i ON "
                                                     "i.id = r.instrument JOIN users u ON"
                                                     " u.id = r.user_id LEFT JOIN orgs o ON o.id = "
                                                     "u.org_id WHERE r.status = 'completed'");
    int row, oom = 0;

    if (!q)
        return LS_ERR_DB;
    while ((row = store_step_row(st, q, "orders to charge")) > 0) {
        struct billing_terms t;
        char why[200];
        json_t *bj = ls_json_loads((const char *)db_column_text(q, 6), 0, NULL, &oom);
        struct desired *d = oom ? NULL : next_desired(v, n, cap);
        enum billing_category cat;
        int64_t id = db_column_int64(q, 0);

        if (!d) {
            json_decref(bj);
            db_reset(q);
            return LS_ERR_NOMEM;
        }
        snprintf(d->source, sizeof(d->source), "order/%lld", (long long)id);
        snprintf(d->instrument, sizeof(d->instrument), "%s", db_column_text(q, 1));
        d->user_id = db_column_int64(q, 2);
        d->org_id = db_column_int64(q, 3);
        d->owner_org = db_column_int64(q, 5);
        d->at_ms = db_column_int64(q, 7);
        cat = billing_category(d->org_id == d->owner_org, (const char *)db_column_text(q, 4));
        snprintf(d->category, sizeof(d->category), "%s", billing_category_name(cat));
        if (billing_terms_parse(bj, &t, why, sizeof(why)) == LS_OK) {
            if (order_charge(&t, cat, db_column_int64(q, 9) / 1000, db_column_int64(q, 8), &d->c)) {
                ls_error("billing: the charge of order %lld does not fit in 64 bits: not charged",
                         (long long)id);
                json_decref(bj);
                continue;
            }
            snprintf(d->description, sizeof(d->description),
                     "sample testing, order %lld: %lld samples on %.40s (%.80s)", (long long)id,
                     (long long)db_column_int64(q, 8), d->instrument, db_column_text(q, 10));
            (*n)++;
        }
        json_decref(bj);
    }
    db_reset(q);
    return row < 0 ? LS_ERR_DB : LS_OK;
}

/* Settle to nothing the sources charged before that cost nothing now (a no-show corrected, a
 * booking removed): every source of a charge line not among v (n, sorted by source). */
static int correct_gone(struct store *st, struct desired **by_source, size_t n, int64_t *added)
{
    struct db_stmt *qs = store_stmt(st, "SELECT DISTINCT source FROM charges");
    int rc = LS_OK, row = 0;

    if (!qs)
        return LS_ERR_DB;
    while (rc == LS_OK && (row = store_step_row(st, qs, "charged sources")) > 0) {
        struct desired key, *kp = &key;
        snprintf(key.source, sizeof(key.source), "%s", db_column_text(qs, 0));
        if (!bsearch(&kp, by_source, n, sizeof(*by_source), cmp_source)) {
            const char *src = key.source;
            struct desired z;
            struct db_stmt *qz = store_stmt(st, "SELECT org_id, coalesce(user_id, 0), instrument,"
                                                " coalesce(booking_id, 0), at_ms, category FROM"
                                                " charges WHERE source = ? ORDER BY id LIMIT 1");
            memset(&z, 0, sizeof(z));
            snprintf(z.source, sizeof(z.source), "%s", src);
            if (qz) {
                store_bind_text(qz, 1, src);
                int first = store_step_row(st, qz, "the first line of a source");
                if (first < 0)
                    rc = LS_ERR_DB;
                if (first > 0) {
                    z.org_id = db_column_int64(qz, 0);
                    z.user_id = db_column_int64(qz, 1);
                    snprintf(z.instrument, sizeof(z.instrument), "%s", db_column_text(qz, 2));
                    z.booking_id = db_column_int64(qz, 3);
                    z.at_ms = db_column_int64(qz, 4);
                    snprintf(z.category, sizeof(z.category), "%s", db_column_text(qz, 5));
                }
                db_reset(qz);
            }
            snprintf(z.description, sizeof(z.description), "correction: %s no longer charged", src);
            if (rc == LS_OK)
                rc = settle(st, &z, added);
        }
    }
    db_reset(qs);
    return rc == LS_OK && row < 0 ? LS_ERR_DB : rc;
}

int store_billing_sync(struct store *st, int64_t *added)
{
    struct desired *v = NULL, **by_source = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *added = 0;
    rc = desired_bookings(st, &v, &n, &cap);
    if (rc == LS_OK)
        rc = desired_unbooked(st, &v, &n, &cap);
    if (rc == LS_OK)
        rc = desired_orders(st, &v, &n, &cap);
    if (rc == LS_OK && n) /* qsort's array may not be NULL, even empty */
        qsort(v, n, sizeof(*v), cmp_at);
    for (size_t i = 0; rc == LS_OK && i < n; i++)
        rc = settle(st, &v[i], added);
    if (rc == LS_OK && !(by_source = malloc((n ? n : 1) * sizeof(*by_source))))
        rc = LS_ERR_NOMEM;
    if (rc == LS_OK) {
        for (size_t i = 0; i < n; i++)
            by_source[i] = &v[i];
        if (n)
            qsort(by_source, n, sizeof(*by_source), cmp_source);
        rc = correct_gone(st, by_source, n, added);
    }
    free(by_source);
    free(v);
    return rc;
}

#define CHARGE_COLUMNS                                                                             \
    "id, kind, source, org_id, coalesce(user_id, 0), instrument, coalesce(booking_id, 0), at_ms,"  \
    " month, category, minutes, rate, samples, sample_fee, amount, voucher, description"

static void charge_row(struct db_stmt *q, void *record)
{
    struct charge_line *c = record;

    c->id = db_column_int64(q, 0);
    c->kind = strcmp((const char *)db_column_text(q, 1), "adjustment") == 0 ? CHARGE_KIND_ADJUSTMENT
                                                                            : CHARGE_KIND_CHARGE;
    snprintf(c->source, sizeof(c->source), "%s", db_column_text(q, 2));
    c->org_id = db_column_int64(q, 3);
    c->user_id = db_column_int64(q, 4);
    snprintf(c->instrument, sizeof(c->instrument), "%s", db_column_text(q, 5));
    c->booking_id = db_column_int64(q, 6);
    c->at_ms = db_column_int64(q, 7);
    snprintf(c->month, sizeof(c->month), "%s", db_column_text(q, 8));
    snprintf(c->category, sizeof(c->category), "%s", db_column_text(q, 9));
    c->minutes = db_column_int64(q, 10);
    c->rate = db_column_int64(q, 11);
    c->samples = db_column_int64(q, 12);
    c->sample_fee = db_column_int64(q, 13);
    c->amount = db_column_int64(q, 14);
    c->voucher = db_column_int64(q, 15);
    snprintf(c->description, sizeof(c->description), "%s", db_column_text(q, 16));
}

int store_charges_list(struct store *st, const struct charge_filter *f, struct charge_line **items,
                       size_t *n, int64_t *total)
{
#define CHARGE_WHERE                                                                               \
    " FROM charges WHERE (?1 = 0 OR org_id = ?1) AND (?2 = 0 OR user_id = ?2) AND at_ms >= ?3"     \
    " AND at_ms < ?4 AND (?7 = 0 OR instrument IN (SELECT id FROM instruments WHERE org_id ="      \
    " ?7)) AND (?8 IS NULL OR instrument = ?8)"
    struct db_stmt *q = store_stmt(st, "SELECT " CHARGE_COLUMNS CHARGE_WHERE
                                       " ORDER BY month, at_ms, id LIMIT ?5 OFFSET ?6");
    struct db_stmt *c = store_stmt(st, "SELECT count(*)" CHARGE_WHERE);
    struct db_stmt *both[2] = {q, c};
    int rc;

    *items = NULL;
    *n = 0;
    if (!q || !c)
        return LS_ERR_DB;
    for (int k = 0; k < 2; k++) {
        db_bind_int64(both[k], 1, f->org_id > 0 ? f->org_id : 0);
        db_bind_int64(both[k], 2, f->user_id > 0 ? f->user_id : 0);
        db_bind_int64(both[k], 3, f->from_ms);
        db_bind_int64(both[k], 4, f->to_ms);
        db_bind_int64(both[k], 7, f->owner_org > 0 ? f->owner_org : 0);
        store_bind_text(both[k], 8, f->instrument);
    }
    db_bind_int64(q, 5, f->limit);
    db_bind_int64(q, 6, f->offset);
    rc = store_rows(st, q, "charges", sizeof(**items), charge_row, items, n);
    if (rc == LS_OK && store_int_one(st, c, total) == LS_ERR_DB) {
        free(*items);
        *items = NULL;
        *n = 0;
        rc = LS_ERR_DB;
    }
    return rc;
}

/* The payer's lines (org_id = ?1), or the owner's: the lines of charges on the organisation's
 * instruments. Two shapes, not one with a CASE: each is found by its index (charges_org_month,
 * charges_instrument_month) instead of reading every line of the platform (issue 15). */
#define PAYER_LINES " FROM charges WHERE org_id = ?1 AND month = ?2"
#define OWNER_LINES                                                                                \
    " FROM charges WHERE instrument IN (SELECT id FROM instruments WHERE org_id = ?1) AND"         \
    " month = ?2"

int store_statement(struct store *st, int64_t org_id, int owner, const char *month, int64_t limit,
                    int64_t offset, struct statement *out)
{
    struct db_stmt *q = owner ? store_stmt(st, "SELECT " CHARGE_COLUMNS OWNER_LINES
                                               " ORDER BY at_ms, id LIMIT ?3 OFFSET ?4")
                              : store_stmt(st, "SELECT " CHARGE_COLUMNS PAYER_LINES
                                               " ORDER BY at_ms, id LIMIT ?3 OFFSET ?4");
    struct db_stmt *t =
        owner ? store_stmt(st, "SELECT coalesce(sum(amount), 0), coalesce(sum(voucher), 0),"
                               " count(*)" OWNER_LINES)
              : store_stmt(st, "SELECT coalesce(sum(amount), 0), coalesce(sum(voucher), 0),"
                               " count(*)" PAYER_LINES);
    int rc;

    memset(out, 0, sizeof(*out));
    out->org_id = org_id;
    out->owner = owner;
    out->limit = limit;
    out->offset = offset;
    snprintf(out->month, sizeof(out->month), "%s", month);
    if (!q || !t)
        return LS_ERR_DB;
    db_bind_int64(q, 1, org_id);
    store_bind_text(q, 2, month);
    db_bind_int64(q, 3, limit);
    db_bind_int64(q, 4, offset);
    rc = store_rows(st, q, "statement", sizeof(*out->lines), charge_row, &out->lines, &out->nlines);
    if (rc)
        return rc;
    db_bind_int64(t, 1, org_id);
    store_bind_text(t, 2, month);
    /* totals of every line, whatever the page: one row always; none is an error, not a
     * statement of zero */
    if (store_step_row(st, t, "statement totals") != 1 ||
        store_month_closed(st, month, &out->closed) != LS_OK) {
        db_reset(t);
        statement_free(out);
        return LS_ERR_DB;
    }
    out->gross = db_column_int64(t, 0);
    out->voucher = db_column_int64(t, 1);
    out->lines_total = db_column_int64(t, 2);
    db_reset(t);
    return LS_OK;
}

void statement_free(struct statement *s)
{
    free(s->lines);
    s->lines = NULL;
    s->nlines = 0;
}

int store_charges_totals(struct store *st, int64_t *gross, int64_t *voucher)
{
    struct db_stmt *t = store_stmt(st, "SELECT coalesce(sum(amount), 0), coalesce(sum(voucher), 0)"
                                       " FROM charges");

    if (!t || store_step_row(st, t, "charge totals") != 1) {
        if (t)
            db_reset(t);
        return LS_ERR_DB;
    }
    *gross = db_column_int64(t, 0);
    *voucher = db_column_int64(t, 1);
    db_reset(t);
    return LS_OK;
}

int store_month_close(struct store *st, const char *month, const char *by)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO closed_months(month, closed_at, closed_by)"
                                       " VALUES(?, ?, ?)");

    int closed, rc;

    if (!q)
        return LS_ERR_DB;
    if ((rc = store_month_closed(st, month, &closed)))
        return rc;
    if (closed)
        return LS_ERR_CONFLICT;
    store_bind_text(q, 1, month);
    db_bind_int64(q, 2, ls_now_ms());
    store_bind_text(q, 3, by);
    return store_step_done(st, q);
}

int store_voucher_create(struct store *st, int64_t org_id, int64_t percent, int64_t cap,
                         const char *valid_from, const char *valid_to, int64_t *id)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO vouchers(org_id, percent, annual_cap,"
                                       " valid_from, valid_to, created_at) VALUES(?,?,?,?,?,?)");
    int rc;

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, org_id);
    db_bind_int64(q, 2, percent);
    db_bind_int64(q, 3, cap);
    store_bind_text(q, 4, valid_from);
    store_bind_text(q, 5, valid_to);
    db_bind_int64(q, 6, ls_now_ms());
    rc = store_step_done(st, q);
    if (rc == LS_OK)
        *id = db_last_insert_rowid(st->db);
    return rc;
}

#define VOUCHER_COLUMNS                                                                            \
    "id, org_id, percent, annual_cap, valid_from, valid_to, coalesce((SELECT sum(voucher) FROM"    \
    " charges c WHERE c.voucher_id = vouchers.id), 0)"

static void read_voucher(struct db_stmt *q, void *record)
{
    struct voucher *v = record;

    memset(v, 0, sizeof(*v));
    v->id = db_column_int64(q, 0);
    v->org_id = db_column_int64(q, 1);
    v->percent = db_column_int64(q, 2);
    v->annual_cap = db_column_int64(q, 3);
    snprintf(v->valid_from, sizeof(v->valid_from), "%s", db_column_text(q, 4));
    snprintf(v->valid_to, sizeof(v->valid_to), "%s", db_column_text(q, 5));
    v->used = db_column_int64(q, 6);
}

int store_voucher_list(struct store *st, struct voucher **items, size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT " VOUCHER_COLUMNS " FROM vouchers ORDER BY id");
    *items = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    return store_rows(st, q, "vouchers", sizeof(**items), read_voucher, items, n);
}

int store_voucher_get(struct store *st, int64_t id, struct voucher *v)
{
    return store_row_by_id(st,
                           store_stmt(st, "SELECT " VOUCHER_COLUMNS " FROM vouchers WHERE id = ?"),
                           id, "voucher", read_voucher, v);
}
