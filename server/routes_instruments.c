/* routes_instruments.c - the instrument registry, availability and outages. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking.h"
#include "interlock.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

static const char *const instrument_keys[] = {
    "id",          "name",        "org_id",    "category", "location", "value_yuan",
    "rated_hours", "public",      "gateway",   "booking",  "billing",  "service_hours",
    "joined",      "description", "interlock", NULL};

/* Validate a billing object (SPEC 7) into a complete one with defaults. NULL and a reason. */
static json_t *billing_normalise(const json_t *in, char *why, size_t len)
{
    static const char *const keys[] = {"basis", "increment_min", "minimum_min", "no_show_fraction",
                                       "rates", "per_sample",    NULL};
    static const char *const rate_keys[] = {"internal", "academic", "industry"};
    const char *basis = "metered", *key;
    json_t *out, *rates, *v;
    json_int_t inc = 15, minimum = 0, per_sample = 0, r[3] = {0, 0, 0};
    double ns = 0.5;

    if (in && !json_is_object(in)) {
        snprintf(why, len, "billing must be an object");
        return NULL;
    }
    json_object_foreach((json_t *)in, key, v)
    {
        size_t i;
        for (i = 0; keys[i] && strcmp(keys[i], key); i++)
            ;
        if (!keys[i]) {
            snprintf(why, len, "billing.%.40s is not a billing setting", key);
            return NULL;
        }
    }
    if ((v = json_object_get(in, "basis"))) {
        basis = json_string_value(v);
        if (!basis ||
            (strcmp(basis, "booked") && strcmp(basis, "metered") && strcmp(basis, "max"))) {
            snprintf(why, len, "billing.basis must be booked, metered or max");
            return NULL;
        }
    }
#define INT_IN(name, var, lo, hi)                                                                  \
    if ((v = json_object_get(in, name))) {                                                         \
        if (!json_is_integer(v) || json_integer_value(v) < (lo) || json_integer_value(v) > (hi)) { \
            snprintf(why, len, "billing." name " must be a whole number from %lld to %lld",        \
                     (long long)(lo), (long long)(hi));                                            \
            return NULL;                                                                           \
        }                                                                                          \
        var = json_integer_value(v);                                                               \
    }
    INT_IN("increment_min", inc, 1, 1440)
    INT_IN("minimum_min", minimum, 0, 1440)
    INT_IN("per_sample", per_sample, 0, 100000000)
    if ((v = json_object_get(in, "no_show_fraction"))) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
            snprintf(why, len, "billing.no_show_fraction must be a number from 0 to 1");
            return NULL;
        }
        ns = json_number_value(v);
    }
    if ((rates = json_object_get(in, "rates"))) {
        if (!json_is_object(rates)) {
            snprintf(why, len, "billing.rates must be an object");
            return NULL;
        }
        json_object_foreach(rates, key, v)
        {
            size_t i;
            for (i = 0; i < 3 && strcmp(rate_keys[i], key); i++)
                ;
            if (i == 3 || !json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > 100000000) {
                snprintf(why, len,
                         "billing.rates: internal, academic and industry are whole "
                         "amounts of fen per hour from 0 to 100000000");
                return NULL;
            }
            r[i] = json_integer_value(v);
        }
    }
    out = json_pack("{s:s, s:I, s:I, s:f, s:{s:I, s:I, s:I}, s:I}", "basis", basis, "increment_min",
                    inc, "minimum_min", minimum, "no_show_fraction", ns, "rates", "internal", r[0],
                    "academic", r[1], "industry", r[2], "per_sample", per_sample);
    if (!out)
        snprintf(why, len, "out of memory");
    return out;
}

/* Validate body (create: every required key; patch: what is there) into a normalised object
 * of columns. NULL with a 400 in resp. */
static json_t *instrument_fields(struct http_resp *resp, const json_t *body, int create)
{
    json_t *out = json_object(), *v;
    struct booking_rules rules;
    struct service_hours hours;
    char why[200];

    if (!out)
        return NULL;
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        http_error(resp, LS_ERR_INVAL, __VA_ARGS__);                                               \
        json_decref(out);                                                                          \
        return NULL;                                                                               \
    } while (0)
    if (create) {
        const char *id = json_string_value(json_object_get(body, "id"));
        if (!id || !ls_id_valid(id))
            FAIL("id is required: 1-63 of A-Z a-z 0-9 . _ -");
        json_object_set_new(out, "id", json_string(id));
    } else if (json_object_get(body, "id")) {
        FAIL("an instrument's id cannot change");
    }
    if ((v = json_object_get(body, "name")) || create) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200)
            FAIL("name is required: 1-200 characters");
        json_object_set(out, "name", v);
    }
    if ((v = json_object_get(body, "org_id")) || create) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            FAIL("org_id (the owner organisation) is required");
        json_object_set(out, "org_id", v);
    }
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "location" : "category";
        if ((v = json_object_get(body, key))) {
            if (!json_is_string(v) || json_string_length(v) > 100)
                FAIL("%s must be text of at most 100 characters", key);
            json_object_set(out, key, v);
        } else if (create) {
            json_object_set_new(out, key, json_string(""));
        }
    }
    /* what it does, for the catalog: a paragraph, not a document */
    if ((v = json_object_get(body, "description")) && json_is_null(v)) {
        json_object_set_new(out, "description", json_string("")); /* null removes it */
    } else if (v) {
        if (!json_is_string(v) || json_string_length(v) > 2000)
            FAIL("description must be text of at most 2000 bytes");
        json_object_set(out, "description", v);
    } else if (create) {
        json_object_set_new(out, "description", json_string(""));
    }
    if ((v = json_object_get(body, "value_yuan"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 1000000000000LL)
            FAIL("value_yuan must be a whole number of yuan, 0 or more");
        json_object_set(out, "value_yuan", v);
    } else if (create) {
        json_object_set_new(out, "value_yuan", json_integer(0));
    }
    if ((v = json_object_get(body, "rated_hours"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 8760)
            FAIL("rated_hours must be hours per year from 1 to 8760 (1400 by default, 800 for "
                 "special-purpose instruments)");
        json_object_set(out, "rated_hours", v);
    } else if (create) {
        json_object_set_new(out, "rated_hours", json_integer(1400));
    }
    if ((v = json_object_get(body, "public"))) {
        if (!json_is_boolean(v))
            FAIL("public must be true or false");
        json_object_set(out, "public", v);
    } else if (create) {
        json_object_set_new(out, "public", json_true());
    }
    if ((v = json_object_get(body, "joined"))) {
        int64_t ms;
        if (!create)
            FAIL("joined is set when an instrument is registered");
        if (!json_is_string(v) || http_time_parse(json_string_value(v), &ms) || ms > ls_now_ms())
            FAIL("joined must be an RFC 3339 time or a date, not in the future (an instrument "
                 "migrated from an older system)");
        json_object_set_new(out, "joined_ms", json_integer(ms));
    }
    if ((v = json_object_get(body, "gateway"))) {
        if (!json_is_null(v) && (!json_is_string(v) || !ls_id_valid(json_string_value(v))))
            FAIL("gateway must be a gateway id or null");
        json_object_set(out, "gateway", v);
    }
    if ((v = json_object_get(body, "booking")) || create) {
        if (booking_rules_parse(v, &rules, why, sizeof(why)))
            FAIL("%s", why);
        json_object_set_new(out, "booking", booking_rules_json(&rules));
    }
    if ((v = json_object_get(body, "interlock")) || create) {
        struct interlock_policy il;
        if (interlock_policy_parse(v, &il, why, sizeof(why)))
            FAIL("%s", why);
        json_object_set_new(out, "interlock", interlock_policy_json(&il));
    }
    if ((v = json_object_get(body, "service_hours")) || create) {
        if (service_hours_parse(v, &hours, why, sizeof(why)))
            FAIL("%s", why);
        json_object_set_new(out, "service_hours", service_hours_json(&hours));
    }
    if ((v = json_object_get(body, "billing")) || create) {
        json_t *b = billing_normalise(v, why, sizeof(why));
        if (!b)
            FAIL("%s", why);
        json_object_set_new(out, "billing", b);
    }
#undef FAIL
    return out;
}

int route_instruments_list(struct http_req *req, struct http_resp *resp)
{
    int64_t limit, offset, from, to, total = 0, org = 0;
    const char *o = http_query(req, "org");
    json_t *items = NULL;
    int rc;

    if (http_list_args(req, resp, 100, 1000, &limit, &offset, &from, &to))
        return LS_OK;
    if (o && ls_parse_i64(o, 1, INT64_MAX, &org))
        return http_error(resp, LS_ERR_INVAL, "org must be an organisation id");
    /* Researchers see the public instruments and their own organisation's. */
    rc = store_instrument_list(req->st, org, 0, limit, offset, &items, &total);
    if (rc) {
        json_decref(items);
        return http_error(resp, rc, "cannot list instruments");
    }
    if (strcmp(req->who.role, "researcher") == 0) {
        size_t i;
        json_t *v, *keep = json_array();
        json_array_foreach(items, i, v)
        {
            if (json_is_true(json_object_get(v, "public")) ||
                json_integer_value(json_object_get(v, "org_id")) == req->who.org_id)
                json_array_append(keep, v);
        }
        json_decref(items);
        items = keep;
        total = (int64_t)json_array_size(items);
    }
    return http_list(req, resp, items, total, "instruments");
}

/* Load instrument param 0 into *out, answering 404 (or 403 for a non-public one a researcher
 * of another organisation asks for). */
static int load_instrument(struct http_req *req, struct http_resp *resp, json_t **out)
{
    int rc = store_instrument_get(req->st, req->params[0], out);

    if (rc) {
        http_error(resp, rc, "no instrument '%.64s'", req->params[0]);
        return rc;
    }
    if (strcmp(req->who.role, "researcher") == 0 &&
        !json_is_true(json_object_get(*out, "public")) &&
        json_integer_value(json_object_get(*out, "org_id")) != req->who.org_id) {
        json_decref(*out);
        *out = NULL;
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

    http_time_format(r->computed_at, computed, sizeof(computed));
    if (r->until_ms != INT64_MAX)
        http_time_format(r->until_ms, until, sizeof(until));
    if (r->actual_at)
        http_time_format(r->actual_at, at, sizeof(at));
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
        http_time_format(r->fault_since, since, sizeof(since));
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
    json_t *o = NULL;
    struct interlock_row row;

    if (load_instrument(req, resp, &o))
        return LS_OK;
    if (store_interlock_get(req->st, req->params[0], &row) == LS_OK)
        json_object_set_new(o, "interlock_state", interlock_state_json(&row));
    else
        json_object_set_new(o, "interlock_state", json_null());
    return http_json(resp, 200, o);
}

int route_instrument_create(struct http_req *req, struct http_resp *resp)
{
    json_t *body = NULL, *cols = NULL, *after = NULL, *org = NULL;
    char object[LS_ID_MAX + 16];
    int64_t org_id;
    int rc;

    if (http_body_json(req, resp, &body) || http_only_keys(resp, body, instrument_keys))
        goto out;
    cols = instrument_fields(resp, body, 1);
    if (!cols)
        goto out;
    org_id = json_integer_value(json_object_get(cols, "org_id"));
    if (json_object_get(cols, "joined_ms") && !http_is_admin(req)) {
        http_error(resp, LS_ERR_DENIED, "only an admin registers an instrument as joined earlier");
        goto out;
    }
    if (!http_manages(req, org_id)) {
        http_error(resp, LS_ERR_DENIED,
                   "admins, and managers for their own organisation, "
                   "register instruments");
        goto out;
    }
    if (store_org_get(req->st, org_id, &org)) {
        http_error(resp, LS_ERR_INVAL, "no organisation %lld", (long long)org_id);
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc = store_instrument_create(req->st, cols);
    if (rc == LS_OK)
        rc = store_instrument_get(req->st, json_string_value(json_object_get(cols, "id")), &after);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc,
                   rc == LS_ERR_CONFLICT ? "an instrument with that id exists"
                                         : "cannot save the instrument");
        goto out;
    }
    snprintf(object, sizeof(object), "instrument/%s",
             json_string_value(json_object_get(cols, "id")));
    http_commit_audited(req, resp, "instrument.create", object, NULL, after, 201);
out:
    json_decref(org);
    json_decref(cols);
    json_decref(body);
    return LS_OK;
}

/* JSON merge patch (RFC 7386) of patch into target, in place: objects merge key by key, at
 * every depth; null removes a key; anything else replaces. */
static void merge_patch(json_t *target, const json_t *patch)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)patch, key, v)
    {
        json_t *t = json_object_get(target, key);
        if (json_is_null(v)) {
            json_object_del(target, key);
        } else if (json_is_object(v) && json_is_object(t)) {
            merge_patch(t, v);
        } else if (json_is_object(v)) {
            json_t *fresh = json_object();
            merge_patch(fresh, v); /* drops the nulls inside */
            json_object_set_new(target, key, fresh);
        } else {
            json_object_set(target, key, v);
        }
    }
}

/* PATCH merges (SPEC 5): the nested objects of body (booking, billing with its rates,
 * service_hours) are merged into the instrument's current ones, so keys not given keep their
 * value and null removes one (its default then applies); the whole result is validated. */
static void merge_nested(json_t *body, const json_t *current)
{
    static const char *const nested[] = {"booking", "billing", "service_hours", "interlock"};

    for (size_t i = 0; i < sizeof(nested) / sizeof(nested[0]); i++) {
        json_t *patch = json_object_get(body, nested[i]);
        json_t *merged;
        if (!json_is_object(patch))
            continue; /* absent, or not an object: validation says what is wrong */
        merged = json_deep_copy(json_object_get(current, nested[i]));
        if (!json_is_object(merged)) {
            json_decref(merged);
            merged = json_object();
        }
        merge_patch(merged, patch);
        json_object_set_new(body, nested[i], merged);
    }
}

int route_instrument_update(struct http_req *req, struct http_resp *resp)
{
    json_t *body = NULL, *cols = NULL, *before = NULL, *after = NULL;
    char object[LS_ID_MAX + 16];
    int rc;

    if (http_body_json(req, resp, &body) || http_only_keys(resp, body, instrument_keys) ||
        load_instrument(req, resp, &before))
        goto out;
    merge_nested(body, before);
    cols = instrument_fields(resp, body, 0);
    if (!cols)
        goto out;
    if (!http_manages(req, json_integer_value(json_object_get(before, "org_id")))) {
        http_error(resp, LS_ERR_DENIED,
                   "only the owner's managers and admins change an "
                   "instrument");
        goto out;
    }
    if (json_object_get(cols, "org_id") && !http_is_admin(req) &&
        json_integer_value(json_object_get(cols, "org_id")) != req->who.org_id) {
        http_error(resp, LS_ERR_DENIED, "only an admin gives an instrument to another owner");
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc = store_instrument_update(req->st, req->params[0], cols);
    if (rc == LS_OK)
        rc = store_instrument_get(req->st, req->params[0], &after);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc, rc == LS_ERR_INVAL ? "no such organisation" : "cannot save");
        goto out;
    }
    snprintf(object, sizeof(object), "instrument/%s", req->params[0]);
    http_commit_audited(req, resp, "instrument.update", object, before, after, 200);
    before = NULL;
out:
    json_decref(before);
    json_decref(cols);
    json_decref(body);
    return LS_OK;
}

/* Availability: free intervals within service hours, minus bookings and outages. */
int route_availability(struct http_req *req, struct http_resp *resp)
{
    json_t *inst = NULL, *items = NULL;
    struct service_hours hours;
    struct interval *win = NULL, *busy = NULL, *free_iv = NULL;
    size_t nwin = 0, nbusy = 0, nfree = 0;
    int64_t limit, offset, from, to;
    char why[200], a[40], b[40];
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
    if (service_hours_parse(json_object_get(inst, "service_hours"), &hours, why, sizeof(why)) ||
        service_windows(&hours, from, to, &win, &nwin) ||
        store_busy(req->st, req->params[0], from, to, &busy, &nbusy) ||
        interval_subtract(win, nwin, busy, nbusy, &free_iv, &nfree)) {
        http_error(resp, LS_ERR_DB, "cannot compute availability");
        goto out;
    }
    items = json_array();
    for (size_t i = 0; items && i < nfree; i++) {
        http_time_format(free_iv[i].start_ms, a, sizeof(a));
        http_time_format(free_iv[i].end_ms, b, sizeof(b));
        json_array_append_new(items, json_pack("{s:s, s:s}", "start", a, "end", b));
    }
    http_time_format(from, a, sizeof(a));
    http_time_format(to, b, sizeof(b));
    rc = http_json(resp, 200,
                   json_pack("{s:s, s:s, s:s, s:o, s:I}", "instrument", req->params[0], "from", a,
                             "to", b, "items", items, "total", (json_int_t)nfree));
    (void)rc;
out:
    free(win);
    free(busy);
    free(free_iv);
    json_decref(inst);
    return LS_OK;
}

int route_outages_list(struct http_req *req, struct http_resp *resp)
{
    json_t *inst = NULL, *items = NULL;
    int64_t limit, offset, from, to, total = 0;

    if (load_instrument(req, resp, &inst))
        return LS_OK;
    json_decref(inst);
    if (http_list_args(req, resp, 1000, 10000, &limit, &offset, &from, &to))
        return LS_OK;
    if (store_outage_list(req->st, req->params[0], from, to, &items, &total)) {
        json_decref(items);
        return http_error(resp, LS_ERR_DB, "cannot list outages");
    }
    return http_list(req, resp, items, total, "outages");
}

/* An outage's fields from body: on create every one is required; on a change (cur, the
 * outage as it is) those not given keep their value. LS_ERR_INVAL with a 400 in resp. */
static int outage_fields(struct http_resp *resp, const json_t *body, const json_t *cur,
                         int64_t *start, int64_t *end, const char **kind, const char **note)
{
    const json_t *src;
    const char *s;

    src = json_object_get(body, "start") ? body : cur;
    s = json_string_value(json_object_get(src, "start"));
    if (!s || http_time_parse(s, start))
        goto bad;
    src = json_object_get(body, "end") ? body : cur;
    s = json_string_value(json_object_get(src, "end"));
    if (!s || http_time_parse(s, end) || *end <= *start)
        goto bad;
    src = json_object_get(body, "kind") ? body : cur;
    *kind = json_string_value(json_object_get(src, "kind"));
    if (!*kind || (strcmp(*kind, "maintenance") && strcmp(*kind, "breakdown")))
        goto bad;
    src = json_object_get(body, "note") ? body : cur;
    *note = json_object_get(src, "note") ? json_string_value(json_object_get(src, "note")) : "";
    if (!*note || strlen(*note) > 500)
        goto bad;
    return LS_OK;
bad:
    http_error(resp, LS_ERR_INVAL,
               "start and end (RFC 3339, start before end), kind "
               "(maintenance or breakdown) and an optional note (at most "
               "500 characters) are required");
    return LS_ERR_INVAL;
}

/* Cancel (audited) the bookings the outage [start, end) covers; their ids into *ids. */
static int cancel_covered(struct http_req *req, int64_t start, int64_t end, json_t **ids)
{
    int64_t *cancelled = NULL;
    size_t n = 0;
    int rc = store_outage_cancel_bookings(req->st, req->params[0], start, end, &cancelled, &n);

    *ids = json_array();
    for (size_t i = 0; rc == LS_OK && i < n; i++) {
        char bo[40];
        json_t *bj = NULL;
        snprintf(bo, sizeof(bo), "booking/%lld", (long long)cancelled[i]);
        rc = store_booking_json(req->st, cancelled[i], &bj);
        if (rc == LS_OK)
            rc = http_audit(req, "booking.cancel_by_outage", bo, NULL, bj);
        json_decref(bj);
        json_array_append_new(*ids, json_integer(cancelled[i]));
    }
    free(cancelled);
    return rc;
}

/* The instrument of the path, if the caller manages it: *inst, or an error in resp. */
static int managed_instrument(struct http_req *req, struct http_resp *resp, json_t **inst)
{
    if (load_instrument(req, resp, inst))
        return LS_ERR_NOTFOUND;
    if (!http_manages(req, json_integer_value(json_object_get(*inst, "org_id")))) {
        json_decref(*inst);
        *inst = NULL;
        http_error(resp, LS_ERR_DENIED, "only the owner's managers and admins record outages");
        return LS_ERR_DENIED;
    }
    return LS_OK;
}

int route_outage_create(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"start", "end", "kind", "note", NULL};
    json_t *body = NULL, *inst = NULL, *after = NULL, *ids = NULL;
    const char *kind, *note;
    int64_t start, end, id;
    char object[40];
    int rc;

    if (managed_instrument(req, resp, &inst))
        return LS_OK;
    if (http_body_json(req, resp, &body) || http_only_keys(resp, body, keys) ||
        outage_fields(resp, body, NULL, &start, &end, &kind, &note))
        goto out;
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc =
        store_outage_insert(req->st, req->params[0], start, end, kind, note, req->who.user_id, &id);
    if (rc == LS_OK)
        rc = cancel_covered(req, start, end, &ids);
    if (rc == LS_OK)
        rc = store_outage_json(req->st, id, &after);
    if (rc == LS_OK) {
        snprintf(object, sizeof(object), "outage/%lld", (long long)id);
        rc = http_audit(req, "outage.create", object, NULL, after);
        json_object_set(after, "cancelled_bookings", ids);
    }
    if (rc == LS_OK)
        rc = store_commit(req->st);
    if (rc) {
        store_rollback(req->st);
        json_decref(after);
        http_error(resp, rc, "cannot record the outage");
        goto out;
    }
    http_created(resp, after);
out:
    json_decref(ids);
    json_decref(body);
    json_decref(inst);
    return LS_OK;
}

/* The outage of path parameter 1, of the instrument of parameter 0: *o, or a 404. */
static int path_outage(struct http_req *req, struct http_resp *resp, int64_t *id, json_t **o)
{
    if (route_id_param(req, resp, 1, id))
        return LS_ERR_NOTFOUND;
    if (store_outage_json(req->st, *id, o) != LS_OK ||
        strcmp(json_string_value(json_object_get(*o, "instrument")), req->params[0]) != 0) {
        json_decref(*o);
        *o = NULL;
        http_error(resp, LS_ERR_NOTFOUND, "no outage %lld of '%.64s'", (long long)*id,
                   req->params[0]);
        return LS_ERR_NOTFOUND;
    }
    return LS_OK;
}

int route_outage_update(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"start", "end", "kind", "note", NULL};
    json_t *body = NULL, *inst = NULL, *before = NULL, *after = NULL, *ids = NULL;
    const char *kind, *note;
    int64_t start, end, id;
    char object[40];
    int rc;

    if (managed_instrument(req, resp, &inst))
        return LS_OK;
    if (path_outage(req, resp, &id, &before) || http_body_json(req, resp, &body) ||
        http_only_keys(resp, body, keys) ||
        outage_fields(resp, body, before, &start, &end, &kind, &note))
        goto out;
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    /* what it had cancelled stays cancelled; what it now covers is cancelled too */
    rc = store_outage_update(req->st, id, start, end, kind, note);
    if (rc == LS_OK)
        rc = cancel_covered(req, start, end, &ids);
    if (rc == LS_OK)
        rc = store_outage_json(req->st, id, &after);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc, "cannot change the outage");
        goto out;
    }
    json_object_set(after, "cancelled_bookings", ids);
    snprintf(object, sizeof(object), "outage/%lld", (long long)id);
    http_commit_audited(req, resp, "outage.update", object, before, after, 200);
    before = NULL;
out:
    json_decref(ids);
    json_decref(before);
    json_decref(body);
    json_decref(inst);
    return LS_OK;
}

int route_outage_delete(struct http_req *req, struct http_resp *resp)
{
    json_t *inst = NULL, *before = NULL;
    char object[40];
    int64_t id;
    int rc;

    if (managed_instrument(req, resp, &inst))
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
    json_decref(inst);
    return LS_OK;
}
