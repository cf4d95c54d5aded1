/* service_gateways.c - registering, rotating, renaming, disabling and enabling gateways, each
 * with its MQTT account on the broker: see service.h. */
#include "service.h"
#include "records.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "labshare/log.h"
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

static int broker_failed(struct outcome *out, int rc, const char *what)
{
    return service_fail(out, LS_ERR_FULL,
                        "the MQTT broker did not confirm %s (%s); nothing was changed", what,
                        rc == LS_ERR_PROTO ? "it refused: see the server log"
                                           : "no answer: is it running, configured by "
                                             "broker-config?");
}

/* The credentials for the answer only: out->extra. */
static int credentials(const char *id, const char *password, struct outcome *out)
{
    char user[BROKER_USER_MAX];

    broker_gateway_user(id, user);
    out->extra = json_pack("{s:s, s:s, s:s}", "username", user, "password", password, "note",
                           "the password is shown only now: put it in the gateway's [uplink] "
                           "section");
    return out->extra ? LS_OK : service_fail(out, LS_ERR_NOMEM, "out of memory");
}

/* Gateway id as the API and the audit log show it: *out (the caller's). */
static int gateway_as_json(struct store *st, const char *id, json_t **out)
{
    struct gateway g;
    int rc = store_gateway_get(st, id, &g);

    if (rc)
        return rc;
    *out = gateway_json(&g);
    gateway_clear(&g);
    return *out ? LS_OK : LS_ERR_NOMEM;
}

/* Gateway id as it is (*before, its JSON; *enabled), if who may change it: an admin, or a
 * manager of its organisation; others are told it does not exist when they may not see it
 * either. */
static int changeable(const struct service *sv, const char *id, json_t **before, int *enabled,
                      struct outcome *out)
{
    const struct principal *who = sv->who;
    struct gateway g;
    int rc = ls_id_valid(id) ? store_gateway_get(sv->st, id, &g) : LS_ERR_NOTFOUND;
    int64_t org = 0;

    *before = NULL;
    if (rc == LS_OK) {
        org = g.org_id;
        *enabled = g.enabled;
        *before = gateway_json(&g);
        gateway_clear(&g);
        if (!*before)
            rc = LS_ERR_NOMEM;
    }
    if (rc == LS_OK && !principal_is(who, "auditor") && !principal_manages(who, org))
        rc = LS_ERR_NOTFOUND;
    if (rc == LS_OK && !principal_manages(who, org))
        rc = LS_ERR_DENIED;
    if (rc == LS_OK)
        return LS_OK;
    json_decref(*before);
    *before = NULL;
    return service_fail(out, rc,
                        rc == LS_ERR_NOTFOUND ? "no gateway '%s'"
                        : rc == LS_ERR_DENIED
                            ? "only an admin or a manager of its organisation changes gateway '%s'"
                            : "cannot read gateway '%s'",
                        id);
}

static void object_of(const char *id, char *object, size_t len)
{
    snprintf(object, len, "gateway/%s", id);
}

int gateway_register(const struct service *sv, struct broker *broker, const char *server_user,
                     const struct gateway_request *g, struct outcome *out)
{
    const struct principal *who = sv->who;
    char password[GW_PASSWORD_LEN], user[BROKER_USER_MAX], object[LS_ID_MAX + 16];
    struct gateway there;
    int64_t org = g->org_id;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!principal_is(who, "admin") && !principal_is(who, "manager"))
        return service_fail(out, LS_ERR_DENIED, "only an admin or a manager registers gateways");
    broker_gateway_user(g->id, user);
    if (strcmp(user, server_user) == 0)
        return service_fail(out, LS_ERR_CONFLICT, "'%s' is the server's own MQTT account", user);
    if (!principal_is(who, "admin")) {
        if (org && org != who->org_id)
            return service_fail(out, LS_ERR_DENIED,
                                "managers register gateways of their own organisation");
        org = who->org_id;
    }
    if (store_gateway_get(sv->st, g->id, &there) == LS_OK) {
        gateway_clear(&there);
        return service_fail(out, LS_ERR_CONFLICT,
                            "gateway '%s' is registered already (rotate its password instead)",
                            g->id);
    }
    new_password(password);
    if ((rc = broker_gateway_add(broker, g->id, password))) {
        sodium_memzero(password, sizeof(password));
        return broker_failed(out, rc, "the gateway's account");
    }
    rc = store_begin(sv->st);
    if (rc == LS_OK)
        rc = store_gateway_register(sv->st, g->id, g->name, org, sv->now_ms);
    if (rc == LS_OK)
        rc = gateway_as_json(sv->st, g->id, &out->after);
    if (rc == LS_OK)
        rc = credentials(g->id, password, out);
    sodium_memzero(password, sizeof(password));
    if (rc) {
        store_rollback(sv->st);
        service_fail(out, rc,
                     rc == LS_ERR_CONFLICT ? "gateway '%s' is registered already"
                     : rc == LS_ERR_INVAL  ? "no organisation for gateway '%s'"
                                           : "cannot register gateway '%s'",
                     g->id);
    } else {
        object_of(g->id, object, sizeof(object));
        if (service_finish(sv, "gateway.create", object, NULL, out) == LS_OK)
            ls_info("gateway %s registered by %s", g->id, who->username);
    }
    /* the broker knows an account the database does not: take it away again */
    if (out->rc && out->rc != LS_ERR_CONFLICT)
        broker_gateway_enable(broker, g->id, 0);
    return out->rc;
}

int gateway_rotate(const struct service *sv, struct broker *broker, const char *id,
                   struct outcome *out)
{
    char password[GW_PASSWORD_LEN], object[LS_ID_MAX + 16];
    json_t *before = NULL;
    int rc, enabled = 0;

    memset(out, 0, sizeof(*out));
    if (changeable(sv, id, &before, &enabled, out))
        return out->rc;
    if (!enabled) {
        json_decref(before);
        return service_fail(out, LS_ERR_RULE, "gateway '%s' is disabled: enable it first", id);
    }
    new_password(password);
    /* the broker disconnects the gateway's session: the old password is gone at once */
    if ((rc = broker_gateway_password(broker, id, password))) {
        json_decref(before);
        sodium_memzero(password, sizeof(password));
        return broker_failed(out, rc, "the new password");
    }
    rc = store_begin(sv->st);
    if (rc == LS_OK)
        rc = store_gateway_update(sv->st, id, NULL, -1, sv->now_ms);
    if (rc == LS_OK)
        rc = gateway_as_json(sv->st, id, &out->after);
    if (rc == LS_OK)
        rc = credentials(id, password, out);
    sodium_memzero(password, sizeof(password));
    if (rc) {
        store_rollback(sv->st);
        json_decref(before);
        return service_fail(out, rc, "the broker has the new password, but it was not recorded");
    }
    object_of(id, object, sizeof(object));
    if (service_finish(sv, "gateway.rotate", object, before, out) == LS_OK)
        ls_info("gateway %s: password rotated by %s", id, sv->who->username);
    json_decref(before);
    return out->rc;
}

int gateway_change(const struct service *sv, struct broker *broker, const char *id,
                   const char *name, int enabled, struct outcome *out)
{
    char object[LS_ID_MAX + 16];
    json_t *before = NULL;
    int rc, was = 0;

    memset(out, 0, sizeof(*out));
    if (changeable(sv, id, &before, &was, out))
        return out->rc;
    /* the broker first: enabled in the database means readings are taken */
    if (enabled == 1 && !was && (rc = broker_gateway_enable(broker, id, 1))) {
        json_decref(before);
        return broker_failed(out, rc, "the gateway's account");
    }
    rc = store_begin(sv->st);
    if (rc == LS_OK)
        rc = store_gateway_update(sv->st, id, name, enabled, 0);
    if (rc == LS_OK)
        rc = gateway_as_json(sv->st, id, &out->after);
    if (rc) {
        store_rollback(sv->st);
        json_decref(before);
        return service_fail(out, rc, "cannot change gateway '%s'", id);
    }
    object_of(id, object, sizeof(object));
    rc = service_finish(sv,
                        enabled == 0 && was    ? "gateway.disable"
                        : enabled == 1 && !was ? "gateway.enable"
                                               : "gateway.update",
                        object, before, out);
    json_decref(before);
    if (rc == LS_OK && enabled == 0 && was) {
        /* recorded: ingest refuses its readings from now on; the broker disconnects it and
         * refuses it (repeated at every reconnect of the server, should it be away now) */
        if (broker_gateway_enable(broker, id, 0))
            ls_warn("gateway %s disabled here; the broker will be told when it answers", id);
        ls_info("gateway %s disabled by %s", id, sv->who->username);
    }
    return rc;
}
