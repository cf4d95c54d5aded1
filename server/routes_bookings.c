/* routes_bookings.c - bookings: create (never two on one slot), read, and the status machine. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"
#include "booking.h"
#include "requests.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* May the caller see booking b (instrument owner org_id)? */
static int may_read(struct http_req *req, const struct booking *b, int64_t org_id)
{
    return http_is_admin(req) || http_is_auditor(req) || b->user_id == req->who.user_id ||
           http_manages(req, org_id);
}

static int64_t owner_of(struct http_req *req, const char *instrument)
{
    json_t *inst = NULL;
    int64_t org = 0;

    if (store_instrument_get(req->st, instrument, &inst) == LS_OK)
        org = json_integer_value(json_object_get(inst, "org_id"));
    json_decref(inst);
    return org;
}

/* Add what a manager needs to decide on booking o (its instrument inst): the rate category of
 * its user and the charge to expect if it is used as booked, in the platform's currency. */
static void add_terms(struct http_req *req, json_t *o, const json_t *inst)
{
    const json_t *who = json_object_get(o, "requester");
    struct billing_terms t;
    struct charge c;
    int64_t start = 0, end = 0;
    enum billing_category cat;

    if (!inst || billing_terms_parse(json_object_get(inst, "billing"), &t))
        return;
    cat = billing_category(json_integer_value(json_object_get(who, "org_id")) ==
                               json_integer_value(json_object_get(inst, "org_id")),
                           json_string_value(json_object_get(who, "org_type")));
    json_object_set_new(o, "category", json_string(billing_category_name(cat)));
    if (ls_time_parse(json_string_value(json_object_get(o, "start")), &start) ||
        ls_time_parse(json_string_value(json_object_get(o, "end")), &end) ||
        billing_booking(&t, cat, (end - start) / 1000, (end - start) / 1000, 0, 0, &c))
        return;
    json_object_set_new(o, "expected_charge", json_integer(c.amount));
    json_object_set_new(o, "currency", json_string(req->cfg->currency));
}

int route_bookings_list(struct http_req *req, struct http_resp *resp)
{
    static const char *const statuses[] = {"pending",   "confirmed", "cancelled",
                                           "completed", "no_show",   NULL};
    struct booking_filter f;
    json_t *items = NULL, *o, *inst = NULL;
    int64_t total = 0;
    const char *v;
    size_t i;

    memset(&f, 0, sizeof(f));
    if (http_list_args(req, resp, 100, 1000, &f.limit, &f.offset, &f.from_ms, &f.to_ms) ||
        http_scope(req, resp, &f.instrument, &f.user_id, &f.org_id))
        return LS_OK;
    if ((v = http_query(req, "user"))) {
        if (ls_parse_i64(v, 1, INT64_MAX, &f.user_id))
            return http_error(resp, LS_ERR_INVAL, "user must be a user id");
        if (!http_is_admin(req) && !http_is_auditor(req) && strcmp(req->who.role, "manager") != 0 &&
            f.user_id != req->who.user_id)
            return http_error(resp, LS_ERR_DENIED, "researchers list their own bookings");
    }
    if ((f.status = http_query(req, "status"))) {
        for (i = 0; statuses[i] && strcmp(statuses[i], f.status); i++)
            ;
        if (!statuses[i])
            return http_error(resp, LS_ERR_INVAL,
                              "status must be pending, confirmed, cancelled, completed or "
                              "no_show");
    }
    if ((v = http_query(req, "org")) && ls_parse_i64(v, 1, INT64_MAX, &f.user_org))
        return http_error(resp, LS_ERR_INVAL, "org must be an organisation id (the user's)");
    if (store_booking_list(req->st, &f, &items, &total)) {
        json_decref(items);
        return http_error(resp, LS_ERR_DB, "cannot list bookings");
    }
    json_array_foreach(items, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "instrument"));
        if (!inst || strcmp(json_string_value(json_object_get(inst, "id")), id) != 0) {
            json_decref(inst);
            inst = NULL;
            store_instrument_get(req->st, id, &inst);
        }
        add_terms(req, o, inst);
    }
    json_decref(inst);
    return http_list(req, resp, items, total, "bookings");
}

int route_booking_get(struct http_req *req, struct http_resp *resp)
{
    struct booking b;
    json_t *o = NULL, *inst = NULL;
    int64_t id;
    int rc;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    rc = store_booking_get(req->st, id, &b);
    if (rc)
        return http_error(resp, rc, "no booking %lld", (long long)id);
    /* the instrument once: its owner decides who may read, its terms give the expected charge */
    store_instrument_get(req->st, b.instrument, &inst);
    if (!may_read(req, &b, json_integer_value(json_object_get(inst, "org_id")))) {
        json_decref(inst);
        return http_error(resp, LS_ERR_NOTFOUND, "no booking %lld", (long long)id);
    }
    rc = store_booking_json(req->st, id, &o);
    if (rc == LS_OK)
        add_terms(req, o, inst);
    json_decref(inst);
    return rc ? http_error(resp, rc, "cannot read booking") : http_json(resp, 200, o);
}

/* Answer a broken rule: 422 naming it. */
static int rule_error(struct http_resp *resp, const char *rule, const char *msg)
{
    return http_json(resp, 422,
                     json_pack("{s:s, s:s, s:s}", "error", "rule", "rule", rule, "message", msg));
}

int route_booking_create(struct http_req *req, struct http_resp *resp)
{
    json_t *body = NULL, *inst = NULL, *after = NULL;
    struct booking_rules rules;
    struct service_hours hours;
    struct booking_request q;
    struct principal target;
    struct booking b;
    const char *instrument, *rule;
    char why[200], object[40];
    int64_t owner, conflict = 0, outage_conflict = 0;
    struct interval *busy = NULL;
    size_t nbusy = 0;
    int rc;

    memset(&q, 0, sizeof(q));
    if (http_is_auditor(req))
        return http_error(resp, LS_ERR_DENIED, "auditors read; they do not book");
    if (http_body_json(req, resp, &body))
        goto out;
    if (req_booking_create(body, &b, why, sizeof(why))) {
        http_error(resp, LS_ERR_INVAL, "%s", why);
        goto out;
    }
    instrument = b.instrument;
    if (!b.user_id)
        b.user_id = req->who.user_id;
    rc = store_instrument_get(req->st, instrument, &inst);
    if (rc) {
        http_error(resp, rc, "no instrument '%s'", instrument);
        goto out;
    }
    owner = json_integer_value(json_object_get(inst, "org_id"));
    q.privileged = http_manages(req, owner);
    if (b.user_id != req->who.user_id && !q.privileged) {
        http_error(resp, LS_ERR_DENIED, "only the owner's managers and admins book for others");
        goto out;
    }
    if (!q.privileged && !json_is_true(json_object_get(inst, "public")) &&
        req->who.org_id != owner) {
        http_error(resp, LS_ERR_NOTFOUND, "no instrument '%s'", instrument);
        goto out;
    }
    if (store_user_principal(req->st, b.user_id, &target)) {
        http_error(resp, LS_ERR_INVAL, "no user %lld", (long long)b.user_id);
        goto out;
    }
    if (booking_rules_parse(json_object_get(inst, "booking"), &rules, why, sizeof(why)) ||
        service_hours_parse(json_object_get(inst, "service_hours"), &hours, why, sizeof(why))) {
        http_error(resp, LS_ERR_DB, "the instrument's rules are damaged: %s", why);
        goto out;
    }
    q.start_ms = b.start_ms;
    q.end_ms = b.end_ms;
    q.now_ms = ls_now_ms();
    q.external = target.org_id != owner;
    snprintf(b.status, sizeof(b.status), "%s",
             q.external && rules.approval_external && !q.privileged ? "pending" : "confirmed");
    if (booking_needs_consent(http_is_admin(req), req->who.user_id, req->who.org_id, b.user_id,
                              target.org_id)) {
        /* a manager booking for someone of another organisation: that organisation pays, so it
         * agrees first (SPEC 7) - after-the-fact records too */
        snprintf(b.status, sizeof(b.status), "pending");
        snprintf(b.reason, sizeof(b.reason), "%s", BOOKING_AWAITS_CONSENT);
    }
    b.created_by = req->who.user_id;
    b.created_at = q.now_ms;
    /* From here to the insert, one write transaction: nobody else can book in between. */
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc = store_booking_future_count(req->st, b.user_id, q.now_ms, &q.future_count);
    if (rc == LS_OK) {
        struct qualification ql;
        rc = store_qualification_get(req->st, instrument, b.user_id, &ql);
        q.qualified =
            rc == LS_OK && qualification_covers(ql.since_ms, ql.expires_ms, b.start_ms, b.end_ms);
        rc = rc == LS_ERR_NOTFOUND ? LS_OK : rc;
    }
    if (rc) {
        http_error(resp, LS_ERR_DB, "cannot count bookings");
        goto out;
    }
    rule = booking_check(&rules, &hours, &q, why, sizeof(why));
    if (rule) {
        rule_error(resp, rule, why);
        goto out;
    }
    rc = store_booking_overlap(req->st, instrument, b.start_ms, b.end_ms, 0, &conflict);
    if (rc == LS_ERR_CONFLICT) {
        http_json(resp, 409,
                  json_pack("{s:s, s:s, s:I}", "error", "conflict", "message",
                            "the slot overlaps another booking", "conflict", (json_int_t)conflict));
        goto out;
    }
    if (rc == LS_OK && store_busy(req->st, instrument, b.start_ms, b.end_ms, &busy, &nbusy) == 0)
        outage_conflict = nbusy > 0; /* no booking overlaps, so what is busy is an outage */
    if (rc || outage_conflict) {
        if (outage_conflict)
            rule_error(resp, "outage", "the instrument is out of service then");
        else
            http_error(resp, rc, "cannot check the slot");
        goto out;
    }
    rc = store_booking_insert(req->st, &b);
    /* a booking recorded for a time already metered takes over that usage */
    if (rc == LS_OK)
        rc =
            store_usage_refresh(req->st, instrument, b.start_ms,
                                (int64_t)req->cfg->merge_gap_s * 1000, req->cfg->no_show_min_run_s);
    if (rc == LS_OK)
        rc = store_booking_json(req->st, b.id, &after);
    if (rc == LS_OK) {
        snprintf(object, sizeof(object), "booking/%lld", (long long)b.id);
        rc = http_audit(req, b.start_ms < q.now_ms ? "booking.record" : "booking.create", object,
                        NULL, after);
    }
    if (rc == LS_OK)
        rc = store_commit(req->st);
    if (rc) {
        json_decref(after);
        http_error(resp, rc, "cannot save the booking");
        goto out;
    }
    http_created(resp, after);
out:
    store_rollback(req->st);
    free(busy);
    json_decref(inst);
    json_decref(body);
    return LS_OK;
}

/* The status machine's transitions, with their permissions. */
static int transition(struct http_req *req, struct http_resp *resp, enum booking_action action)
{
    static const char *const names[] = {"approve", "reject", "cancel", "rating"};
    struct booking b;
    json_t *body = NULL, *before = NULL, *after = NULL, *inst = NULL;
    struct booking_rules rules;
    const char *next, *comment = NULL;
    char why[200], object[40], act[40];
    int64_t id, owner;
    int rc, own, manages, score = 0;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    rc = store_booking_get(req->st, id, &b);
    if (rc)
        return http_error(resp, rc, "no booking %lld", (long long)id);
    owner = owner_of(req, b.instrument);
    own = b.user_id == req->who.user_id;
    manages = http_manages(req, owner);
    if (strcmp(b.status, "pending") == 0 && strcmp(b.reason, BOOKING_AWAITS_CONSENT) == 0) {
        /* awaiting the booked user's side: the user, a manager of their organisation or an
         * admin answers it (they may see it for that), not the instrument's manager who made
         * it (who may still cancel it) */
        struct principal target;
        int their_side;
        if (store_user_principal(req->st, b.user_id, &target))
            return http_error(resp, LS_ERR_DB, "cannot read the booking's user");
        their_side = own || http_is_admin(req) ||
                     (strcmp(req->who.role, "manager") == 0 && req->who.org_id == target.org_id);
        if (!their_side && !may_read(req, &b, owner))
            return http_error(resp, LS_ERR_NOTFOUND, "no booking %lld", (long long)id);
        if (action == BOOKING_APPROVE || action == BOOKING_REJECT) {
            if (!their_side)
                return http_error(resp, LS_ERR_DENIED,
                                  "this booking waits for its user, or a manager of their "
                                  "organisation, to agree");
            manages = 1;
        }
    } else if (!may_read(req, &b, owner)) {
        return http_error(resp, LS_ERR_NOTFOUND, "no booking %lld", (long long)id);
    }
    if (http_is_auditor(req) ||
        ((action == BOOKING_APPROVE || action == BOOKING_REJECT) && !manages) ||
        (action == BOOKING_CANCEL && !own && !manages) || (action == BOOKING_RATE && !own))
        return http_error(resp, LS_ERR_DENIED, "you may not %s this booking", names[action]);
    if ((action == BOOKING_REJECT || action == BOOKING_CANCEL) && req->body.len > 0) {
        /* an optional {"reason": "..."}: the text people read, kept with the status */
        if (http_body_json(req, resp, &body))
            goto out;
        if (req_booking_reason(body, &comment, why, sizeof(why))) {
            http_error(resp, LS_ERR_INVAL, "%s", why);
            goto out;
        }
    }
    if (action == BOOKING_RATE) {
        if (http_body_json(req, resp, &body))
            goto out;
        if (req_booking_rating(body, &score, &comment, why, sizeof(why))) {
            http_error(resp, LS_ERR_INVAL, "%s", why);
            goto out;
        }
        if (b.rating) {
            http_error(resp, LS_ERR_CONFLICT, "this booking is rated already");
            goto out;
        }
    }
    next = booking_next_status(b.status, action, why, sizeof(why));
    if (!next) {
        rule_error(resp, "status", why);
        goto out;
    }
    if (action == BOOKING_CANCEL && !manages) {
        rc = store_instrument_get(req->st, b.instrument, &inst);
        if (rc == LS_OK)
            rc = booking_rules_parse(json_object_get(inst, "booking"), &rules, why, sizeof(why));
        /* a grace after booking: a slip of the hand is undone even inside the notice */
        if (rc == LS_OK &&
            b.start_ms - ls_now_ms() < (int64_t)rules.cancel_notice_minutes * 60000 &&
            ls_now_ms() - b.created_at > (int64_t)rules.cancel_grace_minutes * 60000) {
            snprintf(why, sizeof(why),
                     "bookings can be cancelled until %d minutes before they start, or within "
                     "%d minutes of booking; ask the instrument's manager",
                     rules.cancel_notice_minutes, rules.cancel_grace_minutes);
            rule_error(resp, "cancel_notice", why);
            goto out;
        }
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    {
        const char *base = action == BOOKING_REJECT ? "rejected"
                           : action == BOOKING_CANCEL
                               ? (own ? "cancelled by user" : "cancelled by manager")
                               : NULL;
        char reason[600];
        if (base && comment && comment[0])
            snprintf(reason, sizeof(reason), "%s: %s", base, comment);
        else
            snprintf(reason, sizeof(reason), "%s", base ? base : "");
        rc = store_booking_json(req->st, id, &before);
        if (rc == LS_OK)
            rc = action == BOOKING_RATE
                     ? store_booking_rate(req->st, id, score, comment)
                     : store_booking_set_status(req->st, id, next, base ? reason : NULL);
    }
    if (rc == LS_OK && action != BOOKING_RATE)
        rc =
            store_usage_refresh(req->st, b.instrument, b.start_ms,
                                (int64_t)req->cfg->merge_gap_s * 1000, req->cfg->no_show_min_run_s);
    if (rc == LS_OK)
        rc = store_booking_json(req->st, id, &after);
    if (rc) {
        http_error(resp, rc, "cannot save the booking");
        goto out;
    }
    snprintf(object, sizeof(object), "booking/%lld", (long long)id);
    snprintf(act, sizeof(act), "booking.%s", names[action]);
    http_commit_audited(req, resp, act, object, before, after, 200);
    before = NULL; /* http_commit_audited released it */
out:
    store_rollback(req->st);
    json_decref(inst);
    json_decref(before);
    json_decref(body);
    return LS_OK;
}

int route_booking_cancel(struct http_req *req, struct http_resp *resp)
{
    return transition(req, resp, BOOKING_CANCEL);
}

int route_booking_approve(struct http_req *req, struct http_resp *resp)
{
    return transition(req, resp, BOOKING_APPROVE);
}

int route_booking_reject(struct http_req *req, struct http_resp *resp)
{
    return transition(req, resp, BOOKING_REJECT);
}

int route_booking_rating(struct http_req *req, struct http_resp *resp)
{
    return transition(req, resp, BOOKING_RATE);
}
