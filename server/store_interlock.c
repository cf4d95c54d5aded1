/* store_interlock.c - what the interlock service reads (bookings, outages, the meter's recent
 * activity) and keeps (the desired and reported relay states, the command version). */
#include "store.h"
#include "store_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* Rows of q (bound already) of three integers into an array of elem-sized records, each filled
 * by put(record, a, b, c). */
static int spans(struct db_stmt *q, void **out, size_t *n, size_t elem,
                 void (*put)(void *rec, int64_t a, int64_t b, int64_t c))
{
    char *v = NULL;
    size_t cnt = 0, cap = 0;
    int step;

    while ((step = db_step(q)) == DB_ROW) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char *nv = realloc(v, ncap * elem);
            if (!nv) {
                free(v);
                db_reset(q);
                return LS_ERR_NOMEM;
            }
            v = nv;
            cap = ncap;
        }
        put(v + cnt * elem, db_column_int64(q, 0), db_column_int64(q, 1), db_column_int64(q, 2));
        cnt++;
    }
    db_reset(q);
    if (step != DB_DONE) {
        free(v);
        return LS_ERR_DB;
    }
    *out = v;
    *n = cnt;
    return LS_OK;
}

static void put_booking(void *rec, int64_t a, int64_t b, int64_t c)
{
    struct booking_span *s = rec;

    s->id = a;
    s->start_ms = b;
    s->end_ms = c;
}

static void put_interval(void *rec, int64_t a, int64_t b, int64_t c)
{
    struct interval *s = rec;

    (void)c;
    s->start_ms = a;
    s->end_ms = b;
}

int store_confirmed_spans(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
                          struct booking_span **out, size_t *n)
{
    struct db_stmt *q = store_stmt(
        st, "SELECT id, start_ms, end_ms FROM bookings WHERE instrument = ?1"
            " AND status = 'confirmed' AND end_ms > ?2 AND start_ms < ?3" SQL_STARTS_NEAR(
                "", "?1", "?2") " ORDER BY start_ms");

    *out = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, store_near(from_ms));
    db_bind_int64(q, 3, to_ms);
    return spans(q, (void **)out, n, sizeof(**out), put_booking);
}

int store_outage_spans(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
                       struct interval **out, size_t *n)
{
    struct db_stmt *q =
        store_stmt(st, "SELECT start_ms, end_ms, 0 FROM outages WHERE instrument = ?"
                       " AND end_ms > ? AND start_ms < ? ORDER BY start_ms");

    *out = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, from_ms);
    db_bind_int64(q, 3, to_ms);
    return spans(q, (void **)out, n, sizeof(**out), put_interval);
}

int store_meter_activity(struct store *st, const char *instrument, int *running, int64_t *idle_at)
{
    enum ls_state state;
    int64_t ts;
    struct db_stmt *q;
    int rc = store_last_reading(st, instrument, &ts, &state), step;

    *running = 0;
    *idle_at = 0;
    if (rc == LS_ERR_NOTFOUND)
        return LS_OK;
    if (rc)
        return rc;
    *running = state == LS_STATE_RUNNING;
    q = store_stmt(st, "SELECT max(ts) FROM readings WHERE instrument = ? AND state != ?");
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int(q, 2, LS_STATE_RUNNING);
    step = db_step(q);
    if (step == DB_ROW)
        *idle_at = db_column_int64(q, 0);
    db_reset(q);
    return step == DB_ROW ? LS_OK : LS_ERR_DB;
}

int store_meter_badge_user(struct store *st, const char *instrument, int64_t *user_id)
{
    struct db_stmt *q = store_stmt(st, "SELECT coalesce(badge, 0), coalesce(badge_user, 0) FROM"
                                       " readings WHERE instrument = ? ORDER BY ts DESC LIMIT 1");
    int step;

    *user_id = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    step = db_step(q);
    if (step == DB_ROW && db_column_int64(q, 0) > 0)
        *user_id = db_column_int64(q, 1);
    db_reset(q);
    return step == DB_ROW || step == DB_DONE ? LS_OK : LS_ERR_DB;
}

int store_interlock_next_version(struct store *st, int64_t now_ms, int64_t *version)
{
    struct db_stmt *q = store_stmt(
        st, "INSERT INTO interlock_version(id, version) VALUES(1, ?1) ON CONFLICT(id) DO UPDATE"
            " SET version = " SQL_MAX2("interlock_version.version + 1", "?1") " RETURNING version");
    int step;

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, now_ms);
    step = db_step(q);
    if (step == DB_ROW)
        *version = db_column_int64(q, 0);
    while (step == DB_ROW)
        step = db_step(q);
    db_reset(q);
    return step == DB_DONE ? LS_OK : LS_ERR_DB;
}

int store_interlock_put(struct store *st, const struct interlock_row *r)
{
    struct db_stmt *q = store_stmt(
        st, "INSERT INTO interlock_state(instrument, gateway, mode, desired, reason, booking,"
            " until_ms, version, computed_at) VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(instrument)"
            " DO UPDATE SET gateway = excluded.gateway, mode = excluded.mode, desired ="
            " excluded.desired, reason = excluded.reason, booking = excluded.booking, until_ms ="
            " excluded.until_ms, version = excluded.version, computed_at = excluded.computed_at");

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, r->instrument);
    store_bind_text(q, 2, r->gateway[0] ? r->gateway : NULL);
    store_bind_text(q, 3, r->mode);
    db_bind_int(q, 4, r->desired);
    store_bind_text(q, 5, r->reason);
    if (r->booking)
        db_bind_int64(q, 6, r->booking);
    else
        db_bind_null(q, 6);
    if (r->until_ms != INT64_MAX)
        db_bind_int64(q, 7, r->until_ms);
    else
        db_bind_null(q, 7);
    db_bind_int64(q, 8, r->version);
    db_bind_int64(q, 9, r->computed_at);
    return store_write_rc(st, q);
}

int store_interlock_actual(struct store *st, const char *gateway, const char *instrument,
                           int actual, int64_t at_ms)
{
    struct db_stmt *q = store_stmt(st, "UPDATE interlock_state SET actual = ?, actual_at = ?"
                                       " WHERE instrument = ? AND gateway = ?");

    if (!q)
        return LS_ERR_DB;
    db_bind_int(q, 1, actual);
    db_bind_int64(q, 2, at_ms);
    store_bind_text(q, 3, instrument);
    store_bind_text(q, 4, gateway);
    return store_write_rc(st, q);
}

int store_interlock_faults(struct store *st, const char *gateway, char (*ids)[LS_ID_MAX],
                           char (*faults)[LS_FAULT_MAX], size_t n, int64_t at_ms)
{
    struct db_stmt *clear = store_stmt(st, "UPDATE interlock_state SET fault = NULL, fault_since ="
                                           " NULL WHERE gateway = ? AND fault IS NOT NULL");
    struct db_stmt *set =
        store_stmt(st, "UPDATE interlock_state SET fault = ?1, fault_since = coalesce(?4, ?3)"
                       " WHERE instrument = ?2 AND gateway = ?5");
    struct db_stmt *since =
        store_stmt(st, "SELECT fault_since FROM interlock_state WHERE instrument = ? AND"
                       " gateway = ? AND fault IS NOT NULL");
    int64_t *kept = NULL;
    int rc = LS_ERR_DB;

    if (!clear || !set || !since)
        return LS_ERR_DB;
    kept = calloc(n + 1, sizeof(*kept));
    if (!kept)
        return LS_ERR_NOMEM;
    /* a fault still reported keeps the time it was first reported */
    for (size_t i = 0; i < n; i++) {
        store_bind_text(since, 1, ids[i]);
        store_bind_text(since, 2, gateway);
        int step = db_step(since);
        if (step == DB_ROW)
            kept[i] = db_column_int64(since, 0);
        db_reset(since);
        if (step != DB_ROW && step != DB_DONE)
            goto out;
    }
    if (store_begin(st))
        goto out;
    store_bind_text(clear, 1, gateway);
    if (store_write_rc(st, clear))
        goto rollback;
    for (size_t i = 0; i < n; i++) {
        store_bind_text(set, 1, faults[i]);
        store_bind_text(set, 2, ids[i]);
        db_bind_int64(set, 3, at_ms);
        if (kept[i])
            db_bind_int64(set, 4, kept[i]);
        else
            db_bind_null(set, 4);
        store_bind_text(set, 5, gateway);
        if (store_write_rc(st, set))
            goto rollback;
    }
    rc = store_commit(st);
    goto out;
rollback:
    store_rollback(st);
out:
    free(kept);
    return rc;
}

int store_interlock_set_version(struct store *st, const char *gateway, int64_t version)
{
    struct db_stmt *q = store_stmt(st, "UPDATE interlock_state SET version = ? WHERE gateway = ?");

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, version);
    store_bind_text(q, 2, gateway);
    return store_write_rc(st, q);
}

int store_interlock_get(struct store *st, const char *instrument, struct interlock_row *out)
{
    struct db_stmt *q = store_stmt(
        st, "SELECT instrument, coalesce(gateway, ''), mode, desired, reason, coalesce(booking,"
            " 0), coalesce(until_ms, 9223372036854775807), coalesce(version, 0), computed_at,"
            " coalesce(actual, -1), coalesce(actual_at, 0), coalesce(fault, ''),"
            " coalesce(fault_since, 0) FROM interlock_state"
            " WHERE instrument = ?");
    int step;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    step = db_step(q);
    if (step == DB_ROW) {
        snprintf(out->instrument, sizeof(out->instrument), "%s", db_column_text(q, 0));
        snprintf(out->gateway, sizeof(out->gateway), "%s", db_column_text(q, 1));
        snprintf(out->mode, sizeof(out->mode), "%s", db_column_text(q, 2));
        out->desired = db_column_int(q, 3);
        snprintf(out->reason, sizeof(out->reason), "%s", db_column_text(q, 4));
        out->booking = db_column_int64(q, 5);
        out->until_ms = db_column_int64(q, 6);
        out->version = db_column_int64(q, 7);
        out->computed_at = db_column_int64(q, 8);
        out->actual = db_column_int(q, 9);
        out->actual_at = db_column_int64(q, 10);
        snprintf(out->fault, sizeof(out->fault), "%s", db_column_text(q, 11));
        out->fault_since = db_column_int64(q, 12);
    }
    db_reset(q);
    return step == DB_ROW ? LS_OK : step == DB_DONE ? LS_ERR_NOTFOUND : LS_ERR_DB;
}

int store_interlock_forget(struct store *st, const char *instrument)
{
    struct db_stmt *q = store_stmt(st, "DELETE FROM interlock_state WHERE instrument = ?");

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    return store_write_rc(st, q);
}
