/*
 * service.h - the platform's writes, as the domain knows them: book, approve, reject, cancel
 * and rate a booking; record, change and remove an outage. Each is one function that checks
 * who may do it (the permission table in README.md), applies the pure rules (booking.h), does
 * it in one transaction of the store with its audit record, and says what became of it. The
 * HTTP routes only decode the request (requests.h), call one of these and render the outcome;
 * nothing here knows HTTP.
 *
 * Not thread-safe per store: one service call at a time on a store connection (each HTTP
 * worker has its own).
 */
#ifndef LS_SRV_SERVICE_H
#define LS_SRV_SERVICE_H

#include <jansson.h>
#include <stdint.h>

#include "booking.h"
#include "broker.h"
#include "notify_queue.h"
#include "requests.h"
#include "store.h"

/* Who asks, on what, and the platform's settings a write needs. */
struct service {
    struct store *st;
    const struct principal *who; /* the authenticated caller */
    struct audit_actor actor;    /* how the audit log names them */
    int64_t now_ms;
    int64_t merge_gap_ms;      /* usage: readings closer than this are one session */
    int64_t no_show_min_run_s; /* usage: less run time than this in a booking is a no-show */
    /* Called with the object as it will be once committed, after its audit record and before
     * the commit, and with what is for the answer only (extra: a secret shown once, never
     * audited; NULL when none); a failure (the answer could not be made) rolls the write back,
     * so nothing is committed that was answered with an error. May be NULL. */
    int (*reply)(void *arg, const json_t *after, const json_t *extra);
    void *reply_arg;
    /* what the platform tells people (notify_queue.h); NULL: nothing is queued */
    const struct notify_settings *notify;
};

/* What became of a write. */
struct outcome {
    int rc;            /* LS_OK, else LS_ERR_NOTFOUND, _DENIED, _INVAL, _RULE, _CONFLICT, _DB ... */
    const char *rule;  /* LS_ERR_RULE: the name of the rule broken, else NULL */
    int64_t limit;     /* ... and its figure when it has one (booking_rule_limit), else -1 */
    char why[300];     /* what people read when rc is not LS_OK */
    int64_t conflict;  /* LS_ERR_CONFLICT of a slot: the booking in the way, else 0 */
    json_t *after;     /* LS_OK: the object as it is now (the caller's reference) */
    json_t *cancelled; /* outages: the ids of the bookings they cancelled (the caller's) */
    json_t *extra;     /* for the answer only, never audited (gateway credentials), or NULL */
};

/* Fill in sv for caller who on st (actor, now) with the platform's usage settings. */
void service_init(struct service *sv, struct store *st, const struct principal *who,
                  int64_t merge_gap_ms, int64_t no_show_min_run_s);
/* Release what out holds. */
void outcome_free(struct outcome *out);
/* out says rc with the reason fmt; returns rc (for the service modules). */
__attribute__((format(printf, 3, 4))) int service_fail(struct outcome *out, int rc, const char *fmt,
                                                       ...);
/* Whether who has role; whether who manages organisation org (admins: every one). */
int principal_is(const struct principal *who, const char *role);
int principal_manages(const struct principal *who, int64_t org);
/* The end of every write (for the service modules): the audit record of action on object
 * (before, and out->after), the reply, then the commit; LS_OK, or rolled back with out saying
 * why. */
int service_finish(const struct service *sv, const char *action, const char *object,
                   const json_t *before, struct outcome *out);

/* A booking (its instrument, start_ms, end_ms, project and user_id, 0 for the caller): checked
 * against the instrument's rules, service hours, outages and every booking that holds a slot,
 * inside one write transaction, so two can never overlap; one made for a time already metered
 * takes over that usage. The status is pending when the instrument approves external users or
 * another organisation must consent, else confirmed. */
int booking_create(const struct service *sv, const struct booking *req, struct outcome *out);

/* A transition of booking id by the status machine: approve, reject, cancel (comment: an
 * optional reason) or rate (score 1..5, comment optional). */
int booking_transition(const struct service *sv, int64_t id, enum booking_action action,
                       const char *comment, int score, struct outcome *out);

/* Record (id 0) or change (id of an outage of instrument) an outage of instrument; the bookings
 * it covers are cancelled (each audited) and listed in out->cancelled. The caller must manage
 * the instrument's owner. */
int outage_record(const struct service *sv, const char *instrument, int64_t id,
                  const struct outage_request *o, struct outcome *out);

/* --- Sample-testing orders (service_orders.c, order.h) -----------------------------------
 * Researchers and enterprise users order; the instrument owner's managers (its staff) and
 * admins take the steps; the orderer may cancel until the samples arrive. Every step is one
 * transaction with its audit record ("order.<step>" on "order/<id>"). */

/* Whether who may read order o of an instrument of owner, ordered by someone of orderer_org. */
int order_may_read(const struct principal *who, const struct order *o, int64_t owner,
                   int64_t orderer_org);
int order_create(const struct service *sv, const struct order_request *req, struct outcome *out);
/* Step action of order id; schedule books [start, end) on the instrument for the orderer,
 * operated by staff (out->after carries "booking"; LS_ERR_CONFLICT with out->conflict when the
 * slot is taken); complete needs the results file and no slot of the order still to come;
 * cancel and decline free the order's slots still to come. */
int order_take_step(const struct service *sv, int64_t id, enum order_action action,
                    const struct order_step *step, struct outcome *out);
/* Attach the results file of order id (received or scheduled; replaces an earlier one). */
int order_put_results(const struct service *sv, int64_t id, const char *name, const char *type,
                      const void *body, size_t len, struct outcome *out);

/* --- Billing (service_billing.c) ------------------------------------------------------- */

/* Bring the charge lines up to date with the evidence, in one transaction of its own (*added:
 * lines written). Idempotent; derived from audited bookings and stored readings, so it writes
 * no audit record (reads call it). */
int charges_sync(struct store *st, int64_t *added);
/* Close month ("YYYY-MM", checked by the caller; admins only): its lines brought up to date and
 * the month closed in one transaction, audited; later corrections become adjustments in the
 * first open month. LS_ERR_CONFLICT when it is closed already. */
int month_close(const struct service *sv, const char *month, struct outcome *out);

/* --- Gateways (service_gateways.c) ------------------------------------------------------
 * Each gateway has its own MQTT account on the broker, issued here and shown once. The broker
 * is asked first and the database written only when it has confirmed, so the API never shows
 * credentials the broker does not know; a lock-out is written to the database first (ingest
 * refuses the gateway's readings at once) and then sent to the broker, which the server
 * repeats whenever it reconnects. A broker that does not confirm is LS_ERR_FULL. */

/* Register g (admins; managers for their own organisation, which an org_id of 0 means). The
 * answer carries the broker credentials (extra). server_user is the server's own MQTT account,
 * which no gateway may take. */
int gateway_register(const struct service *sv, struct broker *broker, const char *server_user,
                     const struct gateway_request *g, struct outcome *out);
/* A new password for gateway id (enabled), shown once; the old one stops working at once. */
int gateway_rotate(const struct service *sv, struct broker *broker, const char *id,
                   struct outcome *out);
/* Rename (name, or NULL) and/or enable (1) or disable (0; -1 keeps) gateway id. A disabled
 * gateway is kept, locked out: its readings stay evidence. */
int gateway_change(const struct service *sv, struct broker *broker, const char *id,
                   const char *name, int enabled, struct outcome *out);

#endif /* LS_SRV_SERVICE_H */
