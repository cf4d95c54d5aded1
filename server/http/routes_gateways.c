/*
 * routes_gateways.c - gateways (SPEC 3.3, 5): listed and read here; registered, rotated,
 * renamed, disabled and enabled by the gateway services (service_gateways.c, which explains
 * the order of broker and database), each with its own MQTT account shown once.
 */
#include "routes.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "../broker.h"
#include "../records.h"
#include "../requests.h"
#include "../service.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* The gateway of path parameter 0 if the caller may see it (admins and auditors all, managers
 * their organisation's): *out, or a 404 in resp and LS_ERR_NOTFOUND. */
static int visible_gateway(struct http_req *req, struct http_resp *resp, struct gateway *out)
{
    const char *id = req->params[0];
    int rc = ls_id_valid(id) ? store_gateway_get(req->st, id, out) : LS_ERR_NOTFOUND;

    if (rc == LS_OK && !http_is_admin(req) && !http_is_auditor(req) &&
        !http_manages(req, out->org_id)) {
        gateway_clear(out);
        rc = LS_ERR_NOTFOUND;
    }
    if (rc) {
        http_error(resp, rc, rc == LS_ERR_NOTFOUND ? "no gateway '%s'" : "cannot read gateway '%s'",
                   id);
        return rc;
    }
    return LS_OK;
}

int route_gateways_list(struct http_req *req, struct http_resp *resp)
{
    struct gateway *v = NULL;
    json_t *items;
    int64_t org = 0;
    size_t n = 0;

    if (strcmp(req->who.role, "researcher") == 0)
        return http_error(resp, LS_ERR_DENIED, "gateways are for managers, auditors and admins");
    if (!http_is_admin(req) && !http_is_auditor(req))
        org = req->who.org_id > 0 ? req->who.org_id : -1;
    if (org < 0)
        return http_list(req, resp, json_array(), 0, "gateways");
    if (store_gateway_list(req->st, org, &v, &n))
        return http_error(resp, LS_ERR_DB, "cannot list gateways");
    items = gateways_json(v, n);
    gateways_free(v, n);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "cannot list gateways");
    return http_list(req, resp, items, (int64_t)n, "gateways");
}

int route_gateway_get(struct http_req *req, struct http_resp *resp)
{
    struct gateway g;
    json_t *o;

    if (strcmp(req->who.role, "researcher") == 0)
        return http_error(resp, LS_ERR_NOTFOUND, "no gateway '%s'", req->params[0]);
    if (visible_gateway(req, resp, &g))
        return LS_OK;
    o = gateway_json(&g);
    gateway_clear(&g);
    return o ? http_json(resp, 200, o) : http_error(resp, LS_ERR_NOMEM, "cannot read the gateway");
}

int route_gateway_create(struct http_req *req, struct http_resp *resp)
{
    struct gateway_request g;
    struct http_reply reply;
    struct service sv;
    struct outcome out;
    json_t *body = NULL;
    char why[200];

    if (http_body_json(req, resp, &body))
        return LS_OK;
    if (req_gateway_create(body, &g, why, sizeof(why))) {
        http_error(resp, LS_ERR_INVAL, "%s", why);
    } else {
        http_service(req, resp, 201, &sv, &reply);
        http_outcome(resp, gateway_register(&sv, req->broker, req->cfg->mqtt_username, &g, &out),
                     &out);
    }
    json_decref(body);
    return LS_OK;
}

int route_gateway_rotate(struct http_req *req, struct http_resp *resp)
{
    struct http_reply reply;
    struct service sv;
    struct outcome out;

    http_service(req, resp, 200, &sv, &reply);
    http_outcome(resp, gateway_rotate(&sv, req->broker, req->params[0], &out), &out);
    return LS_OK;
}

int route_gateway_update(struct http_req *req, struct http_resp *resp)
{
    struct http_reply reply;
    struct service sv;
    struct outcome out;
    json_t *body = NULL;
    const char *name;
    char why[200];
    int enabled;

    if (http_body_json(req, resp, &body))
        return LS_OK;
    if (req_gateway_update(body, &name, &enabled, why, sizeof(why))) {
        http_error(resp, LS_ERR_INVAL, "%s", why);
    } else {
        http_service(req, resp, 200, &sv, &reply);
        http_outcome(resp, gateway_change(&sv, req->broker, req->params[0], name, enabled, &out),
                     &out);
    }
    json_decref(body); /* after the call: name points into it */
    return LS_OK;
}

int route_gateway_delete(struct http_req *req, struct http_resp *resp)
{
    struct http_reply reply;
    struct service sv;
    struct outcome out;

    /* Its readings stay evidence: a deleted gateway is kept, locked out. */
    http_service(req, resp, 200, &sv, &reply);
    http_outcome(resp, gateway_change(&sv, req->broker, req->params[0], NULL, 0, &out), &out);
    return LS_OK;
}
