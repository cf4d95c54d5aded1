/*
 * schema_pg.c - the store's schema on PostgreSQL, at the version SQLite's migrations reach
 * (store.c), with the same tables and columns in the same order, and what PostgreSQL itself
 * guarantees on top:
 *   - no two bookings that hold a slot (pending, confirmed) overlap on an instrument: an
 *     exclusion constraint (btree_gist) over the instrument and int8range(start_ms, end_ms), so
 *     no interleaving of servers can double-book;
 *   - readings are partitioned by month of their time (readings_YYYYMM, made ahead by
 *     schema_pg_partitions, and a default partition for what lies outside); a seq is stored once
 *     by the unpartitioned key table reading_keys, which the insert goes through
 *     (ON CONFLICT DO NOTHING), since a unique index of a partitioned table must hold the
 *     partition key;
 *   - the version in labshare_schema, one row.
 */
#include "schema_pg.h"

#include <stdio.h>
#include <time.h>

#include "labshare/banned.h"

/* each instrument's longest booking, kept by the database (store.c's migration 15) */
#define BOOKING_SPANS                                                                              \
    "CREATE TABLE booking_spans(instrument TEXT PRIMARY KEY, longest_ms BIGINT NOT NULL);"         \
    "CREATE FUNCTION booking_spans_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"            \
    " INSERT INTO booking_spans VALUES(NEW.instrument, NEW.end_ms - NEW.start_ms)"                 \
    " ON CONFLICT (instrument) DO UPDATE SET longest_ms ="                                         \
    " greatest(booking_spans.longest_ms, excluded.longest_ms);"                                    \
    " RETURN NULL; END $$;"                                                                        \
    "CREATE TRIGGER booking_spans_keep AFTER INSERT OR UPDATE OF instrument, start_ms, end_ms"     \
    " ON bookings FOR EACH ROW EXECUTE FUNCTION booking_spans_keep();"                             \
    "CREATE INDEX bookings_user_open ON bookings(user_id, end_ms)"                                 \
    " WHERE status IN ('pending','confirmed');"

const char *const schema_pg[] = {
    "CREATE EXTENSION IF NOT EXISTS btree_gist;",
    "CREATE TABLE labshare_schema(id INTEGER PRIMARY KEY CHECK(id = 1), version INTEGER NOT NULL);",
    "CREATE TABLE orgs("
    " id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " type TEXT NOT NULL CHECK(type IN ('government','enterprise','university','institute')));",
    "CREATE TABLE users("
    " id BIGSERIAL PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL"
    " DEFAULT '', org_id BIGINT REFERENCES orgs(id),"
    " role TEXT NOT NULL CHECK(role IN ('researcher','manager','auditor','admin')),"
    " badge BIGINT UNIQUE, password_hash TEXT, created_at BIGINT NOT NULL, updated_at BIGINT);"
    "CREATE UNIQUE INDEX users_username_nocase ON users(lower(username));",
    "CREATE TABLE tokens(id BIGSERIAL PRIMARY KEY, hash BYTEA NOT NULL UNIQUE,"
    " user_id BIGINT NOT NULL REFERENCES users(id), kind TEXT NOT NULL, created_at BIGINT NOT"
    " NULL, expires_at BIGINT, csrf_hash BYTEA);"
    "CREATE INDEX tokens_expires ON tokens(expires_at) WHERE expires_at IS NOT NULL;"
    "CREATE INDEX tokens_user ON tokens(user_id);",
    "CREATE TABLE readings("
    " id BIGSERIAL, gateway TEXT NOT NULL, epoch BIGINT NOT NULL, seq BIGINT NOT NULL,"
    " instrument TEXT NOT NULL, ts BIGINT NOT NULL, state BIGINT NOT NULL,"
    " run_seconds BIGINT, energy_wh BIGINT, power_w DOUBLE PRECISION, samples BIGINT,"
    " badge BIGINT, cause BIGINT NOT NULL, received_at BIGINT NOT NULL, badge_user BIGINT,"
    " interlock BIGINT) PARTITION BY RANGE (ts);",
    "CREATE TABLE readings_default PARTITION OF readings DEFAULT;"
    "CREATE INDEX readings_instrument_ts ON readings(instrument, ts);"
    "CREATE INDEX readings_ts ON readings(ts);"
    "CREATE INDEX readings_seq ON readings(gateway, epoch, seq);",
    "CREATE TABLE reading_keys(gateway TEXT NOT NULL, epoch BIGINT NOT NULL, seq BIGINT NOT NULL,"
    " PRIMARY KEY(gateway, epoch, seq));",
    "CREATE TABLE gateway_acks("
    " gateway TEXT NOT NULL, epoch BIGINT NOT NULL, upto BIGINT NOT NULL,"
    " PRIMARY KEY(gateway, epoch));",
    "CREATE TABLE gateways("
    " id TEXT PRIMARY KEY, online BIGINT NOT NULL DEFAULT 0, version TEXT,"
    " outbox BIGINT, outbox_full BIGINT NOT NULL DEFAULT 0, instruments TEXT,"
    " last_seen BIGINT, last_ack BIGINT, name TEXT NOT NULL DEFAULT '',"
    " org_id BIGINT REFERENCES orgs(id), registered_at BIGINT, enabled BIGINT NOT NULL DEFAULT 0,"
    " rotated_at BIGINT);",
    "CREATE TABLE gateway_ranges("
    " gateway TEXT NOT NULL, epoch BIGINT NOT NULL, after BIGINT NOT NULL,"
    " last BIGINT NOT NULL, PRIMARY KEY(gateway, epoch, after, last));",
    "CREATE TABLE instruments("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, org_id BIGINT NOT NULL REFERENCES orgs(id),"
    " category TEXT NOT NULL DEFAULT '', location TEXT NOT NULL DEFAULT '',"
    " value_yuan BIGINT NOT NULL DEFAULT 0, rated_hours BIGINT NOT NULL DEFAULT 1400,"
    " public BIGINT NOT NULL DEFAULT 1, gateway TEXT, booking TEXT NOT NULL DEFAULT '{}',"
    " billing TEXT NOT NULL DEFAULT '{}', service_hours TEXT NOT NULL DEFAULT '{}',"
    " created_at BIGINT NOT NULL, description TEXT NOT NULL DEFAULT '',"
    " interlock TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX gateways_instrument ON instruments(gateway);",
    "CREATE TABLE bookings("
    " id BIGSERIAL PRIMARY KEY, instrument TEXT NOT NULL REFERENCES instruments(id),"
    " user_id BIGINT NOT NULL REFERENCES users(id), project TEXT NOT NULL DEFAULT '',"
    " start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, status TEXT NOT NULL CHECK(status IN"
    " ('pending','confirmed','cancelled','completed','no_show')), reason TEXT,"
    " metered_seconds BIGINT NOT NULL DEFAULT 0, created_by BIGINT NOT NULL,"
    " created_at BIGINT NOT NULL, rating BIGINT, comment TEXT, CHECK(end_ms > start_ms),"
    " CONSTRAINT bookings_no_overlap EXCLUDE USING gist (instrument WITH =,"
    " int8range(start_ms, end_ms) WITH &&) WHERE (status IN ('pending','confirmed')));"
    "CREATE INDEX bookings_instrument ON bookings(instrument, start_ms);"
    "CREATE INDEX bookings_user ON bookings(user_id, start_ms);",
    "CREATE TABLE outages("
    " id BIGSERIAL PRIMARY KEY, instrument TEXT NOT NULL REFERENCES instruments(id),"
    " start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('maintenance','breakdown')), note TEXT NOT NULL"
    " DEFAULT '', created_by BIGINT NOT NULL, created_at BIGINT NOT NULL,"
    " CHECK(end_ms > start_ms));"
    "CREATE INDEX outages_instrument ON outages(instrument, start_ms);",
    "CREATE TABLE feeds("
    " hash BYTEA PRIMARY KEY, kind TEXT NOT NULL CHECK(kind IN ('user','instrument')),"
    " subject TEXT NOT NULL, created_by BIGINT NOT NULL, created_at BIGINT NOT NULL,"
    " rowid BIGSERIAL UNIQUE);",
    "CREATE TABLE audit("
    " seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
    " object TEXT NOT NULL, before TEXT, after TEXT, prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL, actor_kind TEXT, actor_id TEXT, actor_user BIGINT);",
    "CREATE TABLE audit_head(id INTEGER PRIMARY KEY CHECK(id = 1), seq BIGINT NOT NULL,"
    " hash TEXT NOT NULL);",
    "CREATE TABLE usage("
    " id BIGSERIAL PRIMARY KEY, instrument TEXT NOT NULL, session_start BIGINT NOT NULL,"
    " session_end BIGINT NOT NULL, open BIGINT NOT NULL, start_ms BIGINT NOT NULL,"
    " end_ms BIGINT NOT NULL, run_ms BIGINT NOT NULL, energy_wh BIGINT NOT NULL,"
    " samples BIGINT NOT NULL, badge BIGINT, user_id BIGINT, booking_id BIGINT,"
    " attribution TEXT NOT NULL CHECK(attribution IN ('booking','badge','none')),"
    " external BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX usage_instrument ON usage(instrument, session_start);"
    "CREATE INDEX usage_booking ON usage(booking_id);" SCHEMA_USAGE_SUMS SCHEMA_MONTH_SUMS,
    "CREATE TABLE vouchers("
    " id BIGSERIAL PRIMARY KEY, org_id BIGINT NOT NULL REFERENCES orgs(id),"
    " percent BIGINT NOT NULL CHECK(percent BETWEEN 1 AND 100),"
    " annual_cap BIGINT NOT NULL CHECK(annual_cap >= 0), valid_from TEXT NOT NULL,"
    " valid_to TEXT NOT NULL, created_at BIGINT NOT NULL);",
    "CREATE TABLE charges("
    " id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('charge','adjustment')), org_id BIGINT NOT NULL,"
    " user_id BIGINT, instrument TEXT NOT NULL, booking_id BIGINT, at_ms BIGINT NOT NULL,"
    " month TEXT NOT NULL, category TEXT NOT NULL, minutes BIGINT NOT NULL,"
    " rate BIGINT NOT NULL, samples BIGINT NOT NULL, sample_fee BIGINT NOT NULL,"
    " amount BIGINT NOT NULL, voucher BIGINT NOT NULL, voucher_id BIGINT,"
    " description TEXT NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE INDEX charges_source ON charges(source);"
    "CREATE INDEX charges_org_month ON charges(org_id, month);" SCHEMA_CHARGE_LINES,
    "CREATE TABLE closed_months(month TEXT PRIMARY KEY, closed_at BIGINT NOT NULL,"
    " closed_by TEXT NOT NULL);",
    "CREATE TABLE readings_refused("
    " gateway TEXT NOT NULL, epoch BIGINT NOT NULL, seq BIGINT NOT NULL,"
    " instrument TEXT NOT NULL, ts BIGINT NOT NULL, state BIGINT NOT NULL,"
    " run_seconds BIGINT, energy_wh BIGINT, power_w DOUBLE PRECISION, samples BIGINT,"
    " badge BIGINT, cause BIGINT NOT NULL, received_at BIGINT NOT NULL, reason TEXT NOT NULL,"
    " interlock BIGINT, PRIMARY KEY(gateway, epoch, seq));",
    /* the billing terms in force over time (SPEC 7), kept by the database as SQLite's triggers
     * do */
    "CREATE TABLE instrument_terms(instrument TEXT NOT NULL, valid_from BIGINT NOT NULL,"
    " billing TEXT NOT NULL, PRIMARY KEY(instrument, valid_from));"
    "CREATE FUNCTION instrument_terms_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF TG_OP = 'INSERT' THEN"
    "  INSERT INTO instrument_terms VALUES(NEW.id, -9223372036854775807, NEW.billing)"
    "  ON CONFLICT (instrument, valid_from) DO UPDATE SET billing = excluded.billing;"
    " ELSIF NEW.billing IS DISTINCT FROM OLD.billing THEN"
    "  INSERT INTO instrument_terms VALUES(NEW.id,"
    "  (extract(epoch FROM clock_timestamp()) * 1000)::bigint, NEW.billing)"
    "  ON CONFLICT (instrument, valid_from) DO UPDATE SET billing = excluded.billing;"
    " END IF; RETURN NULL; END $$;"
    "CREATE TRIGGER instrument_terms_keep AFTER INSERT OR UPDATE OF billing ON instruments"
    " FOR EACH ROW EXECUTE FUNCTION instrument_terms_keep();",
    "CREATE TABLE qualifications("
    " instrument TEXT NOT NULL REFERENCES instruments(id), user_id BIGINT NOT NULL"
    " REFERENCES users(id), since_ms BIGINT NOT NULL, by_user BIGINT NOT NULL,"
    " expires_ms BIGINT, PRIMARY KEY(instrument, user_id));"
    "CREATE INDEX qualifications_user ON qualifications(user_id);",
    "CREATE TABLE interlock_version(id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT"
    " NULL);",
    "CREATE TABLE interlock_state(instrument TEXT PRIMARY KEY, gateway TEXT, mode TEXT NOT NULL,"
    " desired BIGINT NOT NULL, reason TEXT NOT NULL, booking BIGINT, until_ms BIGINT,"
    " version BIGINT, computed_at BIGINT NOT NULL, actual BIGINT, actual_at BIGINT,"
    " fault TEXT, fault_since BIGINT);",
    /* what SQLite's PRAGMA data_version tells ingest: instruments changed since it looked */
    "CREATE TABLE instrument_changes(id INTEGER PRIMARY KEY CHECK(id = 1), n BIGINT NOT NULL);"
    "INSERT INTO instrument_changes VALUES(1, 0);"
    "CREATE FUNCTION instrument_changes_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " UPDATE instrument_changes SET n = n + 1 WHERE id = 1; RETURN NULL; END $$;"
    "CREATE TRIGGER instrument_changes_count AFTER INSERT OR UPDATE OR DELETE ON instruments"
    " FOR EACH STATEMENT EXECUTE FUNCTION instrument_changes_count();",
    /* each instrument's longest booking, as SQLite's migration 15 keeps it */
    BOOKING_SPANS,
    /* sample-testing orders, as SQLite's migration 19 */
    SCHEMA_ORDERS("BIGSERIAL PRIMARY KEY", "BYTEA"),
    /* notifications, as SQLite's migration 20 */
    SCHEMA_NOTIFY("BIGSERIAL PRIMARY KEY"), NULL};

const char *const schema_pg_upgrades[] = {
    /* 14 -> 15 */
    BOOKING_SPANS "INSERT INTO booking_spans SELECT instrument, max(end_ms - start_ms) FROM"
                  " bookings GROUP BY instrument;",
    /* 15 -> 16 (the days are filled by the store, store.c) */
    "ALTER TABLE usage ADD COLUMN external BIGINT NOT NULL DEFAULT 0;" SCHEMA_USAGE_EXTERNAL_NOW
        SCHEMA_USAGE_SUMS,
    /* 16 -> 17 (the sums are filled by the store) */
    SCHEMA_MONTH_SUMS,
    /* 17 -> 18 */
    SCHEMA_CHARGE_LINES,
    /* 18 -> 19 */
    SCHEMA_ORDERS("BIGSERIAL PRIMARY KEY", "BYTEA"),
    /* 19 -> 20 */
    SCHEMA_NOTIFY("BIGSERIAL PRIMARY KEY"), NULL};

int schema_pg_partition_sql(int year, int month, char *sql, size_t len)
{
    struct tm a = {0}, b = {0};
    int64_t from, to;
    int n;

    a.tm_year = year - 1900;
    a.tm_mon = month - 1;
    a.tm_mday = 1;
    b = a;
    b.tm_mon += 1;
    from = (int64_t)timegm(&a) * 1000;
    to = (int64_t)timegm(&b) * 1000;
    n = snprintf(sql, len,
                 "CREATE TABLE IF NOT EXISTS readings_%04d%02d PARTITION OF readings"
                 " FOR VALUES FROM (%lld) TO (%lld)",
                 year, month, (long long)from, (long long)to);
    return n > 0 && (size_t)n < len ? 0 : -1;
}
