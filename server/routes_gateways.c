/*
 * routes_gateways.c - gateways (SPEC 3.3, 5): registered by an admin or by a manager for their
 * own organisation, each with its own MQTT account on the broker, issued here and shown once;
 * rotated, disabled and enabled again while the broker runs.
 *
 * The broker is asked first and the database written only when it has confirmed, so the API
 * never shows credentials the broker does not know; a lock-out is written to the database
 * first (ingest refuses the gateway's readings at once) and then sent to the broker, which the
 * server repeats whenever it reconnects.
 */
#include "routes.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* 24 random bytes: 192 bits, as URL-safe base64 (32 characters). */
#define GW_PASSWORD_BYTES 24
#define GW_PASSWORD_LEN 40

static void new_password(char out[GW_PASSWORD_LEN])
{
    unsigned char raw[GW_PASSWORD_BYTES];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, GW_PASSWORD_LEN, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

/* The gateway of path parameter 0 if the caller may see it (admins and auditors all, managers
 * their organisation's): *out, or a 404 in resp and LS_ERR_NOTFOUND. */
static int visible_gateway(struct http_req *req, struct http_resp *resp, json_t **out)
{
    const char *id = req->params[0];
    json_t *g = NULL;
    int rc = ls_id_valid(id) ? store_gateway_get(req->st, id, &g) : LS_ERR_NOTFOUND;

    if (rc == LS_OK && !http_is_admin(req) && !http_is_auditor(req) &&
        !http_manages(req, json_integer_value(json_object_get(g, "org_id"))))
        rc = LS_ERR_NOTFOUND;
    if (rc) {
        json_decref(g);
        http_error(resp, rc, rc == LS_ERR_NOTFOUND ? "no gateway '%s'" : "cannot read gateway '%s'",
                   id);
        return rc;
    }
    *out = g;
    return LS_OK;
}

/* May the caller change gateway g (admin, or a manager of its organisation)? A 403 otherwise. */
static int may_change(struct http_req *req, struct http_resp *resp, const json_t *g)
{
    if (http_is_admin(req) || (strcmp(req->who.role, "manager") == 0 &&
                               http_manages(req, json_integer_value(json_object_get(g, "org_id")))))
        return LS_OK;
    http_error(resp, LS_ERR_DENIED,
               "only an admin or a manager of its organisation changes a "
               "gateway");
    return LS_ERR_DENIED;
}

int route_gateways_list(struct http_req *req, struct http_resp *resp)
{
    json_t *items = NULL;
    int64_t total = 0, org = 0;

    if (strcmp(req->who.role, "researcher") == 0)
        return http_error(resp, LS_ERR_DENIED, "gateways are for managers, auditors and admins");
    if (!http_is_admin(req) && !http_is_auditor(req))
        org = req->who.org_id > 0 ? req->who.org_id : -1;
    if (org < 0)
        return http_list(req, resp, json_array(), 0, "gateways");
    if (store_gateway_list(req->st, org, &items, &total)) {
        json_decref(items);
        return http_error(resp, LS_ERR_DB, "cannot list gateways");
    }
    return http_list(req, resp, items, total, "gateways");
}

int route_gateway_get(struct http_req *req, struct http_resp *resp)
{
    json_t *g = NULL;

    if (strcmp(req->who.role, "researcher") == 0)
        return http_error(resp, LS_ERR_NOTFOUND, "no gateway '%s'", req->params[0]);
    if (visible_gateway(req, resp, &g))
        return LS_OK;
    return http_json(resp, 200, g);
}

/* Commit the audit record of a change to gateway id (before released, after stolen) and answer
 * after, with the credentials when password is given (never audited, never stored). */
static int commit(struct http_req *req, struct http_resp *resp, const char *action, const char *id,
                  json_t *before, json_t *after, const char *password, unsigned status)
{
    char object[LS_ID_MAX + 16], user[BROKER_USER_MAX];

    snprintf(object, sizeof(object), "gateway/%s", id);
    broker_gateway_user(id, user);
    return http_commit_audited_reply(
        req, resp, action, object, before, after,
        password ? json_pack("{s:s, s:s, s:s}", "username", user, "password", password, "note",
                             "the password is shown only now: put it in the gateway's [uplink] "
                             "section")
                 : NULL,
        status);
}

/* The gateway of the path, if the caller may change it: *before, or the error in resp and
 * non-zero. */
static int changeable_gateway(struct http_req *req, struct http_resp *resp, json_t **before)
{
    if (strcmp(req->who.role, "researcher") == 0) {
        http_error(resp, LS_ERR_NOTFOUND, "no gateway '%s'", req->params[0]);
        return LS_ERR_NOTFOUND;
    }
    if (visible_gateway(req, resp, before))
        return LS_ERR_NOTFOUND;
    if (may_change(req, resp, *before)) {
        json_decref(*before);
        *before = NULL;
        return LS_ERR_DENIED;
    }
    return LS_OK;
}

static int broker_failed(struct http_resp *resp, int rc, const char *what)
{
    return http_error(resp, LS_ERR_FULL,
                      "the MQTT broker did not confirm %s (%s); nothing was changed", what,
                      rc == LS_ERR_PROTO ? "it refused: see the server log"
                                         : "no answer: is it running, configured by "
                                           "broker-config?");
}

int route_gateway_create(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"id", "name", "org_id", NULL};
    json_t *body = NULL, *after = NULL, *v;
    const char *id, *name;
    int64_t org = 0;
    char password[GW_PASSWORD_LEN];
    int rc;

    if (!http_is_admin(req) && strcmp(req->who.role, "manager") != 0)
        return http_error(resp, LS_ERR_DENIED, "only an admin or a manager registers gateways");
    if (http_body_json(req, resp, &body) || http_only_keys(resp, body, keys))
        goto out;
    id = json_string_value(json_object_get(body, "id"));
    v = json_object_get(body, "name");
    name = v ? json_string_value(v) : id;
    if (!id || !ls_id_valid(id) || strlen(id) < 3) {
        http_error(resp, LS_ERR_INVAL, "id is required: 3-63 letters, digits, '.', '_' or '-'");
        goto out;
    }
    if (!name || strlen(name) > 200) {
        http_error(resp, LS_ERR_INVAL, "name must be a text of at most 200 characters");
        goto out;
    }
    {
        char user[BROKER_USER_MAX];
        broker_gateway_user(id, user);
        if (strcmp(user, req->cfg->mqtt_username) == 0) {
            http_error(resp, LS_ERR_CONFLICT, "'%s' is the server's own MQTT account", user);
            goto out;
        }
    }
    if ((v = json_object_get(body, "org_id")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            http_error(resp, LS_ERR_INVAL, "org_id must be an organisation id");
            goto out;
        }
        org = json_integer_value(v);
    }
    if (!http_is_admin(req)) {
        if (org && org != req->who.org_id) {
            http_error(resp, LS_ERR_DENIED, "managers register gateways of their own organisation");
            goto out;
        }
        org = req->who.org_id;
    }
    if (store_gateway_get(req->st, id, &after) == LS_OK) {
        json_decref(after);
        after = NULL;
        http_error(resp, LS_ERR_CONFLICT,
                   "gateway '%s' is registered already (rotate its "
                   "password instead)",
                   id);
        goto out;
    }
    new_password(password);
    rc = broker_gateway_add(req->broker, id, password);
    if (rc) {
        broker_failed(resp, rc, "the gateway's account");
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto locked_out;
    }
    rc = store_gateway_register(req->st, id, name, org, ls_now_ms());
    if (rc == LS_OK)
        rc = store_gateway_get(req->st, id, &after);
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc,
                   rc == LS_ERR_CONFLICT ? "gateway '%s' is registered already"
                   : rc == LS_ERR_INVAL  ? "no organisation for gateway '%s'"
                                         : "cannot register gateway '%s'",
                   id);
        goto locked_out;
    }
    ls_info("gateway %s registered by %s", id, req->who.username);
    commit(req, resp, "gateway.create", id, NULL, after, password, 201);
    goto out;
locked_out:
    /* the broker knows an account the database does not: take it away again */
    if (rc != LS_ERR_CONFLICT)
        broker_gateway_enable(req->broker, id, 0);
out:
    sodium_memzero(password, sizeof(password));
    json_decref(body);
    return LS_OK;
}

int route_gateway_rotate(struct http_req *req, struct http_resp *resp)
{
    json_t *before = NULL, *after = NULL;
    char password[GW_PASSWORD_LEN];
    const char *id = req->params[0];
    int rc;

    if (changeable_gateway(req, resp, &before))
        return LS_OK;
    if (!json_is_true(json_object_get(before, "enabled"))) {
        json_decref(before);
        return http_error(resp, LS_ERR_RULE, "gateway '%s' is disabled: enable it first", id);
    }
    new_password(password);
    /* the broker disconnects the gateway's session: the old password is gone at once */
    rc = broker_gateway_password(req->broker, id, password);
    if (rc) {
        json_decref(before);
        sodium_memzero(password, sizeof(password));
        return broker_failed(resp, rc, "the new password");
    }
    rc = store_begin(req->st);
    if (rc == LS_OK)
        rc = store_gateway_update(req->st, id, NULL, -1, ls_now_ms());
    if (rc == LS_OK)
        rc = store_gateway_get(req->st, id, &after);
    if (rc) {
        store_rollback(req->st);
        json_decref(before);
        sodium_memzero(password, sizeof(password));
        return http_error(resp, rc, "the broker has the new password, but it was not recorded");
    }
    ls_info("gateway %s: password rotated by %s", id, req->who.username);
    commit(req, resp, "gateway.rotate", id, before, after, password, 200);
    sodium_memzero(password, sizeof(password));
    return LS_OK;
}

/* Set enabled (0 or 1) and/or name (NULL = keep) of the gateway of the path. */
static int change(struct http_req *req, struct http_resp *resp, const char *name, int enabled)
{
    json_t *before = NULL, *after = NULL;
    const char *id = req->params[0];
    int rc, was;

    if (changeable_gateway(req, resp, &before))
        return LS_OK;
    was = json_is_true(json_object_get(before, "enabled"));
    if (enabled == 1 && !was) {
        /* the broker first: enabled in the database means readings are taken */
        rc = broker_gateway_enable(req->broker, id, 1);
        if (rc) {
            json_decref(before);
            return broker_failed(resp, rc, "the gateway's account");
        }
    }
    rc = store_begin(req->st);
    if (rc == LS_OK)
        rc = store_gateway_update(req->st, id, name, enabled, 0);
    if (rc == LS_OK)
        rc = store_gateway_get(req->st, id, &after);
    if (rc) {
        store_rollback(req->st);
        json_decref(before);
        return http_error(resp, rc, "cannot change gateway '%s'", id);
    }
    rc = commit(req, resp,
                enabled == 0 && was    ? "gateway.disable"
                : enabled == 1 && !was ? "gateway.enable"
                                       : "gateway.update",
                id, before, after, NULL, 200);
    if (enabled == 0 && was) {
        /* recorded: ingest refuses its readings from now on; the broker disconnects it and
         * refuses it (repeated at every reconnect of the server, should it be away now) */
        if (broker_gateway_enable(req->broker, id, 0))
            ls_warn("gateway %s disabled here; the broker will be told when it answers", id);
        ls_info("gateway %s disabled by %s", id, req->who.username);
    }
    return rc;
}

int route_gateway_update(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"name", "disabled", NULL};
    json_t *body = NULL, *v;
    const char *name = NULL;
    int enabled = -1;

    if (http_body_json(req, resp, &body) || http_only_keys(resp, body, keys))
        goto out;
    if ((v = json_object_get(body, "name")) &&
        (!(name = json_string_value(v)) || !name[0] || strlen(name) > 200)) {
        http_error(resp, LS_ERR_INVAL, "name must be a text of 1-200 characters");
        goto out;
    }
    if ((v = json_object_get(body, "disabled"))) {
        if (!json_is_boolean(v)) {
            http_error(resp, LS_ERR_INVAL, "disabled must be true or false");
            goto out;
        }
        enabled = json_is_true(v) ? 0 : 1;
    }
    change(req, resp, name, enabled);
out:
    json_decref(body);
    return LS_OK;
}

int route_gateway_delete(struct http_req *req, struct http_resp *resp)
{
    /* Its readings stay evidence: a deleted gateway is kept, locked out. */
    return change(req, resp, NULL, 0);
}
