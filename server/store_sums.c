/* store_sums.c - bookings and charges summed per instrument and local month (booking_months,
 * charge_months), kept in step with every write of a booking or a charge line: see store.h. */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollup.h"
#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* What one month of one instrument holds. */
struct month_sum {
    char instrument[LS_ID_MAX];
    int64_t month_ms;
    int64_t v[6]; /* bookings: booked_ms, ended, no_shows, rating_sum, rating_count; charges:
                     amount, voucher */
};

struct month_sums {
    struct month_sum *v;
    size_t n, cap;
};

/* The sum of (instrument, month) in s, made when missing. The rows come by instrument, so its
 * months are the last ones: the search goes back over them only. */
static struct month_sum *month_of(struct month_sums *s, const char *instrument, int64_t month)
{
    for (size_t i = s->n; i-- > 0 && strcmp(s->v[i].instrument, instrument) == 0;)
        if (s->v[i].month_ms == month)
            return &s->v[i];
    if (LS_GROW(s->v, s->cap, s->n + 1))
        return NULL;
    memset(&s->v[s->n], 0, sizeof(s->v[0]));
    snprintf(s->v[s->n].instrument, LS_ID_MAX, "%s", instrument);
    s->v[s->n].month_ms = month;
    return &s->v[s->n++];
}

/* What booking row (instrument, start, end, status, rating or NULL) gives each month, times sign:
 * as the live query of store_metrics.c counts it. */
static int booking_gives(struct month_sums *s, const char *instrument, int64_t start, int64_t end,
                         const char *status, int has_rating, int64_t rating, int sign)
{
    int holds = strcmp(status, "confirmed") == 0 || strcmp(status, "completed") == 0 ||
                strcmp(status, "no_show") == 0;
    int ended = strcmp(status, "completed") == 0 || strcmp(status, "no_show") == 0;
    struct month_sum *m;

    if (!holds)
        return LS_OK;
    for (int64_t mo = rollup_month_start(start); mo < end;) {
        int64_t next = rollup_month_start(mo + 32 * 86400000LL);
        int64_t a = start > mo ? start : mo, b = end < next ? end : next;
        if (!(m = month_of(s, instrument, mo)))
            return LS_ERR_NOMEM;
        m->v[0] += sign * (b - a);
        mo = next;
    }
    if (!(m = month_of(s, instrument, rollup_month_start(end))))
        return LS_ERR_NOMEM;
    m->v[1] += sign * ended;
    m->v[2] += sign * (strcmp(status, "no_show") == 0);
    m->v[3] += sign * (has_rating ? rating : 0);
    m->v[4] += sign * has_rating;
    return LS_OK;
}

#define BOOKING_ROW "SELECT instrument, start_ms, end_ms, status, rating FROM bookings"

static int by_key(const void *a, const void *b)
{
    const struct month_sum *x = a, *y = b;
    int c = strcmp(x->instrument, y->instrument);

    return c ? c : (x->month_ms > y->month_ms) - (x->month_ms < y->month_ms);
}

static int nonzero(const struct month_sum *m, int cols)
{
    int any = 0;

    for (int k = 0; k < cols; k++)
        any |= m->v[k] != 0;
    return any;
}

static int booking_row_gives(struct db_stmt *q, struct month_sums *s, int sign)
{
    return booking_gives(s, (const char *)db_column_text(q, 0), db_column_int64(q, 1),
                         db_column_int64(q, 2), (const char *)db_column_text(q, 3),
                         db_column_type(q, 4) != DB_NULL, db_column_int64(q, 4), sign);
}

/* Add s's changes to the stored month sums (of bookings or of charges). */
static int apply(struct store *st, const struct month_sums *s, int bookings)
{
    struct db_stmt *up =
        bookings ? store_stmt(st, "INSERT INTO booking_months VALUES(?, ?, ?, ?, ?, ?, ?)"
                                  " ON CONFLICT(instrument, month_ms) DO UPDATE SET"
                                  " booked_ms = booking_months.booked_ms + excluded.booked_ms,"
                                  " ended = booking_months.ended + excluded.ended,"
                                  " no_shows = booking_months.no_shows + excluded.no_shows,"
                                  " rating_sum = booking_months.rating_sum + excluded.rating_sum,"
                                  " rating_count = booking_months.rating_count +"
                                  " excluded.rating_count")
                 : store_stmt(st, "INSERT INTO charge_months VALUES(?, ?, ?, ?)"
                                  " ON CONFLICT(instrument, month_ms) DO UPDATE SET"
                                  " amount = charge_months.amount + excluded.amount,"
                                  " voucher = charge_months.voucher + excluded.voucher");
    int cols = bookings ? 5 : 2, rc = LS_OK;

    if (!up)
        return LS_ERR_DB;
    for (size_t i = 0; rc == LS_OK && i < s->n; i++) {
        if (!nonzero(&s->v[i], cols))
            continue;
        db_reset(up);
        store_bind_text(up, 1, s->v[i].instrument);
        db_bind_int64(up, 2, s->v[i].month_ms);
        for (int k = 0; k < cols; k++)
            db_bind_int64(up, 3 + k, s->v[i].v[k]);
        rc = store_step_done(st, up);
    }
    return rc;
}

int store_booking_sums(struct store *st, int64_t id, int sign)
{
    struct db_stmt *q = store_stmt(st, BOOKING_ROW " WHERE id = ?");
    struct month_sums s = {0};
    int rc = LS_OK, row;

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, id);
    if ((row = store_step_row(st, q, "a booking's sums")) > 0)
        rc = booking_row_gives(q, &s, sign);
    db_reset(q);
    if (row < 0)
        rc = LS_ERR_DB;
    if (rc == LS_OK)
        rc = apply(st, &s, 1);
    free(s.v);
    return rc;
}

int store_charge_sums(struct store *st, const char *instrument, int64_t at_ms, int64_t amount,
                      int64_t voucher, int sign)
{
    struct month_sums s = {0};
    struct month_sum *m = month_of(&s, instrument, rollup_month_start(at_ms));
    int rc = LS_ERR_NOMEM;

    if (m) {
        m->v[0] = sign * amount;
        m->v[1] = sign * voucher;
        rc = apply(st, &s, 0);
    }
    free(s.v);
    return rc;
}

/* Every booking's or charge line's sums, from the rows (q: all of them). */
static int recompute(struct store *st, struct db_stmt *q, int bookings, struct month_sums *s)
{
    int rc = LS_OK, row;

    while (rc == LS_OK && (row = store_step_row(st, q, "rows to sum")) > 0) {
        if (bookings) {
            rc = booking_row_gives(q, s, 1);
        } else {
            struct month_sum *m = month_of(s, (const char *)db_column_text(q, 0),
                                           rollup_month_start(db_column_int64(q, 1)));
            if (!m) {
                rc = LS_ERR_NOMEM;
                break;
            }
            m->v[0] += db_column_int64(q, 2);
            m->v[1] += db_column_int64(q, 3);
        }
    }
    db_reset(q);
    return rc == LS_OK && row < 0 ? LS_ERR_DB : rc;
}

/* How many stored months (q, by instrument and month) differ from s (sorted so): missing, extra
 * or other. */
static int compare(struct store *st, struct db_stmt *q, const struct month_sums *s, int cols,
                   int64_t *diffs)
{
    size_t i = 0;
    int row;

    while ((row = store_step_row(st, q, "stored month sums")) > 0) {
        struct month_sum got;
        int c = 1;
        memset(&got, 0, sizeof(got));
        snprintf(got.instrument, LS_ID_MAX, "%s", db_column_text(q, 0));
        got.month_ms = db_column_int64(q, 1);
        for (int k = 0; k < cols; k++)
            got.v[k] = db_column_int64(q, 2 + k);
        for (; i < s->n && (c = by_key(&s->v[i], &got)) < 0; i++)
            *diffs += nonzero(&s->v[i], cols); /* recomputed, not stored */
        if (i < s->n && c == 0) {
            *diffs += memcmp(got.v, s->v[i].v, sizeof(got.v)) != 0;
            i++;
        } else {
            *diffs += nonzero(&got, cols); /* stored, not given by the rows (a month emptied by a
                                              cancellation stays, at zero) */
        }
    }
    db_reset(q);
    for (; i < s->n; i++)
        *diffs += nonzero(&s->v[i], cols);
    return row < 0 ? LS_ERR_DB : LS_OK;
}

int store_month_sums_check(struct store *st, int replace, int64_t *rows, int64_t *diffs)
{
    struct db_stmt *qb = store_stmt(st, BOOKING_ROW " ORDER BY instrument");
    struct db_stmt *qc = store_stmt(st, "SELECT instrument, at_ms, amount, voucher FROM charges"
                                        " ORDER BY instrument");
    struct db_stmt *sb = store_stmt(st, "SELECT * FROM booking_months ORDER BY instrument,"
                                        " month_ms");
    struct db_stmt *sc = store_stmt(st, "SELECT * FROM charge_months ORDER BY instrument,"
                                        " month_ms");
    struct month_sums b = {0}, c = {0};
    int rc;

    *rows = *diffs = 0;
    if (!qb || !qc || !sb || !sc)
        return LS_ERR_DB;
    rc = recompute(st, qb, 1, &b);
    if (rc == LS_OK)
        rc = recompute(st, qc, 0, &c);
    if (rc == LS_OK) {
        if (b.n)
            qsort(b.v, b.n, sizeof(b.v[0]), by_key);
        if (c.n)
            qsort(c.v, c.n, sizeof(c.v[0]), by_key);
        rc = compare(st, sb, &b, 5, diffs);
    }
    if (rc == LS_OK)
        rc = compare(st, sc, &c, 2, diffs);
    *rows = (int64_t)(b.n + c.n);
    if (rc == LS_OK && replace) {
        rc = store_exec(st, "DELETE FROM booking_months; DELETE FROM charge_months");
        if (rc == LS_OK)
            rc = apply(st, &b, 1);
        if (rc == LS_OK)
            rc = apply(st, &c, 0);
    }
    free(b.v);
    free(c.v);
    return rc;
}
