/* routes_usage.c - usage: sessions attributed to users, the evidence behind every figure. */
#include "routes.h"

#include <string.h>

#include <stdlib.h>

#include "../records.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

int route_usage_list(struct http_req *req, struct http_resp *resp)
{
    struct usage_filter f;
    json_t *items = NULL;
    int64_t total = 0;

    memset(&f, 0, sizeof(f));
    if (http_list_args(req, resp, 1000, 10000, &f.limit, &f.offset, &f.from_ms, &f.to_ms) ||
        http_scope(req, resp, &f.instrument, &f.user_id, &f.org_id))
        return LS_OK;
    {
        struct usage_row *rows = NULL;
        size_t n = 0;
        int rc = store_usage_list(req->st, &f, &rows, &n, &total);
        if (rc == LS_OK && !(items = usage_rows_json(rows, n)))
            rc = LS_ERR_NOMEM;
        free(rows);
        if (rc)
            return http_error(resp, rc, "cannot list usage");
    }
    return http_list(req, resp, items, total, "usage");
}
