/* routes_instruments.c - the instrument registry, availability and outages. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../booking.h"
#include "../records.h"
#include "../interlock.h"
#include "../requests.h"
#include "../service.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

int route_instruments_list(struct http_req *req, struct http_resp *resp)
{
    int64_t limit, offset, from, to, total = 0, org = 0;
    const char *o = http_query(req, "org");
    struct instrument *v = NULL;
    json_t *items;
    size_t n = 0, kept = 0;
    int rc;

    if (http_list_args(req, resp, 100, 1000, &limit, &offset, &from, &to))
        return LS_OK;
    if (o && ls_parse_i64(o, 1, INT64_MAX, &org))
        return http_error(resp, LS_ERR_INVAL, "org must be an organisation id");
    rc = store_instrument_list(req->st, org, 0, limit, offset, &v, &n, &total);
    if (rc)
        return http_error(resp, rc, "cannot list instruments");
    /* Researchers see the public instruments and their own organisation's. */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(req->who.role, "researcher") == 0 && !v[i].is_public &&
            v[i].org_id != req->who.org_id) {
            instrument_clear(&v[i]);
            continue;
        }
        v[kept++] = v[i];
    }
    if (strcmp(req->who.role, "researcher") == 0)
        total = (int64_t)kept;
    items = instruments_json(v, kept);
    instruments_free(v, kept);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "cannot list instruments");
    return http_list(req, resp, items, total, "instruments");
}

/* Load instrument param 0 into *out (the caller clears it), answering 404 (also for a non-public
 * one a researcher of another organisation asks for). */
static int load_instrument(struct http_req *req, struct http_resp *resp, struct instrument *out)
{
    int rc = store_instrument_get(req->st, req->params[0], out);

    if (rc) {
        http_error(resp, rc, "no instrument '%.64s'", req->params[0]);
        return rc;
    }
    if (strcmp(req->who.role, "researcher") == 0 && !out->is_public &&
        out->org_id != req->who.org_id) {
        instrument_clear(out);
        http_error(resp, LS_ERR_NOTFOUND, "no instrument '%.64s'", req->params[0]);
        return LS_ERR_NOTFOUND;
    }
    return LS_OK;
}

/* The relay: what the server wants (and why), and what the gateway last reported. */
static json_t *interlock_state_json(const struct interlock_row *r)
{
    char until[40], computed[40], at[40], since[40];
    json_t *o;

    ls_time_format(r->computed_at, computed, sizeof(computed));
    if (r->until_ms != INT64_MAX)
        ls_time_format(r->until_ms, until, sizeof(until));
    if (r->actual_at)
        ls_time_format(r->actual_at, at, sizeof(at));
    o = json_pack("{s:s, s:s, s:o, s:o, s:I, s:s, s:o, s:o, s:o}", "desired",
                  r->desired ? "enable" : "disable", "reason", r->reason, "booking",
                  r->booking ? json_integer(r->booking) : json_null(), "until",
                  r->until_ms != INT64_MAX ? json_string(until) : json_null(), "version",
                  (json_int_t)r->version, "computed_at", computed, "actual",
                  r->actual < 0 ? json_null() : json_string(r->actual ? "enable" : "disable"),
                  "actual_at", r->actual_at ? json_string(at) : json_null(), "agrees",
                  r->actual < 0 ? json_null() : json_boolean(r->actual == r->desired));
    /* what stops the gateway from putting the relay right, as it reports it */
    if (o && r->fault[0]) {
        ls_time_format(r->fault_since, since, sizeof(since));
        json_object_set_new(o, "fault", json_string(r->fault));
        json_object_set_new(o, "fault_since", json_string(since));
    } else if (o) {
        json_object_set_new(o, "fault", json_null());
        json_object_set_new(o, "fault_since", json_null());
    }
    return o;
}

int route_instrument_get(struct http_req *req, struct http_resp *resp)
{
    struct instrument inst;
    struct interlock_row row;
    json_t *o;

    if (load_instrument(req, resp, &inst))
        return LS_OK;
    o = instrument_json(&inst);
    instrument_clear(&inst);
    if (!o)
        return http_error(resp, LS_ERR_NOMEM, "cannot read the instrument");
    if (store_interlock_get(req->st, req->params[0], &row) == LS_OK)
        json_object_set_new(o, "interlock_state", interlock_state_json(&row));
    else
        json_object_set_new(o, "interlock_state", json_null());
    return http_json(resp, 200, o);
}

/* Instrument id as the API shows it: *out (the caller's). */
static int instrument_as_json(struct store *st, const char *id, json_t **out)
{
    struct instrument inst;
    int rc = store_instrument_get(st, id, &inst);

    if (rc)
        return rc;
    *out = instrument_json(&inst);
    instrument_clear(&inst);
    return *out ? LS_OK : LS_ERR_NOMEM;
}

int route_instrument_create(struct http_req *req, struct http_resp *resp)
{
    struct instrument in;
    json_t *body = NULL, *after = NULL;
    char object[LS_ID_MAX + 16], why[200];
    struct org org;
    unsigned given;
    int rc;

    if (instrument_init(&in))
        return http_error(resp, LS_ERR_NOMEM, "out of memory");
    if (http_body_json(req, resp, &body))
        goto out;
    rc = req_instrument(body, 1, ls_now_ms(), &in, &given, why, sizeof(why));
    if (rc) {
        http_error(resp, rc, "%s", why);
        goto out;
    }
    if ((given & REQ_INSTRUMENT_JOINED) && !http_is_admin(req)) {
        http_error(resp, LS_ERR_DENIED, "only an admin registers an instrument as joined earlier");
        goto out;
    }
    if (!http_manages(req, in.org_id)) {
        http_error(resp, LS_ERR_DENIED,
                   "admins, and managers for their own organisation, "
                   "register instruments");
        goto out;
    }
    if (store_org_get(req->st, in.org_id, &org)) {
        http_error(resp, LS_ERR_INVAL, "no organisation %lld", (long long)in.org_id);
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc = store_instrument_create(req->st, &in);
    if (rc == LS_OK)
        rc = instrument_as_json(req->st, in.id, &after);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc,
                   rc == LS_ERR_CONFLICT ? "an instrument with that id exists"
                                         : "cannot save the instrument");
        goto out;
    }
    snprintf(object, sizeof(object), "instrument/%s", in.id);
    http_commit_audited(req, resp, "instrument.create", object, NULL, after, 201);
out:
    instrument_clear(&in);
    json_decref(body);
    return LS_OK;
}

int route_instrument_update(struct http_req *req, struct http_resp *resp)
{
    struct instrument in;
    json_t *body = NULL, *before = NULL, *after = NULL;
    char object[LS_ID_MAX + 16], why[200];
    int64_t owner;
    unsigned given;
    int rc;

    if (http_body_json(req, resp, &body))
        return LS_OK;
    if (load_instrument(req, resp, &in)) {
        json_decref(body);
        return LS_OK;
    }
    owner = in.org_id;
    if (!(before = instrument_json(&in))) {
        http_error(resp, LS_ERR_NOMEM, "out of memory");
        goto out;
    }
    req_instrument_merge(body, before);
    rc = req_instrument(body, 0, ls_now_ms(), &in, &given, why, sizeof(why));
    if (rc) {
        http_error(resp, rc, "%s", why);
        goto out;
    }
    if (!http_manages(req, owner)) {
        http_error(resp, LS_ERR_DENIED,
                   "only the owner's managers and admins change an "
                   "instrument");
        goto out;
    }
    if ((given & REQ_INSTRUMENT_ORG) && !http_is_admin(req) && in.org_id != req->who.org_id) {
        http_error(resp, LS_ERR_DENIED, "only an admin gives an instrument to another owner");
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc = store_instrument_update(req->st, &in);
    if (rc == LS_OK)
        rc = instrument_as_json(req->st, in.id, &after);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc, rc == LS_ERR_INVAL ? "no such organisation" : "cannot save");
        goto out;
    }
    snprintf(object, sizeof(object), "instrument/%s", req->params[0]);
    http_commit_audited(req, resp, "instrument.update", object, before, after, 200);
    before = NULL;
out:
    instrument_clear(&in);
    json_decref(before);
    json_decref(body);
    return LS_OK;
}

/* Availability: free intervals within service hours, minus bookings and outages. */
int route_availability(struct http_req *req, struct http_resp *resp)
{
    struct instrument inst;
    json_t *items = NULL;
    struct interval *win = NULL, *busy = NULL, *free_iv = NULL;
    size_t nwin = 0, nbusy = 0, nfree = 0;
    int64_t limit, offset, from, to;
    char a[40], b[40];
    int rc;

    if (load_instrument(req, resp, &inst))
        return LS_OK;
    if (http_list_args(req, resp, 1000, 10000, &limit, &offset, &from, &to))
        goto out;
    if (from == INT64_MIN)
        from = ls_now_ms();
    if (to == INT64_MAX)
        to = from + 7LL * 86400000;
    if (to - from > 92LL * 86400000) {
        http_error(resp, LS_ERR_INVAL, "ask for at most 92 days at a time");
        goto out;
    }
    if (service_windows(&inst.hours, from, to, &win, &nwin) ||
        store_busy(req->st, req->params[0], from, to, &busy, &nbusy) ||
        interval_subtract(win, nwin, busy, nbusy, &free_iv, &nfree)) {
        http_error(resp, LS_ERR_DB, "cannot compute availability");
        goto out;
    }
    items = json_array();
    for (size_t i = 0; items && i < nfree; i++) {
        ls_time_format(free_iv[i].start_ms, a, sizeof(a));
        ls_time_format(free_iv[i].end_ms, b, sizeof(b));
        json_array_append_new(items, json_pack("{s:s, s:s}", "start", a, "end", b));
    }
    ls_time_format(from, a, sizeof(a));
    ls_time_format(to, b, sizeof(b));
    rc = http_json(resp, 200,
                   json_pack("{s:s, s:s, s:s, s:o, s:I}", "instrument", req->params[0], "from", a,
                             "to", b, "items", items, "total", (json_int_t)nfree));
    (void)rc;
out:
    free(win);
    free(busy);
    free(free_iv);
    instrument_clear(&inst);
    return LS_OK;
}

int route_outages_list(struct http_req *req, struct http_resp *resp)
{
    struct instrument inst;
    json_t *items;
    struct outage *v = NULL;
    int64_t limit, offset, from, to;
    size_t n = 0;

    if (load_instrument(req, resp, &inst))
        return LS_OK;
    instrument_clear(&inst);
    if (http_list_args(req, resp, 1000, 10000, &limit, &offset, &from, &to))
        return LS_OK;
    if (store_outage_list(req->st, req->params[0], from, to, &v, &n))
        return http_error(resp, LS_ERR_DB, "cannot list outages");
    items = json_array();
    for (size_t i = 0; items && i < n; i++)
        if (json_array_append_new(items, outage_json(&v[i]))) {
            json_decref(items);
            items = NULL;
        }
    free(v);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "cannot list outages");
    return http_list(req, resp, items, (int64_t)n, "outages");
}

/* LS_OK when the caller manages the instrument of the path, or an error in resp. */
static int managed_instrument(struct http_req *req, struct http_resp *resp)
{
    struct instrument inst;
    int64_t owner;

    if (load_instrument(req, resp, &inst))
        return LS_ERR_NOTFOUND;
    owner = inst.org_id;
    instrument_clear(&inst);
    if (!http_manages(req, owner)) {
        http_error(resp, LS_ERR_DENIED, "only the owner's managers and admins record outages");
        return LS_ERR_DENIED;
    }
    return LS_OK;
}

/* The outage of path parameter 1, of the instrument of parameter 0: *o, or a 404. */
static int path_outage(struct http_req *req, struct http_resp *resp, int64_t *id, json_t **o)
{
    if (route_id_param(req, resp, 1, id))
        return LS_ERR_NOTFOUND;
    struct outage was;

    *o = NULL;
    if (store_outage_get(req->st, *id, &was) != LS_OK ||
        strcmp(was.instrument, req->params[0]) != 0 || !(*o = outage_json(&was))) {
        http_error(resp, LS_ERR_NOTFOUND, "no outage %lld of '%.64s'", (long long)*id,
                   req->params[0]);
        return LS_ERR_NOTFOUND;
    }
    return LS_OK;
}

/* Record (change 0) or change an outage: the instrument and, for a change, the outage of the
 * path, then the body (a change keeps the fields it does not give). */
static int outage_write(struct http_req *req, struct http_resp *resp, int change)
{
    struct outage_request o;
    struct http_reply reply;
    struct service sv;
    struct outcome out;
    json_t *before = NULL, *body = NULL;
    char why[200];
    int64_t id = 0;

    if (managed_instrument(req, resp))
        return LS_OK;
    if ((change && path_outage(req, resp, &id, &before)) || http_body_json(req, resp, &body))
        goto out;
    if (req_outage(body, before, &o, why, sizeof(why))) {
        http_error(resp, LS_ERR_INVAL, "%s", why);
        goto out;
    }
    http_service(req, resp, change ? 200 : 201, &sv, &reply);
    http_outcome(resp, outage_record(&sv, req->params[0], id, &o, &out), &out);
out:
    json_decref(body);
    json_decref(before);
    return LS_OK;
}

int route_outage_create(struct http_req *req, struct http_resp *resp)
{
    return outage_write(req, resp, 0);
}

int route_outage_update(struct http_req *req, struct http_resp *resp)
{
    return outage_write(req, resp, 1);
}

int route_outage_delete(struct http_req *req, struct http_resp *resp)
{
    json_t *before = NULL;
    char object[40];
    int64_t id;
    int rc;

    if (managed_instrument(req, resp))
        return LS_OK;
    if (path_outage(req, resp, &id, &before))
        goto out;
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc = store_outage_delete(req->st, id);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc, "cannot remove the outage");
        goto out;
    }
    snprintf(object, sizeof(object), "outage/%lld", (long long)id);
    http_commit_audited(req, resp, "outage.delete", object, before,
                        json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1), 200);
    before = NULL;
out:
    json_decref(before);
    return LS_OK;
}
