/* notify_queue.c - queue what people are told: see notify_queue.h. */
#include "notify_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Queue e as a mail to u, unless u has no address, opted out, or mail is off. */
static int mail_to(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                   struct notify_event *e, const struct user *u, const char *object)
{
    struct notify_row r;
    char *subject = NULL, *body = NULL, *ics = NULL;
    int rc, queued;

    if (!ns->mail || !u->email[0] || notify_opted_out(u->mail_opt_out, e->kind))
        return LS_OK;
    e->lang = u->lang;
    if ((rc = notify_render(e, &subject, &body)))
        return rc;
    if (e->kind == NOTIFY_BOOKING_CONFIRMED || e->kind == NOTIFY_BOOKING_CANCELLED) {
        if (!(ics = notify_ics(e, e->kind == NOTIFY_BOOKING_CANCELLED))) {
            free(subject);
            free(body);
            return LS_ERR_NOMEM;
        }
    }
    memset(&r, 0, sizeof(r));
    snprintf(r.key, sizeof(r.key), "mail/%s/%s/%lld", notify_kind_name(e->kind), object,
             (long long)u->id);
    snprintf(r.channel, sizeof(r.channel), "mail");
    snprintf(r.kind, sizeof(r.kind), "%s", notify_kind_name(e->kind));
    r.user_id = u->id;
    r.org_id = u->org_id;
    snprintf(r.recipient, sizeof(r.recipient), "%s", u->email);
    r.subject = subject;
    r.body = body;
    r.ics = ics;
    r.created_at = r.next_at = now_ms;
    rc = store_notify_put(st, &r, &queued);
    free(subject);
    free(body);
    free(ics);
    return rc;
}

/* Queue e as a delivery to org's webhook, when it has one. */
static int hook_to(struct store *st, int64_t now_ms, const struct notify_event *e, int64_t org,
                   const char *object)
{
    char url[512], secret[256];
    struct notify_row r;
    json_t *o;
    char *body;
    int rc, queued;

    if (org <= 0 || (rc = store_org_webhook(st, org, url, sizeof(url), secret, sizeof(secret))) ||
        !url[0])
        return rc == LS_ERR_NOTFOUND ? LS_OK : (org <= 0 ? LS_OK : rc);
    if (!(o = notify_webhook_json(e, now_ms)))
        return LS_ERR_NOMEM;
    body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!body)
        return LS_ERR_NOMEM;
    memset(&r, 0, sizeof(r));
    snprintf(r.key, sizeof(r.key), "hook/%s/%s/%lld", notify_kind_name(e->kind), object,
             (long long)org);
    snprintf(r.channel, sizeof(r.channel), "webhook");
    snprintf(r.kind, sizeof(r.kind), "%s", notify_kind_name(e->kind));
    r.org_id = org;
    snprintf(r.recipient, sizeof(r.recipient), "%s", url);
    r.subject = (char *)notify_kind_name(e->kind);
    r.body = body;
    r.created_at = r.next_at = now_ms;
    rc = store_notify_put(st, &r, &queued);
    free(body);
    return rc;
}

/* Mail e to every manager of org. */
static int mail_managers(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                         struct notify_event *e, int64_t org, const char *object)
{
    struct user *m = NULL;
    size_t n = 0;
    int rc;

    if (!ns->mail)
        return LS_OK;
    rc = store_org_managers(st, org, &m, &n);
    for (size_t i = 0; rc == LS_OK && i < n; i++)
        rc = mail_to(st, ns, now_ms, e, &m[i], object);
    free(m);
    return rc;
}

int notify_booking(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                   int64_t booking_id, enum notify_kind kind, const char *reason)
{
    struct notify_event e;
    struct booking_view v;
    struct instrument inst;
    struct user u;
    char object[48];
    int rc;

    if (!ns)
        return LS_OK;
    if ((rc = store_booking_view(st, booking_id, &v)))
        return rc;
    if ((rc = store_instrument_get(st, v.b.instrument, &inst)))
        return rc;
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.platform = ns->platform;
    e.link = ns->link;
    e.instrument = v.b.instrument;
    e.instrument_name = inst.name;
    e.location = inst.location;
    e.who = v.requester.display_name[0] ? v.requester.display_name : v.requester.username;
    e.booking_id = booking_id;
    e.start_ms = v.b.start_ms;
    e.end_ms = v.b.end_ms;
    e.reason = reason;
    e.order_id = v.b.order_id;
    snprintf(object, sizeof(object), "booking/%lld", (long long)booking_id);
    if (kind == NOTIFY_APPROVAL_WAITING)
        rc = mail_managers(st, ns, now_ms, &e, inst.org_id, object);
    else if ((rc = store_user_get(st, v.b.user_id, &u)) == LS_OK)
        rc = mail_to(st, ns, now_ms, &e, &u, object);
    if (rc == LS_OK)
        rc = hook_to(st, now_ms, &e, inst.org_id, object);
    instrument_clear(&inst);
    return rc;
}

int notify_order(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                 const struct order *o, enum notify_kind kind, int64_t booking_id)
{
    struct notify_event e;
    struct instrument inst;
    struct user u;
    char object[64];
    int rc;

    if (!ns)
        return LS_OK;
    if ((rc = store_instrument_get(st, o->instrument, &inst)))
        return rc;
    if ((rc = store_user_get(st, o->user_id, &u))) {
        instrument_clear(&inst);
        return rc;
    }
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.platform = ns->platform;
    e.link = ns->link;
    e.instrument = o->instrument;
    e.instrument_name = inst.name;
    e.location = inst.location;
    e.who = u.display_name[0] ? u.display_name : u.username;
    e.order_id = o->id;
    e.samples = o->samples_received >= 0 ? o->samples_received : o->samples;
    e.analysis = o->analysis;
    e.reason = o->has_reason ? o->reason : NULL;
    if (booking_id) {
        struct booking b;
        if (store_booking_get(st, booking_id, &b) == LS_OK) {
            e.booking_id = booking_id;
            e.start_ms = b.start_ms;
            e.end_ms = b.end_ms;
        }
        snprintf(object, sizeof(object), "order/%lld/%lld", (long long)o->id,
                 (long long)booking_id);
    } else {
        snprintf(object, sizeof(object), "order/%lld", (long long)o->id);
    }
    if (kind == NOTIFY_ORDER_PLACED)
        rc = mail_managers(st, ns, now_ms, &e, inst.org_id, object);
    else
        rc = mail_to(st, ns, now_ms, &e, &u, object);
    if (rc == LS_OK)
        rc = hook_to(st, now_ms, &e, inst.org_id, object);
    instrument_clear(&inst);
    return rc;
}

int notify_month_closed(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                        const char *month)
{
    struct org *orgs = NULL;
    size_t n = 0;
    int64_t total;
    int rc;

    if (!ns)
        return LS_OK;
    rc = store_org_list(st, 10000, 0, &orgs, &n, &total);
    for (size_t i = 0; rc == LS_OK && i < n; i++) {
        struct statement s;
        struct notify_event e;
        char object[48];
        int has;
        memset(&s, 0, sizeof(s));
        rc = store_statement(st, orgs[i].id, 0, month, 1, 0, &s);
        has = rc == LS_OK && s.lines_total > 0;
        statement_free(&s);
        if (rc || !has)
            continue;
        memset(&e, 0, sizeof(e));
        e.kind = NOTIFY_STATEMENT_READY;
        e.platform = ns->platform;
        e.link = ns->link;
        e.month = month;
        snprintf(object, sizeof(object), "statement/%s", month);
        rc = mail_managers(st, ns, now_ms, &e, orgs[i].id, object);
        if (rc == LS_OK)
            rc = hook_to(st, now_ms, &e, orgs[i].id, object);
    }
    free(orgs);
    return rc;
}

int notify_reminders(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                     int64_t ahead_ms)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = store_bookings_starting(st, now_ms, now_ms + ahead_ms, &ids, &n);

    for (size_t i = 0; rc == LS_OK && i < n; i++)
        rc = notify_booking(st, ns, now_ms, ids[i], NOTIFY_BOOKING_REMINDER, NULL);
    free(ids);
    return rc;
}

int notify_digest(struct store *st, const struct notify_settings *ns, int64_t now_ms,
                  const char *day)
{
    int64_t *orgs = NULL, *bookings = NULL, *orders = NULL;
    size_t n = 0;
    int rc = store_waiting_by_org(st, now_ms, &orgs, &bookings, &orders, &n);

    for (size_t i = 0; rc == LS_OK && i < n; i++) {
        struct notify_event e;
        char object[48];
        memset(&e, 0, sizeof(e));
        e.kind = NOTIFY_DIGEST;
        e.platform = ns->platform;
        e.link = ns->link;
        e.waiting_bookings = bookings[i];
        e.waiting_orders = orders[i];
        snprintf(object, sizeof(object), "day/%s", day);
        rc = mail_managers(st, ns, now_ms, &e, orgs[i], object);
    }
    free(orgs);
    free(bookings);
    free(orders);
    return rc;
}
