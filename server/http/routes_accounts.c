/* routes_accounts.c - organisations and users. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../auth.h"
#include "../records.h"
#include "../requests.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

int route_user_json(struct store *st, int64_t id, json_t **out)
{
    struct user u;
    int rc = store_user_get(st, id, &u);

    *out = NULL;
    if (rc)
        return rc;
    *out = user_json(&u);
    return *out ? LS_OK : LS_ERR_NOMEM;
}

/* --- Organisations ---------------------------------------------------------------------- */

int route_orgs_list(struct http_req *req, struct http_resp *resp)
{
    int64_t limit, offset, from, to, total = 0;
    struct org *v = NULL;
    json_t *items;
    size_t n = 0;
    int rc;

    if (http_list_args(req, resp, 100, 1000, &limit, &offset, &from, &to))
        return LS_OK;
    rc = store_org_list(req->st, limit, offset, &v, &n, &total);
    if (rc)
        return http_error(resp, rc, "cannot list organisations");
    items = json_array();
    for (size_t i = 0; items && i < n; i++)
        if (json_array_append_new(items, org_json(&v[i]))) {
            json_decref(items);
            items = NULL;
        }
    free(v);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "cannot list organisations");
    return http_list(req, resp, items, total, "orgs");
}

int route_org_get(struct http_req *req, struct http_resp *resp)
{
    struct org o;
    int64_t id;
    int rc;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    rc = store_org_get(req->st, id, &o);
    if (rc)
        return http_error(resp, rc, "no organisation %lld", (long long)id);
    return http_json(resp, 200, org_json(&o));
}

static int org_write(struct http_req *req, struct http_resp *resp, int64_t id)
{
    json_t *body = NULL, *before = NULL, *after = NULL;
    const char *name, *type;
    char object[40], why[200];
    struct org o;
    int rc;

    if (!http_is_admin(req))
        return http_error(resp, LS_ERR_DENIED, "only an admin manages organisations");
    if (http_body_json(req, resp, &body))
        goto out;
    if (req_org(body, !id, &name, &type, why, sizeof(why))) {
        http_error(resp, LS_ERR_INVAL, "%s", why);
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    if (id) {
        rc = store_org_get(req->st, id, &o);
        if (rc == LS_OK && !(before = org_json(&o)))
            rc = LS_ERR_NOMEM;
        if (rc == LS_OK)
            rc = store_org_update(req->st, id, name, type);
    } else {
        rc = store_org_create(req->st, name, type, &id);
    }
    if (rc == LS_OK)
        rc = store_org_get(req->st, id, &o);
    if (rc == LS_OK && !(after = org_json(&o)))
        rc = LS_ERR_NOMEM;
    if (rc) {
        store_rollback(req->st);
        json_decref(before);
        http_error(resp, rc,
                   rc == LS_ERR_CONFLICT   ? "an organisation with that name exists"
                   : rc == LS_ERR_NOTFOUND ? "no such organisation"
                                           : "cannot save the organisation");
        goto out;
    }
    snprintf(object, sizeof(object), "org/%lld", (long long)id);
    http_commit_audited(req, resp, before ? "org.update" : "org.create", object, before, after,
                        before ? 200 : 201);
out:
    json_decref(body);
    return LS_OK;
}

int route_org_create(struct http_req *req, struct http_resp *resp)
{
    return org_write(req, resp, 0);
}

int route_org_update(struct http_req *req, struct http_resp *resp)
{
    int64_t id;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    return org_write(req, resp, id);
}

/* --- Users -------------------------------------------------------------------------------- */

/* May the caller read user u (its org in org_id)? */
static int may_read_user(struct http_req *req, int64_t uid, int64_t org_id)
{
    return http_is_admin(req) || http_is_auditor(req) || req->who.user_id == uid ||
           http_manages(req, org_id);
}

int route_users_list(struct http_req *req, struct http_resp *resp)
{
    int64_t limit, offset, from, to, total = 0, org = 0;
    const char *o = http_query(req, "org");
    struct user *users = NULL;
    json_t *items = NULL;
    size_t n = 0;
    int rc;

    if (http_list_args(req, resp, 100, 1000, &limit, &offset, &from, &to))
        return LS_OK;
    if (o && ls_parse_i64(o, 1, INT64_MAX, &org))
        return http_error(resp, LS_ERR_INVAL, "org must be an organisation id");
    if (!http_is_admin(req) && !http_is_auditor(req)) {
        if (strcmp(req->who.role, "manager") != 0) {
            /* a researcher sees only themself */
            json_t *me = NULL;
            rc = route_user_json(req->st, req->who.user_id, &me);
            if (rc)
                return http_error(resp, rc, "cannot read your account");
            return http_list(req, resp, json_pack("[o]", me), 1, NULL);
        }
        if (org && org != req->who.org_id)
            return http_error(resp, LS_ERR_DENIED, "managers list their own organisation's users");
        org = req->who.org_id;
    }
    rc = store_user_list(req->st, org, limit, offset, &users, &n, &total);
    if (rc)
        return http_error(resp, rc, "cannot list users");
    items = json_array();
    for (size_t i = 0; items && i < n; i++)
        if (json_array_append_new(items, user_json(&users[i]))) {
            json_decref(items);
            items = NULL;
        }
    free(users);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "cannot list users");
    return http_list(req, resp, items, total, "users");
}

int route_user_get(struct http_req *req, struct http_resp *resp)
{
    int64_t id;
    json_t *u = NULL;
    int rc;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    rc = route_user_json(req->st, id, &u);
    if (rc)
        return http_error(resp, rc, "no user %lld", (long long)id);
    if (!may_read_user(req, id, json_integer_value(json_object_get(u, "org_id")))) {
        json_decref(u);
        /* as for an unknown id: ids do not leak */
        return http_error(resp, LS_ERR_NOTFOUND, "no user %lld", (long long)id);
    }
    return http_json(resp, 200, u);
}

/* Decode a user's body into u, hashing its password into hash. A 400 (or 500) in resp. */
static int user_request(struct http_resp *resp, const json_t *body, int create,
                        struct user_request *u, char hash[AUTH_HASH_LEN])
{
    char why[200];

    if (req_user(body, create, u, why, sizeof(why)))
        return http_error(resp, LS_ERR_INVAL, "%s", why), LS_ERR_INVAL;
    if (u->password) {
        if (auth_password_hash(u->password, hash))
            return http_error(resp, LS_ERR_NOMEM, "cannot hash the password"), LS_ERR_NOMEM;
        u->f.password_hash = hash;
    }
    return LS_OK;
}

int route_user_create(struct http_req *req, struct http_resp *resp)
{
    struct user_request u;
    struct user_fields *f = &u.f;
    char hash[AUTH_HASH_LEN], object[40];
    json_t *body = NULL, *after = NULL;
    struct org org;
    int64_t id = 0;
    int rc;

    if (!http_is_admin(req) && strcmp(req->who.role, "manager") != 0)
        return http_error(resp, LS_ERR_DENIED, "only admins and managers create users");
    if (http_body_json(req, resp, &body) || user_request(resp, body, 1, &u, hash))
        goto out;
    if (!http_is_admin(req) && (f->org_id != req->who.org_id || strcmp(f->role, "researcher"))) {
        http_error(resp, LS_ERR_DENIED, "managers create researchers of their own organisation");
        goto out;
    }
    if (store_org_get(req->st, f->org_id, &org)) {
        http_error(resp, LS_ERR_INVAL, "no organisation %lld", (long long)f->org_id);
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc = store_user_create(req->st, f, &id);
    if (rc == LS_OK)
        rc = route_user_json(req->st, id, &after);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc,
                   rc == LS_ERR_CONFLICT ? "that username or badge is taken" : "cannot save");
        goto out;
    }
    snprintf(object, sizeof(object), "user/%lld", (long long)id);
    http_commit_audited(req, resp, "user.create", object, NULL, after, 201);
out:
    json_decref(body);
    return LS_OK;
}

int route_user_update(struct http_req *req, struct http_resp *resp)
{
    struct user_request u;
    struct user_fields *f = &u.f;
    char hash[AUTH_HASH_LEN], object[40];
    json_t *body = NULL, *before = NULL, *after = NULL, *extra = NULL;
    int64_t id, org, ended = 0, revoked = 0, left = 0;
    int rc, self;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    if (http_body_json(req, resp, &body) || user_request(resp, body, 0, &u, hash))
        goto out;
    rc = route_user_json(req->st, id, &before);
    if (rc) {
        http_error(resp, rc, "no user %lld", (long long)id);
        goto out;
    }
    org = json_integer_value(json_object_get(before, "org_id"));
    self = req->who.user_id == id;
    if (!http_is_admin(req)) {
        int manager = http_manages(req, org) &&
                      strcmp(json_string_value(json_object_get(before, "role")), "researcher") == 0;
        if (!manager && !self) {
            http_error(resp, LS_ERR_DENIED, "you may not change this user");
            goto out;
        }
        if (f->role || f->org_id != -1 || f->username || (!manager && f->badge != -2)) {
            http_error(resp, LS_ERR_DENIED,
                       "only an admin changes a user's name, role or "
                       "organisation%s",
                       manager ? "" : " (or a manager the badge)");
            goto out;
        }
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc = store_user_update(req->st, id, f);
    /* a new password ends the user's other sessions (the caller's own stays), and on request
     * the API tokens too: whoever knew the old one is out */
    if (rc == LS_OK && f->password_hash)
        rc = store_user_end_sessions(req->st, id, self ? req->who.cred_hash : NULL, u.revoke_tokens,
                                     &ended, &revoked, &left);
    if (rc == LS_OK)
        rc = route_user_json(req->st, id, &after);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc,
                   rc == LS_ERR_CONFLICT ? "that username or badge is taken"
                   : rc == LS_ERR_INVAL  ? "no such organisation"
                                         : "cannot save");
        goto out;
    }
    snprintf(object, sizeof(object), "user/%lld", (long long)id);
    if (f->password_hash) {
        json_object_set_new(after, "password_changed", json_true());
        json_object_set_new(after, "sessions_ended", json_integer(ended));
        json_object_set_new(after, "tokens_revoked", json_integer(revoked));
        if (left)
            extra = json_pack("{s:I, s:s}", "tokens_kept", (json_int_t)left, "hint",
                              "API tokens still work; send revoke_tokens: true with the password"
                              " to end them too, or DELETE /tokens/{id}");
    }
    http_commit_audited_reply(req, resp, "user.update", object, before, after, extra, 200);
    before = NULL;
out:
    json_decref(before);
    json_decref(body);
    return LS_OK;
}
