/* routes_auth.c - login, logout, bearer tokens and the caller's own account. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "../auth.h"
#include "../records.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

int route_id_param(struct http_req *req, struct http_resp *resp, int i, int64_t *id)
{
    if (!req->params[i] || ls_parse_i64(req->params[i], 1, INT64_MAX, id)) {
        http_error(resp, LS_ERR_NOTFOUND, "no such object");
        return LS_ERR_NOTFOUND;
    }
    return LS_OK;
}

int route_login(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"username", "password", NULL};
    char hash[AUTH_HASH_LEN], cookie[AUTH_TOKEN_LEN], csrf[AUTH_TOKEN_LEN];
    struct principal p;
    const char *user, *pass;
    json_t *body = NULL;
    int64_t now = ls_now_ms();
    int rc, wait, failures;
    struct audit_actor who = {"user", "", 0, NULL};
    char object[40];
    json_t *after;

    if (http_body_json(req, resp, &body) || http_only_keys(resp, body, keys))
        goto out;
    user = json_string_value(json_object_get(body, "username"));
    pass = json_string_value(json_object_get(body, "password"));
    if (!user || !pass || strlen(user) > 64 || strlen(pass) > AUTH_PASSWORD_MAX) {
        http_error(resp, LS_ERR_INVAL, "username and password are required strings");
        goto out;
    }
    wait = auth_login_wait(user, req->addr, now);
    if (wait) {
        resp->retry_after = wait;
        http_error(resp, LS_ERR_LIMIT, "too many failed logins; try again in %d seconds", wait);
        goto out;
    }
    rc = store_user_login(req->st, user, &p, hash, sizeof(hash));
    if (rc == LS_ERR_DB) {
        http_error(resp, rc, "cannot check the login");
        goto out;
    }
    /* An unknown user is checked against a dummy hash: the answer takes as long. */
    if (rc ? auth_password_verify_dummy(pass) : auth_password_verify(hash, pass)) {
        auth_login_failed(user, req->addr, now);
        http_error(resp, LS_ERR_AUTH, "wrong username or password");
        goto out;
    }
    failures = auth_login_succeeded(user);
    store_tokens_purge(req->st, now, NULL); /* expired sessions and tokens go */
    /* the session and the login's audit record (with the failures before it) together */
    who.user = p.user_id;
    who.name = p.username;
    snprintf(who.id, sizeof(who.id), "%lld", (long long)p.user_id);
    snprintf(object, sizeof(object), "user/%lld", (long long)p.user_id);
    after = json_pack("{s:s, s:i}", "address", req->addr, "failures_before", failures);
    if (store_begin(req->st) || auth_session_new(req->st, p.user_id, cookie, csrf) ||
        store_audit_append(req->st, now, &who, "login", object, NULL, after) ||
        store_commit(req->st)) {
        store_rollback(req->st);
        json_decref(after);
        http_error(resp, LS_ERR_DB, "cannot open a session");
        goto out;
    }
    json_decref(after);
    snprintf(resp->set_cookie, sizeof(resp->set_cookie),
             "ls_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d", cookie,
             AUTH_SESSION_S);
    /* The CSRF token again, readable by this origin's scripts only (SameSite=Strict): the web
     * UI sends it back as X-CSRF-Token after a reload without keeping it in storage. A page of
     * another origin can neither read it nor make the browser add the header. */
    snprintf(resp->set_cookie2, sizeof(resp->set_cookie2),
             "ls_csrf=%s; Path=/; SameSite=Strict; Max-Age=%d", csrf, AUTH_SESSION_S);
    http_json(resp, 200,
              json_pack("{s:s, s:I, s:s, s:s}", "csrf_token", csrf, "user_id",
                        (json_int_t)p.user_id, "username", p.username, "role", p.role));
out:
    json_decref(body);
    return LS_OK;
}

/* Logout ends the credential it was called with: the session of the cookie, or the bearer
 * token (which stops working at once). */
int route_logout(struct http_req *req, struct http_resp *resp)
{
    if (store_token_delete(req->st, req->who.cred_hash))
        return http_error(resp, LS_ERR_DB, "cannot end the session");
    if (req->who.session) {
        snprintf(resp->set_cookie, sizeof(resp->set_cookie),
                 "ls_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        snprintf(resp->set_cookie2, sizeof(resp->set_cookie2),
                 "ls_csrf=; Path=/; SameSite=Strict; Max-Age=0");
    }
    return http_json(resp, 200,
                     json_pack("{s:b, s:s}", "logged_out", 1, "revoked",
                               req->who.session ? "session" : "token"));
}

/* POST /tokens {"expires_days"?}: a new API token, shown once; it expires after the platform's
 * [auth] token_days unless the body asks for another lifetime (1 to 3650 days). Audited. */
int route_token_new(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"expires_days", NULL};
    char token[AUTH_TOKEN_LEN], object[48], until[40];
    json_t *body = NULL, *v;
    int64_t days = req->cfg->token_days, now = ls_now_ms(), expires, id = 0;

    if (req->body.len && (http_body_json(req, resp, &body) || http_only_keys(resp, body, keys)))
        goto out;
    if ((v = json_object_get(body, "expires_days"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3650) {
            http_error(resp, LS_ERR_INVAL, "expires_days: a whole number of days from 1 to 3650");
            goto out;
        }
        days = json_integer_value(v);
    }
    expires = now + days * 86400 * 1000;
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    if (auth_token_issue(req->st, req->who.user_id, "api", expires, token, &id)) {
        store_rollback(req->st);
        http_error(resp, LS_ERR_DB, "cannot issue a token");
        goto out;
    }
    ls_time_format(expires, until, sizeof(until));
    snprintf(object, sizeof(object), "token/%lld", (long long)id);
    http_commit_audited_reply(
        req, resp, "token.create", object, NULL,
        json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "kind", "api", "expires", until),
        json_pack("{s:s}", "token", token), 201);
    sodium_memzero(token, sizeof(token));
out:
    json_decref(body);
    return LS_OK;
}

int route_me(struct http_req *req, struct http_resp *resp)
{
    json_t *me = NULL;
    int rc = route_user_json(req->st, req->who.user_id, &me);

    if (rc)
        return http_error(resp, rc, "cannot read your account");
    json_object_set_new(me, "org_type", json_string(req->who.org_type));
    return http_json(resp, 200, me);
}

/* GET /tokens, GET /feeds: one's own, without their secrets. */
static int list_secrets(struct http_req *req, struct http_resp *resp, int feeds)
{
    struct secret_row *rows = NULL;
    json_t *items = NULL;
    size_t n = 0;
    int rc = store_secrets_list(req->st, feeds, req->who.user_id, &rows, &n);

    if (rc == LS_OK && !(items = secret_rows_json(rows, n, feeds)))
        rc = LS_ERR_NOMEM;
    free(rows);
    if (rc)
        return http_error(resp, rc, "cannot list them");
    return http_list(req, resp, items, (int64_t)json_array_size(items), NULL);
}

/* DELETE /tokens/{id}, /feeds/{id}: revoke one's own (audited). */
static int revoke(struct http_req *req, struct http_resp *resp, int feeds)
{
    char object[48];
    int64_t id;
    int rc;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    if (store_begin(req->st))
        return http_error(resp, LS_ERR_DB, "database busy");
    rc = store_secret_delete(req->st, feeds, req->who.user_id, id);
    if (rc) {
        store_rollback(req->st);
        return http_error(resp, rc,
                          rc == LS_ERR_NOTFOUND ? "no %s %lld of yours" : "cannot revoke %s %lld",
                          feeds ? "feed" : "token", (long long)id);
    }
    snprintf(object, sizeof(object), "%s/%lld", feeds ? "feed" : "token", (long long)id);
    return http_commit_audited(req, resp, feeds ? "feed.revoke" : "token.revoke", object, NULL,
                               json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1), 200);
}

int route_tokens_list(struct http_req *req, struct http_resp *resp)
{
    return list_secrets(req, resp, 0);
}

int route_token_delete(struct http_req *req, struct http_resp *resp)
{
    return revoke(req, resp, 0);
}

int route_feeds_list(struct http_req *req, struct http_resp *resp)
{
    return list_secrets(req, resp, 1);
}

int route_feed_delete(struct http_req *req, struct http_resp *resp)
{
    return revoke(req, resp, 1);
}
