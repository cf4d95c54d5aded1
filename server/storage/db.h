/*
 * db.h - the SQL engines the store runs on, behind one table of operations (struct db_ops, as
 * git's ref_storage_be is for refs): SQLite (db_sqlite.c, the embedded default) and PostgreSQL
 * (db_pg.c, libpq) for several servers on one database.
 *
 * The calls follow SQLite's statement model, which the store was written against: prepare once,
 * bind parameters (1-based), step through the rows (DB_ROW ... DB_DONE), read columns (0-based),
 * reset and bind again. SQL uses SQLite's parameter forms `?` and `?N`; the PostgreSQL driver
 * turns them into `$N`. What differs between the engines in SQL (the schema, its guarantees, the
 * conflict clauses) is chosen by the store from db_engine(), not hidden here.
 *
 * A connection and its statements belong to one thread at a time.
 */
#ifndef LS_SRV_DB_H
#define LS_SRV_DB_H

#include <stddef.h>
#include <stdint.h>

/* Results of db_step() and the other calls. */
#define DB_OK 0
#define DB_ERROR 1 /* see db_errmsg() and db_errcode() */
#define DB_ROW 100
#define DB_DONE 101

/* Column types (db_column_type). */
#define DB_INTEGER 1
#define DB_FLOAT 2
#define DB_TEXT 3
#define DB_BLOB 4
#define DB_NULL 5

/* What a bound text or blob's memory does (db_bind_text, db_bind_blob). */
enum db_lifetime {
    DB_STATIC,    /* stays valid and unchanged until the statement is reset or rebound */
    DB_TRANSIENT, /* copied at once */
    DB_FREE       /* malloc'd; the statement frees it */
};

/* Why the last call on a connection failed (db_errcode). */
enum db_error {
    DB_E_NONE,
    DB_E_UNIQUE,    /* a UNIQUE or PRIMARY KEY constraint */
    DB_E_EXCLUSION, /* an exclusion constraint (PostgreSQL: overlapping bookings) */
    DB_E_FOREIGN,   /* a FOREIGN KEY constraint */
    DB_E_CHECK,     /* a CHECK or NOT NULL constraint */
    DB_E_BUSY,      /* a lock not obtained in time, or a serialisation failure: try again */
    DB_E_OTHER
};

enum db_engine { DB_SQLITE, DB_POSTGRESQL };

struct db;
struct db_stmt;

/*
 * Open the database that url names: "sqlite:PATH" or a bare PATH (SQLite; created when missing),
 * or "postgresql://..." / "postgres://..." (a libpq connection URI). DB_OK and *out, or DB_ERROR
 * with the reason in err (nothing to close).
 */
int db_open(const char *url, struct db **out, char *err, size_t errlen);
void db_close(struct db *db);
enum db_engine db_engine(const struct db *db);

/* Run SQL (one or more statements, no parameters, no rows wanted). DB_OK or DB_ERROR. */
int db_exec(struct db *db, const char *sql);
/* Prepare one statement: DB_OK and *out (free with db_finalize), or DB_ERROR. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
void db_finalize(struct db_stmt *s);
/* The SQL s was prepared from. Borrowed. */
const char *db_sql(const struct db_stmt *s);

/* Bind parameter i (1-based). DB_OK, or DB_ERROR (out of memory, index out of range). */
int db_bind_int64(struct db_stmt *s, int i, int64_t v);
int db_bind_int(struct db_stmt *s, int i, int v);
int db_bind_double(struct db_stmt *s, int i, double v);
int db_bind_null(struct db_stmt *s, int i);
/* len < 0: up to the NUL. */
int db_bind_text(struct db_stmt *s, int i, const char *v, int len, enum db_lifetime life);
int db_bind_blob(struct db_stmt *s, int i, const void *v, int len, enum db_lifetime life);
/* Every parameter back to NULL. */
int db_clear_bindings(struct db_stmt *s);

/* Run s (the first call after a reset) or move to its next row: DB_ROW, DB_DONE, DB_ERROR. */
int db_step(struct db_stmt *s);
/* Back to before the first step; the bindings stay. */
int db_reset(struct db_stmt *s);

/* Column i (0-based) of the current row. Text and blobs are borrowed until the next step or
 * reset. */
int db_column_type(struct db_stmt *s, int i);
int64_t db_column_int64(struct db_stmt *s, int i);
int db_column_int(struct db_stmt *s, int i);
double db_column_double(struct db_stmt *s, int i);
const unsigned char *db_column_text(struct db_stmt *s, int i);
const void *db_column_blob(struct db_stmt *s, int i);
int db_column_bytes(struct db_stmt *s, int i);

/* Rows changed by the last write on db. */
int64_t db_changes(struct db *db);
/* The id the last insert of a row into a table with an integer id gave it. */
int64_t db_last_insert_rowid(struct db *db);
/* 1 when no transaction is open on db. */
int db_autocommit(struct db *db);
/* The last error on db: its message (borrowed) and its kind. */
const char *db_errmsg(struct db *db);
enum db_error db_errcode(struct db *db);

/* The operations of an engine; db.c dispatches to them. */
struct db_ops {
    const char *name;
    enum db_engine engine;
    int (*open)(const char *target, struct db **out, char *err, size_t errlen);
    void (*close)(struct db *db);
    int (*exec)(struct db *db, const char *sql);
    int (*prepare)(struct db *db, const char *sql, struct db_stmt **out);
    void (*finalize)(struct db_stmt *s);
    const char *(*sql)(const struct db_stmt *s);
    int (*bind_int64)(struct db_stmt *s, int i, int64_t v);
    int (*bind_double)(struct db_stmt *s, int i, double v);
    int (*bind_null)(struct db_stmt *s, int i);
    int (*bind_text)(struct db_stmt *s, int i, const char *v, int len, enum db_lifetime life);
    int (*bind_blob)(struct db_stmt *s, int i, const void *v, int len, enum db_lifetime life);
    int (*clear_bindings)(struct db_stmt *s);
    int (*step)(struct db_stmt *s);
    int (*reset)(struct db_stmt *s);
    int (*column_type)(struct db_stmt *s, int i);
    int64_t (*column_int64)(struct db_stmt *s, int i);
    double (*column_double)(struct db_stmt *s, int i);
    const unsigned char *(*column_text)(struct db_stmt *s, int i);
    const void *(*column_blob)(struct db_stmt *s, int i);
    int (*column_bytes)(struct db_stmt *s, int i);
    int64_t (*changes)(struct db *db);
    int64_t (*last_insert_rowid)(struct db *db);
    int (*autocommit)(struct db *db);
    const char *(*errmsg)(struct db *db);
    enum db_error (*errcode)(struct db *db);
};

/* Every connection and statement starts with its engine's table. */
struct db {
    const struct db_ops *ops;
};
struct db_stmt {
    const struct db_ops *ops;
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;

#endif /* LS_SRV_DB_H */
