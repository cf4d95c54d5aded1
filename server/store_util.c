/* store_util.c - statement cache and JSON helpers of the store module (store_int.h). */
#include "store_int.h"

#include <string.h>

#include "labshare/log.h"
#include "labshare/grow.h"
#include "labshare/json_guard.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

sqlite3_stmt *store_stmt(struct store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;

    for (size_t i = 0; i < st->ncache; i++) {
        if (st->cache[i].sql == sql) {
            sqlite3_reset(st->cache[i].s);
            sqlite3_clear_bindings(st->cache[i].s);
            return st->cache[i].s;
        }
    }
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        store_db_fail(st, sql);
        sqlite3_finalize(s);
        return NULL;
    }
    if (st->ncache < STORE_CACHE) {
        st->cache[st->ncache].sql = sql;
        st->cache[st->ncache++].s = s;
    } else {
        ls_warn("store: statement cache full; raise STORE_CACHE");
    }
    return s;
}

void store_cache_clear(struct store *st)
{
    for (size_t i = 0; i < st->ncache; i++)
        sqlite3_finalize(st->cache[i].s);
    st->ncache = 0;
}

int store_json_rows(struct store *st, sqlite3_stmt *s, json_t *arr)
{
    int step, rc = LS_OK;

    if (store_bind_failed(s))
        return LS_ERR_NOMEM;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(s, 0);
        json_t *o = text ? ls_json_loads(text, 0, NULL, NULL) : NULL;
        if (!o || json_array_append_new(arr, o)) {
            rc = LS_ERR_NOMEM;
            break;
        }
    }
    if (rc == LS_OK && step != SQLITE_DONE)
        rc = store_db_fail(st, "list");
    sqlite3_reset(s);
    return rc;
}

int store_json_one(struct store *st, sqlite3_stmt *s, json_t **out)
{
    *out = NULL;
    if (store_bind_failed(s))
        return LS_ERR_NOMEM;
    int step = sqlite3_step(s), rc = LS_OK;

    if (step == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(s, 0);
        *out = text ? ls_json_loads(text, 0, NULL, NULL) : NULL;
        if (!*out)
            rc = LS_ERR_NOMEM;
    } else if (step == SQLITE_DONE) {
        rc = LS_ERR_NOTFOUND;
    } else {
        rc = store_db_fail(st, "get");
    }
    sqlite3_reset(s);
    return rc;
}

int store_json_by_id(struct store *st, const char *sql, int64_t id, json_t **out)
{
    sqlite3_stmt *q = store_stmt(st, sql);

    *out = NULL;
    if (!q)
        return LS_ERR_DB;
    sqlite3_bind_int64(q, 1, id);
    return store_json_one(st, q, out);
}

int store_step_row(struct store *st, sqlite3_stmt *s, const char *what)
{
    int step;

    if (store_bind_failed(s))
        return -1;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        return 1;
    if (step == SQLITE_DONE)
        return 0;
    store_db_fail(st, what);
    return -1;
}

int store_rows(struct store *st, sqlite3_stmt *s, const char *what, size_t size,
               void (*read)(sqlite3_stmt *s, void *record), void *itemsp, size_t *n)
{
    void **items = itemsp;
    size_t cap = 0;
    int row, rc = LS_OK;

    *items = NULL;
    *n = 0;
    while ((row = store_step_row(st, s, what)) > 0) {
        if (ls_grow(items, &cap, *n + 1, size)) {
            rc = LS_ERR_NOMEM;
            break;
        }
        read(s, (char *)*items + *n * size);
        (*n)++;
    }
    sqlite3_reset(s);
    if (rc == LS_OK && row < 0)
        rc = LS_ERR_DB;
    if (rc) {
        free(*items);
        *items = NULL;
        *n = 0;
    }
    return rc;
}

int store_row_by_id(struct store *st, sqlite3_stmt *s, int64_t id, const char *what,
                    void (*read)(sqlite3_stmt *s, void *record), void *record)
{
    int row;

    if (!s)
        return LS_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    if ((row = store_step_row(st, s, what)) > 0)
        read(s, record);
    sqlite3_reset(s);
    return row > 0 ? LS_OK : row == 0 ? LS_ERR_NOTFOUND : LS_ERR_DB;
}

int store_int_one(struct store *st, sqlite3_stmt *s, int64_t *out)
{
    if (store_bind_failed(s))
        return LS_ERR_NOMEM;
    int step = sqlite3_step(s), rc = LS_OK;

    if (step == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else if (step == SQLITE_DONE)
        rc = LS_ERR_NOTFOUND;
    else
        rc = store_db_fail(st, "get");
    sqlite3_reset(s);
    return rc;
}

/* A text bind that failed (SQLite could not copy it: out of memory) on this thread since the last
 * step: the parameter would be NULL, and the statement must not run. */
static _Thread_local int bind_failed;

void store_bind_text(sqlite3_stmt *s, int col, const char *v)
{
    if ((v ? sqlite3_bind_text(s, col, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, col)) !=
        SQLITE_OK)
        bind_failed = 1;
}

int store_bind_failed(sqlite3_stmt *q)
{
    if (!bind_failed)
        return 0;
    bind_failed = 0;
    sqlite3_reset(q);
    ls_error("store: a value could not be bound (out of memory): %s not run", sqlite3_sql(q));
    return 1;
}

int store_write_rc(struct store *st, sqlite3_stmt *q)
{
    if (store_bind_failed(q))
        return LS_ERR_NOMEM;
    int step = sqlite3_step(q), ext = sqlite3_extended_errcode(st->db);

    sqlite3_reset(q);
    if (step == SQLITE_DONE)
        return LS_OK;
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return LS_ERR_CONFLICT;
    if (ext == SQLITE_CONSTRAINT_FOREIGNKEY || ext == SQLITE_CONSTRAINT_CHECK)
        return LS_ERR_INVAL;
    return store_db_fail(st, "write");
}

int store_write_one(struct store *st, sqlite3_stmt *q, int none_rc)
{
    int rc = store_write_rc(st, q);

    return rc == LS_OK && sqlite3_changes(st->db) == 0 ? none_rc : rc;
}
