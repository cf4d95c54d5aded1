/*
 * notify_queue.h - queue the notifications of what happened, inside the transaction that made it
 * happen (so a change is never committed without its message, nor a message without its change):
 * e-mails to the people concerned (their address, language and opt-outs), and a delivery to the
 * webhook of the organisation whose instrument it is. The mailer (mailer.h) sends them.
 */
#ifndef LS_SRV_NOTIFY_QUEUE_H
#define LS_SRV_NOTIFY_QUEUE_H

#include <stdint.h>

#include "notify.h"
#include "order.h"
#include "store.h"

struct notify_settings {
    int mail;             /* 1: [mail] host is set, e-mails are queued */
    const char *platform; /* the platform's name, for the footer */
    const char *link;     /* the web UI's address */
};

/* Booking id's users (its user; for approval.waiting, the owner's managers) and the owner's
 * webhook, told kind (reason: a rejection's or cancellation's words, or NULL). */
int notify_booking(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                   int64_t booking_id, enum notify_kind kind, const char *reason);
/* Order o's orderer (order.placed: the owner's managers) and the owner's webhook; booking_id
 * names a scheduled slot (0: none). */
int notify_order(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                 const struct order *o, enum notify_kind kind, int64_t booking_id);
/* Month closed: the managers and the webhook of each organisation with lines in it. */
int notify_month_closed(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                        const char *month);
/* The reminders of confirmed bookings starting in [now, now + ahead_ms), once each. */
int notify_reminders(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                     int64_t ahead_ms);
/* Today's digest (day "YYYY-MM-DD") to the managers of each organisation with bookings or orders
 * waiting, once a day each. */
int notify_digest(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                  const char *day);

#endif /* LS_SRV_NOTIFY_QUEUE_H */
