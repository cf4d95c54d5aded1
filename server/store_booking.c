/* store_booking.c - bookings and outages (store.h). */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/num.h"
#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* --- Bookings ----------------------------------------------------------------------------- */

/* The columns of a booking_view, in read_view()'s order (b: bookings, u: users, o: orgs). */
#define BOOKING_COLUMNS                                                                            \
    "b.id, b.instrument, b.user_id, b.project, b.start_ms, b.end_ms, b.status, b.reason,"          \
    " b.metered_seconds, b.created_by, b.created_at, coalesce(b.rating, 0), b.comment,"            \
    " u.username, u.display_name, coalesce(u.org_id, 0), coalesce(o.name, ''),"                    \
    " coalesce(o.type, ''), coalesce(b.order_id, 0)"
#define BOOKING_FROM                                                                               \
    " FROM bookings b JOIN users u ON u.id = b.user_id LEFT JOIN orgs o ON o.id = u.org_id"

static void copy_text(char *dst, size_t len, struct db_stmt *q, int col)
{
    const unsigned char *t = db_column_text(q, col);

    snprintf(dst, len, "%s", t ? (const char *)t : "");
}

/* The row q is on (BOOKING_COLUMNS) into *v. */
static void read_view(struct db_stmt *q, void *record)
{
    struct booking_view *v = record;

    struct booking *b = &v->b;

    memset(v, 0, sizeof(*v));
    b->id = db_column_int64(q, 0);
    copy_text(b->instrument, sizeof(b->instrument), q, 1);
    b->user_id = db_column_int64(q, 2);
    copy_text(b->project, sizeof(b->project), q, 3);
    b->start_ms = db_column_int64(q, 4);
    b->end_ms = db_column_int64(q, 5);
    /* a status this server does not know reads as cancelled: it holds no slot and is charged
     * nothing (the schema's CHECK lets none in) */
    if (booking_status_parse((const char *)db_column_text(q, 6), &b->status))
        b->status = BOOKING_CANCELLED;
    b->has_reason = db_column_type(q, 7) != DB_NULL;
    copy_text(b->reason, sizeof(b->reason), q, 7);
    b->metered_seconds = db_column_int64(q, 8);
    b->created_by = db_column_int64(q, 9);
    b->created_at = db_column_int64(q, 10);
    b->rating = db_column_int(q, 11);
    b->has_comment = db_column_type(q, 12) != DB_NULL;
    copy_text(b->comment, sizeof(b->comment), q, 12);
    copy_text(v->requester.username, sizeof(v->requester.username), q, 13);
    copy_text(v->requester.display_name, sizeof(v->requester.display_name), q, 14);
    v->requester.org_id = db_column_int64(q, 15);
    copy_text(v->requester.org, sizeof(v->requester.org), q, 16);
    copy_text(v->requester.org_type, sizeof(v->requester.org_type), q, 17);
    b->order_id = db_column_int64(q, 18);
}

int store_booking_overlap(struct store *st, const char *instrument, int64_t start_ms,
                          int64_t end_ms, int64_t exclude_id, int64_t *conflict)
{
    struct db_stmt *q =
        store_stmt(st, "SELECT id FROM bookings WHERE instrument = ?1 AND"
                       " status IN ('pending','confirmed') AND start_ms < ?2"
                       " AND end_ms > ?3" SQL_STARTS_NEAR(
                           "", "?1", "?3") " AND id <> ?4 ORDER BY start_ms LIMIT 1");
    int rc;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, end_ms);
    db_bind_int64(q, 3, store_near(start_ms));
    db_bind_int64(q, 4, exclude_id);
    rc = store_int_one(st, q, conflict);
    if (rc == LS_ERR_NOTFOUND)
        return LS_OK;
    return rc == LS_OK ? LS_ERR_CONFLICT : rc;
}

int store_booking_insert(struct store *st, struct booking *b)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO bookings(instrument, user_id, project,"
                                       " start_ms, end_ms, status, reason, created_by, created_at,"
                                       " order_id) VALUES(?,?,?,?,?,?,?,?,?,?)");
    int rc;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, b->instrument);
    db_bind_int64(q, 2, b->user_id);
    store_bind_text(q, 3, b->project);
    db_bind_int64(q, 4, b->start_ms);
    db_bind_int64(q, 5, b->end_ms);
    store_bind_text(q, 6, booking_status_name(b->status));
    store_bind_text(q, 7, b->reason[0] ? b->reason : NULL);
    db_bind_int64(q, 8, b->created_by);
    db_bind_int64(q, 9, b->created_at);
    if (b->order_id)
        db_bind_int64(q, 10, b->order_id);
    else
        db_bind_null(q, 10);
    rc = store_write_rc(st, q);
    if (rc == LS_OK)
        b->id = db_last_insert_rowid(st->db);
    if (rc == LS_OK)
        rc = store_booking_sums(st, b->id, 1);
    return rc;
}

int store_booking_view(struct store *st, int64_t id, struct booking_view *v)
{
    return store_row_by_id(st,
                           store_stmt(st, "SELECT " BOOKING_COLUMNS BOOKING_FROM " WHERE b.id = ?"),
                           id, "booking", read_view, v);
}

int store_booking_get(struct store *st, int64_t id, struct booking *b)
{
    struct booking_view v;
    int rc = store_booking_view(st, id, &v);

    if (rc == LS_OK)
        *b = v.b;
    return rc;
}

int store_booking_set_status(struct store *st, int64_t id, enum booking_status status,
                             const char *reason)
{
    struct db_stmt *q = store_stmt(st, "UPDATE bookings SET status = ?, reason = ? WHERE id = ?");

    int rc;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, booking_status_name(status));
    store_bind_text(q, 2, reason);
    db_bind_int64(q, 3, id);
    rc = store_booking_sums(st, id, -1);
    if (rc == LS_OK)
        rc = store_write_rc(st, q);
    return rc == LS_OK ? store_booking_sums(st, id, 1) : rc;
}

int store_booking_rate(struct store *st, int64_t id, int score, const char *comment)
{
    struct db_stmt *q = store_stmt(st, "UPDATE bookings SET rating = ?, comment = ? WHERE id = ?");

    int rc;

    if (!q)
        return LS_ERR_DB;
    db_bind_int(q, 1, score);
    store_bind_text(q, 2, comment);
    db_bind_int64(q, 3, id);
    rc = store_booking_sums(st, id, -1);
    if (rc == LS_OK)
        rc = store_write_rc(st, q);
    return rc == LS_OK ? store_booking_sums(st, id, 1) : rc;
}

int store_booking_future_count(struct store *st, int64_t user_id, int64_t now_ms, int64_t cap,
                               int64_t *n)
{
    struct db_stmt *q =
        store_stmt(st, "SELECT count(*) FROM (SELECT 1 FROM bookings WHERE user_id = ? AND"
                       " status IN ('pending','confirmed') AND end_ms > ? LIMIT ?) AS f");

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, user_id);
    db_bind_int64(q, 2, now_ms);
    db_bind_int64(q, 3, cap);
    return store_int_one(st, q, n);
}

int store_booking_list(struct store *st, const struct booking_filter *f,
                       struct booking_view **items, size_t *n, int64_t *total)
{
#define BOOKING_WHERE                                                                              \
    " JOIN instruments i ON i.id = b.instrument WHERE (?1 = 0 OR b.user_id = ?1) AND (?2 = 0 OR"   \
    " i.org_id = ?2) AND (?3 IS NULL OR b.instrument = ?3) AND b.end_ms > ?4 AND b.start_ms < ?5"  \
    " AND (?8 IS NULL OR b.status = ?8) AND (?9 = 0 OR u.org_id = ?9)"
    struct db_stmt *q = store_stmt(st, "SELECT " BOOKING_COLUMNS BOOKING_FROM BOOKING_WHERE
                                       " ORDER BY b.start_ms, b.id LIMIT ?6 OFFSET ?7");
    struct db_stmt *c = store_stmt(st, "SELECT count(*)" BOOKING_FROM BOOKING_WHERE);
    struct db_stmt *both[2] = {q, c};
    int rc;

    *items = NULL;
    *n = 0;
    if (!q || !c)
        return LS_ERR_DB;
    for (int k = 0; k < 2; k++) {
        db_bind_int64(both[k], 1, f->user_id > 0 ? f->user_id : 0);
        db_bind_int64(both[k], 2, f->org_id > 0 ? f->org_id : 0);
        store_bind_text(both[k], 3, f->instrument);
        db_bind_int64(both[k], 4, f->from_ms);
        db_bind_int64(both[k], 5, f->to_ms);
        store_bind_text(both[k], 8, f->has_status ? booking_status_name(f->status) : NULL);
        db_bind_int64(both[k], 9, f->user_org > 0 ? f->user_org : 0);
    }
    db_bind_int64(q, 6, f->limit);
    db_bind_int64(q, 7, f->offset);
    rc = store_rows(st, q, "bookings", sizeof(**items), read_view, items, n);
    if (rc == LS_OK && store_int_one(st, c, total) != LS_OK)
        rc = LS_ERR_DB;
    if (rc) {
        free(*items);
        *items = NULL;
        *n = 0;
        return LS_ERR_DB;
    }
    return LS_OK;
}

int store_busy(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
               struct interval **out, size_t *n)
{
    struct db_stmt *q = store_stmt(
        st,
        "SELECT start_ms, end_ms FROM bookings WHERE instrument = ?1 AND status IN"
        " ('pending','confirmed') AND end_ms > ?2 AND start_ms < ?3" SQL_STARTS_NEAR(
            "", "?1",
            "?2") " UNION ALL"
                  " SELECT start_ms, end_ms FROM outages WHERE instrument = ?1 AND end_ms > ?2 AND"
                  " start_ms < ?3 ORDER BY 1");
    struct interval *v = NULL;
    size_t cnt = 0, cap = 0;
    int step;

    *out = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, store_near(from_ms));
    db_bind_int64(q, 3, to_ms);
    while ((step = db_step(q)) == DB_ROW) {
        if (LS_GROW(v, cap, cnt + 1)) {
            free(v);
            db_reset(q);
            return LS_ERR_NOMEM;
        }
        v[cnt].start_ms = db_column_int64(q, 0);
        v[cnt++].end_ms = db_column_int64(q, 1);
    }
    db_reset(q);
    if (step != DB_DONE) {
        free(v);
        return store_db_fail(st, "busy");
    }
    *out = v;
    *n = cnt;
    return LS_OK;
}

/* --- Outages ------------------------------------------------------------------------------ */

#define OUTAGE_COLUMNS "id, instrument, start_ms, end_ms, kind, note, created_by"

static void read_outage(struct db_stmt *q, void *record)
{
    struct outage *o = record;

    memset(o, 0, sizeof(*o));
    o->id = db_column_int64(q, 0);
    copy_text(o->instrument, sizeof(o->instrument), q, 1);
    o->start_ms = db_column_int64(q, 2);
    o->end_ms = db_column_int64(q, 3);
    copy_text(o->kind, sizeof(o->kind), q, 4);
    copy_text(o->note, sizeof(o->note), q, 5);
    o->created_by = db_column_int64(q, 6);
}

int store_outage_insert(struct store *st, const char *instrument, int64_t start_ms, int64_t end_ms,
                        const char *kind, const char *note, int64_t by, int64_t *id)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO outages(instrument, start_ms, end_ms, kind,"
                                       " note, created_by, created_at) VALUES(?,?,?,?,?,?,?)");
    int rc;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, start_ms);
    db_bind_int64(q, 3, end_ms);
    store_bind_text(q, 4, kind);
    store_bind_text(q, 5, note ? note : "");
    db_bind_int64(q, 6, by);
    db_bind_int64(q, 7, ls_now_ms());
    rc = store_write_rc(st, q);
    if (rc == LS_OK)
        *id = db_last_insert_rowid(st->db);
    return rc;
}

int store_outage_update(struct store *st, int64_t id, int64_t start_ms, int64_t end_ms,
                        const char *kind, const char *note)
{
    struct db_stmt *q = store_stmt(st, "UPDATE outages SET start_ms = ?, end_ms = ?, kind = ?,"
                                       " note = ? WHERE id = ?");

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, start_ms);
    db_bind_int64(q, 2, end_ms);
    store_bind_text(q, 3, kind);
    store_bind_text(q, 4, note ? note : "");
    db_bind_int64(q, 5, id);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

int store_outage_delete(struct store *st, int64_t id)
{
    struct db_stmt *q = store_stmt(st, "DELETE FROM outages WHERE id = ?");

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, id);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

int store_outage_get(struct store *st, int64_t id, struct outage *o)
{
    return store_row_by_id(st,
                           store_stmt(st, "SELECT " OUTAGE_COLUMNS " FROM outages WHERE id = ?"),
                           id, "outage", read_outage, o);
}

int store_outage_list(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
                      struct outage **items, size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT " OUTAGE_COLUMNS " FROM outages WHERE instrument = ?"
                                       " AND end_ms > ? AND start_ms < ? ORDER BY start_ms");
    *items = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, from_ms);
    db_bind_int64(q, 3, to_ms);
    return store_rows(st, q, "outages", sizeof(**items), read_outage, items, n);
}

int store_outage_cancel_bookings(struct store *st, const char *instrument, int64_t start_ms,
                                 int64_t end_ms, int64_t **ids, size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT id FROM bookings WHERE instrument = ?1 AND status"
                                       " IN ('pending','confirmed') AND start_ms < ?2 AND end_ms >"
                                       " ?3" SQL_STARTS_NEAR("", "?1", "?3"));
    int64_t *v = NULL;
    size_t cnt = 0, cap = 0;
    int step;

    *ids = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, end_ms);
    db_bind_int64(q, 3, store_near(start_ms));
    while ((step = db_step(q)) == DB_ROW) {
        if (LS_GROW(v, cap, cnt + 1)) {
            free(v);
            db_reset(q);
            return LS_ERR_NOMEM;
        }
        v[cnt++] = db_column_int64(q, 0);
    }
    db_reset(q);
    if (step != DB_DONE) {
        free(v);
        return store_db_fail(st, "outage bookings");
    }
    for (size_t i = 0; i < cnt; i++) {
        if (store_booking_set_status(st, v[i], BOOKING_CANCELLED, "outage")) {
            free(v);
            return LS_ERR_DB;
        }
    }
    *ids = v;
    *n = cnt;
    return LS_OK;
}
