/*
 * records.h - the JSON of each kind of record, built once from its struct: what the API shows
 * of it (SPEC 5) and what the audit log keeps as its before and after. Pure; NULL when out of
 * memory. Times are RFC 3339 UTC with milliseconds; absent texts and numbers are null.
 */
#ifndef LS_SRV_RECORDS_H
#define LS_SRV_RECORDS_H

#include <jansson.h>

#include "booking.h"
#include "store.h"

/* id, instrument, user_id, project, start, end, status, reason, metered_seconds, created_by,
 * created_at, rating, comment, requester {username, display_name, org_id, org, org_type}. */
json_t *booking_view_json(const struct booking_view *v);
/* id, instrument, start, end, kind, note, created_by. */
json_t *outage_json(const struct outage *o);
/* id, name, type. */
json_t *org_json(const struct org *o);
/* id, username, display_name, org_id, role, badge (no password, no sessions). */
json_t *user_json(const struct user *u);
/* id, org_id, percent, annual_cap, valid_from, valid_to, used. */
json_t *voucher_json(const struct voucher *v);

#endif /* LS_SRV_RECORDS_H */
