/*
 * schema_pg.h - the store's schema on PostgreSQL (schema_pg.c says what the database guarantees
 * there). Used by store.c when [server] db is a postgresql:// URL.
 */
#ifndef LS_SRV_SCHEMA_PG_H
#define LS_SRV_SCHEMA_PG_H

#include <stddef.h>
#include <stdint.h>

/* The whole schema, for an empty database, in parts run in order in one transaction; NULL after
 * the last. */
extern const char *const schema_pg[];

/* The upgrades of a PostgreSQL schema from version SCHEMA_PG_UPGRADES_FROM on: entry i takes it
 * from that version + i to the next, run in the transaction that then records the version. NULL
 * after the last. A schema older than that is refused. */
#define SCHEMA_PG_UPGRADES_FROM 14
extern const char *const schema_pg_upgrades[];

/* Schema 16, the same on both engines (store.c's migration, and here): usage per instrument and
 * local day and month (rollup.h), and the external flag of the usage stored before it. */
#define SCHEMA_USAGE_SUMS                                                                          \
    "CREATE TABLE usage_days(instrument TEXT NOT NULL, day_ms BIGINT NOT NULL,"                    \
    " effective_ms BIGINT NOT NULL, external_ms BIGINT NOT NULL, inside_ms BIGINT NOT NULL,"       \
    " PRIMARY KEY(instrument, day_ms));"                                                           \
    "CREATE TABLE usage_months(instrument TEXT NOT NULL, month_ms BIGINT NOT NULL,"                \
    " effective_ms BIGINT NOT NULL, external_ms BIGINT NOT NULL, inside_ms BIGINT NOT NULL,"       \
    " PRIMARY KEY(instrument, month_ms));"
/* Schema 17, the same on both engines: bookings and charge lines per instrument and local month
 * (store_sums.c) */
#define SCHEMA_MONTH_SUMS                                                                          \
    "CREATE TABLE booking_months(instrument TEXT NOT NULL, month_ms BIGINT NOT NULL,"              \
    " booked_ms BIGINT NOT NULL, ended BIGINT NOT NULL, no_shows BIGINT NOT NULL,"                 \
    " rating_sum BIGINT NOT NULL, rating_count BIGINT NOT NULL, PRIMARY KEY(instrument, "          \
    "month_ms));"                                                                                  \
    "CREATE TABLE charge_months(instrument TEXT NOT NULL, month_ms BIGINT NOT NULL,"               \
    " amount BIGINT NOT NULL, voucher BIGINT NOT NULL, PRIMARY KEY(instrument, month_ms));"
/* Schema 18, the same on both engines: a payer's statement finds its month's lines by
 * organisation and an owner's (the lines on its instruments) by instrument, each in time order,
 * so a page of lines is read, not sorted out of all of them */
#define SCHEMA_CHARGE_LINES                                                                        \
    "DROP INDEX charges_org_month;"                                                                \
    "CREATE INDEX charges_org_month ON charges(org_id, month, at_ms);"                             \
    "CREATE INDEX charges_instrument_month ON charges(instrument, month, at_ms);"
/* Schema 19, on both engines (ID: the engine's auto-numbered key, BYTES: its binary type):
 * sample-testing orders (order.h), their results files, and the bookings that hold the staff's
 * work on an order (bookings.order_id) */
#define SCHEMA_ORDERS(ID, BYTES)                                                                   \
    "CREATE TABLE orders(id " ID ", instrument TEXT NOT NULL REFERENCES instruments(id),"          \
    " user_id BIGINT NOT NULL REFERENCES users(id), samples BIGINT NOT NULL,"                      \
    " description TEXT NOT NULL, analysis TEXT NOT NULL, urgency TEXT NOT NULL CHECK(urgency IN"   \
    " ('normal','urgent')), status TEXT NOT NULL CHECK(status IN ('requested','accepted',"         \
    "'declined','received','scheduled','completed','cancelled')), reason TEXT,"                    \
    " samples_received BIGINT, accepted_at BIGINT, received_at BIGINT, completed_at BIGINT,"       \
    " handled_by BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"                  \
    " result_name TEXT, result_type TEXT, result_size BIGINT, result_sha256 TEXT,"                 \
    " result_at BIGINT);"                                                                          \
    "CREATE INDEX orders_instrument ON orders(instrument, created_at);"                            \
    "CREATE INDEX orders_user ON orders(user_id, created_at);"                                     \
    "CREATE TABLE order_results(order_id BIGINT PRIMARY KEY REFERENCES orders(id),"                \
    " body " BYTES " NOT NULL);"                                                                   \
    "ALTER TABLE bookings ADD COLUMN order_id BIGINT;"                                             \
    "CREATE INDEX bookings_order ON bookings(order_id) WHERE order_id IS NOT NULL;"
/* Schema 20, on both engines: notifications (notify.h) - each user's address, language and
 * opt-outs, each organisation's webhook, and the durable queue of what is to be sent (a key per
 * message, so nothing is queued twice) */
#define SCHEMA_NOTIFY(ID)                                                                          \
    "ALTER TABLE users ADD COLUMN email TEXT;"                                                     \
    "ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';"                                \
    "ALTER TABLE users ADD COLUMN mail_opt_out TEXT NOT NULL DEFAULT '';"                          \
    "ALTER TABLE orgs ADD COLUMN webhook_url TEXT;"                                                \
    "ALTER TABLE orgs ADD COLUMN webhook_secret TEXT;"                                             \
    "CREATE TABLE notifications(id " ID ", key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL"        \
    " CHECK(channel IN ('mail','webhook')), kind TEXT NOT NULL, user_id BIGINT, org_id BIGINT,"    \
    " recipient TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, ics TEXT,"               \
    " created_at BIGINT NOT NULL, next_at BIGINT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,"    \
    " claimed_until BIGINT, sent_at BIGINT, failed_at BIGINT, last_error TEXT);"                   \
    "CREATE INDEX notifications_due ON notifications(next_at) WHERE sent_at IS NULL AND"           \
    " failed_at IS NULL;"                                                                          \
    "CREATE INDEX bookings_confirmed_start ON bookings(start_ms) WHERE status = 'confirmed';"      \
    "CREATE INDEX bookings_pending ON bookings(instrument) WHERE status = 'pending';"              \
    "CREATE INDEX orders_requested ON orders(instrument) WHERE status = 'requested';"
#define SCHEMA_USAGE_EXTERNAL_NOW                                                                  \
    "UPDATE usage SET external = 1 WHERE EXISTS(SELECT 1 FROM users usr JOIN instruments i ON"     \
    " i.id = usage.instrument WHERE usr.id = usage.user_id AND usr.org_id IS NOT NULL AND"         \
    " usr.org_id <> i.org_id);"

/* The SQL that makes the readings' partition of a month (1..12) if it is missing, into sql.
 * -1 when it does not fit. */
int schema_pg_partition_sql(int year, int month, char *sql, size_t len);

#endif /* LS_SRV_SCHEMA_PG_H */
