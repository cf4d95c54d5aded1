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

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "booking.h"
#include "instrument.h"
#include "order.h"
#include "usage.h"
#include "labshare/wire.h"
#include "trust.h"

struct store;
struct principal;

/* Open (creating and migrating as needed) the database at path. LS_ERR_DB with a logged reason.
 * Close with store_close(). */
int store_open(const char *path, struct store **out);
/* Let this connection keep up to mb MB of database pages (SQLite; PostgreSQL has its own shared
 * buffers: nothing done). SQLite's default, 2 MB, made the ingest worker re-read the readings'
 * and sessions' index pages from the OS for every group (perf: a third of its time in kernel
 * copies during a replay). LS_ERR_DB. */
int store_cache_mb(struct store *st, int mb);
void store_close(struct store *st);

/* Schema version after migrations. */
int store_schema_version(struct store *st);

/* --- Readings (evidence) ------------------------------------------------------------------ */

struct ingest_result {
    int64_t upto;      /* every seq <= upto of (gateway, epoch) is now stored or refused; -1:
                          send no ack (the gateway is not registered or is disabled) */
    size_t stored;     /* readings new in this batch */
    size_t duplicates; /* readings already stored before, the same */
    size_t refused[TRUST_CAUSE_COUNT]; /* readings (or range claims) refused, by cause */
};

/* What ingest believes (SPEC 3.3): the limits of times and range claims. Until it is called a
 * store uses the defaults of [ingest] (300 s ahead, 365 days before the instrument, 10^7
 * thinned). */
void store_set_trust(struct store *st, const struct trust_limits *lim);

/* Store n batches (readings and acks) inside the caller's write transaction (store_begin; the
 * caller commits, and rolls back on an error, when res is zeroed): ingest_store_batches (ingest.h)
 * is the one transaction that also refreshes usage. A reading is stored only when the batch's
 * gateway is registered and enabled, the reading's instrument is bound to that gateway, and its
 * time and values are in range (trust.h); a refused reading is kept in readings_refused with its
 * cause (the batch's others are stored as usual). A reading already stored (same gateway, epoch,
 * seq) is skipped, or counted as a conflicting repeat when its content differs. A range claim
 * ("after") is used only when trust_range_claim_ok(). The badge's user at arrival is kept with
 * each reading. res[i] says how far each batch's gateway may be acked, the upto of its
 * (gateway, epoch) after all of them. */
int store_readings_insert(struct store *st, const struct ls_batch *b, size_t n, int64_t received_ms,
                          struct ingest_result *res);

struct reading_row {
    struct ls_reading r;
    char gateway[LS_ID_MAX];
    int64_t epoch;
    int64_t received_ms;
    char refused[32]; /* the cause (trust_cause_name), for a refused reading; "" otherwise */
};

struct reading_query {
    const char *instrument; /* NULL = all */
    int64_t from_ms, to_ms; /* [from, to) on the reading's ts; INT64_MIN/MAX when open */
    int64_t limit, offset;
    int refused; /* 1: the readings refused (readings_refused) instead of the stored */
};

/* List readings by (ts, gateway, epoch, seq). *rows is allocated (caller frees with free()),
 * *n its length, *total the count matching without limit/offset. */
int store_readings_list(struct store *st, const struct reading_query *q, struct reading_row **rows,
                        size_t *n, int64_t *total);

/* The newest stored reading of instrument (by its time): *ts_ms and *state. LS_ERR_NOTFOUND
 * when it has none, LS_ERR_DB. */
int store_last_reading(struct store *st, const char *instrument, int64_t *ts_ms,
                       enum ls_state *state);

/* --- Gateways (store_gateways.c) ---------------------------------------------------------
 * A gateway is registered (POST /gateways) with a name and an owner organisation, and enabled
 * until it is disabled; only then are its readings and status taken. */

/* Record the status message (online, version, backlog) of a registered, enabled gateway,
 * received at now_ms. LS_ERR_NOTFOUND (nothing written) for any other gateway. */
/* *online = the gateway's online flag as last recorded (-1 when never). LS_ERR_NOTFOUND. */
int store_gateway_online(struct store *st, const char *gateway, int *online);
int store_gateway_status(struct store *st, const char *gateway, const struct ls_status *s,
                         int64_t now_ms);
/* Register gateway id (enabled). LS_ERR_CONFLICT when it is registered already. In the
 * caller's transaction. */
int store_gateway_register(struct store *st, const char *id, const char *name, int64_t org_id,
                           int64_t now_ms);
/* Change a registered gateway: name (NULL = keep), enabled (-1 = keep), rotated_at (0 =
 * keep). LS_ERR_NOTFOUND when not registered. */
int store_gateway_update(struct store *st, const char *id, const char *name, int enabled,
                         int64_t rotated_ms);
/* A registered gateway, with what its last status message said. */
struct gateway {
    char id[LS_ID_MAX];
    char name[256];
    int64_t org_id; /* the owner; 0: none */
    int enabled;    /* 0: its readings and status are refused */
    int64_t registered_ms;
    int64_t rotated_ms; /* when its password last changed; 0: never */
    int online;         /* its last status said online, and it is enabled */
    char version[64];   /* its software, as it reports it */
    int has_version;    /* 0: it never said */
    int64_t outbox;     /* readings waiting in its outbox; -1: never said */
    int outbox_full;
    int64_t last_seen_ms;        /* its last reading or status; 0: never */
    int64_t last_ack;            /* the last seq acked to it; -1: none yet */
    char (*reported)[LS_ID_MAX]; /* the instruments its status names (owned) */
    size_t nreported;
    char (*bound)[LS_ID_MAX]; /* the instruments bound to it, by id (owned) */
    size_t nbound;
};
/* Free what g owns. */
void gateway_clear(struct gateway *g);
/* Clear each of n gateways and free v. */
void gateways_free(struct gateway *v, size_t n);
/* Registered gateway id into *out (the caller clears it on LS_OK). LS_ERR_NOTFOUND. */
int store_gateway_get(struct store *st, const char *id, struct gateway *out);
/* Registered gateways, by id; org_id > 0 narrows to one owner. *items (the caller frees with
 * gateways_free) and *n. */
int store_gateway_list(struct store *st, int64_t org_id, struct gateway **items, size_t *n);
/* Ids of the registered gateways that are disabled: *ids malloc'd, each id malloc'd. */
int store_gateway_disabled(struct store *st, char ***ids, size_t *n);

/* When the first instrument joined the platform (epoch ms); LS_ERR_NOTFOUND when none did. */
int store_first_instrument(struct store *st, int64_t *ms);

/* --- Moving a platform -------------------------------------------------------------------
 * import-sqlite: every row of every table of the SQLite platform at src_path (upgraded to this
 * server's schema first) copied as stored into dst, which must be an empty PostgreSQL database
 * (its schema made by store_open): ids, seqs, hashes and the audit chain unchanged, in one
 * transaction (all or nothing), serial ids continuing after the highest copied. LS_ERR_INVAL
 * (dst is not PostgreSQL, the source cannot be opened), LS_ERR_CONFLICT (dst holds a platform),
 * LS_ERR_DB; rep says the rows copied per table. */
#define IMPORT_TABLES_MAX 32
struct import_report {
    struct {
        char name[32];
        int64_t rows;
    } table[IMPORT_TABLES_MAX];
    size_t ntables;
};
int store_import_sqlite(struct store *dst, const char *src_path, struct import_report *rep);

/* --- Transactions ------------------------------------------------------------------------
 * A write and its audit record go in one transaction, and write transactions are serialised
 * across every connection and server of the platform, so a check and the write that depends on
 * it (a booking's overlap check, the audit chain's next seq, a month close, a charge sync) see
 * no other writer in between: on SQLite BEGIN IMMEDIATE takes the database's write lock at
 * once; on PostgreSQL BEGIN is followed by the transaction advisory lock STORE_WRITER_LOCK
 * (pg_advisory_xact_lock, released at COMMIT or ROLLBACK). The database's own constraints (a
 * booking's exclusion constraint, the readings' unique key) hold besides. */
#define STORE_WRITER_LOCK "7270002"
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* A write group (writer.h): one write transaction holding several callers' writes, each in a
 * savepoint of its own, committed together (one sync to disk for all). Between store_group_begin
 * and store_group_commit or store_group_abort, store_begin opens the caller's savepoint,
 * store_commit releases it (its writes then commit with the group), store_rollback undoes the
 * caller's writes only. store_group_lost: the engine rolled the whole group back (an I/O error,
 * a full disk): the writes of the group so far are gone, and the connection is out of the group.
 *
 * In one process, writers to one SQLite file queue on a mutex (store_txn.c) rather than on
 * SQLite's busy handler, which sleeps and polls. */
int store_group_begin(struct store *st);
int store_group_lost(struct store *st);
int store_group_commit(struct store *st);
void store_group_abort(struct store *st);

/* --- Organisations ---------------------------------------------------------------------- */
/* Objects are JSON as the API shows them (caller decrefs). */
int store_org_create(struct store *st, const char *name, const char *type, int64_t *id);
int store_org_update(struct store *st, int64_t id, const char *name, const char *type);
struct org {
    int64_t id;
    char name[256];
    char type[16]; /* government, enterprise, university, institute */
};
/* Organisation id. LS_ERR_NOTFOUND. */
int store_org_get(struct store *st, int64_t id, struct org *o);
/* Organisations by id from offset, at most limit: *items (the caller frees), *n, and *total of
 * them all. */
int store_org_list(struct store *st, int64_t limit, int64_t offset, struct org **items, size_t *n,
                   int64_t *total);

/* --- Users -------------------------------------------------------------------------------- */
struct user_fields {
    const char *username;      /* NULL: keep (update) */
    const char *display_name;  /* NULL: keep */
    int64_t org_id;            /* -1: keep; 0: none */
    const char *role;          /* NULL: keep */
    int64_t badge;             /* -2: keep; -1: none */
    const char *password_hash; /* NULL: keep */
    const char *email;         /* NULL: keep; "": none */
    const char *lang;          /* NULL: keep (en, zh) */
    const char *mail_opt_out;  /* NULL: keep; the kinds not mailed, comma-separated */
};
int store_user_create(struct store *st, const struct user_fields *u, int64_t *id);
int store_user_update(struct store *st, int64_t id, const struct user_fields *u);
/* A user as others see them (no password, no sessions). */
struct user {
    int64_t id;
    char username[64];
    char display_name[256];
    int64_t org_id;  /* 0: none */
    char role[16];   /* researcher, manager, auditor, admin */
    int64_t badge;   /* 0: none */
    char email[256]; /* "": none */
    char lang[8];
    char mail_opt_out[512];
};
/* User id. LS_ERR_NOTFOUND. */
int store_user_get(struct store *st, int64_t id, struct user *u);
/* Users by id from offset, at most limit (org_id > 0: of that organisation only): *items (the
 * caller frees), *n, and *total of all that match. */
int store_user_list(struct store *st, int64_t org_id, int64_t limit, int64_t offset,
                    struct user **items, size_t *n, int64_t *total);
int store_user_principal(struct store *st, int64_t id, struct principal *p);
/* The password hash of username (into hash, len bytes) and its principal. LS_ERR_NOTFOUND. */
int store_user_login(struct store *st, const char *username, struct principal *p, char *hash,
                     size_t len);

/* --- Instruments (store_instruments.c) -------------------------------------------------- */
/* Register in (validated by the caller). LS_ERR_CONFLICT when its id is taken, LS_ERR_INVAL when
 * its owner does not exist. */
int store_instrument_create(struct store *st, const struct instrument *in);
/* Replace every column of instrument in->id but when it joined. LS_ERR_NOTFOUND, LS_ERR_INVAL
 * (no such owner). */
int store_instrument_update(struct store *st, const struct instrument *in);
/* Instrument id into *out (the caller clears it with instrument_clear on LS_OK). LS_ERR_NOTFOUND;
 * LS_ERR_DB also when its stored settings do not parse. */
int store_instrument_get(struct store *st, const char *id, struct instrument *out);
/* Instruments by id from offset, at most limit; org_id > 0: one owner; public_only: only public
 * ones. *items (the caller frees with instruments_free), *n, *total of all that match. */
int store_instrument_list(struct store *st, int64_t org_id, int public_only, int64_t limit,
                          int64_t offset, struct instrument **items, size_t *n, int64_t *total);

/* --- Bookings ----------------------------------------------------------------------------- */

/* The id of a pending or confirmed booking of instrument overlapping [start, end) other than
 * exclude_id into *conflict: LS_ERR_CONFLICT; LS_OK when none. Touching ends do not overlap. */
int store_booking_overlap(struct store *st, const char *instrument, int64_t start_ms,
                          int64_t end_ms, int64_t exclude_id, int64_t *conflict);
int store_booking_insert(struct store *st, struct booking *b); /* sets b->id */
int store_booking_get(struct store *st, int64_t id, struct booking *b);
/* The booking with its requester. LS_ERR_NOTFOUND. */
int store_booking_view(struct store *st, int64_t id, struct booking_view *v);
int store_booking_set_status(struct store *st, int64_t id, enum booking_status status,
                             const char *reason);
int store_booking_rate(struct store *st, int64_t id, int score, const char *comment);
/* Pending or confirmed bookings of user_id ending after now_ms, counted up to cap (a rule's
 * limit: a user with thousands of future bookings costs no more than one with cap). */
int store_booking_future_count(struct store *st, int64_t user_id, int64_t now_ms, int64_t cap,
                               int64_t *n);

struct booking_filter {
    int64_t user_id; /* > 0: only this user's */
    int64_t org_id;  /* > 0: only bookings of instruments owned by this org */
    const char *instrument;
    int64_t from_ms, to_ms; /* bookings overlapping [from, to) */
    int has_status;         /* 1: only bookings in status; 0: any */
    enum booking_status status;
    int64_t user_org; /* > 0: only bookings of users of this org */
    int64_t limit, offset;
};
/* The bookings f selects, by start: *items (the caller frees; NULL when none), *n of them,
 * *total of all that match (beyond limit and offset). */
int store_booking_list(struct store *st, const struct booking_filter *f,
                       struct booking_view **items, size_t *n, int64_t *total);

/* Busy intervals of instrument overlapping [from, to): pending and confirmed bookings, and
 * outages. *out is allocated (caller frees), sorted by start. */
int store_busy(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
               struct interval **out, size_t *n);

/* --- Interlock (store_interlock.c) ------------------------------------------------------------ */

struct booking_span {
    int64_t id;
    int64_t start_ms, end_ms;
};

/* Confirmed bookings of instrument overlapping [from, to); *out allocated (caller frees). */
int store_confirmed_spans(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
                          struct booking_span **out, size_t *n);
/* Outages of instrument overlapping [from, to); *out allocated (caller frees). */
int store_outage_spans(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
                       struct interval **out, size_t *n);
/* The newest reading's state (*running), and the time of the newest reading not running
 * (*idle_at, 0 when none). No reading: not running, idle_at 0. */
int store_meter_activity(struct store *st, const char *instrument, int *running, int64_t *idle_at);
/* The user whose badge the newest reading of instrument shows (the badge's user when it
 * arrived), 0 when no badge is logged in or it belongs to nobody. */
int store_meter_badge_user(struct store *st, const char *instrument, int64_t *user_id);
/* A new command version: above every version handed out before, on this database (kept across
 * restarts), and at least now_ms so that versions of a restored database still grow. */
int store_interlock_next_version(struct store *st, int64_t now_ms, int64_t *version);

struct interlock_row {
    char instrument[LS_ID_MAX];
    char gateway[LS_ID_MAX];
    char mode[16];
    int desired;
    char reason[16];
    int64_t booking;  /* 0: none */
    int64_t until_ms; /* INT64_MAX: none */
    int64_t version;  /* of the command that carried it; 0 when none was sent (monitor) */
    int64_t computed_at;
    int actual;               /* -1 when the gateway has not reported it */
    int64_t actual_at;        /* 0 when never */
    char fault[LS_FAULT_MAX]; /* why the gateway cannot put the relay right; "" when none */
    int64_t fault_since;      /* 0 when none */
};

/* Keep what the server wants of instrument's relay (the actual state is left as it is). */
int store_interlock_put(struct store *st, const struct interlock_row *r);
/* What gateway reports of the relay of instrument: kept only when the instrument's commands go
 * to that gateway (another gateway cannot speak for it). */
int store_interlock_actual(struct store *st, const char *gateway, const char *instrument,
                           int actual, int64_t at_ms);
/* What an online gateway's status says of its relays that it cannot put right: the n
 * instruments ids[] have faults[] (kept since the first report of each), every other instrument
 * whose commands go to gateway has none. In one transaction. */
int store_interlock_faults(struct store *st, const char *gateway, char (*ids)[LS_ID_MAX],
                           char (*faults)[LS_FAULT_MAX], size_t n, int64_t at_ms);
/* The command version that carried the states of gateway's instruments. */
int store_interlock_set_version(struct store *st, const char *gateway, int64_t version);
/* One instrument's row (LS_ERR_NOTFOUND). */
int store_interlock_get(struct store *st, const char *instrument, struct interlock_row *out);
/* Drop the rows of instruments whose policy is none now. */
int store_interlock_forget(struct store *st, const char *instrument);

/* --- Sample-testing orders (store_orders.c) ------------------------------------------------- */

/* A new order (o->status, created_at, updated_at set by the caller); sets o->id. */
int store_order_insert(struct store *st, struct order *o);
/* Order id into *o: LS_ERR_NOTFOUND. */
int store_order_get(struct store *st, int64_t id, struct order *o);
/* Write o's status, reason, samples received, step times and handler. */
int store_order_update(struct store *st, const struct order *o);

struct order_filter {
    int64_t user_id; /* > 0: only this user's orders */
    int64_t org_id;  /* > 0: only orders on this organisation's instruments or by its users */
    const char *instrument;
    int has_status;
    enum order_status status;
    int64_t from_ms, to_ms; /* created in [from, to) */
    int64_t limit, offset;
};
/* The orders f selects, newest first: *items (caller frees), *n, *total of all that match. */
int store_order_list(struct store *st, const struct order_filter *f, struct order **items,
                     size_t *n, int64_t *total);
/* The results file of order id (replacing one before), with its name, media type, SHA-256
 * (hex) and upload time. */
int store_order_result_put(struct store *st, int64_t id, const char *name, const char *type,
                           const void *body, size_t len, const char *sha256, int64_t at_ms);
/* Order id's results file: *body (caller frees), *len. LS_ERR_NOTFOUND when there is none. */
int store_order_result_get(struct store *st, int64_t id, void **body, size_t *len);

/* The staff's work on an order as the calendar and the meters have it. */
struct order_work {
    int64_t metered_ms; /* metered run time inside its bookings */
    int64_t bookings;   /* its bookings that were not cancelled */
    int64_t unfinished; /* the first of them still holding a slot after now; 0: none */
};
int store_order_work(struct store *st, int64_t id, int64_t now_ms, struct order_work *w);
/* The ids of order id's bookings that still hold a slot ending after now (caller frees). */
int store_order_open_bookings(struct store *st, int64_t id, int64_t now_ms, int64_t **ids,
                              size_t *n);

/* --- Notifications (store_notify.c, notify.h) --------------------------------------------- */

/* One message in the durable queue: an e-mail (recipient an address) or a webhook delivery
 * (recipient a URL, body the JSON). The key names the message: queued once, whatever happens. */
struct notify_row {
    int64_t id;
    char key[200];
    char channel[8]; /* mail, webhook */
    char kind[32];
    int64_t user_id, org_id; /* 0: none */
    char recipient[512];
    char *subject, *body, *ics; /* owned (notify_rows_free); ics may be NULL */
    int64_t created_at, next_at, attempts, sent_at, failed_at;
    char last_error[256];
};
void notify_rows_free(struct notify_row *v, size_t n);
/* Queue r (subject, body, ics borrowed) unless its key is queued already: *queued 1 or 0. */
int store_notify_put(struct store *st, const struct notify_row *r, int *queued);
/* Claim up to max due messages for lease_ms (another server or a restart takes them after
 * that): *rows (caller frees with notify_rows_free), *n. In a transaction of its own. */
int store_notify_claim(struct store *st, int64_t now_ms, int64_t lease_ms, size_t max,
                       struct notify_row **rows, size_t *n);
/* Message id was delivered at now. */
int store_notify_sent(struct store *st, int64_t id, int64_t now_ms);
/* Message id failed (error): tried again at next_ms, or given up (give_up). */
int store_notify_failed(struct store *st, int64_t id, const char *error, int64_t next_ms,
                        int give_up, int64_t now_ms);
/* The queue, newest first: state "queued", "sent", "failed" or NULL (all). */
int store_notify_list(struct store *st, const char *state, int64_t limit, int64_t offset,
                      struct notify_row **rows, size_t *n, int64_t *total);
/* Organisation org's webhook (url "" = none; secret of at most 255 bytes). */
int store_org_webhook(struct store *st, int64_t org, char *url, size_t ulen, char *secret,
                      size_t slen);
int store_org_webhook_set(struct store *st, int64_t org, const char *url, const char *secret);
/* The managers of organisation org (at most 100): *items (caller frees), *n. */
int store_org_managers(struct store *st, int64_t org, struct user **items, size_t *n);
/* Confirmed bookings starting in [from, to): ids into *ids (caller frees). */
int store_bookings_starting(struct store *st, int64_t from_ms, int64_t to_ms, int64_t **ids,
                            size_t *n);
/* Per owner organisation, the bookings waiting for approval (ending after now) and the orders
 * waiting to be accepted: parallel arrays (caller frees each). */
int store_waiting_by_org(struct store *st, int64_t now_ms, int64_t **orgs, int64_t **bookings,
                         int64_t **orders, size_t *n);

/* --- Qualifications (store_qualifications.c) ------------------------------------------------ */

struct qualification {
    char instrument[LS_ID_MAX];
    int64_t user_id;
    int64_t since_ms;   /* from when */
    int64_t by_user;    /* who qualified them */
    int64_t expires_ms; /* INT64_MAX: no expiry */
};

/* Record (or replace) that user_id may operate instrument from since_ms until expires_ms
 * (INT64_MAX for none). LS_ERR_DB. */
int store_qualification_put(struct store *st, const struct qualification *q);
/* LS_ERR_NOTFOUND when there was none. */
int store_qualification_delete(struct store *st, const char *instrument, int64_t user_id);
/* One (LS_ERR_NOTFOUND). */
int store_qualification_get(struct store *st, const char *instrument, int64_t user_id,
                            struct qualification *out);
/* Those of instrument (user_id 0: everyone's), by user; *out allocated (caller frees with
 * free()), *n its length. */
int store_qualifications_list(struct store *st, const char *instrument, int64_t user_id,
                              struct qualification **out, size_t *n);

/* --- Outages ------------------------------------------------------------------------------ */
int store_outage_insert(struct store *st, const char *instrument, int64_t start_ms, int64_t end_ms,
                        const char *kind, const char *note, int64_t by, int64_t *id);
/* Outage id. LS_ERR_NOTFOUND. */
int store_outage_get(struct store *st, int64_t id, struct outage *o);
/* Change or remove outage id (LS_ERR_NOTFOUND). Bookings it cancelled stay cancelled. */
int store_outage_update(struct store *st, int64_t id, int64_t start_ms, int64_t end_ms,
                        const char *kind, const char *note);
int store_outage_delete(struct store *st, int64_t id);
/* The outages of instrument overlapping [from, to), by start: *items (the caller frees; NULL
 * when none), *n of them. */
int store_outage_list(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
                      struct outage **items, size_t *n);
/* Cancel the pending and confirmed bookings an outage covers (reason "outage"); their ids into
 * *ids (caller frees), *n of them. */
int store_outage_cancel_bookings(struct store *st, const char *instrument, int64_t start_ms,
                                 int64_t end_ms, int64_t **ids, size_t *n);

/* --- Usage (SPEC 6) ---------------------------------------------------------------------
 * Usage rows are the parts of sessions, attributed to a booking's user, a badge's user or
 * nobody. They are derived data: store_usage_refresh() recomputes an instrument's usage from
 * its readings from the first session that readings at or after since_ms can change, and sets
 * the metered_seconds (and, once ended, completed or no_show) of the bookings it touches.
 * It keeps the instrument's usage per local day (usage_days, rollup.h) in step: what the
 * sessions it replaced gave is taken away, what the new ones give is added. Whether a part is
 * external (its user of another organisation than the owner) is decided when it is stored.
 * Call it in the transaction that stored the readings or changed the bookings. */
int store_usage_refresh(struct store *st, const char *instrument, int64_t since_ms,
                        int64_t merge_gap_ms, int64_t no_show_min_run_s);

/* Recompute every instrument's usage from all its readings and compare it with what is stored:
 * *diffs rows differ (0 = the incremental result is exact). With replace set, store the
 * recomputed rows instead. */
int store_usage_rebuild(struct store *st, int64_t merge_gap_ms, int64_t no_show_min_run_s,
                        int replace, int64_t *rows, int64_t *diffs);
/* --- Compaction of a closed month's readings (compact.h; opt-in) ---------------------------
 * Remove the heartbeats of instrument's readings of [from_ms, to_ms) that compact_select lets go,
 * when the sessions computed from the readings left (with two days on either side) are the same
 * as from all of them; otherwise remove nothing (rep->sessions_would_change). Each kept and each
 * removed reading is a line of its columns as stored, tab-separated (readings_digest's); the
 * SHA-256 of the kept lines and of the removed lines, in time order, go into the audit log
 * (readings.compact, object readings/<instrument>/<month>), in the caller's transaction. */
struct compact_report {
    int64_t kept, removed;
    char kept_digest[65], removed_digest[65];
    int sessions_would_change;
};
int store_readings_compact(struct store *st, const char *instrument, const char *month,
                           int64_t from_ms, int64_t to_ms, int64_t merge_gap_ms,
                           struct compact_report *rep);
/* The SHA-256 (hex) of instrument's readings of [from_ms, to_ms) as they are now, in the lines
 * of store_readings_compact, and how many: what the audit record's kept_digest must match. */
int store_readings_digest(struct store *st, const char *instrument, int64_t from_ms, int64_t to_ms,
                          char hex[65], int64_t *count);
/* The instruments with readings in [from_ms, to_ms): *ids (caller frees), *n. */
int store_readings_instruments(struct store *st, int64_t from_ms, int64_t to_ms,
                               char (**ids)[LS_ID_MAX], size_t *n);
/* Check every compaction record of month ([from_ms, to_ms)) in the audit log against the
 * readings there now: *checked records, *bad of them whose kept readings differ (or that cannot
 * be read). The chain of the records themselves is the audit log's (store_audit_verify). */
int store_compact_verify(struct store *st, const char *month, int64_t from_ms, int64_t to_ms,
                         int64_t *checked, int64_t *bad);

/* Recompute every instrument's usage per day from its stored sessions and compare it with
 * usage_days: *rows days, *diffs of them differ (missing, extra or other sums). With replace
 * set, store the recomputed days instead. */
int store_usage_days_check(struct store *st, int replace, int64_t *rows, int64_t *diffs);

/* Bookings and charge lines summed per instrument and local month (booking_months,
 * charge_months: booked ms, bookings ended, no-shows, ratings; amounts and voucher shares), as
 * store_metric_raws counts them for a period. The store keeps them with every write of a booking
 * or a line: store_booking_sums takes a booking's share out (sign -1) before it changes and puts
 * it back (1) after; store_charge_sums a line's. store_month_sums_check recomputes them all from
 * the rows: *rows months, *diffs of them differ; with replace, stores the recomputed ones. */
int store_booking_sums(struct store *st, int64_t id, int sign);
int store_charge_sums(struct store *st, const char *instrument, int64_t at_ms, int64_t amount,
                      int64_t voucher, int sign);
int store_month_sums_check(struct store *st, int replace, int64_t *rows, int64_t *diffs);

struct usage_filter {
    const char *instrument;
    int64_t user_id; /* > 0: only this user's */
    int64_t org_id;  /* > 0: only instruments of this owner */
    int64_t from_ms, to_ms;
    int64_t limit, offset;
};
/* A stored part of a usage session (SPEC 6): the metered use of one instrument attributed to
 * one user, booking or nobody. */
struct usage_row {
    int64_t id;
    char instrument[LS_ID_MAX];
    int64_t start_ms, end_ms; /* this part */
    int64_t run_ms, energy_wh, samples;
    int64_t user_id;    /* 0: nobody */
    int64_t booking_id; /* 0: none */
    enum usage_attribution attribution;
    int has_badge;
    int64_t badge;
    int64_t session_start_ms; /* the session the part belongs to */
    int open;                 /* the session may still grow */
};
/* The parts f selects, by start: *items (the caller frees; NULL when none), *n of them, and
 * *total matching f without its limit. LS_OK, LS_ERR_DB, LS_ERR_NOMEM. */
int store_usage_list(struct store *st, const struct usage_filter *f, struct usage_row **items,
                     size_t *n, int64_t *total);

/* --- Metrics ---------------------------------------------------------------------------- */
struct metric_raw;
/* Per-instrument sums over [from, to) for metrics (metrics.h), one per instrument (also those
 * with no usage), ordered by id. *out allocated (caller frees). */
int store_metric_raws(struct store *st, int64_t from_ms, int64_t to_ms, struct metric_raw **out,
                      size_t *n);
/* Metered time by user organisation type x owner organisation type over [from, to), by user
 * type then owner type: *items (the caller frees; NULL when none), *n of them. */
struct collaboration_row {
    char user_org_type[32]; /* "unknown" for use attributed to nobody */
    char owner_org_type[32];
    double run_ms; /* sessions clipped to the period: a share of a session is fractional */
};
int store_collaboration(struct store *st, int64_t from_ms, int64_t to_ms,
                        struct collaboration_row **items, size_t *n);

/* --- Billing (SPEC 7) --------------------------------------------------------------------
 * Charges are lines derived from ended bookings and from metered use without a booking
 * (attributed by badge), keyed by their source ("booking/<id>", "usage/<instrument>/<start>"),
 * so recomputing them never counts one twice. store_billing_sync() brings the lines in line
 * with the evidence: a new source gets a charge line in the month of its time (platform time
 * zone) or, when that month is closed, an adjustment line in the next open month; a source whose
 * amount changed gets an adjustment line for the difference (or, in an open month with no
 * adjustment yet, its line corrected). Vouchers apply in charge time order up to their annual
 * cap. Call it in a transaction. */
int store_billing_sync(struct store *st, int64_t *added);
struct charge_filter {
    int64_t org_id;         /* > 0: lines paid by this organisation */
    int64_t user_id;        /* > 0: this user's lines */
    int64_t owner_org;      /* > 0: lines of charges on this organisation's instruments */
    const char *instrument; /* NULL = any */
    int64_t from_ms, to_ms; /* at in [from, to) */
    int64_t limit, offset;
};
/* A charge line (SPEC 7): what one booking or one unbooked use costs, or an adjustment that
 * corrects an earlier line. Money is integer minor units (fen), as in billing.h. */
enum charge_kind { CHARGE_KIND_CHARGE = 0, CHARGE_KIND_ADJUSTMENT };
struct charge_line {
    int64_t id;
    enum charge_kind kind;
    char source[96]; /* what it charges: "booking/12", "usage/40" */
    int64_t org_id;  /* the payer */
    int64_t user_id; /* 0: none */
    char instrument[LS_ID_MAX];
    int64_t booking_id; /* 0: none */
    int64_t at_ms;
    char month[16];    /* YYYY-MM of at_ms in the platform time zone */
    char category[16]; /* billing_category_name() */
    int64_t minutes, rate, samples, sample_fee, amount, voucher;
    char description[200];
};
/* The lines f selects, by month, time and id: *items (the caller frees; NULL when none), *n of
 * them, *total matching f without its limit. LS_OK, LS_ERR_DB, LS_ERR_NOMEM. */
int store_charges_list(struct store *st, const struct charge_filter *f, struct charge_line **items,
                       size_t *n, int64_t *total);
/* A month's statement of an organisation: what it pays, or (owner) the revenue of charges on
 * its instruments. lines: the caller frees (statement_free). */
struct statement {
    int64_t org_id;
    int owner;
    char month[16];
    int closed;
    struct charge_line *lines; /* a page of them: offset on, at most limit, by time */
    size_t nlines;
    int64_t limit, offset;
    int64_t lines_total;    /* all the month's lines */
    int64_t gross, voucher; /* sums of all the lines */
};
/* The statement of org_id (owner: the revenue of its instruments, else what it pays) for month,
 * with lines offset .. offset + limit - 1 in time order; the totals are of every line. */
int store_statement(struct store *st, int64_t org_id, int owner, const char *month, int64_t limit,
                    int64_t offset, struct statement *out);
void statement_free(struct statement *s);
/* Sum of every charge line's amount, voucher and payable (for the invariant Σ statements = Σ
 * charges). */
int store_charges_totals(struct store *st, int64_t *gross, int64_t *voucher);
int store_month_close(struct store *st, const char *month, const char *by);
/* Whether month ("YYYY-MM") is closed: *closed 1 or 0 with LS_OK; LS_ERR_DB when it cannot be
 * told (*closed 0 then, which is not "open"). */
int store_month_closed(struct store *st, const char *month, int *closed);
int store_voucher_create(struct store *st, int64_t org_id, int64_t percent, int64_t cap,
                         const char *valid_from, const char *valid_to, int64_t *id);
/* An innovation voucher (SPEC 7): a share of an enterprise's charges, capped per year. */
struct voucher {
    int64_t id, org_id, percent, annual_cap;
    char valid_from[16], valid_to[16]; /* YYYY-MM-DD */
    int64_t used;                      /* what its lines have taken, all years */
};
/* Every voucher by id: *items (the caller frees), *n. */
int store_voucher_list(struct store *st, struct voucher **items, size_t *n);
/* Voucher id. LS_ERR_NOTFOUND. */
int store_voucher_get(struct store *st, int64_t id, struct voucher *v);

/* --- One's own secrets: API and session tokens (feeds = 0) or calendar feeds (1) -------
 * Listed without the secret (stored hashed anyway), by id; deleted by id, one's own only
 * (LS_ERR_NOTFOUND otherwise). */
struct secret_row {
    int64_t id;
    char kind[16];           /* a token's: "api", "session"; a feed's: "user", "instrument" */
    char subject[LS_ID_MAX]; /* a feed's user or instrument */
    int64_t created_ms;
    int64_t expires_ms; /* a token's; 0: never */
};
/* One's own: *items (the caller frees; NULL when none), *n of them, by id. A token that has
 * expired is not listed. */
int store_secrets_list(struct store *st, int feeds, int64_t user_id, struct secret_row **items,
                       size_t *n);
int store_secret_delete(struct store *st, int feeds, int64_t user_id, int64_t id);

/* --- Calendar feeds --------------------------------------------------------------------- */
/* *id: the new feed's id (as GET /feeds lists it). */
int store_feed_add(struct store *st, const unsigned char hash[32], const char *kind,
                   const char *subject, int64_t by, int64_t *id);
/* kind and subject (LS_ID_MAX bytes) of a feed token hash. LS_ERR_NOTFOUND. */
int store_feed_lookup(struct store *st, const unsigned char hash[32], char *kind, char *subject);

/* --- Gateways ----------------------------------------------------------------------------- */

/* --- Audit log ---------------------------------------------------------------------------- */
/* Who did it (issue 13): the principal by kind and id, the user behind it, and a name to read.
 * kind "user" (a session: id = the user's id), "token" (an API token: id = the token's id,
 * user = its owner), "gateway" (id = the gateway's id) or "system" (id = the part: "metering",
 * "interlock"); name is the user name or the id. The names of system parts are reserved: no
 * user may take them (AUDIT_RESERVED_NAMES). */
struct audit_actor {
    const char *kind;
    char id[64];
    int64_t user; /* 0: none */
    const char *name;
};
#define AUDIT_RESERVED_NAMES                                                                       \
    {                                                                                              \
        "system", "metering", "interlock", "ingest", "gateway", "labshare", NULL                   \
    }
/* The actor of a system part. */
struct audit_actor audit_system(const char *part);

/* Append a record in the caller's transaction: SPEC 8, hash = SHA-256 over the record and the
 * previous record's hash. before/after may be NULL; they are not stolen. */
int store_audit_append(struct store *st, int64_t at_ms, const struct audit_actor *who,
                       const char *action, const char *object, const json_t *before,
                       const json_t *after);
struct audit_filter {
    int64_t from_ms, to_ms;
    const char *object; /* e.g. "booking/12"; NULL = any */
    const char *actor;  /* a user name, "metering", ...; NULL = any */
    const char *action; /* "booking.cancel", or a prefix "booking"; NULL = any */
    int64_t limit, offset;
};
/* A record of the audit log (SPEC 8) as stored; before and after are its JSON texts (NULL:
 * none), owned by the record (audit_records_free). */
struct audit_record {
    int64_t seq, at_ms;
    char actor[128], actor_kind[16], actor_id[128]; /* "" when not stored */
    int64_t actor_user;                             /* 0: none */
    char action[64], object[160];
    char *before, *after;
    char prev_hash[65], hash[65];
};
/* The records f selects, by seq: *items (audit_records_free; NULL when none), *n of them,
 * *total matching f without its limit. */
int store_audit_list(struct store *st, const struct audit_filter *f, struct audit_record **items,
                     size_t *n, int64_t *total);
void audit_records_free(struct audit_record *r, size_t n);
/* Recompute the chain: *checked records; *first_bad = seq of the first broken record (edited,
 * or following a deleted one) or 0 when intact, with a reason in why. */
int store_audit_verify(struct store *st, int64_t *checked, int64_t *first_bad, char *why,
                       size_t len);

/* --- Users and tokens ------------------------------------------------------------------- */

struct principal {
    int64_t user_id;
    char username[64];
    char role[16];  /* researcher, manager, auditor, admin */
    int64_t org_id; /* 0 when none */
    char org_type[16];
    unsigned char csrf_hash[32]; /* sessions: the hash of their CSRF token */
    int session;     /* 1 when authenticated by a session cookie (writes need the CSRF token) */
    int64_t cred_id; /* the session's or token's id (tokens: as GET /tokens says) */
    unsigned char cred_hash[32]; /* ... and its SHA-256: logout forgets exactly this one */
};

/* Create the admin user if absent; *user_id is its id. */
int store_admin_ensure(struct store *st, int64_t *user_id);

/* Remember a token by its SHA-256 (the token itself is never stored). A session also keeps the
 * hash of its CSRF token (csrf_hash, or NULL) and expires at expires_ms (0 = never). */
int store_token_add(struct store *st, int64_t user_id, const unsigned char hash[32],
                    const char *kind, int64_t now_ms, int64_t expires_ms, int64_t *id);
/* Delete the sessions and tokens that expired by now_ms; *n how many (may be NULL). */
int store_tokens_purge(struct store *st, int64_t now_ms, int64_t *n);
/* End user_id's sessions but the one whose hash is keep (NULL: all), and with tokens_too its API
 * tokens as well; *sessions and *tokens say how many went, *tokens_left how many API tokens
 * stay. */
int store_user_end_sessions(struct store *st, int64_t user_id, const unsigned char *keep,
                            int tokens_too, int64_t *sessions, int64_t *tokens,
                            int64_t *tokens_left);
int store_session_add(struct store *st, int64_t user_id, const unsigned char hash[32],
                      const unsigned char csrf_hash[32], int64_t now_ms, int64_t expires_ms);
int store_token_delete(struct store *st, const unsigned char hash[32]);

/* Find the user of a token hash. LS_ERR_AUTH when unknown. */
int store_token_lookup(struct store *st, const unsigned char hash[32], struct principal *p);

#endif /* LS_SRV_STORE_H */
