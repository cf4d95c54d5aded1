/*
 * routes.h - the handlers of the HTTP API (SPEC section 5), one file per resource
 * (routes_<resource>.c). Each takes a complete request and fills the response; see http.h.
 */
#ifndef LS_SRV_ROUTES_H
#define LS_SRV_ROUTES_H

#include "http.h"

int route_healthz(struct http_req *req, struct http_resp *resp);
int route_readings_list(struct http_req *req, struct http_resp *resp);

#endif /* LS_SRV_ROUTES_H */
