/*
 * mailer.h - the thread that delivers the notification queue (store_notify.c): e-mails over SMTP
 * (libcurl: [mail] host, port, tls none|starttls|tls, credentials, from; a booking's .ics as a
 * text/calendar attachment) and webhook deliveries (an HTTP POST of the JSON, signed with the
 * organisation's secret in X-LabShare-Signature). It also queues the reminders of bookings about
 * to start and the managers' daily digest.
 *
 * Delivery: a message is claimed for a while (another server, or this one after a restart, takes
 * it when the claim runs out), sent, and marked sent in the store as soon as the SMTP server or
 * the webhook accepted it; a failure is retried after [notify] retry_min_s doubling to
 * retry_max_s, and given up (counted, logged) give_up_hours after it was queued. Each mail
 * carries a Message-ID made from its queue key, the same on every attempt.
 */
#ifndef LS_SRV_MAILER_H
#define LS_SRV_MAILER_H

#include "config.h"
#include "labshare/buf.h"

struct mailer;

/* Start the thread with a store connection of its own. LS_ERR_DB, LS_ERR_NOMEM. */
int mailer_start(const struct srv_config *cfg, struct mailer **out);
/* Stop it (a delivery under way finishes or times out first) and free. */
void mailer_stop(struct mailer *m);
/* Its counters in Prometheus' text format. */
void mailer_metrics(struct mailer *m, struct ls_buf *out);

#endif /* LS_SRV_MAILER_H */
