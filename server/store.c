#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labshare/log.h"
#include "labshare/grow.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "storage/db_reading.h"
#include "storage/schema_pg.h"
#include "labshare/banned.h"

/* Migrations: entry i takes the schema from version i to i + 1. Append only; never edit a
 * released entry. */
static const char *const migrations[] = {
    /* 1: readings, acks, gateways, users and tokens */
    "CREATE TABLE orgs("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " type TEXT NOT NULL CHECK(type IN ('government','enterprise','university','institute')));"
    "CREATE TABLE users("
    " id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL DEFAULT '',"
    " org_id INTEGER REFERENCES orgs(id),"
    " role TEXT NOT NULL CHECK(role IN ('researcher','manager','auditor','admin')),"
    " badge INTEGER UNIQUE, password_hash TEXT, created_at INTEGER NOT NULL);"
    "CREATE TABLE tokens("
    " hash BLOB PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
    " kind TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER);"
    "CREATE TABLE readings("
    " id INTEGER PRIMARY KEY, gateway TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " instrument TEXT NOT NULL, ts INTEGER NOT NULL, state INTEGER NOT NULL,"
    " run_seconds INTEGER, energy_wh INTEGER, power_w REAL, samples INTEGER, badge INTEGER,"
    " cause INTEGER NOT NULL, received_at INTEGER NOT NULL, UNIQUE(gateway, epoch, seq));"
    "CREATE INDEX readings_instrument_ts ON readings(instrument, ts);"
    "CREATE INDEX readings_ts ON readings(ts);"
    "CREATE TABLE gateway_acks("
    " gateway TEXT NOT NULL, epoch INTEGER NOT NULL, upto INTEGER NOT NULL,"
    " PRIMARY KEY(gateway, epoch));"
    "CREATE TABLE gateways("
    " id TEXT PRIMARY KEY, online INTEGER NOT NULL DEFAULT 0, version TEXT,"
    " outbox INTEGER, outbox_full INTEGER NOT NULL DEFAULT 0, instruments TEXT,"
    " last_seen INTEGER, last_ack INTEGER);",
    /* 2: seq ranges a gateway declared complete ("after" of a batch): what is missing in them
     * was thinned from its outbox and may be acked past. */
    "CREATE TABLE gateway_ranges("
    " gateway TEXT NOT NULL, epoch INTEGER NOT NULL, after INTEGER NOT NULL,"
    " last INTEGER NOT NULL, PRIMARY KEY(gateway, epoch, after, last)) WITHOUT ROWID;",
    /* 3: instruments, bookings, outages, sessions, calendar feeds, the audit log */
    "ALTER TABLE tokens ADD COLUMN csrf_hash BLOB;"
    "ALTER TABLE users ADD COLUMN updated_at INTEGER;"
    "CREATE TABLE instruments("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, org_id INTEGER NOT NULL REFERENCES orgs(id),"
    " category TEXT NOT NULL DEFAULT '', location TEXT NOT NULL DEFAULT '',"
    " value_yuan INTEGER NOT NULL DEFAULT 0, rated_hours INTEGER NOT NULL DEFAULT 1400,"
    " public INTEGER NOT NULL DEFAULT 1, gateway TEXT, booking TEXT NOT NULL DEFAULT '{}',"
    " billing TEXT NOT NULL DEFAULT '{}', service_hours TEXT NOT NULL DEFAULT '{}',"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE bookings("
    " id INTEGER PRIMARY KEY, instrument TEXT NOT NULL REFERENCES instruments(id),"
    " user_id INTEGER NOT NULL REFERENCES users(id), project TEXT NOT NULL DEFAULT '',"
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, status TEXT NOT NULL CHECK(status IN"
    " ('pending','confirmed','cancelled','completed','no_show')), reason TEXT,"
    " metered_seconds INTEGER NOT NULL DEFAULT 0, created_by INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, rating INTEGER, comment TEXT, CHECK(end_ms > start_ms));"
    "CREATE INDEX bookings_instrument ON bookings(instrument, start_ms);"
    "CREATE INDEX bookings_user ON bookings(user_id, start_ms);"
    "CREATE TABLE outages("
    " id INTEGER PRIMARY KEY, instrument TEXT NOT NULL REFERENCES instruments(id),"
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('maintenance','breakdown')), note TEXT NOT NULL DEFAULT '',"
    " created_by INTEGER NOT NULL, created_at INTEGER NOT NULL, CHECK(end_ms > start_ms));"
    "CREATE INDEX outages_instrument ON outages(instrument, start_ms);"
    "CREATE TABLE feeds("
    " hash BLOB PRIMARY KEY, kind TEXT NOT NULL CHECK(kind IN ('user','instrument')),"
    " subject TEXT NOT NULL, created_by INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE audit("
    " seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
    " object TEXT NOT NULL, before TEXT, after TEXT, prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    /* The newest record's seq and hash, written with it: deleting records at the end of the
     * chain is caught too. */
    "CREATE TABLE audit_head(id INTEGER PRIMARY KEY CHECK(id = 1), seq INTEGER NOT NULL,"
    " hash TEXT NOT NULL);",
    /* 4: usage, the parts of sessions attributed to users (SPEC 6) */
    "CREATE TABLE usage("
    " id INTEGER PRIMARY KEY, instrument TEXT NOT NULL, session_start INTEGER NOT NULL,"
    " session_end INTEGER NOT NULL, open INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
    " end_ms INTEGER NOT NULL, run_ms INTEGER NOT NULL, energy_wh INTEGER NOT NULL,"
    " samples INTEGER NOT NULL, badge INTEGER, user_id INTEGER, booking_id INTEGER,"
    " attribution TEXT NOT NULL CHECK(attribution IN ('booking','badge','none')));"
    "CREATE INDEX usage_instrument ON usage(instrument, session_start);"
    "CREATE INDEX usage_booking ON usage(booking_id);",
    /* 5: billing (SPEC 7): vouchers, charge lines, closed months */
    "CREATE TABLE vouchers("
    " id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES orgs(id),"
    " percent INTEGER NOT NULL CHECK(percent BETWEEN 1 AND 100),"
    " annual_cap INTEGER NOT NULL CHECK(annual_cap >= 0), valid_from TEXT NOT NULL,"
    " valid_to TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE charges("
    " id INTEGER PRIMARY KEY, source TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('charge','adjustment')), org_id INTEGER NOT NULL,"
    " user_id INTEGER, instrument TEXT NOT NULL, booking_id INTEGER, at_ms INTEGER NOT NULL,"
    " month TEXT NOT NULL, category TEXT NOT NULL, minutes INTEGER NOT NULL,"
    " rate INTEGER NOT NULL, samples INTEGER NOT NULL, sample_fee INTEGER NOT NULL,"
    " amount INTEGER NOT NULL, voucher INTEGER NOT NULL, voucher_id INTEGER,"
    " description TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX charges_source ON charges(source);"
    "CREATE INDEX charges_org_month ON charges(org_id, month);"
    "CREATE TABLE closed_months(month TEXT PRIMARY KEY, closed_at INTEGER NOT NULL,"
    " closed_by TEXT NOT NULL);",
    /* 6: trust on the wire (SPEC 3.3): registered gateways with their owner and lock, the
     * readings refused (kept as evidence, and so that acks can pass them), and the badge's user
     * as it was when a reading arrived */
    "ALTER TABLE gateways ADD COLUMN name TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE gateways ADD COLUMN org_id INTEGER REFERENCES orgs(id);"
    "ALTER TABLE gateways ADD COLUMN registered_at INTEGER;"
    "ALTER TABLE gateways ADD COLUMN enabled INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE gateways ADD COLUMN rotated_at INTEGER;"
    "ALTER TABLE readings ADD COLUMN badge_user INTEGER;"
    "CREATE TABLE readings_refused("
    " gateway TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " instrument TEXT NOT NULL, ts INTEGER NOT NULL, state INTEGER NOT NULL,"
    " run_seconds INTEGER, energy_wh INTEGER, power_w REAL, samples INTEGER, badge INTEGER,"
    " cause INTEGER NOT NULL, received_at INTEGER NOT NULL, reason TEXT NOT NULL,"
    " PRIMARY KEY(gateway, epoch, seq)) WITHOUT ROWID;"
    "CREATE INDEX gateways_instrument ON instruments(gateway);",
    /* 7: the billing terms of each instrument as they were in force over time (SPEC 7: a charge
     * keeps the rates and rules in force when the use happened). The first terms reach back
     * without limit (bookings recorded after the fact); each change of billing adds the new
     * terms from that moment on. */
    "CREATE TABLE instrument_terms(instrument TEXT NOT NULL, valid_from INTEGER NOT NULL,"
    " billing TEXT NOT NULL, PRIMARY KEY(instrument, valid_from)) WITHOUT ROWID;"
    "INSERT INTO instrument_terms SELECT id, -9223372036854775807, billing FROM instruments;"
    "CREATE TRIGGER instrument_terms_first AFTER INSERT ON instruments BEGIN"
    " INSERT OR REPLACE INTO instrument_terms VALUES(NEW.id, -9223372036854775807, NEW.billing);"
    " END;"
    "CREATE TRIGGER instrument_terms_change AFTER UPDATE OF billing ON instruments"
    " WHEN NEW.billing IS NOT OLD.billing BEGIN"
    " INSERT OR REPLACE INTO instrument_terms VALUES(NEW.id,"
    " CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), NEW.billing); END;",
    /* 8: user names are case-insensitive */
    "CREATE UNIQUE INDEX users_username_nocase ON users(username COLLATE NOCASE);",
    /* 9: what an instrument does, for the catalog */
    "ALTER TABLE instruments ADD COLUMN description TEXT NOT NULL DEFAULT '';",
    /* 10: who may operate an instrument themselves (上机培训), and its interlock policy */
    "CREATE TABLE qualifications("
    " instrument TEXT NOT NULL REFERENCES instruments(id), user_id INTEGER NOT NULL"
    " REFERENCES users(id), since_ms INTEGER NOT NULL, by_user INTEGER NOT NULL,"
    " expires_ms INTEGER, PRIMARY KEY(instrument, user_id));"
    "CREATE INDEX qualifications_user ON qualifications(user_id);",
    /* 11: the interlock policy of an instrument, and the last command version sent */
    "ALTER TABLE instruments ADD COLUMN interlock TEXT NOT NULL DEFAULT '{}';"
    "CREATE TABLE interlock_version(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT "
    "NULL);"
    "CREATE TABLE interlock_state(instrument TEXT PRIMARY KEY, gateway TEXT, mode TEXT NOT NULL,"
    " desired INTEGER NOT NULL, reason TEXT NOT NULL, booking INTEGER, until_ms INTEGER,"
    " version INTEGER, computed_at INTEGER NOT NULL, actual INTEGER, actual_at INTEGER);",
    /* 12: the relay state in readings, and a relay the gateway cannot put right */
    "ALTER TABLE readings ADD COLUMN interlock INTEGER;"
    "ALTER TABLE readings_refused ADD COLUMN interlock INTEGER;"
    "ALTER TABLE interlock_state ADD COLUMN fault TEXT;"
    "ALTER TABLE interlock_state ADD COLUMN fault_since INTEGER;",
    /* 13: a token's id is never handed out again (GET/DELETE /tokens/{id} and the audit name
     * tokens by it), and expiry is looked up by an index */
    "CREATE TABLE tokens_new(id INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB NOT NULL UNIQUE,"
    " user_id INTEGER NOT NULL REFERENCES users(id), kind TEXT NOT NULL, created_at INTEGER NOT"
    " NULL, expires_at INTEGER, csrf_hash BLOB);"
    "INSERT INTO tokens_new(id, hash, user_id, kind, created_at, expires_at, csrf_hash)"
    " SELECT rowid, hash, user_id, kind, created_at, expires_at, csrf_hash FROM tokens;"
    "DROP TABLE tokens;"
    "ALTER TABLE tokens_new RENAME TO tokens;"
    "CREATE INDEX tokens_expires ON tokens(expires_at) WHERE expires_at IS NOT NULL;"
    "CREATE INDEX tokens_user ON tokens(user_id);",
    /* 14: who did it, as a principal (issue 13): user, token, gateway or system part */
    "ALTER TABLE audit ADD COLUMN actor_kind TEXT;"
    "ALTER TABLE audit ADD COLUMN actor_id TEXT;"
    "ALTER TABLE audit ADD COLUMN actor_user INTEGER;",
    /* 15: each instrument's longest booking (issue 15), kept by the database, so that the
     * bookings near a time are an index range (SQL_STARTS_NEAR), not the instrument's history */
    "CREATE TABLE booking_spans(instrument TEXT PRIMARY KEY, longest_ms INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "INSERT INTO booking_spans SELECT instrument, max(end_ms - start_ms) FROM bookings"
    " GROUP BY instrument;"
    "CREATE TRIGGER booking_spans_insert AFTER INSERT ON bookings BEGIN"
    " INSERT INTO booking_spans VALUES(NEW.instrument, NEW.end_ms - NEW.start_ms)"
    " ON CONFLICT(instrument) DO UPDATE SET longest_ms = max(longest_ms, excluded.longest_ms);"
    " END;"
    "CREATE TRIGGER booking_spans_update AFTER UPDATE OF instrument, start_ms, end_ms ON bookings"
    " BEGIN"
    " INSERT INTO booking_spans VALUES(NEW.instrument, NEW.end_ms - NEW.start_ms)"
    " ON CONFLICT(instrument) DO UPDATE SET longest_ms = max(longest_ms, excluded.longest_ms);"
    " END;"
    /* and a user's bookings that hold a slot, by their end: the future ones are a range */
    "CREATE INDEX bookings_user_open ON bookings(user_id, end_ms)"
    " WHERE status IN ('pending','confirmed');",
    /* 16: usage per instrument and local day (rollup.h), kept with the sessions; whether a part
     * is external is decided when it is metered (the user's organisation then) */
    "ALTER TABLE usage ADD COLUMN external INTEGER NOT NULL DEFAULT 0;" SCHEMA_USAGE_EXTERNAL_NOW
        SCHEMA_USAGE_SUMS,
    /* 17: bookings and charge lines per instrument and local month (store_sums.c), kept with
     * each write of either */
    SCHEMA_MONTH_SUMS,
    /* 18: an owner's statement pages its lines by instrument and month */
    SCHEMA_CHARGE_LINES,
    /* 19: sample-testing orders (issue 16) */
    SCHEMA_ORDERS("INTEGER PRIMARY KEY", "BLOB"),
    /* 20: notifications (issue 16) */
    SCHEMA_NOTIFY("INTEGER PRIMARY KEY"),
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int store_db_fail(struct store *st, const char *what)
{
    ls_error("store: %s: %s", what, db_errmsg(st->db));
    return LS_ERR_DB;
}

int store_exec(struct store *st, const char *sql)
{
    if (db_exec(st->db, sql) != DB_OK) {
        ls_error("store: %s", db_errmsg(st->db));
        return LS_ERR_DB;
    }
    return LS_OK;
}

int store_schema_version(struct store *st)
{
    struct db_stmt *s = NULL;
    int v = -1;

    if (db_prepare(st->db,
                   db_engine(st->db) == DB_SQLITE
                       ? "PRAGMA user_version"
                       : "SELECT coalesce((SELECT version FROM labshare_schema WHERE id = 1), 0)",
                   &s) == DB_OK &&
        db_step(s) == DB_ROW)
        v = db_column_int(s, 0);
    db_finalize(s);
    return v;
}

/* An upgrade from schema from: the sums it adds, from the rows (16: usage per day and month;
 * 17: bookings and charges per month). */
static int fill_sums(struct store *st, int from)
{
    int64_t rows = 0, diffs;
    int rc = LS_OK;

    if (from < 16 && (rc = store_usage_days_check(st, 1, &rows, &diffs)) == LS_OK)
        ls_info("store: usage summed per day (%lld days)", (long long)rows);
    if (rc == LS_OK && from < 17 && (rc = store_month_sums_check(st, 1, &rows, &diffs)) == LS_OK)
        ls_info("store: bookings and charges summed per month (%lld)", (long long)rows);
    return rc;
}

static int migrate_sqlite(struct store *st)
{
    char sql[64];
    int v, from;

    /* IMMEDIATE: two processes starting at once do not both migrate. */
    if (store_exec(st, "BEGIN IMMEDIATE"))
        return LS_ERR_DB;
    v = store_schema_version(st);
    if (v > SCHEMA_VERSION) {
        ls_error("store: database schema %d is newer than this server (%d)", v, SCHEMA_VERSION);
        store_exec(st, "ROLLBACK");
        return LS_ERR_DB;
    }
    from = v;
    for (; v < SCHEMA_VERSION; v++) {
        if (store_exec(st, migrations[v])) {
            store_exec(st, "ROLLBACK");
            return LS_ERR_DB;
        }
        ls_info("store: migrated schema to version %d", v + 1);
    }
    if (from > 0 && fill_sums(st, from)) {
        store_exec(st, "ROLLBACK");
        return LS_ERR_DB;
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
    if (store_exec(st, sql) || store_exec(st, "COMMIT")) {
        store_exec(st, "ROLLBACK");
        return LS_ERR_DB;
    }
    return LS_OK;
}

/* The readings' monthly partitions from 13 months back to 3 ahead, each made when missing. A
 * month whose readings already went to the default partition (a server that ran for months
 * without a restart) keeps them there: logged, not an error. */
static void pg_partitions(struct store *st)
{
    time_t now = time(NULL);
    struct tm t;

    gmtime_r(&now, &t);
    for (int k = -13; k <= 3; k++) {
        int m = t.tm_year * 12 + t.tm_mon + k;
        char sql[256];
        if (schema_pg_partition_sql(m / 12 + 1900, m % 12 + 1, sql, sizeof(sql)) == 0 &&
            db_exec(st->db, sql) != DB_OK)
            ls_warn("store: readings of %04d-%02d stay in the default partition: %s", m / 12 + 1900,
                    m % 12 + 1, db_errmsg(st->db));
    }
}

/* PostgreSQL: the whole schema on an empty database; servers starting at once wait for each
 * other on an advisory lock. There are no upgrades between versions yet (one version so far). */
static int migrate_pg(struct store *st)
{
    int v;

    if (store_exec(st, "BEGIN") || store_exec(st, "SELECT pg_advisory_xact_lock(7270001)"))
        return LS_ERR_DB;
    {
        struct db_stmt *s = NULL;
        int have = 0;
        if (db_prepare(st->db, "SELECT to_regclass('labshare_schema') IS NOT NULL", &s) == DB_OK &&
            db_step(s) == DB_ROW)
            have = db_column_int(s, 0);
        db_finalize(s);
        v = have ? store_schema_version(st) : 0;
    }
    if (v != 0 && (v < SCHEMA_PG_UPGRADES_FROM || v > SCHEMA_VERSION)) {
        ls_error("store: PostgreSQL schema %d, this server has %d (no upgrade between them)", v,
                 SCHEMA_VERSION);
        store_exec(st, "ROLLBACK");
        return LS_ERR_DB;
    }
    if (v != 0 && v < SCHEMA_VERSION) {
        char sql[96];
        int from = v, bad = 0;
        for (; v < SCHEMA_VERSION && !bad; v++)
            bad = !schema_pg_upgrades[v - SCHEMA_PG_UPGRADES_FROM] ||
                  store_exec(st, schema_pg_upgrades[v - SCHEMA_PG_UPGRADES_FROM]);
        if (!bad)
            bad = fill_sums(st, from) != LS_OK;
        snprintf(sql, sizeof(sql), "UPDATE labshare_schema SET version = %d", SCHEMA_VERSION);
        if (bad || store_exec(st, sql)) {
            store_exec(st, "ROLLBACK");
            return LS_ERR_DB;
        }
        ls_info("store: upgraded the PostgreSQL schema from version %d to %d", from,
                SCHEMA_VERSION);
    }
    if (v == 0) {
        char sql[96];
        snprintf(sql, sizeof(sql), "INSERT INTO labshare_schema VALUES(1, %d)", SCHEMA_VERSION);
        int bad = 0;
        for (size_t i = 0; schema_pg[i] && !bad; i++)
            bad = store_exec(st, schema_pg[i]);
        if (bad || store_exec(st, sql)) {
            store_exec(st, "ROLLBACK");
            return LS_ERR_DB;
        }
        ls_info("store: created the PostgreSQL schema, version %d", SCHEMA_VERSION);
    }
    if (store_exec(st, "COMMIT"))
        return LS_ERR_DB;
    pg_partitions(st);
    return LS_OK;
}

static int migrate(struct store *st)
{
    return db_engine(st->db) == DB_SQLITE ? migrate_sqlite(st) : migrate_pg(st);
}

int store_prepare(struct store *st, const char *sql, struct db_stmt **s)
{
    if (db_prepare(st->db, sql, s) != DB_OK)
        return store_db_fail(st, sql);
    return LS_OK;
}

int store_open(const char *path, struct store **out)
{
    struct store *st = calloc(1, sizeof(*st));
    int pg;

    if (!st)
        return LS_ERR_NOMEM;
    {
        char err[512];
        if (db_open(path, &st->db, err, sizeof(err)) != DB_OK) {
            ls_error("store: %s", err);
            goto fail;
        }
    }
    if (db_engine(st->db) == DB_SQLITE)
        st->gate = store_write_gate(path);
    if ((db_engine(st->db) == DB_SQLITE &&
         store_exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                        " PRAGMA foreign_keys=ON;")) ||
        migrate(st))
        goto fail;
    st->trust.max_future_ms = 300 * 1000;
    st->trust.max_past_ms = 365LL * 86400 * 1000;
    st->trust.max_thinned = 10000000;
    pg = db_engine(st->db) == DB_POSTGRESQL;
    /* PostgreSQL: the seq's key first (readings are partitioned by time, so their own unique
     * index could not hold the seq alone); the reading only when the key is new */
    if (store_prepare(st,
                      pg ? "WITH k AS (INSERT INTO reading_keys VALUES(?1, ?2, ?3) ON CONFLICT DO"
                           " NOTHING RETURNING 1) INSERT INTO readings(gateway, epoch, "
                           "seq, " LS_READING_COLUMNS ", received_at, badge_user) SELECT ?1::text,"
                           " ?2::bigint, ?3::bigint, ?4::text, ?5::bigint, ?6::bigint, ?7::bigint,"
                           " ?8::bigint, ?9::float8, ?10::bigint, ?11::bigint, ?12::bigint,"
                           " ?13::bigint, ?14::bigint, CASE WHEN ?11::bigint IS NULL THEN NULL"
                           " ELSE coalesce((SELECT id FROM users WHERE badge = ?11::bigint), 0)"
                           " END FROM k"
                         : "INSERT INTO readings(gateway, epoch, seq, " LS_READING_COLUMNS
                           ", received_at, badge_user) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,"
                           "?12,?13,?14, CASE WHEN ?11 IS NULL THEN NULL ELSE"
                           " coalesce((SELECT id FROM users WHERE badge = ?11), 0) END)"
                           " ON CONFLICT DO NOTHING",
                      &st->ins_reading) ||
        store_prepare(
            st,
            pg ? "SELECT seq FROM reading_keys WHERE gateway = ? AND epoch = ? AND seq > ?"
                 " ORDER BY seq LIMIT 1000"
               : "SELECT seq FROM readings WHERE gateway = ? AND epoch = ? AND seq > ?"
                 " ORDER BY seq LIMIT 1000",
            &st->next_seqs) ||
        /* refused seqs are handled too: an ack may cover them */
        store_prepare(st,
                      "SELECT max(seq) FROM readings_refused WHERE gateway = ?1 AND epoch = ?2"
                      " AND seq = ?3",
                      &st->refused_seq) ||
        store_prepare(st, "SELECT upto FROM gateway_acks WHERE gateway = ? AND epoch = ?",
                      &st->get_ack) ||
        store_prepare(st,
                      "INSERT INTO gateway_acks(gateway, epoch, upto) VALUES(?,?,?)"
                      " ON CONFLICT(gateway, epoch) DO UPDATE SET upto = excluded.upto"
                      " WHERE excluded.upto > gateway_acks.upto",
                      &st->put_ack) ||
        store_prepare(st, "UPDATE gateways SET last_seen = ?2, last_ack = ?3 WHERE id = ?1",
                      &st->gw_seen) ||
        store_prepare(st, "INSERT INTO gateway_ranges VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING",
                      &st->put_range) ||
        store_prepare(st,
                      "SELECT max(last) FROM gateway_ranges WHERE gateway = ?1 AND epoch = ?2"
                      " AND after <= ?3 AND last > ?3",
                      &st->jump_range) ||
        store_prepare(st,
                      "DELETE FROM gateway_ranges WHERE gateway = ? AND epoch = ? AND last <= ?",
                      &st->prune_ranges) ||
        store_prepare(
            st,
            "INSERT INTO readings_refused(gateway, epoch, seq, " LS_READING_COLUMNS
            ", received_at, reason)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15) ON CONFLICT DO NOTHING",
            &st->ins_refused) ||
        store_prepare(st,
                      "SELECT " LS_READING_COLUMNS " FROM readings WHERE gateway = ? AND epoch = ?"
                      " AND seq = ?",
                      &st->get_reading) ||
        store_prepare(st, "SELECT enabled FROM gateways WHERE id = ? AND registered_at IS NOT NULL",
                      &st->gw_enabled) ||
        store_prepare(st, "SELECT gateway, created_at FROM instruments WHERE id = ?",
                      &st->inst_binding))
        goto fail;
    *out = st;
    return LS_OK;
fail:
    store_close(st);
    return LS_ERR_DB;
}

int store_cache_mb(struct store *st, int mb)
{
    char sql[64];

    if (db_engine(st->db) != DB_SQLITE)
        return LS_OK;
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", mb * 1024);
    return store_exec(st, sql);
}

void store_close(struct store *st)
{
    if (!st)
        return;
    db_finalize(st->ins_reading);
    db_finalize(st->next_seqs);
    db_finalize(st->get_ack);
    db_finalize(st->put_ack);
    db_finalize(st->gw_seen);
    db_finalize(st->put_range);
    db_finalize(st->jump_range);
    db_finalize(st->prune_ranges);
    db_finalize(st->ins_refused);
    db_finalize(st->refused_seq);
    db_finalize(st->get_reading);
    db_finalize(st->gw_enabled);
    db_finalize(st->inst_binding);
    free(st->bindings);
    store_settings_cache_free(st);
    store_cache_clear(st);
    store_txn_close(st);
    db_close(st->db);
    free(st);
}

/* Run a statement that returns no rows, then reset it. */
int store_step_done(struct store *st, struct db_stmt *s)
{
    if (store_bind_failed(s))
        return LS_ERR_NOMEM;
    int rc = db_step(s) == DB_DONE ? LS_OK : store_db_fail(st, db_sql(s));

    db_reset(s);
    return rc;
}

/* Whether seq of (gateway, epoch) was refused (and so handled). */
static int was_refused(struct store *st, const char *gw, int64_t epoch, int64_t seq, int *yes)
{
    struct db_stmt *s = st->refused_seq;
    int step;

    db_reset(s);
    db_bind_text(s, 1, gw, -1, DB_STATIC);
    db_bind_int64(s, 2, epoch);
    db_bind_int64(s, 3, seq);
    step = db_step(s);
    *yes = step == DB_ROW && db_column_type(s, 0) != DB_NULL;
    db_reset(s);
    return step == DB_ROW ? LS_OK : store_db_fail(st, "refused scan");
}

/* Advance upto over handled seqs one by one (a page of stored ones at a time; at a gap, over
 * the refused ones, which are rare). */
static int walk_stored(struct store *st, const char *gw, int64_t epoch, int64_t *upto)
{
    int step, more = 1, refused;

    while (more) {
        more = 0;
        db_reset(st->next_seqs);
        db_bind_text(st->next_seqs, 1, gw, -1, DB_STATIC);
        db_bind_int64(st->next_seqs, 2, epoch);
        db_bind_int64(st->next_seqs, 3, *upto);
        while ((step = db_step(st->next_seqs)) == DB_ROW) {
            int64_t seq = db_column_int64(st->next_seqs, 0);
            while (seq > *upto + 1) { /* a gap: refused seqs fill it, or it stays */
                if (was_refused(st, gw, epoch, *upto + 1, &refused)) {
                    db_reset(st->next_seqs);
                    return LS_ERR_DB;
                }
                if (!refused)
                    break;
                (*upto)++;
            }
            if (seq != *upto + 1)
                break;
            *upto = seq;
            more = 1;
        }
        if (step != DB_ROW && step != DB_DONE) {
            db_reset(st->next_seqs);
            return store_db_fail(st, "ack scan");
        }
        /* Stopped at a gap (ROW): done. Ran out (DONE): another page if this one advanced. */
        if (step == DB_ROW)
            more = 0;
    }
    db_reset(st->next_seqs);
    /* refused seqs after the last stored one */
    for (;;) {
        if (was_refused(st, gw, epoch, *upto + 1, &refused))
            return LS_ERR_DB;
        if (!refused)
            break;
        (*upto)++;
    }
    return LS_OK;
}

/* Advance the stored prefix of (gateway, epoch) from upto: over stored seqs, and across the
 * ranges the gateway declared complete (what is missing there was thinned). */
static int advance_upto(struct store *st, const char *gw, int64_t epoch, int64_t *upto)
{
    for (;;) {
        int64_t jump = -1;
        int step;

        if (walk_stored(st, gw, epoch, upto))
            return LS_ERR_DB;
        db_reset(st->jump_range);
        db_bind_text(st->jump_range, 1, gw, -1, DB_STATIC);
        db_bind_int64(st->jump_range, 2, epoch);
        db_bind_int64(st->jump_range, 3, *upto);
        step = db_step(st->jump_range);
        if (step == DB_ROW && db_column_type(st->jump_range, 0) != DB_NULL)
            jump = db_column_int64(st->jump_range, 0);
        db_reset(st->jump_range);
        if (step != DB_ROW)
            return store_db_fail(st, "range scan");
        if (jump <= *upto)
            break;
        *upto = jump;
    }
    db_reset(st->prune_ranges);
    db_bind_text(st->prune_ranges, 1, gw, -1, DB_STATIC);
    db_bind_int64(st->prune_ranges, 2, epoch);
    db_bind_int64(st->prune_ranges, 3, *upto);
    store_step_done(st, st->prune_ranges);
    return LS_OK;
}

void store_set_trust(struct store *st, const struct trust_limits *lim)
{
    st->trust = *lim;
}

/* One row of s (reset after): its first column as an integer into *v. LS_ERR_NOTFOUND when no
 * row. */
static int one_int(struct store *st, struct db_stmt *s, int64_t *v)
{
    int step = db_step(s);

    if (step == DB_ROW)
        *v = db_column_int64(s, 0);
    db_reset(s);
    if (step == DB_ROW)
        return LS_OK;
    return step == DB_DONE ? LS_ERR_NOTFOUND : store_db_fail(st, db_sql(s));
}

/* What ingest knows of instruments (their gateway and creation), kept across batches by id
 * (open addressing) while the database is unchanged by other connections (PRAGMA data_version:
 * an instrument bound, unbound or created through the API clears it). */
#define BINDING_SLOTS 16384
struct binding {
    char instrument[LS_ID_MAX]; /* "" = a free slot */
    char gateway[LS_ID_MAX];    /* "" = none */
    int exists;
    int64_t created_ms;
};
struct binding_cache {
    struct binding slot[BINDING_SLOTS];
    size_t used;
    int64_t data_version;
};

static size_t slot_of(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h & (BINDING_SLOTS - 1);
}

/* Empty the cache when another connection changed the database since it was filled (or when
 * it is three quarters full). */
static int binding_cache_check(struct store *st)
{
    struct binding_cache *c = st->bindings;
    struct db_stmt *s = store_stmt(st, db_engine(st->db) == DB_SQLITE
                                           ? "PRAGMA data_version"
                                           : "SELECT n FROM instrument_changes WHERE id = 1");
    int64_t v = -1;
    int rc;

    if (!c) {
        c = st->bindings = calloc(1, sizeof(*c));
        if (!c)
            return LS_ERR_NOMEM;
        c->data_version = -1;
    }
    if (!s)
        return LS_ERR_DB;
    rc = store_int_one(st, s, &v);
    if (rc)
        return rc;
    if (v != c->data_version || c->used > BINDING_SLOTS / 4 * 3) {
        memset(c->slot, 0, sizeof(c->slot));
        c->used = 0;
        c->data_version = v;
    }
    return LS_OK;
}

/* Whether instrument is bound to gw, and when it was created (0 in *bound: unknown or bound
 * elsewhere). */
static int binding_of(struct store *st, const char *gw, const char *instrument, int *bound,
                      int64_t *created_ms)
{
    struct binding_cache *c = st->bindings;
    struct db_stmt *s = st->inst_binding;
    size_t i = slot_of(instrument);
    struct binding *e;
    int step;

    while (c->slot[i].instrument[0] && strcmp(c->slot[i].instrument, instrument) != 0)
        i = (i + 1) & (BINDING_SLOTS - 1);
    e = &c->slot[i];
    if (!e->instrument[0]) {
        db_reset(s);
        db_bind_text(s, 1, instrument, -1, DB_STATIC);
        step = db_step(s);
        if (step != DB_ROW && step != DB_DONE) {
            db_reset(s);
            return store_db_fail(st, "instrument binding");
        }
        snprintf(e->instrument, sizeof(e->instrument), "%s", instrument);
        e->exists = step == DB_ROW;
        snprintf(e->gateway, sizeof(e->gateway), "%s",
                 e->exists && db_column_type(s, 0) != DB_NULL ? (const char *)db_column_text(s, 0)
                                                              : "");
        e->created_ms = e->exists ? db_column_int64(s, 1) : 0;
        db_reset(s);
        c->used++;
    }
    *bound = e->exists && strcmp(e->gateway, gw) == 0;
    *created_ms = e->created_ms;
    return LS_OK;
}

/* Why a reading of gateway gw may not be stored: a trust_cause, or -1 when it may. */
static int judge(struct store *st, const struct ls_batch *b, const struct ls_reading *r,
                 int64_t received_ms, int *cause)
{
    int bound;
    int64_t created;

    *cause = -1;
    if (binding_of(st, b->gateway, r->instrument, &bound, &created))
        return LS_ERR_DB;
    if (!bound)
        *cause = TRUST_UNBOUND_INSTRUMENT;
    else if ((*cause = trust_check_values(r)) < 0)
        *cause = trust_check_time(r, received_ms, created, &st->trust);
    return LS_OK;
}

/* Bind (gateway, epoch, seq), the reading and its receive time to parameters 1..14 of s, the
 * same in readings and readings_refused. */
static void bind_received(struct db_stmt *s, const struct ls_batch *b, const struct ls_reading *r,
                          int64_t received_ms)
{
    db_reset(s);
    db_bind_text(s, 1, b->gateway, -1, DB_STATIC);
    db_bind_int64(s, 2, b->epoch);
    db_bind_int64(s, 3, r->seq);
    db_reading_bind(s, 4, r);
    db_bind_int64(s, 4 + LS_READING_COLUMN_COUNT, received_ms);
}

static int refuse(struct store *st, const struct ls_batch *b, const struct ls_reading *r,
                  int64_t received_ms, int cause)
{
    struct db_stmt *s = st->ins_refused;

    bind_received(s, b, r, received_ms);
    db_bind_text(s, 5 + LS_READING_COLUMN_COUNT, trust_cause_name((enum trust_cause)cause), -1,
                 DB_STATIC);
    return store_step_done(st, s);
}

/* A reading of (gateway, epoch, seq) is stored already: is it the same one? LS_ERR_NOTFOUND when
 * none is stored. */
static int same_as_stored(struct store *st, const struct ls_batch *b, const struct ls_reading *r,
                          int *same)
{
    struct db_stmt *s = st->get_reading;
    struct ls_reading old;
    int step;

    memset(&old, 0, sizeof(old));
    db_reset(s);
    db_bind_text(s, 1, b->gateway, -1, DB_STATIC);
    db_bind_int64(s, 2, b->epoch);
    db_bind_int64(s, 3, r->seq);
    step = db_step(s);
    if (step == DB_ROW) {
        db_reading_column(s, 0, &old);
        *same = trust_same_reading(&old, r);
    }
    db_reset(s);
    return step == DB_ROW    ? LS_OK
           : step == DB_DONE ? LS_ERR_NOTFOUND
                             : store_db_fail(st, "read a stored reading");
}

/* Insert a batch's readings (or refuse them) and its range claim. Inside a transaction. */
static int insert_batch(struct store *st, const struct ls_batch *b, int64_t received_ms,
                        struct ingest_result *res)
{
    int64_t enabled = 0, acked = 0;
    int rc;

    rc = db_bind_text(st->gw_enabled, 1, b->gateway, -1, DB_STATIC) == DB_OK
             ? one_int(st, st->gw_enabled, &enabled)
             : LS_ERR_DB;
    if (rc == LS_ERR_NOTFOUND || (rc == LS_OK && !enabled)) {
        /* not ours to store, nor to ack; not kept either: only registered gateways fill the
         * store */
        res->refused[TRUST_UNKNOWN_GATEWAY] += b->count;
        res->upto = -1;
        return LS_OK;
    }
    if (rc == LS_OK) { /* what the gateway was acked: seqs up to it were handled before */
        db_reset(st->get_ack);
        db_bind_text(st->get_ack, 1, b->gateway, -1, DB_STATIC);
        db_bind_int64(st->get_ack, 2, b->epoch);
        rc = one_int(st, st->get_ack, &acked);
        if (rc == LS_ERR_NOTFOUND) {
            acked = 0;
            rc = LS_OK;
        }
    }
    for (size_t i = 0; i < b->count && rc == LS_OK; i++) {
        const struct ls_reading *r = &b->readings[i];
        struct db_stmt *s = st->ins_reading;
        int cause, same = 1;

        rc = judge(st, b, r, received_ms, &cause);
        if (rc == LS_OK && cause >= 0) {
            res->refused[cause]++;
            rc = refuse(st, b, r, received_ms, cause);
            continue;
        }
        if (rc)
            break;
        /* handled before and not stored: a heartbeat compaction removed (store_readings_compact)
         * comes back once only - it is a repeat */
        if (r->seq <= acked && (rc = same_as_stored(st, b, r, &same)) == LS_ERR_NOTFOUND) {
            res->duplicates++;
            rc = LS_OK;
            continue;
        }
        if (rc)
            break;
        bind_received(s, b, r, received_ms);
        if (db_step(s) != DB_DONE)
            rc = store_db_fail(st, "insert reading");
        else if (db_changes(st->db) > 0)
            res->stored++;
        else if ((rc = same_as_stored(st, b, r, &same)) == LS_OK && same)
            res->duplicates++;
        else if (rc == LS_OK)
            res->refused[TRUST_CONFLICTING_REPEAT]++; /* the first one stays */
        db_reset(s);
    }
    if (rc == LS_OK && b->after >= 0 && b->count > 0) {
        int64_t last = b->readings[b->count - 1].seq;
        {
            int64_t from = 0;
            int ok = trust_range_claim(b->after, last, b->readings, b->count, acked,
                                       st->trust.max_thinned, &from);
            if (ok == 0) {
                res->refused[TRUST_BAD_RANGE_CLAIM]++;
            } else if (ok > 0) {
                db_reset(st->put_range);
                db_bind_text(st->put_range, 1, b->gateway, -1, DB_STATIC);
                db_bind_int64(st->put_range, 2, b->epoch);
                db_bind_int64(st->put_range, 3, from);
                db_bind_int64(st->put_range, 4, last);
                rc = store_step_done(st, st->put_range);
            }
        }
    }
    return rc;
}

/* Move the ack of (gateway, epoch) as far as the stored readings allow. Inside a transaction. */
static int update_ack(struct store *st, const char *gw, int64_t epoch, int64_t received_ms,
                      int64_t *upto)
{
    int step;

    *upto = 0;
    db_reset(st->get_ack);
    db_bind_text(st->get_ack, 1, gw, -1, DB_STATIC);
    db_bind_int64(st->get_ack, 2, epoch);
    step = db_step(st->get_ack);
    if (step == DB_ROW)
        *upto = db_column_int64(st->get_ack, 0);
    db_reset(st->get_ack);
    if (step != DB_ROW && step != DB_DONE)
        return store_db_fail(st, "read ack");
    if (advance_upto(st, gw, epoch, upto))
        return LS_ERR_DB;
    db_reset(st->put_ack);
    db_bind_text(st->put_ack, 1, gw, -1, DB_STATIC);
    db_bind_int64(st->put_ack, 2, epoch);
    db_bind_int64(st->put_ack, 3, *upto);
    if (store_step_done(st, st->put_ack))
        return LS_ERR_DB;
    db_reset(st->gw_seen);
    db_bind_text(st->gw_seen, 1, gw, -1, DB_STATIC);
    db_bind_int64(st->gw_seen, 2, received_ms);
    db_bind_int64(st->gw_seen, 3, *upto);
    return store_step_done(st, st->gw_seen);
}

int store_readings_insert(struct store *st, const struct ls_batch *b, size_t n, int64_t received_ms,
                          struct ingest_result *res)
{
    int rc = LS_OK;

    memset(res, 0, n * sizeof(*res));
    rc = binding_cache_check(st);
    for (size_t i = 0; i < n && rc == LS_OK; i++)
        rc = insert_batch(st, &b[i], received_ms, &res[i]);
    for (size_t i = 0; i < n && rc == LS_OK; i++) {
        /* A gateway seen earlier in this group already has its ack: reuse it. */
        size_t k;
        if (res[i].upto < 0)
            continue; /* refused whole: no ack */
        for (k = 0; k < i; k++)
            if (b[k].epoch == b[i].epoch && strcmp(b[k].gateway, b[i].gateway) == 0)
                break;
        if (k < i)
            continue;
        rc = update_ack(st, b[i].gateway, b[i].epoch, received_ms, &res[i].upto);
    }
    for (size_t i = 0; i < n && rc == LS_OK; i++)
        for (size_t k = 0; k < i && res[i].upto >= 0; k++)
            if (b[k].epoch == b[i].epoch && strcmp(b[k].gateway, b[i].gateway) == 0) {
                res[i].upto = res[k].upto;
                break;
            }
    if (rc)
        memset(res, 0, n * sizeof(*res));
    return rc ? LS_ERR_DB : LS_OK;
}

int store_last_reading(struct store *st, const char *instrument, int64_t *ts_ms,
                       enum ls_state *state)
{
    struct db_stmt *q = store_stmt(st, "SELECT ts, state FROM readings WHERE instrument = ?"
                                       " ORDER BY ts DESC LIMIT 1");
    int step, rc;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    step = db_step(q);
    if (step == DB_ROW) {
        *ts_ms = db_column_int64(q, 0);
        *state = (enum ls_state)db_column_int(q, 1);
        rc = LS_OK;
    } else {
        rc = step == DB_DONE ? LS_ERR_NOTFOUND : LS_ERR_DB;
    }
    db_reset(q);
    return rc;
}

int store_readings_list(struct store *st, const struct reading_query *q, struct reading_row **rows,
                        size_t *n, int64_t *total)
{
    /* the stored readings, or those refused (SPEC 3.3) with the cause */
    const char *where =
        q->refused
            ? " FROM readings_refused WHERE (?1 IS NULL OR instrument = ?1) AND ts >= ?2 AND ts < "
              "?3"
            : " FROM readings WHERE (?1 IS NULL OR instrument = ?1) AND ts >= ?2 AND ts < ?3";
    struct db_stmt *s = NULL;
    struct reading_row *out = NULL;
    size_t count = 0, cap = 0;
    int rc = LS_ERR_DB, step;
    char sql[512];

    *rows = NULL;
    *n = 0;
    *total = 0;
    snprintf(sql, sizeof(sql), "SELECT count(*)%s", where);
    if (store_prepare(st, sql, &s))
        goto out;
    if (q->instrument)
        db_bind_text(s, 1, q->instrument, -1, DB_STATIC);
    db_bind_int64(s, 2, q->from_ms);
    db_bind_int64(s, 3, q->to_ms);
    if (db_step(s) != DB_ROW) {
        store_db_fail(st, "count readings");
        goto out;
    }
    *total = db_column_int64(s, 0);
    db_finalize(s);
    s = NULL;
    snprintf(sql, sizeof(sql),
             "SELECT gateway, epoch, seq, " LS_READING_COLUMNS
             ", received_at, %s%s ORDER BY ts, gateway, epoch, seq"
             " LIMIT ?4 OFFSET ?5",
             q->refused ? "reason" : "NULL", where);
    if (store_prepare(st, sql, &s))
        goto out;
    if (q->instrument)
        db_bind_text(s, 1, q->instrument, -1, DB_STATIC);
    db_bind_int64(s, 2, q->from_ms);
    db_bind_int64(s, 3, q->to_ms);
    db_bind_int64(s, 4, q->limit);
    db_bind_int64(s, 5, q->offset);
    while ((step = db_step(s)) == DB_ROW) {
        struct reading_row *row;
        struct ls_reading *r;

        if (LS_GROW(out, cap, count + 1)) {
            rc = LS_ERR_NOMEM;
            goto out;
        }
        row = &out[count++];
        memset(row, 0, sizeof(*row));
        r = &row->r;
        snprintf(row->gateway, sizeof(row->gateway), "%s", (const char *)db_column_text(s, 0));
        row->epoch = db_column_int64(s, 1);
        r->seq = db_column_int64(s, 2);
        db_reading_column(s, 3, r);
        row->received_ms = db_column_int64(s, 3 + LS_READING_COLUMN_COUNT);
        if (db_column_type(s, 4 + LS_READING_COLUMN_COUNT) != DB_NULL)
            snprintf(row->refused, sizeof(row->refused), "%s",
                     db_column_text(s, 4 + LS_READING_COLUMN_COUNT));
    }
    if (step != DB_DONE) {
        store_db_fail(st, "list readings");
        goto out;
    }
    *rows = out;
    *n = count;
    out = NULL;
    rc = LS_OK;
out:
    free(out);
    db_finalize(s);
    return rc;
}

int store_admin_ensure(struct store *st, int64_t *user_id)
{
    struct db_stmt *q = NULL;
    int rc = LS_ERR_DB;

    if (store_prepare(st,
                      "INSERT INTO users(username, display_name, role, created_at)"
                      " VALUES('admin', 'Administrator', 'admin', ?) ON CONFLICT DO NOTHING",
                      &q))
        return LS_ERR_DB;
    db_bind_int64(q, 1, ls_now_ms());
    if (db_step(q) != DB_DONE) {
        store_db_fail(st, "create admin");
        goto out;
    }
    db_finalize(q);
    q = NULL;
    if (store_prepare(st, "SELECT id FROM users WHERE username = 'admin'", &q))
        goto out;
    if (db_step(q) != DB_ROW) {
        store_db_fail(st, "find admin");
        goto out;
    }
    *user_id = db_column_int64(q, 0);
    rc = LS_OK;
out:
    db_finalize(q);
    return rc;
}

int store_token_add(struct store *st, int64_t user_id, const unsigned char hash[32],
                    const char *kind, int64_t now_ms, int64_t expires_ms, int64_t *id)
{
    struct db_stmt *q = NULL;
    int rc;

    if (store_prepare(st,
                      "INSERT INTO tokens(hash, user_id, kind, created_at, expires_at)"
                      " VALUES(?,?,?,?,?)",
                      &q))
        return LS_ERR_DB;
    db_bind_blob(q, 1, hash, 32, DB_STATIC);
    db_bind_int64(q, 2, user_id);
    db_bind_text(q, 3, kind, -1, DB_STATIC);
    db_bind_int64(q, 4, now_ms);
    if (expires_ms > 0)
        db_bind_int64(q, 5, expires_ms);
    else
        db_bind_null(q, 5);
    rc = db_step(q) == DB_DONE ? LS_OK : store_db_fail(st, "add token");
    if (rc == LS_OK && id)
        *id = db_last_insert_rowid(st->db);
    db_finalize(q);
    return rc;
}

int store_session_add(struct store *st, int64_t user_id, const unsigned char hash[32],
                      const unsigned char csrf_hash[32], int64_t now_ms, int64_t expires_ms)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO tokens(hash, user_id, kind, created_at,"
                                       " expires_at, csrf_hash) VALUES(?,?,'session',?,?,?)");

    if (!q)
        return LS_ERR_DB;
    db_bind_blob(q, 1, hash, 32, DB_STATIC);
    db_bind_int64(q, 2, user_id);
    db_bind_int64(q, 3, now_ms);
    db_bind_int64(q, 4, expires_ms);
    db_bind_blob(q, 5, csrf_hash, 32, DB_STATIC);
    return store_step_done(st, q);
}

int store_token_delete(struct store *st, const unsigned char hash[32])
{
    struct db_stmt *q = store_stmt(st, "DELETE FROM tokens WHERE hash = ?");

    if (!q)
        return LS_ERR_DB;
    db_bind_blob(q, 1, hash, 32, DB_STATIC);
    return store_step_done(st, q);
}

int store_tokens_purge(struct store *st, int64_t now_ms, int64_t *n)
{
    struct db_stmt *q = store_stmt(st, "DELETE FROM tokens WHERE expires_at IS NOT NULL AND"
                                       " expires_at <= ?");
    int rc;

    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, now_ms);
    rc = store_write_rc(st, q);
    if (n)
        *n = rc == LS_OK ? db_changes(st->db) : 0;
    return rc;
}

/* Run q (?1 user, ?2 the hash to keep or NULL); *n rows went. */
static int delete_but(struct store *st, struct db_stmt *q, int64_t user_id,
                      const unsigned char *keep, int64_t *n)
{
    db_bind_int64(q, 1, user_id);
    if (keep)
        db_bind_blob(q, 2, keep, 32, DB_STATIC);
    else
        db_bind_null(q, 2);
    if (store_write_rc(st, q))
        return LS_ERR_DB;
    *n = db_changes(st->db);
    return LS_OK;
}

int store_user_end_sessions(struct store *st, int64_t user_id, const unsigned char *keep,
                            int tokens_too, int64_t *sessions, int64_t *tokens,
                            int64_t *tokens_left)
{
    struct db_stmt *s = store_stmt(st, "DELETE FROM tokens WHERE user_id = ?1 AND kind = 'session'"
                                       " AND (?2 IS NULL OR hash <> ?2)");
    struct db_stmt *t = store_stmt(st, "DELETE FROM tokens WHERE user_id = ?1 AND kind <> 'session'"
                                       " AND (?2 IS NULL OR hash <> ?2)");
    struct db_stmt *left =
        store_stmt(st, "SELECT count(*) FROM tokens WHERE user_id = ? AND kind <> 'session'");

    *sessions = *tokens = *tokens_left = 0;
    if (!s || !t || !left)
        return LS_ERR_DB;
    if (delete_but(st, s, user_id, keep, sessions) ||
        (tokens_too && delete_but(st, t, user_id, keep, tokens)))
        return LS_ERR_DB;
    db_bind_int64(left, 1, user_id);
    return store_int_one(st, left, tokens_left);
}
