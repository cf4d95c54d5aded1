/*
 * store.h - all of the server's storage, behind one module (SQLite today; PostgreSQL can plug
 * in behind the same functions).
 *
 * A struct store is one connection: use one per thread (the ingest thread has its own, each
 * HTTP thread its own). SQLite runs in WAL mode with a busy timeout, and synchronous=FULL, so
 * whatever a function reports as stored survives a power cut. The schema is versioned
 * (PRAGMA user_version) and migrated at open.
 */
#ifndef LS_SRV_STORE_H
#define LS_SRV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "labshare/wire.h"

struct store;

/* Open (creating and migrating as needed) the database at path. LS_ERR_DB with a logged reason.
 * Close with store_close(). */
int store_open(const char *path, struct store **out);
void store_close(struct store *st);

/* Schema version after migrations. */
int store_schema_version(struct store *st);

/* --- Readings (evidence) ------------------------------------------------------------------ */

struct ingest_result {
    int64_t upto;      /* every seq <= upto of (gateway, epoch) is now stored */
    size_t stored;     /* readings new in this batch */
    size_t duplicates; /* readings already stored before */
};

/* Store a batch in one transaction; a reading already stored (same gateway, epoch, seq) is
 * skipped. On success *res says how far the gateway may be acked. */
int store_ingest_batch(struct store *st, const struct ls_batch *b, int64_t received_ms,
                       struct ingest_result *res);

/* Store n batches in one transaction (group commit: one fsync for all); res[i] as above, the
 * upto of each batch's (gateway, epoch) after all of them. On LS_ERR_DB nothing is stored. */
int store_ingest_batches(struct store *st, const struct ls_batch *b, size_t n, int64_t received_ms,
                         struct ingest_result *res);

struct reading_row {
    struct ls_reading r;
    char gateway[LS_ID_MAX];
    int64_t epoch;
    int64_t received_ms;
};

struct reading_query {
    const char *instrument; /* NULL = all */
    int64_t from_ms, to_ms; /* [from, to) on the reading's ts; INT64_MIN/MAX when open */
    int64_t limit, offset;
};

/* List readings by (ts, gateway, epoch, seq). *rows is allocated (caller frees with free()),
 * *n its length, *total the count matching without limit/offset. */
int store_readings_list(struct store *st, const struct reading_query *q, struct reading_row **rows,
                        size_t *n, int64_t *total);

/* --- Gateways --------------------------------------------------------------------------- */

/* Record a gateway's status message (online, version, backlog) received at now_ms. */
int store_gateway_status(struct store *st, const char *gateway, const struct ls_status *s,
                         int64_t now_ms);

/* --- Users and tokens ------------------------------------------------------------------- */

struct principal {
    int64_t user_id;
    char username[64];
    char role[16];  /* researcher, manager, auditor, admin */
    int64_t org_id; /* 0 when none */
};

/* Create the admin user if absent; *user_id is its id. */
int store_admin_ensure(struct store *st, int64_t *user_id);

/* Remember a token by its SHA-256 (the token itself is never stored). */
int store_token_add(struct store *st, int64_t user_id, const unsigned char hash[32],
                    const char *kind, int64_t now_ms);

/* Find the user of a token hash. LS_ERR_AUTH when unknown. */
int store_token_lookup(struct store *st, const unsigned char hash[32], struct principal *p);

#endif /* LS_SRV_STORE_H */
