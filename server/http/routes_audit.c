/* routes_audit.c - what auditors read: the audit log and its verification. */
#include "routes.h"

#include <string.h>

#include "../records.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

int route_audit_list(struct http_req *req, struct http_resp *resp)
{
    struct audit_filter f;
    int64_t total = 0;
    json_t *items = NULL;

    memset(&f, 0, sizeof(f));
    if (!http_is_admin(req) && !http_is_auditor(req))
        return http_error(resp, LS_ERR_DENIED, "the audit log is for auditors and admins");
    if (http_list_args(req, resp, 1000, 10000, &f.limit, &f.offset, &f.from_ms, &f.to_ms))
        return LS_OK;
    f.object = http_query(req, "object");
    f.actor = http_query(req, "actor");
    f.action = http_query(req, "action");
    {
        struct audit_record *recs = NULL;
        size_t n = 0;
        int rc = store_audit_list(req->st, &f, &recs, &n, &total);
        if (rc == LS_OK && !(items = audit_records_json(recs, n)))
            rc = LS_ERR_NOMEM;
        audit_records_free(recs, n);
        if (rc)
            return http_error(resp, rc, "cannot read the audit log");
    }
    return http_list(req, resp, items, total, "audit-log");
}

int route_audit_verify(struct http_req *req, struct http_resp *resp)
{
    int64_t checked = 0, bad = 0;
    char why[300];

    if (!http_is_admin(req) && !http_is_auditor(req))
        return http_error(resp, LS_ERR_DENIED, "the audit log is for auditors and admins");
    if (store_audit_verify(req->st, &checked, &bad, why, sizeof(why)))
        return http_error(resp, LS_ERR_DB, "cannot read the audit log");
    if (!bad)
        return http_json(resp, 200,
                         json_pack("{s:b, s:I}", "ok", 1, "checked", (json_int_t)checked));
    return http_json(resp, 200,
                     json_pack("{s:b, s:I, s:I, s:s}", "ok", 0, "checked", (json_int_t)checked,
                               "first_bad", (json_int_t)bad, "reason", why));
}
