/*
 * routes.h - the handlers of the HTTP API (SPEC section 5), one file per resource
 * (routes_<resource>.c). Each takes a complete, authenticated (where the route needs it)
 * request and fills the response; see http.h. Authorisation per object is each handler's:
 * the table of who may do what is in README.md.
 */
#ifndef LS_SRV_ROUTES_H
#define LS_SRV_ROUTES_H

#include "http.h"

typedef int route_fn(struct http_req *req, struct http_resp *resp);

/* routes_health.c, http.c */
route_fn route_healthz, route_prometheus;
/* routes_platform.c */
route_fn route_platform;
/* routes_auth.c */
route_fn route_login, route_logout, route_token_new, route_me, route_tokens_list,
    route_token_delete, route_feeds_list, route_feed_delete;
/* routes_accounts.c */
route_fn route_orgs_list, route_org_create, route_org_get, route_org_update;
route_fn route_users_list, route_user_create, route_user_get, route_user_update;
/* routes_instruments.c */
route_fn route_instruments_list, route_instrument_create, route_instrument_get,
    route_instrument_update, route_availability, route_outages_list, route_outage_create,
    route_outage_update, route_outage_delete;
/* routes_bookings.c */
route_fn route_bookings_list, route_booking_create, route_booking_get, route_booking_cancel,
    route_booking_approve, route_booking_reject, route_booking_rating;
/* routes_orders.c */
route_fn route_orders_list, route_order_create, route_order_get, route_order_accept,
    route_order_decline, route_order_receive, route_order_schedule, route_order_complete,
    route_order_cancel, route_order_results_put, route_order_results_get;
/* routes_notify.c */
route_fn route_notifications_list, route_org_webhook_get, route_org_webhook_put,
    route_org_webhook_delete;
/* routes_usage.c */
route_fn route_usage_list;
/* routes_billing.c */
route_fn route_charges_list, route_statement, route_statement_close, route_vouchers_list,
    route_voucher_create;
/* routes_catalog.c */
route_fn route_catalog;
route_fn route_qualifications_list, route_qualification_grant, route_qualification_revoke;
/* routes_metrics.c */
route_fn route_metrics, route_evaluation, route_collaboration, route_figures;
/* routes_review.c */
route_fn route_purchase_review, route_catalog_capacity;
/* routes_readings.c */
route_fn route_readings_list;
/* routes_audit.c */
route_fn route_audit_list, route_audit_verify;
/* routes_gateways.c */
route_fn route_gateways_list, route_gateway_create, route_gateway_get, route_gateway_update,
    route_gateway_rotate, route_gateway_delete;
/* routes_ical.c */
route_fn route_feed_create, route_ical;

/* User id as the API shows it (records.h): *out (the caller's). LS_ERR_NOTFOUND. */
int route_user_json(struct store *st, int64_t id, json_t **out);

/* Parse path parameter i as a positive id into *id; 404 in resp otherwise. */
int route_id_param(struct http_req *req, struct http_resp *resp, int i, int64_t *id);

#endif /* LS_SRV_ROUTES_H */
