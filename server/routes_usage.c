/* routes_usage.c - usage: sessions attributed to users, the evidence behind every figure. */
#include "routes.h"

#include <string.h>

#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

int route_usage_list(struct http_req *req, struct http_resp *resp)
{
    struct usage_filter f;
    json_t *items = NULL;
    int64_t total = 0;
    const char *v;

    memset(&f, 0, sizeof(f));
    if (http_list_args(req, resp, 1000, 10000, &f.limit, &f.offset, &f.from_ms, &f.to_ms))
        return LS_OK;
    f.instrument = http_query(req, "instrument");
    if (f.instrument && !ls_id_valid(f.instrument))
        return http_error(resp, LS_ERR_INVAL, "instrument is not a valid id");
    if ((v = http_query(req, "user_id")) && ls_parse_i64(v, 1, INT64_MAX, &f.user_id))
        return http_error(resp, LS_ERR_INVAL, "user_id must be a user id");
    /* Researchers see their own usage; managers their instruments' (and their own). */
    if (!http_is_admin(req) && !http_is_auditor(req)) {
        if (strcmp(req->who.role, "manager") == 0 && f.user_id != req->who.user_id)
            f.org_id = req->who.org_id;
        else
            f.user_id = req->who.user_id;
    }
    if (store_usage_list(req->st, &f, &items, &total)) {
        json_decref(items);
        return http_error(resp, LS_ERR_DB, "cannot list usage");
    }
    return http_list(req, resp, items, total, "usage");
}
