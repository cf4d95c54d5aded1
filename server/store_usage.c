/* store_usage.c - usage derived from readings, kept up to date incrementally (store.h). */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollup.h"
#include "usage.h"
#include "labshare/num.h"
#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

int store_usage_readings(struct store *st, const char *instrument, int64_t from, int64_t to,
                         struct usage_reading **out, size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT ts, state, run_seconds, energy_wh, samples, badge,"
                                       " coalesce(badge_user, -1)"
                                       " FROM readings WHERE instrument = ? AND ts >= ? AND ts < ?"
                                       " ORDER BY ts, gateway, epoch, seq");
    struct usage_reading *v = NULL;
    size_t cnt = 0, cap = 0;
    int step;

    *out = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, from);
    db_bind_int64(q, 3, to);
    while ((step = db_step(q)) == DB_ROW) {
        struct usage_reading *r;
        if (LS_GROW(v, cap, cnt + 1)) {
            free(v);
            db_reset(q);
            return LS_ERR_NOMEM;
        }
        r = &v[cnt++];
        memset(r, 0, sizeof(*r));
        r->ts = db_column_int64(q, 0);
        r->state = (enum ls_state)db_column_int(q, 1);
        if (db_column_type(q, 2) != DB_NULL) {
            r->run_seconds = db_column_int64(q, 2);
            r->has |= LS_HAS_RUN_SECONDS;
        }
        if (db_column_type(q, 3) != DB_NULL) {
            r->energy_wh = db_column_int64(q, 3);
            r->has |= LS_HAS_ENERGY_WH;
        }
        if (db_column_type(q, 4) != DB_NULL) {
            r->samples = db_column_int64(q, 4);
            r->has |= LS_HAS_SAMPLES;
        }
        if (db_column_type(q, 5) != DB_NULL) {
            r->badge = db_column_int64(q, 5);
            r->has |= LS_HAS_BADGE;
        }
        r->badge_user = db_column_int64(q, 6);
    }
    db_reset(q);
    if (step != DB_DONE) {
        free(v);
        return store_db_fail(st, "usage readings");
    }
    *out = v;
    *n = cnt;
    return LS_OK;
}

/* Readings of instrument with ts >= from, in order. */
static int load_readings(struct store *st, const char *instrument, int64_t from,
                         struct usage_reading **out, size_t *n)
{
    return store_usage_readings(st, instrument, from, INT64_MAX, out, n);
}

/* The parts of session s: bookings that count (confirmed, or ended as completed or no-show)
 * and the badge's user as it was when the session's readings arrived (SPEC 6: a later change of
 * badges does not rewrite history); only readings stored before that was recorded fall back
 * to the badge's user now. */
static int split_session(struct store *st, const char *instrument, const struct usage_session *s,
                         struct usage_part **parts, size_t *nparts)
{
    struct db_stmt *qb =
        store_stmt(st, "SELECT id, user_id, start_ms, end_ms FROM bookings WHERE"
                       " instrument = ?1 AND status IN ('confirmed','completed',"
                       "'no_show') AND start_ms < ?2 AND end_ms > ?3" SQL_STARTS_NEAR(
                           "", "?1", "?3") " ORDER BY start_ms");
    struct db_stmt *qu = store_stmt(st, "SELECT id FROM users WHERE badge = ?");
    struct usage_booking b[64];
    size_t nb = 0;
    int64_t badge_user = 0;
    int row = 0;

    if (!qb || !qu)
        return LS_ERR_DB;
    store_bind_text(qb, 1, instrument);
    db_bind_int64(qb, 2, s->end_ms > s->start_ms ? s->end_ms : s->start_ms + 1);
    db_bind_int64(qb, 3, store_near(s->start_ms));
    while (nb < sizeof(b) / sizeof(b[0]) &&
           (row = store_step_row(st, qb, "the bookings of a session")) > 0) {
        b[nb].id = db_column_int64(qb, 0);
        b[nb].user_id = db_column_int64(qb, 1);
        b[nb].start_ms = db_column_int64(qb, 2);
        b[nb].end_ms = db_column_int64(qb, 3);
        nb++;
    }
    db_reset(qb);
    if (row < 0)
        return LS_ERR_DB; /* not "no booking": the session would be counted as unbooked use */
    if (s->badge > 0 && s->badge_user >= 0) {
        badge_user = s->badge_user;
    } else if (s->badge > 0) {
        db_bind_int64(qu, 1, s->badge);
        row = store_int_one(st, qu, &badge_user);
        if (row == LS_ERR_NOTFOUND)
            badge_user = 0; /* a badge nobody holds */
        else if (row)
            return row;
    }
    return usage_split(s, b, nb, badge_user, parts, nparts);
}

static int insert_parts(struct store *st, const char *instrument, const struct usage_session *s,
                        const struct usage_part *p, size_t n)
{
    /* external: the user is of another organisation than the owner, now (it stays so) */
    struct db_stmt *q = store_stmt(
        st, "INSERT INTO usage(instrument, session_start, session_end, open, start_ms, end_ms,"
            " run_ms, energy_wh, samples, badge, user_id, booking_id, attribution, external)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13, coalesce((SELECT 1 FROM users"
            " usr JOIN instruments i ON i.id = ?1 WHERE usr.id = ?11 AND usr.org_id IS NOT NULL"
            " AND usr.org_id <> i.org_id), 0))");

    if (!q)
        return LS_ERR_DB;
    for (size_t i = 0; i < n; i++) {
        db_reset(q);
        store_bind_text(q, 1, instrument);
        db_bind_int64(q, 2, s->start_ms);
        db_bind_int64(q, 3, s->end_ms);
        db_bind_int(q, 4, s->open);
        db_bind_int64(q, 5, p[i].start_ms);
        db_bind_int64(q, 6, p[i].end_ms);
        db_bind_int64(q, 7, p[i].run_ms);
        db_bind_int64(q, 8, p[i].energy_wh);
        db_bind_int64(q, 9, p[i].samples);
        if (s->badge > 0)
            db_bind_int64(q, 10, s->badge);
        else
            db_bind_null(q, 10);
        if (p[i].user_id > 0)
            db_bind_int64(q, 11, p[i].user_id);
        else
            db_bind_null(q, 11);
        if (p[i].attribution == USAGE_BOOKING)
            db_bind_int64(q, 12, p[i].booking_id);
        else
            db_bind_null(q, 12);
        store_bind_text(q, 13, usage_attribution_name(p[i].attribution));
        if (store_step_done(st, q))
            return LS_ERR_DB;
    }
    return LS_OK;
}

/* Add (sign 1) or take away (-1) what the instrument's parts of sessions starting at since or
 * later give each day. */
static int part_days(struct store *st, const char *instrument, int64_t since, int sign,
                     struct day_sums *d)
{
    struct db_stmt *q =
        store_stmt(st, "SELECT start_ms, end_ms, run_ms, external, " SQL_IF1(
                           "attribution = 'booking'") " FROM usage WHERE"
                                                      " instrument = ? AND session_start >= ?");
    int rc = LS_OK, row;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, since);
    while (rc == LS_OK && (row = store_step_row(st, q, "usage per day")) > 0)
        rc = day_sums_add(d, db_column_int64(q, 0), db_column_int64(q, 1), db_column_int64(q, 2),
                          db_column_int64(q, 3) != 0, db_column_int64(q, 4) != 0, sign);
    db_reset(q);
    return rc == LS_OK && row < 0 ? LS_ERR_DB : rc;
}

/* Add the changes d holds to the instrument's stored sums (up: the upsert); a period left with
 * nothing goes (empty: the delete). */
static int apply_sums(struct store *st, const char *instrument, const struct day_sums *d,
                      struct db_stmt *up, struct db_stmt *empty)
{
    int rc = LS_OK, lower = 0;

    if (!up || !empty)
        return LS_ERR_DB;
    for (size_t i = 0; rc == LS_OK && i < d->n; i++) {
        const struct day_sum *s = &d->v[i];
        if (!s->effective_ms && !s->external_ms && !s->inside_ms)
            continue; /* most refreshes change a day or two of those they take away and add */
        lower |= s->effective_ms < 0 || s->external_ms < 0 || s->inside_ms < 0;
        db_reset(up);
        store_bind_text(up, 1, instrument);
        db_bind_int64(up, 2, s->day_ms);
        db_bind_int64(up, 3, s->effective_ms);
        db_bind_int64(up, 4, s->external_ms);
        db_bind_int64(up, 5, s->inside_ms);
        rc = store_step_done(st, up);
    }
    if (rc == LS_OK && lower) { /* only what was lowered can be left with nothing */
        store_bind_text(empty, 1, instrument);
        db_bind_int64(empty, 2, d->v[0].day_ms);
        db_bind_int64(empty, 3, d->v[d->n - 1].day_ms);
        rc = store_step_done(st, empty);
    }
    return rc;
}

#define SUMS_UPSERT(table, key)                                                                    \
    "INSERT INTO " table " VALUES(?, ?, ?, ?, ?) ON CONFLICT(instrument, " key ") DO UPDATE SET"   \
    " effective_ms = " table ".effective_ms + excluded.effective_ms,"                              \
    " external_ms = " table ".external_ms + excluded.external_ms,"                                 \
    " inside_ms = " table ".inside_ms + excluded.inside_ms"
#define SUMS_EMPTY(table, key)                                                                     \
    "DELETE FROM " table " WHERE instrument = ? AND " key " >= ? AND " key " <= ? AND"             \
    " effective_ms = 0 AND external_ms = 0 AND inside_ms = 0"

/* Add the day changes d holds to the instrument's days and months. */
static int apply_days(struct store *st, const char *instrument, const struct day_sums *d)
{
    struct day_sums months = {0};
    int rc = day_sums_months(d, &months);

    if (rc == LS_OK)
        rc = apply_sums(st, instrument, d, store_stmt(st, SUMS_UPSERT("usage_days", "day_ms")),
                        store_stmt(st, SUMS_EMPTY("usage_days", "day_ms")));
    if (rc == LS_OK)
        rc = apply_sums(st, instrument, &months,
                        store_stmt(st, SUMS_UPSERT("usage_months", "month_ms")),
                        store_stmt(st, SUMS_EMPTY("usage_months", "month_ms")));
    day_sums_free(&months);
    return rc;
}

/* Metered seconds of the bookings from since on, and completed / no_show for those that ended
 * before the newest reading (the evidence is in). A booking that starts after the newest reading
 * and after now is skipped: no session reaches it (a session ends at a reading), it has not
 * ended, and it never had metered seconds (readings are kept, so the newest only grows); so a
 * booking far ahead does not make each refresh walk the bookings between. */
static int settle_bookings(struct store *st, const char *instrument, int64_t since,
                           int64_t no_show_min_run_s)
{
    struct db_stmt *newest = store_stmt(st, "SELECT max(ts) FROM readings WHERE instrument = ?");
    struct db_stmt *q = store_stmt(
        st, "SELECT b.id, b.status, b.end_ms, coalesce((SELECT sum(run_ms) FROM usage u WHERE"
            " u.booking_id = b.id), 0) / 1000, b.metered_seconds FROM bookings b WHERE"
            " b.instrument = ?1 AND b.end_ms > ?2 AND b.start_ms <= ?3" SQL_STARTS_NEAR(
                "b.", "?1", "?2") " AND b.status IN ('confirmed','completed','no_show')");
    struct db_stmt *up = store_stmt(st, "UPDATE bookings SET metered_seconds = ?, status = ? WHERE"
                                        " id = ?");
    int64_t last = 0, now = ls_now_ms();
    int step = DB_DONE, rc = LS_OK;

    if (!newest || !q || !up)
        return LS_ERR_DB;
    store_bind_text(newest, 1, instrument);
    if (store_int_one(st, newest, &last))
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, store_near(since));
    db_bind_int64(q, 3, last > now ? last : now);
    while (rc == LS_OK && (step = db_step(q)) == DB_ROW) {
        int64_t id = db_column_int64(q, 0), end = db_column_int64(q, 2);
        int64_t metered = db_column_int64(q, 3), old = db_column_int64(q, 4);
        enum booking_status status, next;
        char object[40];

        if (booking_status_parse((const char *)db_column_text(q, 1), &status)) {
            rc = store_db_fail(st, "a booking's status");
            break;
        }
        /* settled against min(newest reading, now): a reading dated in the future (within what
         * ingest believes) cannot end a booking that has not ended */
        next = booking_settled_status(status, end, last < now ? last : now, metered,
                                      no_show_min_run_s);
        if (metered == old && next == status)
            continue;
        db_reset(up);
        db_bind_int64(up, 1, metered);
        store_bind_text(up, 2, booking_status_name(next));
        db_bind_int64(up, 3, id);
        rc = next != status ? store_booking_sums(st, id, -1) : LS_OK;
        if (rc == LS_OK)
            rc = store_step_done(st, up);
        if (rc == LS_OK && next != status)
            rc = store_booking_sums(st, id, 1);
        if (rc == LS_OK && next != status) {
            json_t *before = json_pack("{s:s, s:I}", "status", booking_status_name(status),
                                       "metered_seconds", old);
            json_t *after = json_pack("{s:s, s:I}", "status", booking_status_name(next),
                                      "metered_seconds", metered);
            snprintf(object, sizeof(object), "booking/%lld", (long long)id);
            struct audit_actor metering = audit_system("metering");
            rc = store_audit_append(st, ls_now_ms(), &metering,
                                    next == BOOKING_COMPLETED ? "booking.complete"
                                                              : "booking.no_show",
                                    object, before, after);
            json_decref(before);
            json_decref(after);
        }
    }
    db_reset(q);
    if (rc == LS_OK && step != DB_DONE)
        return store_db_fail(st, "bookings to settle");
    return rc;
}

int store_usage_refresh(struct store *st, const char *instrument, int64_t since_ms,
                        int64_t merge_gap_ms, int64_t no_show_min_run_s)
{
    /* the first session ending at or after since - gap, or open: sessions of an instrument do
     * not overlap and the open one is the last, so it is the last starting before that time or
     * one starting at it or later - the index finds it without reading the instrument's
     * history (perf: the plain min() read every part the instrument ever had) */
    struct db_stmt *q =
        store_stmt(st, "SELECT session_start FROM usage WHERE instrument = ?1 AND session_start >="
                       " coalesce((SELECT max(session_start) FROM usage WHERE instrument = ?1 AND"
                       " session_start < ?2), ?2) AND (session_end >= ?2 OR open = 1)"
                       " ORDER BY session_start LIMIT 1");
    struct db_stmt *del = store_stmt(st, "DELETE FROM usage WHERE instrument = ? AND"
                                         " session_start >= ?");
    struct usage_reading *r = NULL;
    struct usage_session *s = NULL;
    size_t nr = 0, ns = 0;
    int64_t s0 = since_ms;
    int rc, row;

    /* the open session: the instrument's last, if open (found by the index, not by reading
     * every part the instrument had; no temporary b-tree to sort), with the badge of its latest
     * part: the one it goes on with */
    struct db_stmt *qo = store_stmt(
        st, "SELECT u.session_start, max(u.session_end), (SELECT coalesce(p.badge, 0) FROM usage p"
            " WHERE p.instrument = ?1 AND p.session_start = u.session_start AND p.start_ms ="
            " (SELECT max(start_ms) FROM usage WHERE instrument = ?1 AND session_start ="
            " u.session_start) LIMIT 1), sum(u.run_ms), sum(u.energy_wh), sum(u.samples)"
            " FROM usage u WHERE u.instrument = ?1 AND u.session_start = (SELECT"
            " max(session_start) FROM usage WHERE instrument = ?1) AND u.open = 1"
            " GROUP BY u.session_start");
    struct db_stmt *qp = store_stmt(st, "SELECT max(ts) FROM readings WHERE instrument = ? AND"
                                        " ts < ?");
    struct usage_session open_s;
    struct day_sums days = {0};
    int have_open = 0;
    int64_t prev_ts = INT64_MIN / 2;

    if (!q || !del || !qo || !qp)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, since_ms - merge_gap_ms);
    if ((row = store_step_row(st, q, "where usage starts")) > 0 &&
        db_column_type(q, 0) != DB_NULL && db_column_int64(q, 0) < s0)
        s0 = db_column_int64(q, 0);
    db_reset(q);
    if (row < 0)
        return LS_ERR_DB;
    memset(&open_s, 0, sizeof(open_s));
    store_bind_text(qo, 1, instrument);
    if ((row = store_step_row(st, qo, "the open session")) < 0) {
        db_reset(qo);
        return LS_ERR_DB;
    }
    if (row > 0) {
        open_s.start_ms = db_column_int64(qo, 0);
        open_s.end_ms = db_column_int64(qo, 1);
        open_s.badge = db_column_int64(qo, 2);
        open_s.run_ms = db_column_int64(qo, 3);
        open_s.energy_wh = db_column_int64(qo, 4);
        open_s.samples = db_column_int64(qo, 5);
        have_open = 1;
    }
    db_reset(qo);
    /* An instrument that runs for days would make every refresh reread its whole run: when the
     * new readings all come after the last one of the open session, continue it from there. */
    if (have_open && s0 == open_s.start_ms && since_ms > open_s.end_ms) {
        rc = load_readings(st, instrument, open_s.end_ms, &r, &nr);
        if (rc == LS_OK)
            rc = usage_sessions(r, nr, merge_gap_ms, &s, &ns);
        if (rc == LS_OK && ns > 0 && s[0].start_ms == open_s.end_ms) {
            s[0].start_ms = open_s.start_ms;
            s[0].run_ms += open_s.run_ms;
            s[0].energy_wh += open_s.energy_wh;
            s[0].samples += open_s.samples;
            if (open_s.badge)
                s[0].badge = open_s.badge;
        } else if (rc == LS_OK) {
            free(r);
            free(s);
            r = NULL;
            s = NULL;
            have_open = 0; /* not a plain continuation: recompute from the session's start */
        }
    } else {
        have_open = 0;
    }
    if (!have_open) {
        rc = load_readings(st, instrument, s0, &r, &nr);
        if (rc == LS_OK)
            rc = usage_sessions(r, nr, merge_gap_ms, &s, &ns);
    }
    store_bind_text(qp, 1, instrument);
    db_bind_int64(qp, 2, s0);
    if ((row = store_step_row(st, qp, "the reading before")) > 0 &&
        db_column_type(qp, 0) != DB_NULL)
        prev_ts = db_column_int64(qp, 0);
    db_reset(qp);
    if (row < 0 && rc == LS_OK)
        rc = LS_ERR_DB;
    if (rc == LS_OK)
        rc = part_days(st, instrument, s0, -1, &days);
    if (rc == LS_OK) {
        store_bind_text(del, 1, instrument);
        db_bind_int64(del, 2, s0);
        rc = store_step_done(st, del);
    }
    for (size_t i = 0; rc == LS_OK && i < ns; i++) {
        struct usage_part *p = NULL;
        size_t np = 0;
        rc = split_session(st, instrument, &s[i], &p, &np);
        if (rc == LS_OK)
            rc = insert_parts(st, instrument, &s[i], p, np);
        free(p);
    }
    if (rc == LS_OK)
        rc = part_days(st, instrument, s0, 1, &days);
    if (rc == LS_OK)
        rc = apply_days(st, instrument, &days);
    day_sums_free(&days);
    /* bookings whose usage may have changed (those reaching past s0), and those the new
     * readings show to have ended (past the reading before them); an instrument with no
     * reading at all has no evidence that ended any, so its history is not read */
    if (rc == LS_OK) {
        int no_readings = prev_ts == INT64_MIN / 2 && nr == 0 && !have_open;
        rc = settle_bookings(st, instrument, no_readings || prev_ts >= s0 ? s0 : prev_ts,
                             no_show_min_run_s);
    }
    free(r);
    free(s);
    return rc;
}

int store_usage_rebuild(struct store *st, int64_t merge_gap_ms, int64_t no_show_min_run_s,
                        int replace, int64_t *rows, int64_t *diffs)
{
    struct db_stmt *qi = store_stmt(st, "SELECT DISTINCT instrument FROM readings ORDER BY 1");
    struct db_stmt *qu = store_stmt(st, "SELECT session_start, start_ms, end_ms, run_ms, energy_wh,"
                                        " samples, coalesce(user_id, 0), coalesce(booking_id, 0),"
                                        " attribution FROM usage WHERE instrument = ? ORDER BY"
                                        " session_start, start_ms");
    char(*ids)[LS_ID_MAX] = NULL;
    size_t nids = 0;
    int rc = LS_OK, row = 0;

    *rows = 0;
    *diffs = 0;
    if (!qi || !qu)
        return LS_ERR_DB;
    rc = store_ids(st, qi, &ids, &nids);
    for (size_t k = 0; rc == LS_OK && k < nids; k++) {
        struct usage_reading *r = NULL;
        struct usage_session *s = NULL;
        size_t nr = 0, ns = 0;

        rc = load_readings(st, ids[k], INT64_MIN, &r, &nr);
        if (rc == LS_OK)
            rc = usage_sessions(r, nr, merge_gap_ms, &s, &ns);
        store_bind_text(qu, 1, ids[k]);
        for (size_t i = 0; rc == LS_OK && i < ns; i++) {
            struct usage_part *p = NULL;
            size_t np = 0;
            rc = split_session(st, ids[k], &s[i], &p, &np);
            for (size_t j = 0; rc == LS_OK && j < np; j++) {
                (*rows)++;
                if ((row = store_step_row(st, qu, "stored usage")) < 0) {
                    rc = LS_ERR_DB; /* an error is not a difference, nor the end of the rows */
                    break;
                }
                if (row == 0 || db_column_int64(qu, 0) != s[i].start_ms ||
                    db_column_int64(qu, 1) != p[j].start_ms ||
                    db_column_int64(qu, 2) != p[j].end_ms ||
                    db_column_int64(qu, 3) != p[j].run_ms ||
                    db_column_int64(qu, 4) != p[j].energy_wh ||
                    db_column_int64(qu, 5) != p[j].samples ||
                    db_column_int64(qu, 6) != p[j].user_id ||
                    db_column_int64(qu, 7) !=
                        (p[j].attribution == USAGE_BOOKING ? p[j].booking_id : 0) ||
                    strcmp((const char *)db_column_text(qu, 8),
                           usage_attribution_name(p[j].attribution)) != 0)
                    (*diffs)++;
            }
            free(p);
        }
        if (rc == LS_OK && (row = store_step_row(st, qu, "stored usage")) != 0) {
            if (row < 0)
                rc = LS_ERR_DB;
            else
                (*diffs)++; /* rows stored that the readings do not give */
        }
        db_reset(qu);
        free(r);
        free(s);
        if (rc == LS_OK && replace)
            rc = store_usage_refresh(st, ids[k], INT64_MIN / 2, merge_gap_ms, no_show_min_run_s);
    }
    free(ids);
    return rc;
}

static int nonzero(const struct day_sum *s)
{
    return s->effective_ms || s->external_ms || s->inside_ms;
}

/* How many of the sums q gives (stored, by period) differ from d (recomputed): missing, extra
 * or other. */
static int compare_sums(struct store *st, struct db_stmt *q, const struct day_sums *d,
                        int64_t *diffs)
{
    size_t i = 0;
    int row;

    while ((row = store_step_row(st, q, "stored usage sums")) > 0) {
        struct day_sum got = {db_column_int64(q, 0), db_column_int64(q, 1), db_column_int64(q, 2),
                              db_column_int64(q, 3)};
        /* the recomputed periods before this stored one are missing from the store */
        for (; i < d->n && d->v[i].day_ms < got.day_ms; i++)
            *diffs += nonzero(&d->v[i]);
        if (i < d->n && d->v[i].day_ms == got.day_ms)
            *diffs += memcmp(&d->v[i], &got, sizeof(got)) != 0;
        else
            (*diffs)++; /* a stored period the sessions do not give */
        i += i < d->n && d->v[i].day_ms == got.day_ms;
    }
    db_reset(q);
    for (; i < d->n; i++)
        *diffs += nonzero(&d->v[i]);
    return row < 0 ? LS_ERR_DB : LS_OK;
}

int store_usage_days_check(struct store *st, int replace, int64_t *rows, int64_t *diffs)
{
    struct db_stmt *qi = store_stmt(st, "SELECT instrument FROM usage UNION SELECT instrument FROM"
                                        " usage_days UNION SELECT instrument FROM usage_months"
                                        " ORDER BY 1");
    struct db_stmt *qd = store_stmt(st, "SELECT day_ms, effective_ms, external_ms, inside_ms FROM"
                                        " usage_days WHERE instrument = ? ORDER BY day_ms");
    struct db_stmt *qm =
        store_stmt(st, "SELECT month_ms, effective_ms, external_ms, inside_ms"
                       " FROM usage_months WHERE instrument = ? ORDER BY month_ms");
    struct db_stmt *del = store_stmt(st, "DELETE FROM usage_days WHERE instrument = ?");
    struct db_stmt *delm = store_stmt(st, "DELETE FROM usage_months WHERE instrument = ?");
    char(*ids)[LS_ID_MAX] = NULL;
    size_t nids = 0;
    int rc;

    *rows = *diffs = 0;
    if (!qi || !qd || !qm || !del || !delm)
        return LS_ERR_DB;
    rc = store_ids(st, qi, &ids, &nids);
    for (size_t k = 0; rc == LS_OK && k < nids; k++) {
        struct day_sums d = {0}, m = {0};

        rc = part_days(st, ids[k], INT64_MIN, 1, &d);
        if (rc == LS_OK)
            rc = day_sums_months(&d, &m);
        store_bind_text(qd, 1, ids[k]);
        store_bind_text(qm, 1, ids[k]);
        if (rc == LS_OK)
            rc = compare_sums(st, qd, &d, diffs);
        if (rc == LS_OK)
            rc = compare_sums(st, qm, &m, diffs);
        db_reset(qd);
        db_reset(qm);
        for (size_t i = 0; i < d.n; i++)
            *rows += nonzero(&d.v[i]);
        if (rc == LS_OK && replace) {
            store_bind_text(del, 1, ids[k]);
            store_bind_text(delm, 1, ids[k]);
            rc = store_step_done(st, del);
            if (rc == LS_OK)
                rc = store_step_done(st, delm);
            if (rc == LS_OK)
                rc = apply_days(st, ids[k], &d);
        }
        day_sums_free(&d);
        day_sums_free(&m);
    }
    free(ids);
    return rc;
}

static void usage_row_read(struct db_stmt *q, void *record)
{
    struct usage_row *u = record;
    const char *a = (const char *)db_column_text(q, 9);

    u->id = db_column_int64(q, 0);
    snprintf(u->instrument, sizeof(u->instrument), "%s", db_column_text(q, 1));
    u->start_ms = db_column_int64(q, 2);
    u->end_ms = db_column_int64(q, 3);
    u->run_ms = db_column_int64(q, 4);
    u->energy_wh = db_column_int64(q, 5);
    u->samples = db_column_int64(q, 6);
    u->user_id = db_column_int64(q, 7);
    u->booking_id = db_column_int64(q, 8);
    u->attribution = a && strcmp(a, "booking") == 0 ? USAGE_BOOKING
                     : a && strcmp(a, "badge") == 0 ? USAGE_BADGE
                                                    : USAGE_NONE;
    u->has_badge = db_column_type(q, 10) != DB_NULL;
    u->badge = db_column_int64(q, 10);
    u->session_start_ms = db_column_int64(q, 11);
    u->open = db_column_int64(q, 12) != 0;
}

int store_usage_list(struct store *st, const struct usage_filter *f, struct usage_row **items,
                     size_t *n, int64_t *total)
{
#define USAGE_WHERE                                                                                \
    " FROM usage u JOIN instruments i ON i.id = u.instrument WHERE (?1 IS NULL OR"                 \
    " u.instrument = ?1) AND (?2 = 0 OR u.user_id = ?2) AND (?3 = 0 OR i.org_id = ?3) AND"         \
    " u.end_ms > ?4 AND u.start_ms < ?5"
    struct db_stmt *q =
        store_stmt(st, "SELECT u.id, u.instrument, u.start_ms, u.end_ms,"
                       " u.run_ms, u.energy_wh, u.samples, coalesce(u.user_id, 0),"
                       " coalesce(u.booking_id, 0), u.attribution, u.badge, u.session_start,"
                       " u.open" USAGE_WHERE " ORDER BY u.start_ms, u.id"
                       " LIMIT ?6 OFFSET ?7");
    struct db_stmt *c = store_stmt(st, "SELECT count(*)" USAGE_WHERE);
    struct db_stmt *both[2] = {q, c};
    int rc;

    *items = NULL;
    *n = 0;
    if (!q || !c)
        return LS_ERR_DB;
    for (int k = 0; k < 2; k++) {
        store_bind_text(both[k], 1, f->instrument);
        db_bind_int64(both[k], 2, f->user_id > 0 ? f->user_id : 0);
        db_bind_int64(both[k], 3, f->org_id > 0 ? f->org_id : 0);
        db_bind_int64(both[k], 4, f->from_ms);
        db_bind_int64(both[k], 5, f->to_ms);
    }
    db_bind_int64(q, 6, f->limit);
    db_bind_int64(q, 7, f->offset);
    rc = store_rows(st, q, "usage", sizeof(**items), usage_row_read, items, n);
    if (rc == LS_OK && store_int_one(st, c, total) == LS_ERR_DB) {
        free(*items);
        *items = NULL;
        *n = 0;
        rc = LS_ERR_DB;
    }
    return rc;
}
