/*
 * requests.h - the JSON bodies of the HTTP API's writes (SPEC section 5), decoded and checked
 * before anything is looked up or stored.
 *
 * Pure: no store, no response, no clock. Each decoder takes the parsed body (an object, as
 * http_body_json() guarantees; anything else is refused too), refuses fields it does not know,
 * checks types, ranges and sizes, and returns LS_OK with the request in *out, or LS_ERR_INVAL
 * with the reason for the 400 in why (len bytes; the reason names the field). Strings in *out
 * are borrowed from body and live as long as it does. Who may do it and whether what it names
 * exists is the handler's (http/routes_*.c).
 *
 * The libFuzzer harness tests/fuzz/fuzz_requests.c feeds every decoder arbitrary JSON; the
 * unit test is tests/unit/test_requests.c.
 */
#ifndef LS_SRV_REQUESTS_H
#define LS_SRV_REQUESTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "instrument.h"
#include "order.h"
#include "store.h"

/* LS_ERR_INVAL naming the first member of obj that is not in keys (NULL-terminated). */
int req_only_keys(const json_t *obj, const char *const *keys, char *why, size_t len);

/* POST /bookings: instrument, start, end, project, user_id into b (instrument, start_ms,
 * end_ms, project, user_id: 0 when not given, i.e. the caller). */
int req_booking_create(const json_t *body, struct booking *b, char *why, size_t len);
/* The optional body of a reject or cancel, {"reason"?} (body NULL: none): *reason or NULL. */
int req_booking_reason(const json_t *body, const char **reason, char *why, size_t len);
/* POST /bookings/{id}/rating {"score": 1..5, "comment"?}. */
int req_booking_rating(const json_t *body, int *score, const char **comment, char *why, size_t len);

/* POST /orders: instrument, samples (1..ORDER_SAMPLES_MAX) and analysis required; description
 * and urgency (normal, urgent) optional. */
int req_order_create(const json_t *body, struct order_request *o, char *why, size_t len);
/* The body of POST /orders/{id}/<action> (NULL: none given): decline and cancel {"reason"?},
 * receive {"samples_received"?}, schedule {"start", "end"} (required, at most
 * ORDER_SLOT_MAX_DAYS long), the others nothing. */
#define ORDER_SLOT_MAX_DAYS 31
int req_order_step(const json_t *body, enum order_action action, struct order_step *s, char *why,
                   size_t len);

/* POST /orgs (create: name and type required), PATCH /orgs/{id}: *name, *type or NULL. */
int req_org(const json_t *body, int create, const char **name, const char **type, char *why,
            size_t len);

/* A user's fields; password is the new password in clear (the handler hashes it into
 * f.password_hash), revoke_tokens only on a change with a password. */
struct user_request {
    struct user_fields f; /* password_hash left NULL */
    const char *password; /* NULL: none given */
    int revoke_tokens;
    char opt_out[512]; /* f.mail_opt_out points here when given */
};
/* POST /users (create: username, org_id, role and password required), PATCH /users/{id}. */
int req_user(const json_t *body, int create, struct user_request *out, char *why, size_t len);

/* What req_instrument found in the body besides the settings. */
#define REQ_INSTRUMENT_ORG 1u    /* org_id: the owner (required on create) */
#define REQ_INSTRUMENT_JOINED 2u /* joined: when it joined (create only) */
/* POST /instruments (create: in from instrument_init; the required keys, defaults for the rest)
 * and PATCH (in, the instrument as it is; the body after req_instrument_merge): what the body
 * gives, validated, into in, and *given. The nested booking rules, interlock policy, service
 * hours and billing terms are parsed whole, their defaults filling what is not given. joined
 * (create only) must not be after now_ms; without it an instrument joins at now_ms.
 * LS_ERR_INVAL with the reason in why (in may be changed in part then), LS_ERR_NOMEM. */
int req_instrument(const json_t *body, int create, int64_t now_ms, struct instrument *in,
                   unsigned *given, char *why, size_t len);
/* PATCH merges (SPEC 5, RFC 7386): the nested objects of body (booking, billing with its
 * rates, service_hours, interlock) are replaced in body by current's merged with them, so keys
 * not given keep their value and null removes one (its default then applies). What is not an
 * object is left for req_instrument to refuse. */
void req_instrument_merge(json_t *body, const json_t *current);

/* POST /instruments/{id}/outages (cur NULL: every field required) and PATCH (cur, the outage
 * as it is: fields not given keep their value). */
struct outage_request {
    int64_t start_ms, end_ms;
    const char *kind; /* maintenance or breakdown */
    const char *note; /* "" when none */
};
int req_outage(const json_t *body, const json_t *cur, struct outage_request *out, char *why,
               size_t len);

/* POST /vouchers. */
struct voucher_request {
    int64_t org_id, percent, annual_cap;
    const char *valid_from, *valid_to; /* YYYY-MM-DD, from <= to */
};
int req_voucher(const json_t *body, struct voucher_request *out, char *why, size_t len);

/* POST /gateways: id (3-63 of the id characters), name (default: the id), org_id (0: none
 * given). */
struct gateway_request {
    const char *id, *name;
    int64_t org_id;
};
int req_gateway_create(const json_t *body, struct gateway_request *out, char *why, size_t len);
/* PATCH /gateways/{id}: name (1-200 characters, or NULL) and disabled into *enabled (0 when
 * disabled is true, 1 when false, -1 when not given). */
int req_gateway_update(const json_t *body, const char **name, int *enabled, char *why, size_t len);

#endif /* LS_SRV_REQUESTS_H */
