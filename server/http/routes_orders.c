/* routes_orders.c - sample-testing orders (送样检测): list, order, the staff's steps, the results
 * file. The rules are order.h's and service_orders.c's; this file parses and renders. */
#include "routes.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../order.h"
#include "../requests.h"
#include "../service.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Order id with its work, if the caller may read it: *out (the caller's). */
static int order_for_reader(struct http_req *req, int64_t id, json_t **out)
{
    struct order o;
    struct order_work w;
    struct instrument inst;
    struct principal p;
    int64_t owner;
    int rc = store_order_get(req->st, id, &o);

    *out = NULL;
    if (rc)
        return rc;
    if ((rc = store_instrument_get(req->st, o.instrument, &inst)))
        return rc == LS_ERR_NOTFOUND ? LS_ERR_DB : rc;
    owner = inst.org_id;
    instrument_clear(&inst);
    if ((rc = store_user_principal(req->st, o.user_id, &p)))
        return LS_ERR_DB;
    if (!order_may_read(&req->who, &o, owner, p.org_id))
        return LS_ERR_NOTFOUND;
    if ((rc = store_order_work(req->st, id, ls_now_ms(), &w)))
        return rc;
    *out = order_json_work(&o, w.metered_ms, w.bookings);
    return *out ? LS_OK : LS_ERR_NOMEM;
}

int route_orders_list(struct http_req *req, struct http_resp *resp)
{
    struct order_filter f;
    struct order *items = NULL;
    json_t *arr;
    int64_t total = 0;
    size_t n = 0;
    const char *v;

    memset(&f, 0, sizeof(f));
    if (http_list_args(req, resp, 100, 1000, &f.limit, &f.offset, &f.from_ms, &f.to_ms) ||
        http_scope(req, resp, &f.instrument, &f.user_id, &f.org_id))
        return LS_OK;
    if ((v = http_query(req, "status"))) {
        f.has_status = 1;
        if (order_status_parse(v, &f.status))
            return http_error(resp, LS_ERR_INVAL,
                              "status must be requested, accepted, declined, received, "
                              "scheduled, completed or cancelled");
    }
    if (store_order_list(req->st, &f, &items, &n, &total))
        return http_error(resp, LS_ERR_DB, "cannot list orders");
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = order_json(&items[i]);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(items);
    if (!arr)
        return http_error(resp, LS_ERR_NOMEM, "cannot list orders");
    return http_list(req, resp, arr, total, "orders");
}

int route_order_get(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int64_t id;
    int rc;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    rc = order_for_reader(req, id, &o);
    if (rc)
        return http_error(resp, rc,
                          rc == LS_ERR_NOTFOUND ? "no order %lld" : "cannot read order %lld",
                          (long long)id);
    return http_json(resp, 200, o);
}

int route_order_create(struct http_req *req, struct http_resp *resp)
{
    struct order_request o;
    struct http_reply reply;
    struct service sv;
    struct outcome out;
    json_t *body = NULL;
    char why[200];

    if (http_body_json(req, resp, &body))
        return LS_OK;
    if (req_order_create(body, &o, why, sizeof(why))) {
        json_decref(body);
        return http_error(resp, LS_ERR_INVAL, "%s", why);
    }
    http_service(req, resp, 201, &sv, &reply);
    http_outcome(resp, order_create(&sv, &o, &out), &out);
    json_decref(body); /* after the call: o points into it */
    return LS_OK;
}

static int step(struct http_req *req, struct http_resp *resp, enum order_action action)
{
    struct order_step s;
    struct http_reply reply;
    struct service sv;
    struct outcome out;
    json_t *body = NULL;
    char why[200];
    int64_t id;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    if ((req->body.len > 0 || action == ORDER_SCHEDULE) && http_body_json(req, resp, &body))
        return LS_OK;
    if (req_order_step(body, action, &s, why, sizeof(why))) {
        json_decref(body);
        return http_error(resp, LS_ERR_INVAL, "%s", why);
    }
    http_service(req, resp, 200, &sv, &reply);
    http_outcome(resp, order_take_step(&sv, id, action, &s, &out), &out);
    json_decref(body);
    return LS_OK;
}

int route_order_accept(struct http_req *req, struct http_resp *resp)
{
    return step(req, resp, ORDER_ACCEPT);
}

int route_order_decline(struct http_req *req, struct http_resp *resp)
{
    return step(req, resp, ORDER_DECLINE);
}

int route_order_receive(struct http_req *req, struct http_resp *resp)
{
    return step(req, resp, ORDER_RECEIVE);
}

int route_order_schedule(struct http_req *req, struct http_resp *resp)
{
    return step(req, resp, ORDER_SCHEDULE);
}

int route_order_complete(struct http_req *req, struct http_resp *resp)
{
    return step(req, resp, ORDER_COMPLETE);
}

int route_order_cancel(struct http_req *req, struct http_resp *resp)
{
    return step(req, resp, ORDER_CANCEL);
}

/* PUT /orders/{id}/results?name=<file name>, the file as the body, its media type as
 * Content-Type. */
int route_order_results_put(struct http_req *req, struct http_resp *resp)
{
    struct http_reply reply;
    struct service sv;
    struct outcome out;
    const char *name = http_query(req, "name");
    const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type");
    char type[128];
    int64_t id;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    if (!order_result_name_ok(name))
        return http_error(resp, LS_ERR_INVAL,
                          "name (the file's name: 1 to %d letters, digits, '.', '-' or '_', not "
                          "starting with '.') is required",
                          ORDER_NAME_MAX);
    /* the media type without its parameters, lower case */
    snprintf(type, sizeof(type), "%s", ct ? ct : "application/octet-stream");
    type[strcspn(type, "; ")] = '\0';
    for (char *c = type; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    if (!order_result_type_ok(type))
        return http_error(resp, LS_ERR_INVAL, "Content-Type must be a media type (type/subtype)");
    if (req->body.len == 0)
        return http_error(resp, LS_ERR_INVAL, "the results file is empty");
    http_service(req, resp, 200, &sv, &reply);
    http_outcome(resp, order_put_results(&sv, id, name, type, req->body.data, req->body.len, &out),
                 &out);
    return LS_OK;
}

int route_order_results_get(struct http_req *req, struct http_resp *resp)
{
    struct order o;
    json_t *readable;
    void *body;
    size_t len;
    int64_t id;
    int rc;

    if (route_id_param(req, resp, 0, &id))
        return LS_OK;
    if ((rc = order_for_reader(req, id, &readable)))
        return http_error(resp, rc, "no order %lld", (long long)id);
    json_decref(readable);
    if ((rc = store_order_get(req->st, id, &o)))
        return http_error(resp, rc, "no order %lld", (long long)id);
    rc = store_order_result_get(req->st, id, &body, &len);
    if (rc)
        return http_error(resp, rc,
                          rc == LS_ERR_NOTFOUND ? "order %lld has no results yet"
                                                : "cannot read the results of %lld",
                          (long long)id);
    resp->status = 200;
    resp->body = body;
    resp->len = len;
    /* never rendered by the browser as a page of this site: downloaded, as it was uploaded */
    resp->content_type = "application/octet-stream";
    snprintf(resp->content_disposition, sizeof(resp->content_disposition),
             "attachment; filename=\"%s\"", o.result_name);
    return LS_OK;
}
