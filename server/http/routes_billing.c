/* routes_billing.c - charges, monthly statements, closing a month, innovation vouchers. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../requests.h"
#include "../records.h"
#include "../service.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* Charge lines brought up to date before they are read (service_billing.c). */
static int sync(struct http_req *req, struct http_resp *resp)
{
    int64_t added;
    int rc = charges_sync(req->st, &added);

    if (rc)
        http_error(resp, LS_ERR_DB, "cannot bring the charges up to date");
    return rc;
}

/* A month as every list reads it (http_month_range), for the endpoints that need one. */
static int valid_month(const char *m)
{
    int64_t from, to;

    return http_month_range(m, &from, &to) == LS_OK;
}

/* Name the platform's currency on every line (money is in its minor unit). */
static void with_currency(struct http_req *req, json_t *items)
{
    size_t i;
    json_t *o;

    json_array_foreach(items, i, o)
        json_object_set_new(o, "currency", json_string(req->cfg->currency));
}

int route_charges_list(struct http_req *req, struct http_resp *resp)
{
    const char *o = http_query(req, "org"), *ow = http_query(req, "owner_org");
    struct charge_filter f;
    struct instrument inst;
    json_t *items = NULL;
    int64_t total = 0, inst_owner = 0;

    memset(&f, 0, sizeof(f));
    if (http_list_args(req, resp, 1000, 10000, &f.limit, &f.offset, &f.from_ms, &f.to_ms))
        return LS_OK;
    if (o && ls_parse_i64(o, 1, INT64_MAX, &f.org_id))
        return http_error(resp, LS_ERR_INVAL, "org must be an organisation id (the payer)");
    if (ow && ls_parse_i64(ow, 1, INT64_MAX, &f.owner_org))
        return http_error(resp, LS_ERR_INVAL,
                          "owner_org must be an organisation id (the instruments' owner)");
    if ((f.instrument = http_query(req, "instrument"))) {
        if (!ls_id_valid(f.instrument) ||
            store_instrument_get(req->st, f.instrument, &inst) != LS_OK)
            return http_error(resp, LS_ERR_NOTFOUND, "no instrument '%.64s'", f.instrument);
        inst_owner = inst.org_id;
        instrument_clear(&inst);
    }
    if (!http_is_admin(req) && !http_is_auditor(req)) {
        if (strcmp(req->who.role, "manager") == 0) {
            /* a manager reads what the organisation pays, or what its instruments earn */
            int revenue = f.owner_org || f.instrument;
            if ((f.org_id && f.org_id != req->who.org_id) ||
                (f.owner_org && f.owner_org != req->who.org_id) ||
                (f.instrument && inst_owner != req->who.org_id && !f.org_id))
                return http_error(resp, LS_ERR_DENIED,
                                  "managers read their organisation's charges and the charges on "
                                  "its instruments");
            if (revenue && !f.org_id)
                f.owner_org = req->who.org_id;
            else
                f.org_id = req->who.org_id;
        } else if (f.owner_org || f.instrument || f.org_id) {
            return http_error(resp, LS_ERR_DENIED,
                              "researchers read their own charges; an organisation's and an "
                              "instrument's are for its managers");
        } else {
            f.user_id = req->who.user_id;
        }
    }
    if (sync(req, resp))
        return LS_OK;
    {
        struct charge_line *lines = NULL;
        size_t n = 0;
        int rc = store_charges_list(req->st, &f, &lines, &n, &total);
        if (rc == LS_OK && !(items = charge_lines_json(lines, n)))
            rc = LS_ERR_NOMEM;
        free(lines);
        if (rc)
            return http_error(resp, rc, "cannot list charges");
    }
    with_currency(req, items);
    return http_list(req, resp, items, total, "charges");
}

/* Lines of a statement per page: the totals are always of all of them. */
#define STATEMENT_LINES_DEFAULT 1000
#define STATEMENT_LINES_MAX 10000

int route_statement(struct http_req *req, struct http_resp *resp)
{
    const char *o = http_query(req, "org"), *ow = http_query(req, "owner_org");
    const char *month = http_query(req, "month");
    int64_t org, limit = STATEMENT_LINES_DEFAULT, offset = 0, lines_total = 0;
    int owner = !o && ow;
    struct statement stmt;
    json_t *st = NULL;
    int rc;

    if ((o && ow) || (!o && !ow) || ls_parse_i64(o ? o : ow, 1, INT64_MAX, &org) ||
        !valid_month(month))
        return http_error(resp, LS_ERR_INVAL,
                          "org (the payer) or owner_org (the instruments' owner: its revenue), "
                          "and month (YYYY-MM, in the platform time zone) are required");
    if (!http_is_admin(req) && !http_is_auditor(req) && !http_manages(req, org))
        return http_error(resp, LS_ERR_DENIED,
                          "statements are for the organisation's managers, "
                          "auditors and admins");
    if (http_query(req, "limit") &&
        ls_parse_i64(http_query(req, "limit"), 1, STATEMENT_LINES_MAX, &limit))
        return http_error(resp, LS_ERR_INVAL,
                          "limit (lines per page) must be a whole number from 1 to %d",
                          STATEMENT_LINES_MAX);
    if (http_query(req, "offset") &&
        ls_parse_i64(http_query(req, "offset"), 0, INT64_MAX / 2, &offset))
        return http_error(resp, LS_ERR_INVAL, "offset must be a whole number, 0 or more");
    if (sync(req, resp))
        return LS_OK;
    rc = store_statement(req->st, org, owner, month, limit, offset, &stmt);
    if (rc == LS_OK && !(st = statement_json(&stmt)))
        rc = LS_ERR_NOMEM;
    lines_total = stmt.lines_total;
    statement_free(&stmt);
    if (rc)
        return http_error(resp, rc, "cannot build the statement");
    with_currency(req, json_object_get(st, "lines"));
    json_object_set_new(st, "currency", json_string(req->cfg->currency));
    if (http_query(req, "format") && strcmp(http_query(req, "format"), "csv") == 0) {
        json_t *lines = json_incref(json_object_get(st, "lines"));
        json_decref(st);
        return http_list(req, resp, lines, lines_total, "statement");
    }
    return http_json(resp, 200, st);
}

int route_statement_close(struct http_req *req, struct http_resp *resp)
{
    const char *month = http_query(req, "month");
    struct http_reply reply;
    struct service sv;
    struct outcome out;

    if (!valid_month(month))
        return http_error(resp, LS_ERR_INVAL, "month (YYYY-MM) is required");
    http_service(req, resp, 200, &sv, &reply);
    http_outcome(resp, month_close(&sv, month, &out), &out);
    return LS_OK;
}

int route_vouchers_list(struct http_req *req, struct http_resp *resp)
{
    struct voucher *v = NULL;
    json_t *items;
    size_t n = 0;

    if (strcmp(req->who.role, "researcher") == 0)
        return http_error(resp, LS_ERR_DENIED, "vouchers are for managers, auditors and admins");
    if (store_voucher_list(req->st, &v, &n))
        return http_error(resp, LS_ERR_DB, "cannot list vouchers");
    items = json_array();
    for (size_t i = 0; items && i < n; i++)
        if (json_array_append_new(items, voucher_json(&v[i]))) {
            json_decref(items);
            items = NULL;
        }
    free(v);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "cannot list vouchers");
    with_currency(req, items);
    return http_list(req, resp, items, (int64_t)n, "vouchers");
}

int route_voucher_create(struct http_req *req, struct http_resp *resp)
{
    json_t *body = NULL, *after = NULL;
    struct voucher made;
    struct org org;
    struct voucher_request v;
    int64_t id;
    char object[40], why[200];
    int rc;

    if (!http_is_admin(req))
        return http_error(resp, LS_ERR_DENIED, "only an admin grants vouchers");
    if (http_body_json(req, resp, &body))
        goto out;
    if (req_voucher(body, &v, why, sizeof(why))) {
        http_error(resp, LS_ERR_INVAL, "%s", why);
        goto out;
    }
    if (store_org_get(req->st, v.org_id, &org) || strcmp(org.type, "enterprise") != 0) {
        http_error(resp, LS_ERR_INVAL, "innovation vouchers go to enterprises");
        goto out;
    }
    if (store_begin(req->st)) {
        http_error(resp, LS_ERR_DB, "database busy");
        goto out;
    }
    rc = store_voucher_create(req->st, v.org_id, v.percent, v.annual_cap, v.valid_from, v.valid_to,
                              &id);
    if (rc == LS_OK)
        rc = store_voucher_get(req->st, id, &made);
    if (rc == LS_OK && !(after = voucher_json(&made)))
        rc = LS_ERR_NOMEM;
    if (rc) {
        store_rollback(req->st);
        http_error(resp, rc, "cannot save the voucher");
        goto out;
    }
    snprintf(object, sizeof(object), "voucher/%lld", (long long)id);
    http_commit_audited(req, resp, "voucher.create", object, NULL, after, 201);
out:
    json_decref(body);
    return LS_OK;
}
