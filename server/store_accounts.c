/* store_accounts.c - organisations, users and calendar feeds (store.h). */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/grow.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

static int count_of(struct store *st, struct db_stmt *q, int64_t *total)
{
    return store_int_one(st, q, total) == LS_ERR_NOTFOUND ? (*total = 0, LS_OK) : LS_OK;
}

int store_org_create(struct store *st, const char *name, const char *type, int64_t *id)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO orgs(name, type) VALUES(?, ?)");
    int rc;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, name);
    store_bind_text(q, 2, type);
    rc = store_write_rc(st, q);
    if (rc == LS_OK)
        *id = db_last_insert_rowid(st->db);
    return rc;
}

int store_org_update(struct store *st, int64_t id, const char *name, const char *type)
{
    struct db_stmt *q = store_stmt(st, "UPDATE orgs SET name = coalesce(?, name),"
                                       " type = coalesce(?, type) WHERE id = ?");

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, name);
    store_bind_text(q, 2, type);
    db_bind_int64(q, 3, id);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

static void read_org(struct db_stmt *q, void *record)
{
    struct org *o = record;

    memset(o, 0, sizeof(*o));
    o->id = db_column_int64(q, 0);
    snprintf(o->name, sizeof(o->name), "%s", db_column_text(q, 1));
    snprintf(o->type, sizeof(o->type), "%s", db_column_text(q, 2));
}

int store_org_get(struct store *st, int64_t id, struct org *o)
{
    return store_row_by_id(st, store_stmt(st, "SELECT id, name, type FROM orgs WHERE id = ?"), id,
                           "organisation", read_org, o);
}

int store_org_list(struct store *st, int64_t limit, int64_t offset, struct org **items, size_t *n,
                   int64_t *total)
{
    struct db_stmt *q =
        store_stmt(st, "SELECT id, name, type FROM orgs ORDER BY id LIMIT ? OFFSET ?");
    struct db_stmt *c = store_stmt(st, "SELECT count(*) FROM orgs");
    int rc;

    *items = NULL;
    *n = 0;
    if (!q || !c)
        return LS_ERR_DB;
    db_bind_int64(q, 1, limit);
    db_bind_int64(q, 2, offset);
    rc = store_rows(st, q, "organisations", sizeof(**items), read_org, items, n);
    if (rc == LS_OK && count_of(st, c, total))
        rc = LS_ERR_DB;
    if (rc) {
        free(*items);
        *items = NULL;
        *n = 0;
        return LS_ERR_DB;
    }
    return LS_OK;
}

static void bind_user(struct db_stmt *q, const struct user_fields *u, int first)
{
    store_bind_text(q, first, u->username);
    store_bind_text(q, first + 1, u->display_name);
    if (u->org_id > 0)
        db_bind_int64(q, first + 2, u->org_id);
    store_bind_text(q, first + 3, u->role);
    if (u->badge >= 0)
        db_bind_int64(q, first + 4, u->badge);
    store_bind_text(q, first + 5, u->password_hash);
}

/* The mail settings of u, at ?1 (email, "" = none), ?2 (lang), ?3 (opt-outs) after first. */
static void bind_mail(struct db_stmt *q, const struct user_fields *u, int first)
{
    store_bind_text(q, first, u->email);
    store_bind_text(q, first + 1, u->lang);
    store_bind_text(q, first + 2, u->mail_opt_out);
}

int store_user_create(struct store *st, const struct user_fields *u, int64_t *id)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO users(username, display_name, org_id, role,"
                                       " badge, password_hash, created_at, email, lang,"
                                       " mail_opt_out) VALUES(?, coalesce(?, ''), ?, ?, ?, ?, ?,"
                                       " nullif(?, ''), coalesce(?, 'en'), coalesce(?, ''))");
    int rc;

    if (!q)
        return LS_ERR_DB;
    bind_user(q, u, 1);
    db_bind_int64(q, 7, ls_now_ms());
    bind_mail(q, u, 8);
    rc = store_write_rc(st, q);
    if (rc == LS_OK)
        *id = db_last_insert_rowid(st->db);
    return rc;
}

int store_user_update(struct store *st, int64_t id, const struct user_fields *u)
{
    struct db_stmt *q = store_stmt(
        st, "UPDATE users SET username = coalesce(?1, username),"
            " display_name = coalesce(?2, display_name),"
            " org_id = CASE ?7 WHEN 1 THEN ?3 ELSE org_id END, role = coalesce(?4, role),"
            " badge = CASE ?8 WHEN 1 THEN ?5 ELSE badge END,"
            " password_hash = coalesce(?6, password_hash), updated_at = ?9,"
            " email = CASE WHEN CAST(?11 AS TEXT) IS NULL THEN email ELSE nullif(?11, '') END,"
            " lang = coalesce(?12, lang), mail_opt_out = coalesce(?13, mail_opt_out)"
            " WHERE id = ?10");

    if (!q)
        return LS_ERR_DB;
    bind_user(q, u, 1);
    bind_mail(q, u, 11);
    db_bind_int(q, 7, u->org_id != -1);
    db_bind_int(q, 8, u->badge != -2);
    db_bind_int64(q, 9, ls_now_ms());
    db_bind_int64(q, 10, id);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

#define USER_COLUMNS                                                                               \
    "id, username, display_name, coalesce(org_id, 0), role, coalesce(badge, 0),"                   \
    " coalesce(email, ''), lang, mail_opt_out"

static void read_user(struct db_stmt *q, void *record)
{
    struct user *u = record;

    memset(u, 0, sizeof(*u));
    u->id = db_column_int64(q, 0);
    snprintf(u->username, sizeof(u->username), "%s", db_column_text(q, 1));
    snprintf(u->display_name, sizeof(u->display_name), "%s", db_column_text(q, 2));
    u->org_id = db_column_int64(q, 3);
    snprintf(u->role, sizeof(u->role), "%s", db_column_text(q, 4));
    u->badge = db_column_int64(q, 5);
    snprintf(u->email, sizeof(u->email), "%s", db_column_text(q, 6));
    snprintf(u->lang, sizeof(u->lang), "%s", db_column_text(q, 7));
    snprintf(u->mail_opt_out, sizeof(u->mail_opt_out), "%s", db_column_text(q, 8));
}

int store_user_get(struct store *st, int64_t id, struct user *u)
{
    return store_row_by_id(st, store_stmt(st, "SELECT " USER_COLUMNS " FROM users WHERE id = ?"),
                           id, "user", read_user, u);
}

int store_user_list(struct store *st, int64_t org_id, int64_t limit, int64_t offset,
                    struct user **items, size_t *n, int64_t *total)
{
    struct db_stmt *q = store_stmt(st, "SELECT " USER_COLUMNS " FROM users WHERE (?1 = 0 OR org_id"
                                       " = ?1) ORDER BY id LIMIT ?2 OFFSET ?3");
    struct db_stmt *c = store_stmt(st, "SELECT count(*) FROM users WHERE (?1 = 0 OR org_id = ?1)");
    int rc;

    *items = NULL;
    *n = 0;
    if (!q || !c)
        return LS_ERR_DB;
    db_bind_int64(q, 1, org_id > 0 ? org_id : 0);
    db_bind_int64(q, 2, limit);
    db_bind_int64(q, 3, offset);
    db_bind_int64(c, 1, org_id > 0 ? org_id : 0);
    rc = store_rows(st, q, "users", sizeof(**items), read_user, items, n);
    if (rc == LS_OK && count_of(st, c, total))
        rc = LS_ERR_DB;
    if (rc) {
        free(*items);
        *items = NULL;
        *n = 0;
    }
    return rc;
}

/* The first five columns of PRINCIPAL_COLS into p. */
static void principal_cols(struct db_stmt *q, struct principal *p)
{
    memset(p, 0, sizeof(*p));
    p->user_id = db_column_int64(q, 0);
    snprintf(p->username, sizeof(p->username), "%s", (const char *)db_column_text(q, 1));
    snprintf(p->role, sizeof(p->role), "%s", (const char *)db_column_text(q, 2));
    p->org_id = db_column_int64(q, 3);
    snprintf(p->org_type, sizeof(p->org_type), "%s", (const char *)db_column_text(q, 4));
}

#define PRINCIPAL_COLS                                                                             \
    "SELECT u.id, u.username, u.role, coalesce(u.org_id, 0), coalesce(o.type, ''), "

static int principal_row(struct store *st, struct db_stmt *q, struct principal *p, char *hash,
                         size_t len)
{
    int step = db_step(q), rc = LS_OK;

    if (step == DB_ROW) {
        principal_cols(q, p);
        if (hash)
            snprintf(hash, len, "%s",
                     db_column_text(q, 5) ? (const char *)db_column_text(q, 5) : "");
    } else if (step == DB_DONE) {
        rc = LS_ERR_NOTFOUND;
    } else {
        rc = store_db_fail(st, "user");
    }
    db_reset(q);
    return rc;
}

#define PRINCIPAL_SQL                                                                              \
    PRINCIPAL_COLS "u.password_hash FROM users u LEFT JOIN orgs o ON o.id = u.org_id "

int store_user_principal(struct store *st, int64_t id, struct principal *p)
{
    struct db_stmt *q = store_stmt(st, PRINCIPAL_SQL "WHERE u.id = ?");

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, id);
    return principal_row(st, q, p, NULL, 0);
}

int store_user_login(struct store *st, const char *username, struct principal *p, char *hash,
                     size_t len)
{
    /* user names are case-insensitive: Dr.Li is dr.li (a unique index keeps them apart) */
    struct db_stmt *q = store_stmt(st, PRINCIPAL_SQL "WHERE lower(u.username) = lower(?)");

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, username);
    return principal_row(st, q, p, hash, len);
}

int store_token_lookup(struct store *st, const unsigned char hash[32], struct principal *p)
{
    static const char sql[] =
        PRINCIPAL_COLS "t.csrf_hash, t.kind, t.id FROM tokens t JOIN users u ON u.id = t.user_id"
                       " LEFT JOIN orgs o ON o.id = u.org_id WHERE t.hash = ?1"
                       " AND (t.expires_at IS NULL OR t.expires_at > ?2)";
    struct db_stmt *q = store_stmt(st, sql);
    int rc = LS_ERR_AUTH, step;

    if (!q)
        return LS_ERR_DB;
    db_bind_blob(q, 1, hash, 32, DB_STATIC);
    db_bind_int64(q, 2, ls_now_ms());
    step = db_step(q);
    if (step == DB_ROW) {
        principal_cols(q, p);
        if (db_column_bytes(q, 5) == 32)
            memcpy(p->csrf_hash, db_column_blob(q, 5), 32);
        p->session = strcmp((const char *)db_column_text(q, 6), "session") == 0;
        p->cred_id = db_column_int64(q, 7);
        memcpy(p->cred_hash, hash, 32);
        rc = LS_OK;
    } else if (step != DB_DONE) {
        rc = store_db_fail(st, "token lookup");
    }
    db_reset(q);
    return rc;
}

int store_feed_add(struct store *st, const unsigned char hash[32], const char *kind,
                   const char *subject, int64_t by, int64_t *id)
{
    int rc;

    struct db_stmt *q = store_stmt(st, "INSERT INTO feeds(hash, kind, subject, created_by,"
                                       " created_at) VALUES(?, ?, ?, ?, ?)");

    if (!q)
        return LS_ERR_DB;
    db_bind_blob(q, 1, hash, 32, DB_STATIC);
    store_bind_text(q, 2, kind);
    store_bind_text(q, 3, subject);
    db_bind_int64(q, 4, by);
    db_bind_int64(q, 5, ls_now_ms());
    rc = store_write_rc(st, q);
    *id = rc == LS_OK ? db_last_insert_rowid(st->db) : 0;
    return rc;
}

int store_feed_lookup(struct store *st, const unsigned char hash[32], char *kind, char *subject)
{
    struct db_stmt *q = store_stmt(st, "SELECT kind, subject FROM feeds WHERE hash = ?");
    int step, rc = LS_ERR_NOTFOUND;

    if (!q)
        return LS_ERR_DB;
    db_bind_blob(q, 1, hash, 32, DB_STATIC);
    db_bind_int64(q, 2, ls_now_ms());
    step = db_step(q);
    if (step == DB_ROW) {
        snprintf(kind, 16, "%s", (const char *)db_column_text(q, 0));
        snprintf(subject, LS_ID_MAX, "%s", (const char *)db_column_text(q, 1));
        rc = LS_OK;
    } else if (step != DB_DONE) {
        rc = store_db_fail(st, "feed");
    }
    db_reset(q);
    return rc;
}

static void feed_row(struct db_stmt *q, void *record)
{
    struct secret_row *r = record;

    memset(r, 0, sizeof(*r));
    r->id = db_column_int64(q, 0);
    snprintf(r->kind, sizeof(r->kind), "%s", db_column_text(q, 1));
    snprintf(r->subject, sizeof(r->subject), "%s", db_column_text(q, 2));
    r->created_ms = db_column_int64(q, 3);
}

static void token_row(struct db_stmt *q, void *record)
{
    struct secret_row *r = record;

    memset(r, 0, sizeof(*r));
    r->id = db_column_int64(q, 0);
    snprintf(r->kind, sizeof(r->kind), "%s", db_column_text(q, 1));
    r->created_ms = db_column_int64(q, 2);
    r->expires_ms = db_column_int64(q, 3);
}

int store_secrets_list(struct store *st, int feeds, int64_t user_id, struct secret_row **items,
                       size_t *n)
{
    struct db_stmt *q = store_stmt(
        st, feeds ? "SELECT rowid, kind, subject, created_at FROM feeds WHERE created_by = ?1"
                    " ORDER BY rowid"
                  : "SELECT id, kind, created_at, coalesce(expires_at, 0) FROM tokens WHERE"
                    " user_id = ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY id");

    *items = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, user_id);
    if (!feeds)
        db_bind_int64(q, 2, ls_now_ms());
    return store_rows(st, q, feeds ? "feeds" : "tokens", sizeof(**items),
                      feeds ? feed_row : token_row, items, n);
}

int store_secret_delete(struct store *st, int feeds, int64_t user_id, int64_t id)
{
    struct db_stmt *q =
        store_stmt(st, feeds ? "DELETE FROM feeds WHERE rowid = ? AND created_by = ?"
                             : "DELETE FROM tokens WHERE id = ? AND user_id = ?");

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, id);
    db_bind_int64(q, 2, user_id);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}
