/* routes_qualifications.c - who may operate an instrument themselves (上机培训): a manager of the
 * owner (or an admin) records a user's qualification with its date and an optional expiry, and
 * withdraws it; managers, auditors and admins read them all, a user their own. Audited. */
#include "routes.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../auth.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

static json_t *qualification_json(const struct qualification *q)
{
    char since[40], until[40];

    ls_time_format(q->since_ms, since, sizeof(since));
    if (q->expires_ms != INT64_MAX)
        ls_time_format(q->expires_ms, until, sizeof(until));
    return json_pack("{s:s, s:I, s:s, s:I, s:o}", "instrument", q->instrument, "user_id",
                     (json_int_t)q->user_id, "since", since, "by", (json_int_t)q->by_user,
                     "expires", q->expires_ms == INT64_MAX ? json_null() : json_string(until));
}

/* The instrument of the path, readable by the caller; *owner its organisation. */
static int path_instrument(struct http_req *req, struct http_resp *resp, int64_t *owner)
{
    struct instrument inst;
    int rc = store_instrument_get(req->st, req->params[0], &inst);

    if (rc) {
        http_error(resp, rc, "no instrument '%.64s'", req->params[0]);
        return rc;
    }
    *owner = inst.org_id;
    instrument_clear(&inst);
    return LS_OK;
}

int route_qualifications_list(struct http_req *req, struct http_resp *resp)
{
    struct qualification *v = NULL;
    size_t n = 0;
    int64_t owner, only = 0;
    json_t *items;

    if (path_instrument(req, resp, &owner))
        return LS_OK;
    /* a user sees their own; those who manage, audit or administer see everyone's */
    if (!http_manages(req, owner) && !http_is_auditor(req))
        only = req->who.user_id;
    if (store_qualifications_list(req->st, req->params[0], only, &v, &n))
        return http_error(resp, LS_ERR_DB, "cannot list the qualifications");
    items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, qualification_json(&v[i]));
    free(v);
    if (!items)
        return LS_ERR_NOMEM;
    return http_list(req, resp, items, (int64_t)json_array_size(items), "qualifications");
}

static int time_field(struct http_resp *resp, const json_t *body, const char *key, int64_t def,
                      int64_t *out)
{
    const json_t *v = json_object_get(body, key);

    *out = def;
    if (!v || json_is_null(v))
        return LS_OK;
    if (!json_is_string(v) || ls_time_parse(json_string_value(v), out)) {
        http_error(resp, LS_ERR_INVAL, "%s must be an RFC 3339 time or a YYYY-MM-DD date", key);
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

int route_qualification_grant(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"user_id", "since", "expires", NULL};
    struct qualification q;
    struct principal who;
    json_t *body = NULL, *before = NULL, *after;
    struct qualification old;
    char object[LS_ID_MAX + 32];
    int64_t owner;
    int rc;

    memset(&q, 0, sizeof(q));
    if (path_instrument(req, resp, &owner))
        return LS_OK;
    if (!http_manages(req, owner))
        return http_error(resp, LS_ERR_DENIED,
                          "only the owner's managers and admins record qualifications");
    if (http_body_json(req, resp, &body) || http_only_keys(resp, body, keys))
        goto out;
    if (!json_is_integer(json_object_get(body, "user_id")) ||
        store_user_principal(req->st, json_integer_value(json_object_get(body, "user_id")), &who)) {
        http_error(resp, LS_ERR_INVAL, "user_id must name a user");
        goto out;
    }
    snprintf(q.instrument, sizeof(q.instrument), "%s", req->params[0]);
    q.user_id = json_integer_value(json_object_get(body, "user_id"));
    q.by_user = req->who.user_id;
    if (time_field(resp, body, "since", ls_now_ms(), &q.since_ms) ||
        time_field(resp, body, "expires", INT64_MAX, &q.expires_ms))
        goto out;
    if (q.expires_ms <= q.since_ms) {
        http_error(resp, LS_ERR_INVAL, "expires must be after since");
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    if (store_qualification_get(req->st, q.instrument, q.user_id, &old) == LS_OK)
        before = qualification_json(&old);
    rc = store_qualification_put(req->st, &q);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc, "cannot record the qualification");
        goto out;
    }
    after = qualification_json(&q);
    snprintf(object, sizeof(object), "qualification/%s/%lld", q.instrument, (long long)q.user_id);
    http_commit_audited(req, resp, "qualification.grant", object, before, after, 201);
    before = NULL;
out:
    json_decref(before);
    json_decref(body);
    return LS_OK;
}

int route_qualification_revoke(struct http_req *req, struct http_resp *resp)
{
    struct qualification old;
    char object[LS_ID_MAX + 32];
    int64_t owner, user;
    int rc;

    if (path_instrument(req, resp, &owner))
        return LS_OK;
    if (!http_manages(req, owner))
        return http_error(resp, LS_ERR_DENIED,
                          "only the owner's managers and admins withdraw qualifications");
    if (route_id_param(req, resp, 1, &user))
        return LS_OK;
    if (store_begin(req->st))
        return http_error(resp, LS_ERR_DB, "database busy");
    rc = store_qualification_get(req->st, req->params[0], user, &old);
    if (rc == LS_OK)
        rc = store_qualification_delete(req->st, req->params[0], user);
    if (rc) {
        store_rollback(req->st);
        return http_error(resp, rc,
                          rc == LS_ERR_NOTFOUND ? "user %lld is not qualified on it"
                                                : "cannot withdraw the qualification",
                          (long long)user);
    }
    snprintf(object, sizeof(object), "qualification/%s/%lld", req->params[0], (long long)user);
    return http_commit_audited(req, resp, "qualification.revoke", object, qualification_json(&old),
                               json_pack("{s:s, s:I, s:b}", "instrument", req->params[0], "user_id",
                                         (json_int_t)user, "revoked", 1),
                               200);
}
