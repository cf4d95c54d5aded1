/* routes_health.c - GET /healthz: is the server up and its database usable. */
#include "routes.h"

#include "labshare/rc.h"
#include "labshare/banned.h"

int route_healthz(struct http_req *req, struct http_resp *resp)
{
    int v = store_schema_version(req->st);

    if (v < 0)
        return http_json(resp, 503, json_pack("{s:s, s:s}", "status", "error", "db", "error"));
    return http_json(resp, 200,
                     json_pack("{s:s, s:s, s:i}", "status", "ok", "db", "ok", "schema", v));
}
