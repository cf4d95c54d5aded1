/* service_orders.c - the writes of sample-testing orders: see service.h and order.h. */
#include "service.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"
#include "records.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* a step's notification is the step's own kind */
_Static_assert(NOTIFY_ORDER_CANCELLED - NOTIFY_ORDER_ACCEPTED == ORDER_CANCEL - ORDER_ACCEPT &&
                   NOTIFY_ORDER_SCHEDULED - NOTIFY_ORDER_ACCEPTED == ORDER_SCHEDULE - ORDER_ACCEPT,
               "order steps and their notifications in one order");

int order_may_read(const struct principal *who, const struct order *o, int64_t owner,
                   int64_t orderer_org)
{
    return principal_is(who, "admin") || principal_is(who, "auditor") ||
           o->user_id == who->user_id || principal_manages(who, owner) ||
           principal_manages(who, orderer_org);
}

/* Order id as the API and the audit log show it: *out (the caller's), with its work so far. */
static int order_as_json(const struct service *sv, int64_t id, json_t **out)
{
    struct order o;
    struct order_work w;
    int rc = store_order_get(sv->st, id, &o);

    if (rc == LS_OK)
        rc = store_order_work(sv->st, id, sv->now_ms, &w);
    if (rc)
        return rc;
    *out = order_json_work(&o, w.metered_ms, w.bookings);
    return *out ? LS_OK : LS_ERR_NOMEM;
}

/* The order, its instrument's owner and the orderer's organisation, if who may read it. */
static int load(const struct service *sv, int64_t id, struct order *o, int64_t *owner,
                int64_t *orderer_org, struct outcome *out)
{
    struct instrument inst;
    struct principal p;
    int rc = store_order_get(sv->st, id, o);

    if (rc)
        return service_fail(out, rc, "no order %lld", (long long)id);
    if ((rc = store_instrument_get(sv->st, o->instrument, &inst)))
        return service_fail(out, LS_ERR_DB, "cannot read the order's instrument");
    *owner = inst.org_id;
    instrument_clear(&inst);
    if (store_user_principal(sv->st, o->user_id, &p))
        return service_fail(out, LS_ERR_DB, "cannot read the order's user");
    *orderer_org = p.org_id;
    if (!order_may_read(sv->who, o, *owner, *orderer_org))
        return service_fail(out, LS_ERR_NOTFOUND, "no order %lld", (long long)id);
    return LS_OK;
}

int order_create(const struct service *sv, const struct order_request *req, struct outcome *out)
{
    const struct principal *who = sv->who;
    struct instrument inst;
    struct order o;
    char object[40];
    int rc;

    memset(out, 0, sizeof(*out));
    if (principal_is(who, "auditor"))
        return service_fail(out, LS_ERR_DENIED, "auditors read; they do not order");
    rc = store_instrument_get(sv->st, req->instrument, &inst);
    if (rc)
        return service_fail(out, rc, "no instrument '%s'", req->instrument);
    if (!inst.is_public && inst.org_id != who->org_id && !principal_is(who, "admin")) {
        instrument_clear(&inst);
        return service_fail(out, LS_ERR_NOTFOUND, "no instrument '%s'", req->instrument);
    }
    instrument_clear(&inst);
    memset(&o, 0, sizeof(o));
    snprintf(o.instrument, sizeof(o.instrument), "%s", req->instrument);
    o.user_id = who->user_id;
    o.samples = req->samples;
    snprintf(o.description, sizeof(o.description), "%s", req->description);
    snprintf(o.analysis, sizeof(o.analysis), "%s", req->analysis);
    o.urgent = req->urgent;
    o.status = ORDER_REQUESTED;
    o.created_at = o.updated_at = sv->now_ms;
    if (store_begin(sv->st))
        return service_fail(out, LS_ERR_DB, "database busy");
    rc = store_order_insert(sv->st, &o);
    if (rc == LS_OK)
        rc = order_as_json(sv, o.id, &out->after);
    if (rc == LS_OK)
        rc = notify_order(sv->st, sv->notify, sv->now_ms, &o, NOTIFY_ORDER_PLACED, 0);
    if (rc) {
        store_rollback(sv->st);
        return service_fail(out, rc, "cannot save the order");
    }
    snprintf(object, sizeof(object), "order/%lld", (long long)o.id);
    return service_finish(sv, "order.create", object, NULL, out);
}

/* Cancel the order's bookings still to come (each audited), with reason. */
static int free_slots(const struct service *sv, const struct order *o, const char *reason)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = store_order_open_bookings(sv->st, o->id, sv->now_ms, &ids, &n);

    for (size_t i = 0; rc == LS_OK && i < n; i++) {
        struct booking_view v;
        json_t *before = NULL, *after = NULL;
        char bo[40];
        rc = store_booking_view(sv->st, ids[i], &v);
        if (rc == LS_OK && !(before = booking_view_json(&v)))
            rc = LS_ERR_NOMEM;
        if (rc == LS_OK)
            rc = store_booking_set_status(sv->st, ids[i], BOOKING_CANCELLED, reason);
        if (rc == LS_OK)
            rc = store_usage_refresh(sv->st, v.b.instrument, v.b.start_ms, sv->merge_gap_ms,
                                     sv->no_show_min_run_s);
        if (rc == LS_OK && (rc = store_booking_view(sv->st, ids[i], &v)) == LS_OK &&
            !(after = booking_view_json(&v)))
            rc = LS_ERR_NOMEM;
        snprintf(bo, sizeof(bo), "booking/%lld", (long long)ids[i]);
        if (rc == LS_OK)
            rc = store_audit_append(sv->st, sv->now_ms, &sv->actor, "booking.cancel", bo, before,
                                    after);
        json_decref(before);
        json_decref(after);
    }
    free(ids);
    return rc;
}

/* Book the staff's work on order o: [start, end) on its instrument, held for the orderer. */
static int schedule(const struct service *sv, const struct order *o, const struct order_step *s,
                    int64_t *booking_id, struct outcome *out)
{
    struct interval *busy = NULL;
    size_t nbusy = 0;
    struct booking b;
    struct booking_view v;
    json_t *bj = NULL;
    char object[40];
    int rc;

    memset(&b, 0, sizeof(b));
    snprintf(b.instrument, sizeof(b.instrument), "%s", o->instrument);
    b.user_id = o->user_id;
    snprintf(b.project, sizeof(b.project), "order %lld: %.160s", (long long)o->id, o->analysis);
    b.start_ms = s->start_ms;
    b.end_ms = s->end_ms;
    b.status = BOOKING_CONFIRMED; /* the orderer agreed by ordering; staff operate it */
    b.created_by = sv->who->user_id;
    b.created_at = sv->now_ms;
    b.order_id = o->id;
    rc = store_booking_overlap(sv->st, b.instrument, b.start_ms, b.end_ms, 0, &out->conflict);
    if (rc == LS_ERR_CONFLICT)
        return service_fail(out, LS_ERR_CONFLICT, "the slot overlaps another booking");
    if (rc == LS_OK &&
        (rc = store_busy(sv->st, b.instrument, b.start_ms, b.end_ms, &busy, &nbusy)) == LS_OK &&
        nbusy > 0) {
        free(busy);
        out->rule = "outage";
        return service_fail(out, LS_ERR_RULE, "the instrument is out of service then");
    }
    free(busy);
    if (rc == LS_OK)
        rc = store_booking_insert(sv->st, &b);
    /* work recorded after the fact takes over the usage metered then */
    if (rc == LS_OK)
        rc = store_usage_refresh(sv->st, b.instrument, b.start_ms, sv->merge_gap_ms,
                                 sv->no_show_min_run_s);
    if (rc == LS_OK && (rc = store_booking_view(sv->st, b.id, &v)) == LS_OK &&
        !(bj = booking_view_json(&v)))
        rc = LS_ERR_NOMEM;
    snprintf(object, sizeof(object), "booking/%lld", (long long)b.id);
    if (rc == LS_OK)
        rc = store_audit_append(sv->st, sv->now_ms, &sv->actor,
                                b.start_ms < sv->now_ms ? "booking.record" : "booking.create",
                                object, NULL, bj);
    json_decref(bj);
    if (rc)
        return service_fail(out, rc, "cannot book the work");
    *booking_id = b.id;
    return LS_OK;
}

int order_take_step(const struct service *sv, int64_t id, enum order_action action,
                    const struct order_step *step, struct outcome *out)
{
    const struct principal *who = sv->who;
    struct order o;
    enum order_status next;
    json_t *before = NULL;
    int64_t owner, orderer_org, booking = 0;
    char object[40], act[40];
    int staff, rc;

    memset(out, 0, sizeof(*out));
    if (load(sv, id, &o, &owner, &orderer_org, out))
        return out->rc;
    staff = principal_manages(who, owner);
    if (principal_is(who, "auditor") ||
        (action == ORDER_CANCEL && !staff && o.user_id != who->user_id) ||
        (action != ORDER_CANCEL && !staff))
        return service_fail(out, LS_ERR_DENIED, "only %s and admins %s orders",
                            action == ORDER_CANCEL ? "the orderer, the owner's managers"
                                                   : "the instrument owner's managers",
                            order_action_name(action));
    if (order_next_status(o.status, action, &next, out->why, sizeof(out->why))) {
        out->rule = "status";
        out->limit = -1;
        out->rc = LS_ERR_RULE;
        return out->rc;
    }
    if (action == ORDER_CANCEL && !staff && !order_orderer_may_cancel(o.status)) {
        out->rule = "status";
        return service_fail(out, LS_ERR_RULE,
                            "the samples are in the lab; ask the instrument's manager to cancel");
    }
    if (action == ORDER_RECEIVE && step->samples_received > ORDER_SAMPLES_MAX)
        return service_fail(out, LS_ERR_INVAL, "samples_received is at most %d", ORDER_SAMPLES_MAX);
    if (store_begin(sv->st))
        return service_fail(out, LS_ERR_DB, "database busy");
    rc = order_as_json(sv, id, &before);
    if (rc == LS_OK && action == ORDER_COMPLETE) {
        struct order_work w;
        rc = store_order_work(sv->st, id, sv->now_ms, &w);
        if (rc == LS_OK && o.result_size < 0) {
            out->rule = "results";
            service_fail(out, LS_ERR_RULE, "attach the results file before completing the order");
            goto out;
        }
        if (rc == LS_OK && w.unfinished) {
            out->rule = "work_pending";
            service_fail(out, LS_ERR_RULE,
                         "booking %lld of this order has not ended; complete it after the work",
                         (long long)w.unfinished);
            goto out;
        }
    }
    if (rc == LS_OK && action == ORDER_SCHEDULE && schedule(sv, &o, step, &booking, out))
        goto out;
    if (rc == LS_OK && (action == ORDER_CANCEL || action == ORDER_DECLINE))
        rc = free_slots(sv, &o, action == ORDER_CANCEL ? "order cancelled" : "order declined");
    if (rc) {
        service_fail(out, rc, "cannot save the order");
        goto out;
    }
    o.status = next;
    o.updated_at = sv->now_ms;
    if (staff)
        o.handled_by = who->user_id;
    switch (action) {
    case ORDER_ACCEPT:
        o.accepted_at = sv->now_ms;
        break;
    case ORDER_RECEIVE:
        o.received_at = sv->now_ms;
        o.samples_received = step->samples_received >= 0 ? step->samples_received : o.samples;
        break;
    case ORDER_COMPLETE:
        o.completed_at = sv->now_ms;
        break;
    case ORDER_DECLINE:
    case ORDER_CANCEL: {
        const char *base = action == ORDER_DECLINE     ? "declined"
                           : o.user_id == who->user_id ? "cancelled by the orderer"
                                                       : "cancelled by the lab";
        o.has_reason = 1;
        if (step->reason && step->reason[0])
            snprintf(o.reason, sizeof(o.reason), "%s: %.500s", base, step->reason);
        else
            snprintf(o.reason, sizeof(o.reason), "%s", base);
        break;
    }
    default:
        break;
    }
    rc = store_order_update(sv->st, &o);
    if (rc == LS_OK)
        rc = order_as_json(sv, id, &out->after);
    /* the orderer hears of every step but their own cancellation */
    if (rc == LS_OK && !(action == ORDER_CANCEL && o.user_id == who->user_id))
        rc = notify_order(sv->st, sv->notify, sv->now_ms, &o,
                          (enum notify_kind)(NOTIFY_ORDER_ACCEPTED + (int)action), booking);
    if (rc == LS_OK && booking && json_object_set_new(out->after, "booking", json_integer(booking)))
        rc = LS_ERR_NOMEM;
    if (rc) {
        service_fail(out, rc, "cannot save the order");
        goto out;
    }
    snprintf(object, sizeof(object), "order/%lld", (long long)id);
    snprintf(act, sizeof(act), "order.%s", order_action_name(action));
    service_finish(sv, act, object, before, out);
out:
    if (out->rc)
        store_rollback(sv->st);
    json_decref(before);
    return out->rc;
}

int order_put_results(const struct service *sv, int64_t id, const char *name, const char *type,
                      const void *body, size_t len, struct outcome *out)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[crypto_hash_sha256_BYTES * 2 + 1], object[40];
    struct order o;
    json_t *before = NULL;
    int64_t owner, orderer_org;
    int rc;

    memset(out, 0, sizeof(*out));
    if (load(sv, id, &o, &owner, &orderer_org, out))
        return out->rc;
    if (!principal_manages(sv->who, owner) || principal_is(sv->who, "auditor"))
        return service_fail(out, LS_ERR_DENIED,
                            "only the instrument owner's managers and admins attach results");
    if (o.status != ORDER_RECEIVED && o.status != ORDER_SCHEDULED) {
        out->rule = "status";
        return service_fail(out, LS_ERR_RULE,
                            "results are attached once the samples are received and before the "
                            "order is completed (it is %s)",
                            order_status_name(o.status));
    }
    crypto_hash_sha256(h, body, len);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    if (store_begin(sv->st))
        return service_fail(out, LS_ERR_DB, "database busy");
    rc = order_as_json(sv, id, &before);
    if (rc == LS_OK)
        rc = store_order_result_put(sv->st, id, name, type, body, len, hex, sv->now_ms);
    if (rc == LS_OK)
        rc = order_as_json(sv, id, &out->after);
    if (rc) {
        store_rollback(sv->st);
        json_decref(before);
        return service_fail(out, rc, "cannot save the results");
    }
    snprintf(object, sizeof(object), "order/%lld", (long long)id);
    rc = service_finish(sv, "order.results", object, before, out);
    json_decref(before);
    return rc;
}
