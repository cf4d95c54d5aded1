/*
 * store_int.h - what the store_*.c files share: the connection and its statements, and helpers
 * that turn the engine's results into ls_rc. Not for use outside the store module.
 */
#ifndef LS_SRV_STORE_INT_H
#define LS_SRV_STORE_INT_H

#include <jansson.h>

#include "storage/db.h"
#include "store.h"
#include "trust.h"

/* SQL that runs the same on SQLite and PostgreSQL: the smaller and the larger of two values
 * (SQLite's min(a, b), PostgreSQL's least), a condition as 0 or 1 (to sum or multiply), and an
 * integer division as a real. Arguments are SQL fragments (string literals), used twice. */
#define SQL_MIN2(a, b) "(CASE WHEN " a " < " b " THEN " a " ELSE " b " END)"
#define SQL_MAX2(a, b) "(CASE WHEN " a " > " b " THEN " a " ELSE " b " END)"
#define SQL_IF1(c) "(CASE WHEN " c " THEN 1 ELSE 0 END)"

/* The bookings of instrument inst that may reach past time from (SQL fragments: parameters or
 * columns): those that start after from less the instrument's longest booking (booking_spans,
 * kept by the database). With end_ms > from beside it, an index range over (instrument,
 * start_ms) finds them touching a booking's neighbours only, not the instrument's history. b is
 * the bookings' alias with its dot, or "". from must be at least STORE_NEAR_FLOOR (bind it through
 * store_near). */
#define SQL_STARTS_NEAR(b, inst, from)                                                             \
    " AND " b "start_ms > " from " - coalesce((SELECT longest_ms FROM booking_spans WHERE"         \
    " instrument = " inst "), 0)"
#define STORE_NEAR_FLOOR (-(INT64_C(1) << 62))
/* t, raised to STORE_NEAR_FLOOR: so that from - longest cannot overflow. */
static inline int64_t store_near(int64_t t)
{
    return t < STORE_NEAR_FLOOR ? STORE_NEAR_FLOOR : t;
}

/* Statements kept prepared per connection, keyed by the address of their SQL literal. */
#define STORE_CACHE 192

struct store {
    struct db *db;
    struct db_stmt *ins_reading, *next_seqs, *get_ack, *put_ack, *gw_seen;
    struct db_stmt *put_range, *jump_range, *prune_ranges;
    struct db_stmt *ins_refused, *refused_seq, *get_reading, *gw_enabled, *inst_binding;
    struct {
        const char *sql;
        struct db_stmt *s;
    } cache[STORE_CACHE];
    size_t ncache;
    struct trust_limits trust;       /* what ingest believes (SPEC 3.3) */
    struct binding_cache *bindings;  /* instruments' gateways, for ingest (store.c) */
    struct settings_cache *settings; /* instruments' parsed settings (store_instruments.c) */
    /* transactions (store_txn.c): the process's gate to an SQLite file, held from store_begin to
     * commit or rollback; a write group's state (store_group_begin) */
    struct write_gate *gate;
    int gate_held, group, job_open;
};

/* The gate every connection of this process to SQLite file path shares (NULL for PostgreSQL and
 * in-memory databases): store_open's. */
struct write_gate *store_write_gate(const char *path);
/* The readings of instrument in [from, to) as usage computes from them, in time order (ts,
 * gateway, epoch, seq): *out (caller frees), *n (store_usage.c). */
struct usage_reading;
int store_usage_readings(struct store *st, const char *instrument, int64_t from, int64_t to,
                         struct usage_reading **out, size_t *n);

/* The ids (text, first column) q gives, into *ids (caller frees): store_util.c. An error is
 * not "no more rows": a check would pass having checked none. */
int store_ids(struct store *st, struct db_stmt *q, char (**ids)[LS_ID_MAX], size_t *n);

/* Free the parsed settings the connection keeps (store_close). */
void store_settings_cache_free(struct store *st);

/* Let the gate go if the connection holds it (store_close). */
void store_txn_close(struct store *st);

/* Log SQLite's error for what and return LS_ERR_DB. */
int store_db_fail(struct store *st, const char *what);
/* Run SQL without results. */
int store_exec(struct store *st, const char *sql);
int store_prepare(struct store *st, const char *sql, struct db_stmt **s);
/* Step a statement that returns no rows and reset it. */
int store_step_done(struct store *st, struct db_stmt *s);

/* A prepared statement for sql (a string literal: cached by its address), reset and with its
 * bindings cleared. NULL when it cannot be prepared (logged). Borrowed: valid until close. */
struct db_stmt *store_stmt(struct store *st, const char *sql);

/* Step a query for its next row: 1 for a row, 0 at the end (DB_DONE), -1 on an error (logged
 * for what): a loop over rows stops at both, and an error is not the end of the data. Does not
 * reset s. */
int store_step_row(struct store *st, struct db_stmt *s, const char *what);
/* Step s to its end, read(s, record) filling one size-byte record per row of an array grown as
 * needed: *(T **)itemsp (the caller frees; NULL when no row), *n of them. LS_ERR_DB or
 * LS_ERR_NOMEM with nothing kept. Resets s. */
int store_rows(struct store *st, struct db_stmt *s, const char *what, size_t size,
               void (*read)(struct db_stmt *s, void *record), void *itemsp, size_t *n);
/* The record of id that s (a query with id as its one parameter) selects, read by read:
 * LS_OK, LS_ERR_NOTFOUND when no row, LS_ERR_DB. Resets s (NULL: LS_ERR_DB). */
int store_row_by_id(struct store *st, struct db_stmt *s, int64_t id, const char *what,
                    void (*read)(struct db_stmt *s, void *record), void *record);
/* Step s for one integer (first column): LS_ERR_NOTFOUND when no row. Resets s. */
int store_int_one(struct store *st, struct db_stmt *s, int64_t *out);

/* Bind text, or NULL when v is NULL. */
void store_bind_text(struct db_stmt *s, int col, const char *v);
/* 1 (and q reset, the failure logged and forgotten) when a store_bind_text() on this thread
 * failed since the last check: the statement must not run. The step helpers here check it. */
int store_bind_failed(struct db_stmt *q);

/* Step a write and reset it: LS_OK, LS_ERR_CONFLICT for a UNIQUE or PRIMARY KEY violation,
 * LS_ERR_INVAL for a FOREIGN KEY or CHECK violation (the caller's input), LS_ERR_DB otherwise. */
int store_write_rc(struct store *st, struct db_stmt *q);

/* store_write_rc() for a write that must change a row: none_rc (LS_ERR_NOTFOUND for an update or
 * delete of a missing row, LS_ERR_CONFLICT for an insert that a conflict clause turned into
 * nothing) when it changed none. */
int store_write_one(struct store *st, struct db_stmt *q, int none_rc);

/* Free the cached statements (called by store_close). */
void store_cache_clear(struct store *st);

#endif /* LS_SRV_STORE_INT_H */
