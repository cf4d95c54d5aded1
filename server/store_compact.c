/* store_compact.c - compacting a closed month's heartbeats, with a digest in the audit log:
 * see store.h and compact.h. */
#include "store.h"
#include "store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact.h"
#include "usage.h"
#include "labshare/grow.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* The window around the month whose sessions must not change: a session that crosses the
 * month's edge is computed from readings on both sides. */
#define WINDOW_MS (2 * 86400000LL)

#define READING_COLUMNS                                                                            \
    "gateway, epoch, seq, ts, state, run_seconds, energy_wh, power_w, samples, badge, cause,"      \
    " received_at"

/* One reading as it arrived, and its line in a digest. */
struct kept_reading {
    struct compact_reading c;
    char gateway[LS_ID_MAX];
    int64_t epoch, seq;
    char line[700];
};

/* The digest line of the reading at q's current row: every column as stored, NULL as empty. */
static void reading_line(struct db_stmt *q, const char *instrument, char *line, size_t len)
{
    char v[12][40];

    for (int i = 0; i < 12; i++) {
        if (db_column_type(q, i) == DB_NULL)
            v[i][0] = '\0';
        else if (i == 7)
            snprintf(v[i], sizeof(v[i]), "%.17g", db_column_double(q, i));
        else if (i == 0)
            snprintf(v[i], sizeof(v[i]), "%.39s", db_column_text(q, i));
        else
            snprintf(v[i], sizeof(v[i]), "%lld", (long long)db_column_int64(q, i));
    }
    snprintf(line, len, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", instrument, v[0],
             v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]);
}

/* The instrument's readings of [from, to), in the order usage reads them. */
static int month_readings(struct store *st, const char *instrument, int64_t from, int64_t to,
                          struct kept_reading **out, size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT " READING_COLUMNS " FROM readings WHERE"
                                       " instrument = ? AND ts >= ? AND ts < ?"
                                       " ORDER BY ts, gateway, epoch, seq");
    size_t cap = 0;
    int row;

    *out = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, from);
    db_bind_int64(q, 3, to);
    while ((row = store_step_row(st, q, "the month's readings")) > 0) {
        struct kept_reading *k;
        if (LS_GROW(*out, cap, *n + 1)) {
            db_reset(q);
            return LS_ERR_NOMEM;
        }
        k = &(*out)[(*n)++];
        memset(k, 0, sizeof(*k));
        snprintf(k->gateway, sizeof(k->gateway), "%s", db_column_text(q, 0));
        k->epoch = db_column_int64(q, 1);
        k->seq = db_column_int64(q, 2);
        k->c.ts = db_column_int64(q, 3);
        k->c.state = (int)db_column_int64(q, 4);
        k->c.has_badge = db_column_type(q, 9) != DB_NULL;
        k->c.badge = db_column_int64(q, 9);
        k->c.cause = (int)db_column_int64(q, 10);
        reading_line(q, instrument, k->line, sizeof(k->line));
    }
    db_reset(q);
    return row < 0 ? LS_ERR_DB : LS_OK;
}

static int same_sessions(const struct usage_session *a, size_t na, const struct usage_session *b,
                         size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].start_ms != b[i].start_ms || a[i].end_ms != b[i].end_ms ||
            a[i].run_ms != b[i].run_ms || a[i].energy_wh != b[i].energy_wh ||
            a[i].samples != b[i].samples || a[i].badge != b[i].badge || a[i].open != b[i].open)
            return 0;
    return 1;
}

/* Whether the sessions of the window around [from, to) stay the same without the readings keep
 * marks 0 (the month's, in the window's order). */
static int sessions_stay(struct store *st, const char *instrument, int64_t from, int64_t to,
                         const unsigned char *keep, size_t nmonth, int64_t merge_gap_ms, int *stay)
{
    struct usage_reading *r = NULL;
    struct usage_session *all = NULL, *kept = NULL;
    size_t nr = 0, nall = 0, nkept = 0, w = 0, m = 0;
    int rc = store_usage_readings(st, instrument, from - WINDOW_MS, to + WINDOW_MS, &r, &nr);

    *stay = 0;
    if (rc == LS_OK)
        rc = usage_sessions(r, nr, merge_gap_ms, &all, &nall);
    if (rc == LS_OK) {
        for (size_t i = 0; i < nr; i++) { /* the month's readings are in the same order */
            int in_month = r[i].ts >= from && r[i].ts < to;
            if (in_month && m >= nmonth) {
                rc = LS_ERR_CONFLICT; /* a reading arrived in between */
                break;
            }
            if (!in_month || keep[m])
                r[w++] = r[i];
            m += (size_t)in_month;
        }
    }
    if (rc == LS_OK && m == nmonth)
        rc = usage_sessions(r, w, merge_gap_ms, &kept, &nkept);
    if (rc == LS_OK && m == nmonth)
        *stay = same_sessions(all, nall, kept, nkept);
    free(r);
    free(all);
    free(kept);
    return rc == LS_ERR_CONFLICT ? LS_OK : rc;
}

int store_readings_compact(struct store *st, const char *instrument, const char *month,
                           int64_t from_ms, int64_t to_ms, int64_t merge_gap_ms,
                           struct compact_report *rep)
{
    struct db_stmt *del = store_stmt(st, "DELETE FROM readings WHERE instrument = ? AND ts = ?"
                                         " AND gateway = ? AND epoch = ? AND seq = ?");
    crypto_hash_sha256_state kept_h, gone_h;
    unsigned char h[crypto_hash_sha256_BYTES];
    struct kept_reading *v = NULL;
    unsigned char *keep = NULL;
    size_t n = 0;
    int rc, stay = 0;

    memset(rep, 0, sizeof(*rep));
    if (!del)
        return LS_ERR_DB;
    rc = month_readings(st, instrument, from_ms, to_ms, &v, &n);
    {
        struct compact_reading *c = rc == LS_OK && n ? calloc(n, sizeof(*c)) : NULL;
        if (rc == LS_OK && n && (!c || !(keep = malloc(n))))
            rc = LS_ERR_NOMEM;
        for (size_t i = 0; rc == LS_OK && i < n; i++)
            c[i] = v[i].c;
        if (rc == LS_OK && n)
            rep->removed = (int64_t)compact_select(c, n, keep);
        free(c);
    }
    if (rc == LS_OK && rep->removed > 0)
        rc = sessions_stay(st, instrument, from_ms, to_ms, keep, n, merge_gap_ms, &stay);
    if (rc == LS_OK && rep->removed > 0 && !stay) {
        rep->sessions_would_change = 1;
        rep->removed = 0;
    }
    crypto_hash_sha256_init(&kept_h);
    crypto_hash_sha256_init(&gone_h);
    for (size_t i = 0; rc == LS_OK && i < n; i++) {
        int goes = rep->removed > 0 && !keep[i];
        crypto_hash_sha256_update(goes ? &gone_h : &kept_h, (const unsigned char *)v[i].line,
                                  strlen(v[i].line));
        if (!goes) {
            rep->kept++;
            continue;
        }
        db_reset(del);
        store_bind_text(del, 1, instrument);
        db_bind_int64(del, 2, v[i].c.ts);
        store_bind_text(del, 3, v[i].gateway);
        db_bind_int64(del, 4, v[i].epoch);
        db_bind_int64(del, 5, v[i].seq);
        rc = store_step_done(st, del);
    }
    crypto_hash_sha256_final(&kept_h, h);
    sodium_bin2hex(rep->kept_digest, sizeof(rep->kept_digest), h, sizeof(h));
    crypto_hash_sha256_final(&gone_h, h);
    sodium_bin2hex(rep->removed_digest, sizeof(rep->removed_digest), h, sizeof(h));
    if (rc == LS_OK && rep->removed > 0) {
        struct audit_actor who = audit_system("compaction");
        char object[LS_ID_MAX + 32];
        json_t *after =
            json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "instrument", instrument, "month", month,
                      "kept", (json_int_t)rep->kept, "kept_digest", rep->kept_digest, "removed",
                      (json_int_t)rep->removed, "removed_digest", rep->removed_digest);
        snprintf(object, sizeof(object), "readings/%s/%s", instrument, month);
        rc = after ? store_audit_append(st, ls_now_ms(), &who, "readings.compact", object, NULL,
                                        after)
                   : LS_ERR_NOMEM;
        json_decref(after);
    }
    free(v);
    free(keep);
    return rc;
}

int store_readings_digest(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
                          char hex[65], int64_t *count)
{
    crypto_hash_sha256_state s;
    unsigned char h[crypto_hash_sha256_BYTES];
    struct kept_reading *v = NULL;
    size_t n = 0;
    int rc = month_readings(st, instrument, from_ms, to_ms, &v, &n);

    crypto_hash_sha256_init(&s);
    for (size_t i = 0; rc == LS_OK && i < n; i++)
        crypto_hash_sha256_update(&s, (const unsigned char *)v[i].line, strlen(v[i].line));
    crypto_hash_sha256_final(&s, h);
    sodium_bin2hex(hex, 65, h, sizeof(h));
    *count = (int64_t)n;
    free(v);
    return rc;
}

int store_readings_instruments(struct store *st, int64_t from_ms, int64_t to_ms,
                               char (**ids)[LS_ID_MAX], size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT DISTINCT instrument FROM readings WHERE ts >= ? AND"
                                       " ts < ? ORDER BY 1");
    *ids = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, from_ms);
    db_bind_int64(q, 2, to_ms);
    return store_ids(st, q, ids, n);
}

int store_compact_verify(struct store *st, const char *month, int64_t from_ms, int64_t to_ms,
                         int64_t *checked, int64_t *bad)
{
    struct db_stmt *q = store_stmt(st, "SELECT after FROM audit WHERE action = 'readings.compact'"
                                       " ORDER BY seq");
    int rc = LS_OK, row;

    *checked = *bad = 0;
    if (!q)
        return LS_ERR_DB;
    while (rc == LS_OK && (row = store_step_row(st, q, "compaction records")) > 0) {
        json_t *a = json_loads((const char *)db_column_text(q, 0), 0, NULL);
        const char *inst = json_string_value(json_object_get(a, "instrument"));
        const char *m = json_string_value(json_object_get(a, "month"));
        const char *want = json_string_value(json_object_get(a, "kept_digest"));
        json_int_t kept = json_integer_value(json_object_get(a, "kept"));
        char hex[65];
        int64_t count = 0;

        if (!a || !inst || !m || !want) {
            (*checked)++;
            (*bad)++; /* a record that says nothing checkable is a failure, not a pass */
        } else if (strcmp(m, month) == 0) {
            (*checked)++;
            rc = store_readings_digest(st, inst, from_ms, to_ms, hex, &count);
            if (rc == LS_OK && (strcmp(hex, want) != 0 || count != kept)) {
                ls_warn("compaction: the readings of %s in %s are not the %lld kept (%lld now)",
                        inst, month, (long long)kept, (long long)count);
                (*bad)++;
            }
        }
        json_decref(a);
    }
    db_reset(q);
    return rc == LS_OK && row < 0 ? LS_ERR_DB : rc;
}
