/* store_notify.c - the durable queue of notifications, webhooks and recipients (store.h). */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

void notify_rows_free(struct notify_row *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].subject);
        free(v[i].body);
        free(v[i].ics);
    }
    free(v);
}

int store_notify_put(struct store *st, const struct notify_row *r, int *queued)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO notifications(key, channel, kind, user_id,"
                                       " org_id, recipient, subject, body, ics, created_at,"
                                       " next_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)"
                                       " ON CONFLICT (key) DO NOTHING");
    int rc;

    *queued = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, r->key);
    store_bind_text(q, 2, r->channel);
    store_bind_text(q, 3, r->kind);
    if (r->user_id)
        db_bind_int64(q, 4, r->user_id);
    else
        db_bind_null(q, 4);
    if (r->org_id)
        db_bind_int64(q, 5, r->org_id);
    else
        db_bind_null(q, 5);
    store_bind_text(q, 6, r->recipient);
    store_bind_text(q, 7, r->subject);
    store_bind_text(q, 8, r->body);
    store_bind_text(q, 9, r->ics);
    db_bind_int64(q, 10, r->created_at);
    db_bind_int64(q, 11, r->next_at);
    rc = store_write_rc(st, q);
    if (rc == LS_OK)
        *queued = db_changes(st->db) > 0;
    return rc;
}

#define NOTIFY_COLUMNS                                                                             \
    "id, key, channel, kind, coalesce(user_id, 0), coalesce(org_id, 0), recipient, subject, body," \
    " ics, created_at, next_at, attempts, coalesce(sent_at, 0), coalesce(failed_at, 0),"           \
    " coalesce(last_error, '')"

static char *dup_col(struct db_stmt *q, int col)
{
    const unsigned char *t = db_column_text(q, col);

    return t ? strdup((const char *)t) : NULL;
}

static void read_row(struct db_stmt *q, void *record)
{
    struct notify_row *r = record;

    memset(r, 0, sizeof(*r));
    r->id = db_column_int64(q, 0);
    snprintf(r->key, sizeof(r->key), "%s", db_column_text(q, 1));
    snprintf(r->channel, sizeof(r->channel), "%s", db_column_text(q, 2));
    snprintf(r->kind, sizeof(r->kind), "%s", db_column_text(q, 3));
    r->user_id = db_column_int64(q, 4);
    r->org_id = db_column_int64(q, 5);
    snprintf(r->recipient, sizeof(r->recipient), "%s", db_column_text(q, 6));
    r->subject = dup_col(q, 7);
    r->body = dup_col(q, 8);
    r->ics = dup_col(q, 9);
    r->created_at = db_column_int64(q, 10);
    r->next_at = db_column_int64(q, 11);
    r->attempts = db_column_int64(q, 12);
    r->sent_at = db_column_int64(q, 13);
    r->failed_at = db_column_int64(q, 14);
    snprintf(r->last_error, sizeof(r->last_error), "%s", db_column_text(q, 15));
}

/* Whether every text of the rows was copied (none is NULL but ics). */
static int rows_whole(const struct notify_row *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!v[i].subject || !v[i].body)
            return 0;
    return 1;
}

int store_notify_claim(struct store *st, int64_t now_ms, int64_t lease_ms, size_t max,
                       struct notify_row **rows, size_t *n)
{
    struct db_stmt *due, *claim, *get;
    int64_t *ids = NULL;
    size_t nids = 0, cap = 0, have = 0, rcap = 0;
    int rc, row;

    *rows = NULL;
    *n = 0;
    {
        /* a look first, without the write lock: most of the time nothing is due */
        struct db_stmt *any = store_stmt(st, "SELECT 1 FROM notifications WHERE sent_at IS NULL"
                                             " AND failed_at IS NULL AND next_at <= ? LIMIT 1");
        int64_t one;
        if (!any)
            return LS_ERR_DB;
        db_bind_int64(any, 1, now_ms);
        rc = store_int_one(st, any, &one);
        db_reset(any);
        if (rc == LS_ERR_NOTFOUND)
            return LS_OK;
        if (rc)
            return rc;
    }
    if (store_begin(st))
        return LS_ERR_DB;
    due = store_stmt(st, "SELECT id FROM notifications WHERE sent_at IS NULL AND failed_at IS NULL"
                         " AND next_at <= ?1 AND (claimed_until IS NULL OR claimed_until < ?1)"
                         " ORDER BY next_at, id LIMIT ?2");
    claim = store_stmt(st, "UPDATE notifications SET claimed_until = ?1 WHERE id = ?2 AND"
                           " sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?3)");
    get = store_stmt(st, "SELECT " NOTIFY_COLUMNS " FROM notifications WHERE id = ?");
    rc = due && claim && get ? LS_OK : LS_ERR_DB;
    if (rc == LS_OK) {
        db_bind_int64(due, 1, now_ms);
        db_bind_int64(due, 2, (int64_t)max);
        while ((row = store_step_row(st, due, "due notifications")) > 0) {
            if (LS_GROW(ids, cap, nids + 1)) {
                rc = LS_ERR_NOMEM;
                break;
            }
            ids[nids++] = db_column_int64(due, 0);
        }
        db_reset(due);
        if (row < 0)
            rc = LS_ERR_DB;
    }
    for (size_t i = 0; rc == LS_OK && i < nids; i++) {
        db_reset(claim);
        db_bind_int64(claim, 1, now_ms + lease_ms);
        db_bind_int64(claim, 2, ids[i]);
        db_bind_int64(claim, 3, now_ms);
        if ((rc = store_write_rc(st, claim)))
            break;
        if (db_changes(st->db) == 0)
            continue; /* another server took it in between */
        if (LS_GROW(*rows, rcap, have + 1)) {
            rc = LS_ERR_NOMEM;
            break;
        }
        rc = store_row_by_id(st, get, ids[i], "a notification", read_row, &(*rows)[have]);
        if (rc == LS_OK)
            have++;
    }
    free(ids);
    if (rc == LS_OK && !rows_whole(*rows, have))
        rc = LS_ERR_NOMEM;
    if (rc == LS_OK)
        rc = store_commit(st);
    if (rc) {
        store_rollback(st);
        notify_rows_free(*rows, have);
        *rows = NULL;
        return rc;
    }
    *n = have;
    return LS_OK;
}

int store_notify_sent(struct store *st, int64_t id, int64_t now_ms)
{
    struct db_stmt *q = store_stmt(st, "UPDATE notifications SET sent_at = ?, claimed_until ="
                                       " NULL, attempts = attempts + 1 WHERE id = ?");

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, now_ms);
    db_bind_int64(q, 2, id);
    return store_write_rc(st, q);
}

int store_notify_failed(struct store *st, int64_t id, const char *error, int64_t next_ms,
                        int give_up, int64_t now_ms)
{
    struct db_stmt *q = store_stmt(st, "UPDATE notifications SET attempts = attempts + 1,"
                                       " next_at = ?, last_error = ?, claimed_until = NULL,"
                                       " failed_at = ? WHERE id = ?");

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, next_ms);
    store_bind_text(q, 2, error);
    if (give_up)
        db_bind_int64(q, 3, now_ms);
    else
        db_bind_null(q, 3);
    db_bind_int64(q, 4, id);
    return store_write_rc(st, q);
}

int store_notify_list(struct store *st, const char *state, int64_t limit, int64_t offset,
                      struct notify_row **rows, size_t *n, int64_t *total)
{
#define NOTIFY_WHERE                                                                               \
    " FROM notifications WHERE (?1 IS NULL OR (?1 = 'sent' AND sent_at IS NOT NULL) OR"            \
    " (?1 = 'failed' AND failed_at IS NOT NULL) OR (?1 = 'queued' AND sent_at IS NULL AND"         \
    " failed_at IS NULL))"
    struct db_stmt *q = store_stmt(st, "SELECT " NOTIFY_COLUMNS NOTIFY_WHERE
                                       " ORDER BY id DESC LIMIT ?2 OFFSET ?3");
    struct db_stmt *c = store_stmt(st, "SELECT count(*)" NOTIFY_WHERE);
    int rc;

    *rows = NULL;
    *n = 0;
    if (!q || !c)
        return LS_ERR_DB;
    store_bind_text(q, 1, state);
    db_bind_int64(q, 2, limit);
    db_bind_int64(q, 3, offset);
    store_bind_text(c, 1, state);
    rc = store_rows(st, q, "notifications", sizeof(**rows), read_row, rows, n);
    if (rc == LS_OK && !rows_whole(*rows, *n))
        rc = LS_ERR_NOMEM;
    if (rc == LS_OK && store_int_one(st, c, total) != LS_OK)
        rc = LS_ERR_DB;
    if (rc) {
        notify_rows_free(*rows, *n);
        *rows = NULL;
        *n = 0;
    }
    return rc;
#undef NOTIFY_WHERE
}

int store_org_webhook(struct store *st, int64_t org, char *url, size_t ulen, char *secret,
                      size_t slen)
{
    struct db_stmt *q = store_stmt(st, "SELECT coalesce(webhook_url, ''),"
                                       " coalesce(webhook_secret, '') FROM orgs WHERE id = ?");
    int row;

    url[0] = secret[0] = '\0';
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, org);
    row = store_step_row(st, q, "an organisation's webhook");
    if (row > 0) {
        snprintf(url, ulen, "%s", db_column_text(q, 0));
        snprintf(secret, slen, "%s", db_column_text(q, 1));
    }
    db_reset(q);
    return row > 0 ? LS_OK : row == 0 ? LS_ERR_NOTFOUND : LS_ERR_DB;
}

int store_org_webhook_set(struct store *st, int64_t org, const char *url, const char *secret)
{
    struct db_stmt *q = store_stmt(st, "UPDATE orgs SET webhook_url = nullif(?, ''),"
                                       " webhook_secret = nullif(?, '') WHERE id = ?");

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, url);
    store_bind_text(q, 2, secret);
    db_bind_int64(q, 3, org);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

int store_org_managers(struct store *st, int64_t org, struct user **items, size_t *n)
{
    struct user *all = NULL;
    size_t cnt = 0, k = 0;
    int64_t total;
    int rc = store_user_list(st, org, 1000, 0, &all, &cnt, &total);

    *items = NULL;
    *n = 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < cnt && k < 100; i++)
        if (strcmp(all[i].role, "manager") == 0)
            all[k++] = all[i];
    *items = all;
    *n = k;
    return LS_OK;
}

/* The int64 first column of each row q gives, into *v (caller frees). */
static int int_column(struct store *st, struct db_stmt *q, const char *what, int64_t **v, size_t *n)
{
    size_t cap = 0;
    int row;

    *v = NULL;
    *n = 0;
    while ((row = store_step_row(st, q, what)) > 0) {
        if (LS_GROW(*v, cap, *n + 1)) {
            db_reset(q);
            free(*v);
            *v = NULL;
            *n = 0;
            return LS_ERR_NOMEM;
        }
        (*v)[(*n)++] = db_column_int64(q, 0);
    }
    db_reset(q);
    if (row < 0) {
        free(*v);
        *v = NULL;
        *n = 0;
        return LS_ERR_DB;
    }
    return LS_OK;
}

int store_bookings_starting(struct store *st, int64_t from_ms, int64_t to_ms, int64_t **ids,
                            size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT id FROM bookings WHERE status = 'confirmed' AND"
                                       " start_ms >= ? AND start_ms < ? ORDER BY start_ms, id"
                                       " LIMIT 10000");

    *ids = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, from_ms);
    db_bind_int64(q, 2, to_ms);
    return int_column(st, q, "bookings starting", ids, n);
}

int store_waiting_by_org(struct store *st, int64_t now_ms, int64_t **orgs, int64_t **bookings,
                         int64_t **orders, size_t *n)
{
    /* only what waits is read (partial indexes of pending bookings and requested orders) */
    struct db_stmt *q = store_stmt(
        st, "SELECT org, sum(b), sum(r) FROM (SELECT i.org_id AS org, 1 AS b, 0 AS r FROM"
            " bookings bk JOIN instruments i ON i.id = bk.instrument WHERE bk.status = 'pending'"
            " AND bk.end_ms > ?1 UNION ALL SELECT i.org_id, 0, 1 FROM orders o JOIN instruments i"
            " ON i.id = o.instrument WHERE o.status = 'requested') w GROUP BY org ORDER BY org");
    size_t c0 = 0, c1 = 0, c2 = 0;
    int row;

    *orgs = *bookings = *orders = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, now_ms);
    while ((row = store_step_row(st, q, "what waits")) > 0) {
        if (db_column_int64(q, 1) == 0 && db_column_int64(q, 2) == 0)
            continue;
        if (LS_GROW(*orgs, c0, *n + 1) || LS_GROW(*bookings, c1, *n + 1) ||
            LS_GROW(*orders, c2, *n + 1)) {
            db_reset(q);
            return LS_ERR_NOMEM; /* the caller frees what was grown */
        }
        (*orgs)[*n] = db_column_int64(q, 0);
        (*bookings)[*n] = db_column_int64(q, 1);
        (*orders)[*n] = db_column_int64(q, 2);
        (*n)++;
    }
    db_reset(q);
    return row < 0 ? LS_ERR_DB : LS_OK;
}
