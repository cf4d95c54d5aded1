/*
 * notify.h - what people are told, as pure functions (any thread): the kinds of notification,
 * opt-outs, and each message rendered in the recipient's language (zh, en) - an e-mail's
 * subject and text, a booking's iCalendar invitation or cancellation (RFC 5546, libical), an
 * organisation's webhook payload and its HMAC-SHA256 signature (libsodium).
 *
 * Times are shown in the platform's time zone (the process's TZ).
 */
#ifndef LS_SRV_NOTIFY_H
#define LS_SRV_NOTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum notify_kind {
    NOTIFY_BOOKING_CONFIRMED = 0, /* to the booking's user, with an invitation (.ics) */
    NOTIFY_BOOKING_REJECTED,      /* to the booking's user, with the reason */
    NOTIFY_BOOKING_CANCELLED,     /* by a manager or an outage, with a cancellation (.ics) */
    NOTIFY_BOOKING_REMINDER,      /* before a confirmed booking starts */
    NOTIFY_APPROVAL_WAITING,      /* to the owner's managers: a booking waits for them */
    NOTIFY_ORDER_PLACED,          /* to the owner's managers */
    NOTIFY_ORDER_ACCEPTED,        /* to the orderer, and the rest of the order's steps */
    NOTIFY_ORDER_DECLINED,
    NOTIFY_ORDER_RECEIVED,
    NOTIFY_ORDER_SCHEDULED,
    NOTIFY_ORDER_COMPLETED,
    NOTIFY_ORDER_CANCELLED,
    NOTIFY_STATEMENT_READY, /* to the paying organisation's managers, when a month is closed */
    NOTIFY_DIGEST,          /* daily, to managers with approvals and orders waiting */
    NOTIFY_KIND_COUNT
};

/* "booking.confirmed", ... ; LS_OK or LS_ERR_INVAL. */
const char *notify_kind_name(enum notify_kind k);
int notify_kind_parse(const char *name, enum notify_kind *k);

/* A JSON array of kind names as a user's opt-outs, into out ("a,b", sorted as the kinds are,
 * each once). LS_ERR_INVAL with the reason in why. */
int notify_opt_out_join(const json_t *kinds, char *out, size_t len, char *why, size_t wlen);
/* Whether kind k is in the comma-separated opt-outs. */
int notify_opted_out(const char *opt_out, enum notify_kind k);
/* An e-mail address we send to: local@domain, 3..254 bytes of printable ASCII without spaces,
 * quotes, angle brackets, commas or semicolons (no header or command injection). */
int notify_email_ok(const char *s);

/* The address of a From setting, "Name <address>" or "address", into out (len; out may be NULL
 * to check only): 1 when it is one notify_email_ok accepts, else 0. */
int mail_from_address(const char *from, char *out, size_t len);

/* What happened, for the message about it. Strings may be NULL when they do not apply. */
struct notify_event {
    enum notify_kind kind;
    const char *lang;     /* "zh" or anything else: English */
    const char *platform; /* the platform's name */
    const char *link;     /* the web UI's address (public_url) */
    const char *instrument, *instrument_name, *location;
    const char *who; /* the person it concerns (booking's user, orderer) */
    int64_t booking_id, start_ms, end_ms;
    int64_t order_id, samples;
    const char *analysis;
    const char *reason;
    const char *month;                        /* statements */
    int64_t waiting_bookings, waiting_orders; /* the digest */
};

/* The subject (one line) and the text of e's e-mail: *subject, *body (the caller frees both).
 * LS_ERR_NOMEM. */
int notify_render(const struct notify_event *e, char **subject, char **body);
/* A booking's iCalendar object: an invitation (cancel 0, METHOD:REQUEST) or its cancellation
 * (METHOD:CANCEL), with the UID the calendar feeds use, so a calendar keeps one event. The
 * caller frees it; NULL when out of memory. */
char *notify_ics(const struct notify_event *e, int cancel);
/* The webhook payload of e: {"event", "at", ...} (new reference), or NULL. */
json_t *notify_webhook_json(const struct notify_event *e, int64_t at_ms);
/* The signature header's value for body sent at ts (seconds): "t=<ts>,v1=<hex of
 * HMAC-SHA256(secret, "<ts>." + body)>", into out (at least 96 bytes). */
void notify_sign(const char *secret, int64_t ts, const char *body, char *out, size_t len);
/* subject as an RFC 2047 header word when it is not plain ASCII ("=?UTF-8?B?...?="), into out.
 * LS_ERR_INVAL when it does not fit. */
int notify_header_word(const char *subject, char *out, size_t len);

#endif /* LS_SRV_NOTIFY_H */
