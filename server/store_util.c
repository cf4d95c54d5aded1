/* store_util.c - the statement cache and step helpers of the store module (store_int.h). */
#include "store_int.h"

#include <string.h>

#include "labshare/log.h"
#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

struct db_stmt *store_stmt(struct store *st, const char *sql)
{
    struct db_stmt *s = NULL;

    for (size_t i = 0; i < st->ncache; i++) {
        if (st->cache[i].sql == sql) {
            db_reset(st->cache[i].s);
            db_clear_bindings(st->cache[i].s);
            return st->cache[i].s;
        }
    }
    if (db_prepare(st->db, sql, &s) != DB_OK) {
        store_db_fail(st, sql);
        db_finalize(s);
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
        db_finalize(st->cache[i].s);
    st->ncache = 0;
}

int store_step_row(struct store *st, struct db_stmt *s, const char *what)
{
    int step;

    if (store_bind_failed(s))
        return -1;
    step = db_step(s);
    if (step == DB_ROW)
        return 1;
    if (step == DB_DONE)
        return 0;
    store_db_fail(st, what);
    return -1;
}

int store_rows(struct store *st, struct db_stmt *s, const char *what, size_t size,
               void (*read)(struct db_stmt *s, void *record), void *itemsp, size_t *n)
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
    db_reset(s);
    if (rc == LS_OK && row < 0)
        rc = LS_ERR_DB;
    if (rc) {
        free(*items);
        *items = NULL;
        *n = 0;
    }
    return rc;
}

int store_row_by_id(struct store *st, struct db_stmt *s, int64_t id, const char *what,
                    void (*read)(struct db_stmt *s, void *record), void *record)
{
    int row;

    if (!s)
        return LS_ERR_DB;
    db_bind_int64(s, 1, id);
    if ((row = store_step_row(st, s, what)) > 0)
        read(s, record);
    db_reset(s);
    return row > 0 ? LS_OK : row == 0 ? LS_ERR_NOTFOUND : LS_ERR_DB;
}

int store_int_one(struct store *st, struct db_stmt *s, int64_t *out)
{
    if (store_bind_failed(s))
        return LS_ERR_NOMEM;
    int step = db_step(s), rc = LS_OK;

    if (step == DB_ROW)
        *out = db_column_int64(s, 0);
    else if (step == DB_DONE)
        rc = LS_ERR_NOTFOUND;
    else
        rc = store_db_fail(st, "get");
    db_reset(s);
    return rc;
}

/* A text bind that failed (SQLite could not copy it: out of memory) on this thread since the last
 * step: the parameter would be NULL, and the statement must not run. */
static _Thread_local int bind_failed;

void store_bind_text(struct db_stmt *s, int col, const char *v)
{
    if ((v ? db_bind_text(s, col, v, -1, DB_TRANSIENT) : db_bind_null(s, col)) != DB_OK)
        bind_failed = 1;
}

int store_bind_failed(struct db_stmt *q)
{
    if (!bind_failed)
        return 0;
    bind_failed = 0;
    db_reset(q);
    ls_error("store: a value could not be bound (out of memory): %s not run", db_sql(q));
    return 1;
}

int store_write_rc(struct store *st, struct db_stmt *q)
{
    if (store_bind_failed(q))
        return LS_ERR_NOMEM;
    int step = db_step(q);
    enum db_error ext = db_errcode(st->db);

    db_reset(q);
    if (step == DB_DONE)
        return LS_OK;
    if (ext == DB_E_UNIQUE || ext == DB_E_EXCLUSION)
        return LS_ERR_CONFLICT;
    if (ext == DB_E_FOREIGN || ext == DB_E_CHECK)
        return LS_ERR_INVAL;
    return store_db_fail(st, "write");
}

int store_write_one(struct store *st, struct db_stmt *q, int none_rc)
{
    int rc = store_write_rc(st, q);

    return rc == LS_OK && db_changes(st->db) == 0 ? none_rc : rc;
}

int store_ids(struct store *st, struct db_stmt *q, char (**ids)[LS_ID_MAX], size_t *n)
{
    size_t cap = 0;
    int row;

    *ids = NULL;
    *n = 0;
    while ((row = store_step_row(st, q, "ids")) > 0) {
        if (LS_GROW(*ids, cap, *n + 1)) {
            db_reset(q);
            return LS_ERR_NOMEM;
        }
        snprintf((*ids)[(*n)++], LS_ID_MAX, "%s", db_column_text(q, 0));
    }
    db_reset(q);
    return row < 0 ? LS_ERR_DB : LS_OK;
}
