/*
 * records.h - the JSON of each kind of record, built once from its struct: what the API shows
 * of it (SPEC 5) and what the audit log keeps as its before and after. Pure; NULL when out of
 * memory. Times are RFC 3339 UTC with milliseconds; absent texts and numbers are null.
 */
#ifndef LS_SRV_RECORDS_H
#define LS_SRV_RECORDS_H

#include <jansson.h>

#include "booking.h"
#include "instrument.h"
#include "store.h"

/* id, instrument, user_id, project, start, end, status, reason, metered_seconds, created_by,
 * created_at, rating, comment, requester {username, display_name, org_id, org, org_type}. */
json_t *booking_view_json(const struct booking_view *v);
/* id, name, org_id, category, location, description, interlock, value_yuan, rated_hours,
 * public, gateway, booking, billing, service_hours, joined. */
json_t *instrument_json(const struct instrument *in);
json_t *instruments_json(const struct instrument *v, size_t n);
/* id, name, org_id, enabled, registered, rotated, online, version, outbox, outbox_full,
 * last_seen, last_ack, reported (the instruments its status names), instruments (bound to it). */
json_t *gateway_json(const struct gateway *g);
json_t *gateways_json(const struct gateway *v, size_t n);
/* id, instrument, start, end, kind, note, created_by. */
json_t *outage_json(const struct outage *o);
/* id, name, type. */
json_t *org_json(const struct org *o);
/* id, username, display_name, org_id, role, badge (no password, no sessions). */
json_t *user_json(const struct user *u);
/* id, org_id, percent, annual_cap, valid_from, valid_to, used. */
json_t *voucher_json(const struct voucher *v);
/* An array of the n records of size bytes at items, each made by one; NULL when one fails
 * (out of memory, or a record that cannot be shown). */
json_t *records_json(const void *items, size_t n, size_t size, json_t *(*one)(const void *));
/* id, kind, source, org_id, user_id, instrument, booking_id, at, month, category, minutes,
 * rate, samples, sample_fee, amount, voucher, payable, description. */
json_t *charge_line_json(const struct charge_line *c);
/* An array of n lines. */
json_t *charge_lines_json(const struct charge_line *c, size_t n);
/* org_id, kind (payer or revenue), month, closed, lines, gross, voucher, payable. */
json_t *statement_json(const struct statement *s);
/* id, instrument, start, end, run_seconds, energy_wh, samples, user_id, booking_id,
 * attribution, readings (the query of the readings it comes from), badge, session_start, open. */
json_t *usage_row_json(const struct usage_row *u);
/* An array of n parts. */
json_t *usage_rows_json(const struct usage_row *u, size_t n);
/* seq, at, actor, actor_kind, actor_id, actor_user, action, object, before, after (parsed:
 * NULL when a stored text does not parse), prev_hash, hash. */
json_t *audit_record_json(const struct audit_record *r);
json_t *audit_records_json(const struct audit_record *r, size_t n);
/* A token: id, kind, created, expires; a feed: id, kind, subject, created. */
json_t *secret_row_json(const struct secret_row *r, int feed);
json_t *secret_rows_json(const struct secret_row *r, size_t n, int feeds);
/* user_org_type, owner_org_type, hours (to 4 places). */
json_t *collaboration_row_json(const struct collaboration_row *r);
json_t *collaboration_rows_json(const struct collaboration_row *r, size_t n);

#endif /* LS_SRV_RECORDS_H */
