/* store_orders.c - sample-testing orders and their results files (store.h). */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* The columns of an order, in read_order()'s order. */
#define ORDER_COLUMNS                                                                              \
    "o.id, o.instrument, o.user_id, o.samples, o.description, o.analysis, o.urgency, o.status,"    \
    " o.reason, coalesce(o.samples_received, -1), coalesce(o.accepted_at, 0),"                     \
    " coalesce(o.received_at, 0), coalesce(o.completed_at, 0), coalesce(o.handled_by, 0),"         \
    " o.created_at, o.updated_at, o.result_name, o.result_type, coalesce(o.result_size, -1),"      \
    " o.result_sha256, coalesce(o.result_at, 0)"

static void copy_text(char *dst, size_t len, struct db_stmt *q, int col)
{
    const unsigned char *t = db_column_text(q, col);

    snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static void read_order(struct db_stmt *q, void *record)
{
    struct order *o = record;

    memset(o, 0, sizeof(*o));
    o->id = db_column_int64(q, 0);
    copy_text(o->instrument, sizeof(o->instrument), q, 1);
    o->user_id = db_column_int64(q, 2);
    o->samples = db_column_int64(q, 3);
    copy_text(o->description, sizeof(o->description), q, 4);
    copy_text(o->analysis, sizeof(o->analysis), q, 5);
    o->urgent = db_column_text(q, 6) && strcmp((const char *)db_column_text(q, 6), "urgent") == 0;
    /* a status this server does not know reads as cancelled: charged nothing, changed never
     * (the schema's CHECK lets none in) */
    if (order_status_parse((const char *)db_column_text(q, 7), &o->status))
        o->status = ORDER_CANCELLED;
    o->has_reason = db_column_type(q, 8) != DB_NULL;
    copy_text(o->reason, sizeof(o->reason), q, 8);
    o->samples_received = db_column_int64(q, 9);
    o->accepted_at = db_column_int64(q, 10);
    o->received_at = db_column_int64(q, 11);
    o->completed_at = db_column_int64(q, 12);
    o->handled_by = db_column_int64(q, 13);
    o->created_at = db_column_int64(q, 14);
    o->updated_at = db_column_int64(q, 15);
    copy_text(o->result_name, sizeof(o->result_name), q, 16);
    copy_text(o->result_type, sizeof(o->result_type), q, 17);
    o->result_size = db_column_int64(q, 18);
    copy_text(o->result_sha256, sizeof(o->result_sha256), q, 19);
    o->result_at = db_column_int64(q, 20);
}

static void bind_opt(struct db_stmt *q, int col, int64_t v, int present)
{
    if (present)
        db_bind_int64(q, col, v);
    else
        db_bind_null(q, col);
}

int store_order_insert(struct store *st, struct order *o)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO orders(instrument, user_id, samples,"
                                       " description, analysis, urgency, status, created_at,"
                                       " updated_at) VALUES(?,?,?,?,?,?,?,?,?)");
    int rc;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, o->instrument);
    db_bind_int64(q, 2, o->user_id);
    db_bind_int64(q, 3, o->samples);
    store_bind_text(q, 4, o->description);
    store_bind_text(q, 5, o->analysis);
    store_bind_text(q, 6, o->urgent ? "urgent" : "normal");
    store_bind_text(q, 7, order_status_name(o->status));
    db_bind_int64(q, 8, o->created_at);
    db_bind_int64(q, 9, o->updated_at);
    rc = store_write_rc(st, q);
    if (rc == LS_OK)
        o->id = db_last_insert_rowid(st->db);
    return rc;
}

int store_order_get(struct store *st, int64_t id, struct order *o)
{
    return store_row_by_id(st,
                           store_stmt(st, "SELECT " ORDER_COLUMNS " FROM orders o WHERE o.id = ?"),
                           id, "order", read_order, o);
}

int store_order_update(struct store *st, const struct order *o)
{
    struct db_stmt *q = store_stmt(st, "UPDATE orders SET status = ?, reason = ?,"
                                       " samples_received = ?, accepted_at = ?, received_at = ?,"
                                       " completed_at = ?, handled_by = ?, updated_at = ?"
                                       " WHERE id = ?");

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, order_status_name(o->status));
    store_bind_text(q, 2, o->has_reason ? o->reason : NULL);
    bind_opt(q, 3, o->samples_received, o->samples_received >= 0);
    bind_opt(q, 4, o->accepted_at, o->accepted_at != 0);
    bind_opt(q, 5, o->received_at, o->received_at != 0);
    bind_opt(q, 6, o->completed_at, o->completed_at != 0);
    bind_opt(q, 7, o->handled_by, o->handled_by != 0);
    db_bind_int64(q, 8, o->updated_at);
    db_bind_int64(q, 9, o->id);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

int store_order_list(struct store *st, const struct order_filter *f, struct order **items,
                     size_t *n, int64_t *total)
{
#define ORDER_WHERE                                                                                \
    " FROM orders o JOIN instruments i ON i.id = o.instrument JOIN users u ON u.id = o.user_id"    \
    " WHERE (?1 = 0 OR o.user_id = ?1) AND (?2 = 0 OR i.org_id = ?2 OR u.org_id = ?2)"             \
    " AND (?3 IS NULL OR o.instrument = ?3) AND (?4 IS NULL OR o.status = ?4)"                     \
    " AND o.created_at >= ?5 AND o.created_at < ?6"
    struct db_stmt *q = store_stmt(st, "SELECT " ORDER_COLUMNS ORDER_WHERE
                                       " ORDER BY o.created_at DESC, o.id DESC LIMIT ?7 OFFSET ?8");
    struct db_stmt *c = store_stmt(st, "SELECT count(*)" ORDER_WHERE);
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
        store_bind_text(both[k], 4, f->has_status ? order_status_name(f->status) : NULL);
        db_bind_int64(both[k], 5, f->from_ms);
        db_bind_int64(both[k], 6, f->to_ms);
    }
    db_bind_int64(q, 7, f->limit);
    db_bind_int64(q, 8, f->offset);
    rc = store_rows(st, q, "orders", sizeof(**items), read_order, items, n);
    if (rc == LS_OK && store_int_one(st, c, total) != LS_OK)
        rc = LS_ERR_DB;
    if (rc) {
        free(*items);
        *items = NULL;
        *n = 0;
        return LS_ERR_DB;
    }
    return LS_OK;
#undef ORDER_WHERE
}

int store_order_result_put(struct store *st, int64_t id, const char *name, const char *type,
                           const void *body, size_t len, const char *sha256, int64_t at_ms)
{
    struct db_stmt *del = store_stmt(st, "DELETE FROM order_results WHERE order_id = ?");
    struct db_stmt *ins = store_stmt(st, "INSERT INTO order_results(order_id, body) VALUES(?, ?)");
    struct db_stmt *up = store_stmt(st, "UPDATE orders SET result_name = ?, result_type = ?,"
                                        " result_size = ?, result_sha256 = ?, result_at = ?,"
                                        " updated_at = ? WHERE id = ?");
    int rc;

    if (!del || !ins || !up)
        return LS_ERR_DB;
    if (len > (size_t)INT32_MAX)
        return LS_ERR_TOOBIG;
    db_bind_int64(del, 1, id);
    if ((rc = store_write_rc(st, del)))
        return rc;
    db_bind_int64(ins, 1, id);
    /* a zero-length blob must still be a blob, not NULL */
    db_bind_blob(ins, 2, len ? body : "", (int)len, DB_TRANSIENT);
    if ((rc = store_write_rc(st, ins)))
        return rc;
    store_bind_text(up, 1, name);
    store_bind_text(up, 2, type);
    db_bind_int64(up, 3, (int64_t)len);
    store_bind_text(up, 4, sha256);
    db_bind_int64(up, 5, at_ms);
    db_bind_int64(up, 6, at_ms);
    db_bind_int64(up, 7, id);
    return store_write_one(st, up, LS_ERR_NOTFOUND);
}

int store_order_result_get(struct store *st, int64_t id, void **body, size_t *len)
{
    struct db_stmt *q = store_stmt(st, "SELECT body FROM order_results WHERE order_id = ?");
    int row;

    *body = NULL;
    *len = 0;
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, id);
    row = store_step_row(st, q, "an order's results");
    if (row > 0) {
        const void *b = db_column_blob(q, 0);
        int n = db_column_bytes(q, 0);
        *len = n > 0 ? (size_t)n : 0;
        *body = malloc(*len ? *len : 1);
        if (*body && *len)
            memcpy(*body, b, *len);
    }
    db_reset(q);
    if (row < 0)
        return LS_ERR_DB;
    if (row == 0)
        return LS_ERR_NOTFOUND;
    return *body ? LS_OK : LS_ERR_NOMEM;
}

int store_order_work(struct store *st, int64_t id, int64_t now_ms, struct order_work *w)
{
    struct db_stmt *q = store_stmt(
        st, "SELECT coalesce((SELECT sum(u.run_ms) FROM usage u JOIN bookings b ON b.id ="
            " u.booking_id WHERE b.order_id = ?1), 0), (SELECT count(*) FROM bookings WHERE"
            " order_id = ?1 AND status IN ('pending','confirmed','completed','no_show')),"
            " coalesce((SELECT min(id) FROM bookings WHERE order_id = ?1 AND status IN"
            " ('pending','confirmed') AND end_ms > ?2), 0)");
    int row;

    memset(w, 0, sizeof(*w));
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, id);
    db_bind_int64(q, 2, now_ms);
    row = store_step_row(st, q, "an order's work");
    if (row > 0) {
        w->metered_ms = db_column_int64(q, 0);
        w->bookings = db_column_int64(q, 1);
        w->unfinished = db_column_int64(q, 2);
    }
    db_reset(q);
    return row > 0 ? LS_OK : LS_ERR_DB;
}

int store_order_open_bookings(struct store *st, int64_t id, int64_t now_ms, int64_t **ids,
                              size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT id FROM bookings WHERE order_id = ? AND status IN"
                                       " ('pending','confirmed') AND end_ms > ? ORDER BY id");
    size_t cap = 0;
    int row;

    *ids = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, id);
    db_bind_int64(q, 2, now_ms);
    while ((row = store_step_row(st, q, "an order's bookings")) > 0) {
        if (LS_GROW(*ids, cap, *n + 1)) {
            db_reset(q);
            free(*ids);
            *ids = NULL;
            *n = 0;
            return LS_ERR_NOMEM;
        }
        (*ids)[(*n)++] = db_column_int64(q, 0);
    }
    db_reset(q);
    if (row < 0) {
        free(*ids);
        *ids = NULL;
        *n = 0;
        return LS_ERR_DB;
    }
    return LS_OK;
}
