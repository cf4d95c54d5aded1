/* service.c - the platform's writes of bookings and outages: see service.h. */
#include "service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

void service_init(struct service *sv, struct store *st, const struct principal *who,
                  int64_t merge_gap_ms, int64_t no_show_min_run_s)
{
    memset(sv, 0, sizeof(*sv));
    sv->st = st;
    sv->who = who;
    /* a session acts as its user; a bearer token as itself, on behalf of its owner */
    sv->actor.kind = who->session ? "user" : "token";
    snprintf(sv->actor.id, sizeof(sv->actor.id), "%lld",
             (long long)(who->session ? who->user_id : who->cred_id));
    sv->actor.user = who->user_id;
    sv->actor.name = who->username;
    sv->now_ms = ls_now_ms();
    sv->merge_gap_ms = merge_gap_ms;
    sv->no_show_min_run_s = no_show_min_run_s;
}

void outcome_free(struct outcome *out)
{
    json_decref(out->after);
    json_decref(out->cancelled);
    json_decref(out->extra);
    out->after = NULL;
    out->cancelled = NULL;
    out->extra = NULL;
}

/* out says rc with a reason; returns rc. */
int service_fail(struct outcome *out, int rc, const char *fmt, ...)
{
    va_list ap;

    out->rc = rc;
    out->limit = -1;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof(out->why), fmt, ap);
    va_end(ap);
    return rc;
}

static int broken_rule(struct outcome *out, const char *rule)
{
    out->rc = LS_ERR_RULE;
    out->rule = rule;
    out->limit = -1;
    return LS_ERR_RULE; /* out->why holds the rule's own words */
}

int principal_is(const struct principal *who, const char *role)
{
    return strcmp(who->role, role) == 0;
}

int principal_manages(const struct principal *who, int64_t org)
{
    return principal_is(who, "admin") ||
           (principal_is(who, "manager") && org > 0 && who->org_id == org);
}

/* May who see booking b of an instrument of owner? */
static int may_read(const struct principal *who, const struct booking *b, int64_t owner)
{
    return principal_is(who, "admin") || principal_is(who, "auditor") ||
           b->user_id == who->user_id || principal_manages(who, owner);
}

int service_finish(const struct service *sv, const char *action, const char *object,
                   const json_t *before, struct outcome *out)
{
    int rc = store_audit_append(sv->st, sv->now_ms, &sv->actor, action, object, before, out->after);

    if (rc == LS_OK && sv->reply)
        rc = sv->reply(sv->reply_arg, out->after, out->extra);
    if (rc == LS_OK)
        rc = store_commit(sv->st);
    if (rc) {
        store_rollback(sv->st);
        return service_fail(out, rc, "cannot record the change");
    }
    out->rc = LS_OK;
    return LS_OK;
}

/* The instrument's owner and rules. LS_ERR_NOTFOUND, or LS_ERR_DB for damaged rules. */
static int instrument_rules(const struct service *sv, const char *id, int64_t *owner,
                            int *is_public, struct booking_rules *rules,
                            struct service_hours *hours, struct outcome *out)
{
    struct instrument inst;
    int rc = store_instrument_get(sv->st, id, &inst);

    if (rc)
        return service_fail(out, rc,
                            rc == LS_ERR_NOTFOUND ? "no instrument '%s'"
                            : rc == LS_ERR_DB     ? "cannot read '%s' (or its rules are damaged)"
                                                  : "cannot read '%s'",
                            id);
    *owner = inst.org_id;
    *is_public = inst.is_public;
    *rules = inst.booking;
    if (hours)
        *hours = inst.hours;
    instrument_clear(&inst);
    return LS_OK;
}

/* Booking id as the API and the audit log show it: *out (the caller's). */
static int booking_as_json(struct store *st, int64_t id, json_t **out)
{
    struct booking_view v;
    int rc = store_booking_view(st, id, &v);

    if (rc)
        return rc;
    *out = booking_view_json(&v);
    return *out ? LS_OK : LS_ERR_NOMEM;
}

int booking_create(const struct service *sv, const struct booking *req, struct outcome *out)
{
    const struct principal *who = sv->who;
    struct booking_rules rules;
    struct service_hours hours;
    struct booking_request q;
    struct principal target;
    struct booking b = *req;
    struct interval *busy = NULL;
    size_t nbusy = 0;
    const char *rule;
    char object[40];
    int64_t owner;
    int rc, is_public;

    memset(out, 0, sizeof(*out));
    memset(&q, 0, sizeof(q));
    if (principal_is(who, "auditor"))
        return service_fail(out, LS_ERR_DENIED, "auditors read; they do not book");
    if (!b.user_id)
        b.user_id = who->user_id;
    if (instrument_rules(sv, b.instrument, &owner, &is_public, &rules, &hours, out))
        return out->rc;
    q.privileged = principal_manages(who, owner);
    if (b.user_id != who->user_id && !q.privileged)
        return service_fail(out, LS_ERR_DENIED,
                            "only the owner's managers and admins book for others");
    if (!q.privileged && !is_public && who->org_id != owner)
        return service_fail(out, LS_ERR_NOTFOUND, "no instrument '%s'", b.instrument);
    if (store_user_principal(sv->st, b.user_id, &target))
        return service_fail(out, LS_ERR_INVAL, "no user %lld", (long long)b.user_id);
    q.start_ms = b.start_ms;
    q.end_ms = b.end_ms;
    q.now_ms = sv->now_ms;
    q.external = target.org_id != owner;
    b.status = q.external && rules.approval_external && !q.privileged ? BOOKING_PENDING
                                                                      : BOOKING_CONFIRMED;
    b.reason[0] = '\0';
    if (booking_needs_consent(principal_is(who, "admin"), who->user_id, who->org_id, b.user_id,
                              target.org_id)) {
        /* a manager booking for someone of another organisation: that organisation pays, so it
         * agrees first (SPEC 7) - after-the-fact records too */
        b.status = BOOKING_PENDING;
        snprintf(b.reason, sizeof(b.reason), "%s", BOOKING_AWAITS_CONSENT);
    }
    b.created_by = who->user_id;
    b.created_at = sv->now_ms;
    /* From here to the insert, one write transaction: nobody else can book in between. */
    if (store_begin(sv->st))
        return service_fail(out, LS_ERR_DB, "database busy");
    rc = store_booking_future_count(sv->st, b.user_id, q.now_ms, rules.max_future_bookings,
                                    &q.future_count);
    if (rc == LS_OK) {
        struct qualification ql;
        rc = store_qualification_get(sv->st, b.instrument, b.user_id, &ql);
        q.qualified =
            rc == LS_OK && qualification_covers(ql.since_ms, ql.expires_ms, b.start_ms, b.end_ms);
        rc = rc == LS_ERR_NOTFOUND ? LS_OK : rc;
    }
    if (rc) {
        service_fail(out, LS_ERR_DB, "cannot count bookings");
        goto out;
    }
    if ((rule = booking_check(&rules, &hours, &q, out->why, sizeof(out->why)))) {
        broken_rule(out, rule);
        out->limit = booking_rule_limit(&rules, rule);
        goto out;
    }
    rc = store_booking_overlap(sv->st, b.instrument, b.start_ms, b.end_ms, 0, &out->conflict);
    if (rc == LS_ERR_CONFLICT) {
        service_fail(out, LS_ERR_CONFLICT, "the slot overlaps another booking");
        goto out;
    }
    if (rc == LS_OK &&
        (rc = store_busy(sv->st, b.instrument, b.start_ms, b.end_ms, &busy, &nbusy)) == LS_OK &&
        nbusy > 0) {
        /* no booking overlaps, so what is busy is an outage */
        snprintf(out->why, sizeof(out->why), "the instrument is out of service then");
        broken_rule(out, "outage");
        goto out;
    }
    if (rc) {
        service_fail(out, rc, "cannot check the slot");
        goto out;
    }
    rc = store_booking_insert(sv->st, &b);
    /* a booking recorded for a time already metered takes over that usage */
    if (rc == LS_OK)
        rc = store_usage_refresh(sv->st, b.instrument, b.start_ms, sv->merge_gap_ms,
                                 sv->no_show_min_run_s);
    if (rc == LS_OK)
        rc = booking_as_json(sv->st, b.id, &out->after);
    /* who is told: the user of a booking to come, or the managers who must approve it */
    if (rc == LS_OK && b.end_ms > q.now_ms && b.status == BOOKING_CONFIRMED)
        rc = notify_booking(sv->st, sv->notify, sv->now_ms, b.id, NOTIFY_BOOKING_CONFIRMED, NULL);
    if (rc == LS_OK && b.end_ms > q.now_ms && b.status == BOOKING_PENDING && !b.reason[0])
        rc = notify_booking(sv->st, sv->notify, sv->now_ms, b.id, NOTIFY_APPROVAL_WAITING, NULL);
    if (rc) {
        service_fail(out, rc, "cannot save the booking");
        goto out;
    }
    snprintf(object, sizeof(object), "booking/%lld", (long long)b.id);
    service_finish(sv, b.start_ms < q.now_ms ? "booking.record" : "booking.create", object, NULL,
                   out);
out:
    if (out->rc)
        store_rollback(sv->st); /* nothing when finish() rolled back already */
    free(busy);
    return out->rc;
}

int booking_transition(const struct service *sv, int64_t id, enum booking_action action,
                       const char *comment, int score, struct outcome *out)
{
    static const char *const names[] = {"approve", "reject", "cancel", "rating"};
    const struct principal *who = sv->who;
    struct booking_rules rules;
    struct booking b;
    json_t *before = NULL;
    enum booking_status next;
    char object[40], act[40], reason[600];
    int64_t owner;
    int rc, own, may_decide, is_public;

    memset(out, 0, sizeof(*out));
    rc = store_booking_get(sv->st, id, &b);
    if (rc)
        return service_fail(out, rc, "no booking %lld", (long long)id);
    if (instrument_rules(sv, b.instrument, &owner, &is_public, &rules, NULL, out))
        return out->rc;
    own = b.user_id == who->user_id;
    may_decide = principal_manages(who, owner);
    if (b.status == BOOKING_PENDING && strcmp(b.reason, BOOKING_AWAITS_CONSENT) == 0) {
        /* awaiting the booked user's side: the user, a manager of their organisation or an
         * admin answers it (they may see it for that), not the instrument's manager who made
         * it (who may still cancel it) */
        struct principal target;
        int their_side;
        if (store_user_principal(sv->st, b.user_id, &target))
            return service_fail(out, LS_ERR_DB, "cannot read the booking's user");
        their_side = own || principal_is(who, "admin") ||
                     (principal_is(who, "manager") && who->org_id == target.org_id);
        if (!their_side && !may_read(who, &b, owner))
            return service_fail(out, LS_ERR_NOTFOUND, "no booking %lld", (long long)id);
        if (action == BOOKING_APPROVE || action == BOOKING_REJECT) {
            if (!their_side)
                return service_fail(out, LS_ERR_DENIED,
                                    "this booking waits for its user, or a manager of their "
                                    "organisation, to agree");
            may_decide = 1;
        }
    } else if (!may_read(who, &b, owner)) {
        return service_fail(out, LS_ERR_NOTFOUND, "no booking %lld", (long long)id);
    }
    if (principal_is(who, "auditor") ||
        ((action == BOOKING_APPROVE || action == BOOKING_REJECT) && !may_decide) ||
        (action == BOOKING_CANCEL && !own && !may_decide) || (action == BOOKING_RATE && !own))
        return service_fail(out, LS_ERR_DENIED, "you may not %s this booking", names[action]);
    if (action == BOOKING_RATE && b.rating)
        return service_fail(out, LS_ERR_CONFLICT, "this booking is rated already");
    if (booking_next_status(b.status, action, &next, out->why, sizeof(out->why)))
        return broken_rule(out, "status");
    /* a grace after booking: a slip of the hand is undone even inside the notice */
    if (action == BOOKING_CANCEL && !may_decide &&
        b.start_ms - sv->now_ms < (int64_t)rules.cancel_notice_minutes * 60000 &&
        sv->now_ms - b.created_at >= (int64_t)rules.cancel_grace_minutes * 60000) {
        snprintf(out->why, sizeof(out->why),
                 "bookings can be cancelled until %d minutes before they start, or within %d "
                 "minutes of booking; ask the instrument's manager",
                 rules.cancel_notice_minutes, rules.cancel_grace_minutes);
        broken_rule(out, "cancel_notice");
        out->limit = rules.cancel_notice_minutes;
        return LS_ERR_RULE;
    }
    if (store_begin(sv->st))
        return service_fail(out, LS_ERR_DB, "database busy");
    {
        const char *base = action == BOOKING_REJECT ? "rejected"
                           : action == BOOKING_CANCEL
                               ? (own ? "cancelled by user" : "cancelled by manager")
                               : NULL;
        if (base && comment && comment[0])
            snprintf(reason, sizeof(reason), "%s: %s", base, comment);
        else
            snprintf(reason, sizeof(reason), "%s", base ? base : "");
        rc = booking_as_json(sv->st, id, &before);
        if (rc == LS_OK)
            rc = action == BOOKING_RATE
                     ? store_booking_rate(sv->st, id, score, comment)
                     : store_booking_set_status(sv->st, id, next, base ? reason : NULL);
    }
    if (rc == LS_OK && action != BOOKING_RATE)
        rc = store_usage_refresh(sv->st, b.instrument, b.start_ms, sv->merge_gap_ms,
                                 sv->no_show_min_run_s);
    /* the booking's user hears of a decision on it, and of a cancellation not their own */
    if (rc == LS_OK && b.end_ms > sv->now_ms &&
        (action == BOOKING_APPROVE || action == BOOKING_REJECT ||
         (action == BOOKING_CANCEL && !own)))
        rc = notify_booking(sv->st, sv->notify, sv->now_ms, id,
                            action == BOOKING_APPROVE  ? NOTIFY_BOOKING_CONFIRMED
                            : action == BOOKING_REJECT ? NOTIFY_BOOKING_REJECTED
                                                       : NOTIFY_BOOKING_CANCELLED,
                            comment);
    if (rc == LS_OK)
        rc = booking_as_json(sv->st, id, &out->after);
    if (rc) {
        store_rollback(sv->st);
        json_decref(before);
        return service_fail(out, rc, "cannot save the booking");
    }
    snprintf(object, sizeof(object), "booking/%lld", (long long)id);
    snprintf(act, sizeof(act), "booking.%s", names[action]);
    rc = service_finish(sv, act, object, before, out);
    json_decref(before);
    return rc;
}

/* Cancel (audited) the bookings of instrument the outage [start, end) covers; their ids into
 * out->cancelled. */
static int cancel_covered(const struct service *sv, const char *instrument, int64_t start,
                          int64_t end, struct outcome *out)
{
    int64_t *cancelled = NULL;
    size_t n = 0;
    int rc = store_outage_cancel_bookings(sv->st, instrument, start, end, &cancelled, &n);

    out->cancelled = json_array();
    if (!out->cancelled)
        rc = LS_ERR_NOMEM;
    for (size_t i = 0; rc == LS_OK && i < n; i++) {
        char bo[40];
        json_t *bj = NULL;
        snprintf(bo, sizeof(bo), "booking/%lld", (long long)cancelled[i]);
        rc = booking_as_json(sv->st, cancelled[i], &bj);
        if (rc == LS_OK)
            rc = store_audit_append(sv->st, sv->now_ms, &sv->actor, "booking.cancel_by_outage", bo,
                                    NULL, bj);
        if (rc == LS_OK)
            rc = notify_booking(sv->st, sv->notify, sv->now_ms, cancelled[i],
                                NOTIFY_BOOKING_CANCELLED,
                                "the instrument is out of service (maintenance or breakdown)");
        json_decref(bj);
        if (rc == LS_OK && json_array_append_new(out->cancelled, json_integer(cancelled[i])))
            rc = LS_ERR_NOMEM;
    }
    free(cancelled);
    return rc;
}

/* Outage id as the API and the audit log show it: *out (the caller's). */
static int outage_as_json(struct store *st, int64_t id, json_t **out)
{
    struct outage o;
    int rc = store_outage_get(st, id, &o);

    if (rc)
        return rc;
    *out = outage_json(&o);
    return *out ? LS_OK : LS_ERR_NOMEM;
}

int outage_record(const struct service *sv, const char *instrument, int64_t id,
                  const struct outage_request *o, struct outcome *out)
{
    struct booking_rules rules;
    json_t *before = NULL;
    char object[40];
    int64_t owner;
    int rc, is_public;

    memset(out, 0, sizeof(*out));
    if (instrument_rules(sv, instrument, &owner, &is_public, &rules, NULL, out))
        return out->rc;
    if (!principal_manages(sv->who, owner))
        return service_fail(out, LS_ERR_DENIED,
                            "only the owner's managers and admins record outages");
    if (store_begin(sv->st))
        return service_fail(out, LS_ERR_DB, "database busy");
    if (id) {
        struct outage was;
        rc = store_outage_get(sv->st, id, &was);
        if (rc == LS_OK && strcmp(was.instrument, instrument) != 0)
            rc = LS_ERR_NOTFOUND;
        if (rc == LS_OK && !(before = outage_json(&was)))
            rc = LS_ERR_NOMEM;
        if (rc) {
            service_fail(out, rc, "no outage %lld of '%.64s'", (long long)id, instrument);
            goto out;
        }
        /* what it had cancelled stays cancelled; what it now covers is cancelled too */
        rc = store_outage_update(sv->st, id, o->start_ms, o->end_ms, o->kind, o->note);
    } else {
        rc = store_outage_insert(sv->st, instrument, o->start_ms, o->end_ms, o->kind, o->note,
                                 sv->who->user_id, &id);
    }
    if (rc == LS_OK)
        rc = cancel_covered(sv, instrument, o->start_ms, o->end_ms, out);
    if (rc == LS_OK)
        rc = outage_as_json(sv->st, id, &out->after);
    if (rc) {
        service_fail(out, rc, before ? "cannot change the outage" : "cannot record the outage");
        goto out;
    }
    snprintf(object, sizeof(object), "outage/%lld", (long long)id);
    /* the answer lists what was cancelled; the audit record is the outage itself (each
     * cancellation has its own) */
    rc = store_audit_append(sv->st, sv->now_ms, &sv->actor,
                            before ? "outage.update" : "outage.create", object, before, out->after);
    if (rc == LS_OK && json_object_set(out->after, "cancelled_bookings", out->cancelled))
        rc = LS_ERR_NOMEM;
    if (rc == LS_OK && sv->reply)
        rc = sv->reply(sv->reply_arg, out->after, NULL);
    if (rc == LS_OK)
        rc = store_commit(sv->st);
    if (rc)
        service_fail(out, rc, "cannot record the change");
out:
    if (out->rc)
        store_rollback(sv->st);
    json_decref(before);
    return out->rc;
}
