/* db_sqlite.c - the SQLite engine of db.h: a thin layer over sqlite3's own calls. */
#include "db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "labshare/banned.h"

struct sq_db {
    struct db base;
    sqlite3 *h;
};

struct sq_stmt {
    struct db_stmt base;
    sqlite3_stmt *s;
    struct sq_db *db;
};

#define H(db) (((struct sq_db *)(db))->h)
#define S(st) (((struct sq_stmt *)(st))->s)

static int rc_of(int rc)
{
    return rc == SQLITE_ROW    ? DB_ROW
           : rc == SQLITE_DONE ? DB_DONE
           : rc == SQLITE_OK   ? DB_OK
                               : DB_ERROR;
}

static void (*destructor(enum db_lifetime life))(void *)
{
    return life == DB_STATIC ? SQLITE_STATIC : life == DB_FREE ? free : SQLITE_TRANSIENT;
}

static int sq_open(const char *path, struct db **out, char *err, size_t errlen)
{
    struct sq_db *d = calloc(1, sizeof(*d));

    if (!d) {
        snprintf(err, errlen, "out of memory");
        return DB_ERROR;
    }
    d->base.ops = &db_sqlite_ops;
    if (sqlite3_open_v2(path, &d->h,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 d->h ? sqlite3_errmsg(d->h) : "out of memory");
        sqlite3_close(d->h);
        free(d);
        return DB_ERROR;
    }
    /* Writers wait up to 10 s for each other instead of failing with SQLITE_BUSY. */
    sqlite3_busy_timeout(d->h, 10000);
    *out = &d->base;
    return DB_OK;
}

static void sq_close(struct db *db)
{
    sqlite3_close(H(db));
    free(db);
}

static int sq_exec(struct db *db, const char *sql)
{
    return rc_of(sqlite3_exec(H(db), sql, NULL, NULL, NULL));
}

static int sq_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    struct sq_stmt *st = calloc(1, sizeof(*st));

    if (!st)
        return DB_ERROR;
    st->base.ops = &db_sqlite_ops;
    st->db = (struct sq_db *)db;
    if (sqlite3_prepare_v3(H(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &st->s, NULL) != SQLITE_OK) {
        free(st);
        return DB_ERROR;
    }
    *out = &st->base;
    return DB_OK;
}

static void sq_finalize(struct db_stmt *s)
{
    sqlite3_finalize(S(s));
    free(s);
}

static const char *sq_sql(const struct db_stmt *s)
{
    return sqlite3_sql(S(s));
}

static int sq_bind_int64(struct db_stmt *s, int i, int64_t v)
{
    return rc_of(sqlite3_bind_int64(S(s), i, v));
}

static int sq_bind_double(struct db_stmt *s, int i, double v)
{
    return rc_of(sqlite3_bind_double(S(s), i, v));
}

static int sq_bind_null(struct db_stmt *s, int i)
{
    return rc_of(sqlite3_bind_null(S(s), i));
}

static int sq_bind_text(struct db_stmt *s, int i, const char *v, int len, enum db_lifetime life)
{
    return rc_of(sqlite3_bind_text(S(s), i, v, len, destructor(life)));
}

static int sq_bind_blob(struct db_stmt *s, int i, const void *v, int len, enum db_lifetime life)
{
    return rc_of(sqlite3_bind_blob(S(s), i, v, len, destructor(life)));
}

static int sq_clear_bindings(struct db_stmt *s)
{
    return rc_of(sqlite3_clear_bindings(S(s)));
}
static int sq_step(struct db_stmt *s)
{
    return rc_of(sqlite3_step(S(s)));
}
static int sq_reset(struct db_stmt *s)
{
    return rc_of(sqlite3_reset(S(s)));
}

static int sq_column_type(struct db_stmt *s, int i)
{
    switch (sqlite3_column_type(S(s), i)) {
    case SQLITE_INTEGER:
        return DB_INTEGER;
    case SQLITE_FLOAT:
        return DB_FLOAT;
    case SQLITE_TEXT:
        return DB_TEXT;
    case SQLITE_BLOB:
        return DB_BLOB;
    default:
        return DB_NULL;
    }
}

static int64_t sq_column_int64(struct db_stmt *s, int i)
{
    return sqlite3_column_int64(S(s), i);
}
static double sq_column_double(struct db_stmt *s, int i)
{
    return sqlite3_column_double(S(s), i);
}

static const unsigned char *sq_column_text(struct db_stmt *s, int i)
{
    return sqlite3_column_text(S(s), i);
}

static const void *sq_column_blob(struct db_stmt *s, int i)
{
    return sqlite3_column_blob(S(s), i);
}
static int sq_column_bytes(struct db_stmt *s, int i)
{
    return sqlite3_column_bytes(S(s), i);
}
static int64_t sq_changes(struct db *db)
{
    return sqlite3_changes(H(db));
}
static int64_t sq_last_insert_rowid(struct db *db)
{
    return sqlite3_last_insert_rowid(H(db));
}
static int sq_autocommit(struct db *db)
{
    return sqlite3_get_autocommit(H(db));
}
static const char *sq_errmsg(struct db *db)
{
    return sqlite3_errmsg(H(db));
}

static enum db_error sq_errcode(struct db *db)
{
    switch (sqlite3_extended_errcode(H(db))) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return DB_E_NONE;
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return DB_E_UNIQUE;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return DB_E_FOREIGN;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
        return DB_E_CHECK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return DB_E_BUSY;
    default:
        return DB_E_OTHER;
    }
}

const struct db_ops db_sqlite_ops = {
    .name = "sqlite",
    .engine = DB_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .sql = sq_sql,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_null = sq_bind_null,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .clear_bindings = sq_clear_bindings,
    .step = sq_step,
    .reset = sq_reset,
    .column_type = sq_column_type,
    .column_int64 = sq_column_int64,
    .column_double = sq_column_double,
    .column_text = sq_column_text,
    .column_blob = sq_column_blob,
    .column_bytes = sq_column_bytes,
    .changes = sq_changes,
    .last_insert_rowid = sq_last_insert_rowid,
    .autocommit = sq_autocommit,
    .errmsg = sq_errmsg,
    .errcode = sq_errcode,
};
