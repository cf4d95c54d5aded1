/* routes_bookings.c - bookings: create (never two on one slot), read, and the status machine. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../billing.h"
#include "../records.h"
#include "../booking.h"
#include "../requests.h"
#include "../service.h"
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

/* Add to o, the JSON of booking v (of instrument inst; NULL: unknown), what a manager needs to
 * decide on it: the rate category of its user and the charge to expect if it is used as booked,
 * in the platform's currency. */
static void add_terms(struct http_req *req, json_t *o, const struct booking_view *v,
                      const struct instrument *inst)
{
    int64_t seconds = (v->b.end_ms - v->b.start_ms) / 1000;
    struct charge c;
    enum billing_category cat;

    if (!inst)
        return;
    cat = billing_category(v->requester.org_id == inst->org_id, v->requester.org_type);
    json_object_set_new(o, "category", json_string(billing_category_name(cat)));
    if (billing_booking(&inst->billing, cat, seconds, seconds, 0, 0, &c))
        return;
    json_object_set_new(o, "expected_charge", json_integer(c.amount));
    json_object_set_new(o, "currency", json_string(req->cfg->currency));
}

int route_bookings_list(struct http_req *req, struct http_resp *resp)
{
    struct booking_filter f;
    struct booking_view *views = NULL;
    struct instrument inst;
    json_t *items = NULL, *o;
    int64_t total = 0;
    size_t n = 0;
    const char *v;
    size_t i;
    int have = 0;

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
    if ((v = http_query(req, "status"))) {
        f.has_status = 1;
        if (booking_status_parse(v, &f.status))
            return http_error(resp, LS_ERR_INVAL,
                              "status must be pending, confirmed, cancelled, completed or "
                              "no_show");
    }
    if ((v = http_query(req, "org")) && ls_parse_i64(v, 1, INT64_MAX, &f.user_org))
        return http_error(resp, LS_ERR_INVAL, "org must be an organisation id (the user's)");
    if (store_booking_list(req->st, &f, &views, &n, &total))
        return http_error(resp, LS_ERR_DB, "cannot list bookings");
    items = json_array();
    for (i = 0; items && i < n; i++) {
        const char *id = views[i].b.instrument;
        if (!(o = booking_view_json(&views[i])) || json_array_append_new(items, o)) {
            json_decref(items);
            items = NULL;
            break;
        }
        if (!have || strcmp(inst.id, id) != 0) {
            if (have)
                instrument_clear(&inst);
            have = store_instrument_get(req->st, id, &inst) == LS_OK;
        }
        add_terms(req, o, &views[i], have ? &inst : NULL);
    }
    free(views);
    if (have)
        instrument_clear(&inst);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "cannot list bookings");
    return http_list(req, resp, items, total, "bookings");
}

int route_booking_get(struct http_req *req, struct http_resp *resp)
{
    struct booking_view v;
    struct instrument inst;
    json_t *o = NULL;
    int64_t id;
    int rc, have;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    rc = store_booking_view(req->st, id, &v);
    if (rc)
        return http_error(resp, rc, "no booking %lld", (long long)id);
    /* the instrument once: its owner decides who may read, its terms give the expected charge */
    have = store_instrument_get(req->st, v.b.instrument, &inst) == LS_OK;
    if (!may_read(req, &v.b, have ? inst.org_id : 0)) {
        if (have)
            instrument_clear(&inst);
        return http_error(resp, LS_ERR_NOTFOUND, "no booking %lld", (long long)id);
    }
    if ((o = booking_view_json(&v)))
        add_terms(req, o, &v, have ? &inst : NULL);
    if (have)
        instrument_clear(&inst);
    return o ? http_json(resp, 200, o) : http_error(resp, LS_ERR_NOMEM, "cannot read booking");
}

int route_booking_create(struct http_req *req, struct http_resp *resp)
{
    struct http_reply reply;
    struct service sv;
    struct outcome out;
    struct booking b;
    json_t *body = NULL;
    char why[200];

    if (http_body_json(req, resp, &body))
        return LS_OK;
    if (req_booking_create(body, &b, why, sizeof(why))) {
        json_decref(body);
        return http_error(resp, LS_ERR_INVAL, "%s", why);
    }
    json_decref(body);
    http_service(req, resp, 201, &sv, &reply);
    http_outcome(resp, booking_create(&sv, &b, &out), &out);
    return LS_OK;
}

/* A transition of the status machine, with its optional body. */
static int transition(struct http_req *req, struct http_resp *resp, enum booking_action action)
{
    struct http_reply reply;
    struct service sv;
    struct outcome out;
    json_t *body = NULL;
    const char *comment = NULL;
    char why[200];
    int64_t id;
    int score = 0, rc = LS_OK;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    if (action == BOOKING_RATE ||
        ((action == BOOKING_REJECT || action == BOOKING_CANCEL) && req->body.len > 0)) {
        /* reject and cancel: an optional {"reason"}, the text people read, kept with the status;
         * rating: {"score", "comment"?} */
        if (http_body_json(req, resp, &body))
            return LS_OK;
        rc = action == BOOKING_RATE ? req_booking_rating(body, &score, &comment, why, sizeof(why))
                                    : req_booking_reason(body, &comment, why, sizeof(why));
    }
    if (rc == LS_OK) {
        http_service(req, resp, 200, &sv, &reply);
        http_outcome(resp, booking_transition(&sv, id, action, comment, score, &out), &out);
    } else {
        http_error(resp, LS_ERR_INVAL, "%s", why);
    }
    json_decref(body); /* after the call: comment points into it */
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
