/* db.c - db.h's calls, dispatched to the engine of the connection or statement. */
#include "db.h"

#include <stdio.h>
#include <string.h>

#include "labshare/banned.h"

int db_open(const char *url, struct db **out, char *err, size_t errlen)
{
    *out = NULL;
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return db_pg_ops.open(url, out, err, errlen);
    if (strncmp(url, "sqlite:", 7) == 0)
        url += 7;
    if (!url[0]) {
        snprintf(err, errlen, "no database path");
        return DB_ERROR;
    }
    return db_sqlite_ops.open(url, out, err, errlen);
}

void db_close(struct db *db)
{
    if (db)
        db->ops->close(db);
}

enum db_engine db_engine(const struct db *db)
{
    return db->ops->engine;
}
int db_exec(struct db *db, const char *sql)
{
    return db->ops->exec(db, sql);
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    *out = NULL;
    return db->ops->prepare(db, sql, out);
}

void db_finalize(struct db_stmt *s)
{
    if (s)
        s->ops->finalize(s);
}

const char *db_sql(const struct db_stmt *s)
{
    return s->ops->sql(s);
}
int db_bind_int64(struct db_stmt *s, int i, int64_t v)
{
    return s->ops->bind_int64(s, i, v);
}
int db_bind_int(struct db_stmt *s, int i, int v)
{
    return s->ops->bind_int64(s, i, v);
}
int db_bind_double(struct db_stmt *s, int i, double v)
{
    return s->ops->bind_double(s, i, v);
}
int db_bind_null(struct db_stmt *s, int i)
{
    return s->ops->bind_null(s, i);
}

int db_bind_text(struct db_stmt *s, int i, const char *v, int len, enum db_lifetime life)
{
    return s->ops->bind_text(s, i, v, len, life);
}

int db_bind_blob(struct db_stmt *s, int i, const void *v, int len, enum db_lifetime life)
{
    return s->ops->bind_blob(s, i, v, len, life);
}

int db_clear_bindings(struct db_stmt *s)
{
    return s->ops->clear_bindings(s);
}
int db_step(struct db_stmt *s)
{
    return s->ops->step(s);
}
int db_reset(struct db_stmt *s)
{
    return s->ops->reset(s);
}
int db_column_type(struct db_stmt *s, int i)
{
    return s->ops->column_type(s, i);
}
int64_t db_column_int64(struct db_stmt *s, int i)
{
    return s->ops->column_int64(s, i);
}

int db_column_int(struct db_stmt *s, int i)
{
    int64_t v = s->ops->column_int64(s, i);

    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int)v;
}

double db_column_double(struct db_stmt *s, int i)
{
    return s->ops->column_double(s, i);
}
const unsigned char *db_column_text(struct db_stmt *s, int i)
{
    return s->ops->column_text(s, i);
}
const void *db_column_blob(struct db_stmt *s, int i)
{
    return s->ops->column_blob(s, i);
}
int db_column_bytes(struct db_stmt *s, int i)
{
    return s->ops->column_bytes(s, i);
}
int64_t db_changes(struct db *db)
{
    return db->ops->changes(db);
}
int64_t db_last_insert_rowid(struct db *db)
{
    return db->ops->last_insert_rowid(db);
}
int db_autocommit(struct db *db)
{
    return db->ops->autocommit(db);
}
const char *db_errmsg(struct db *db)
{
    return db->ops->errmsg(db);
}
enum db_error db_errcode(struct db *db)
{
    return db->ops->errcode(db);
}
