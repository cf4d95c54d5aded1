/*
 * order.h - sample-testing orders (送样检测), as pure rules (any thread): a researcher or an
 * enterprise sends samples; the instrument owner's staff accept or decline the order, receive
 * the samples, do the work on the instrument's calendar (bookings that carry the order's id,
 * held for the orderer and operated by staff, so the metered time is the order's and counts as
 * the orderer's: external use when they are of another organisation), attach the report and
 * complete it. A completed order is charged per sample received and per metered hour at the
 * orderer's category (billing.h), with vouchers, as a line of its own ("order/<id>").
 *
 * Statuses: requested -> accepted | declined; accepted -> received; received -> scheduled
 * (staff time booked; more slots may follow) -> completed; cancelled from any open status.
 * Who may take each step is the service's (service_orders.c) and README's permission table.
 */
#ifndef LS_SRV_ORDER_H
#define LS_SRV_ORDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "billing.h"
#include "labshare/wire.h"

enum order_status {
    ORDER_REQUESTED = 0,
    ORDER_ACCEPTED,
    ORDER_DECLINED,
    ORDER_RECEIVED,
    ORDER_SCHEDULED,
    ORDER_COMPLETED,
    ORDER_CANCELLED,
    ORDER_STATUS_COUNT
};

enum order_action {
    ORDER_ACCEPT = 0,
    ORDER_DECLINE,
    ORDER_RECEIVE,
    ORDER_SCHEDULE,
    ORDER_COMPLETE,
    ORDER_CANCEL,
    ORDER_ACTION_COUNT
};

/* The most samples one order may carry, and the longest texts (bytes). */
#define ORDER_SAMPLES_MAX 10000
#define ORDER_TEXT_MAX 2000
/* A results file's name: 1..100 bytes of letters, digits, '.', '-', '_' (no path). */
#define ORDER_NAME_MAX 100

struct order {
    int64_t id;
    char instrument[LS_ID_MAX];
    int64_t user_id; /* who ordered (and pays, through their organisation) */
    int64_t samples; /* as ordered */
    char description[ORDER_TEXT_MAX + 1];
    char analysis[ORDER_TEXT_MAX + 1];
    int urgent;
    enum order_status status;
    char reason[640]; /* a decline's or cancellation's words */
    int has_reason;
    int64_t samples_received;                       /* -1: not received */
    int64_t accepted_at, received_at, completed_at; /* 0: not yet */
    int64_t handled_by;                             /* the staff member of the last step; 0 */
    int64_t created_at, updated_at;
    /* the results file (result_size -1: none yet) */
    char result_name[ORDER_NAME_MAX + 1];
    char result_type[128];
    int64_t result_size;
    char result_sha256[65];
    int64_t result_at;
};

/* What POST /orders gives. */
struct order_request {
    const char *instrument;
    int64_t samples;
    const char *description, *analysis;
    int urgent;
};
/* What a step carries: a decline's or cancellation's reason; receive: the samples that arrived
 * (-1: as ordered); schedule: the slot of the staff's work. */
struct order_step {
    const char *reason;
    int64_t samples_received;
    int64_t start_ms, end_ms;
};

const char *order_status_name(enum order_status s);
int order_status_parse(const char *name, enum order_status *s);
const char *order_action_name(enum order_action a);
/* Whether s is final (declined, completed, cancelled). */
int order_status_final(enum order_status s);

/* The status action leads to from s: LS_OK, or LS_ERR_RULE with the reason in why. */
int order_next_status(enum order_status s, enum order_action a, enum order_status *next, char *why,
                      size_t len);

/* Whether the orderer may still cancel themselves: until the samples have arrived. */
int order_orderer_may_cancel(enum order_status s);

/* Whether name is a results file name (ORDER_NAME_MAX, no path, not hidden) and type a media
 * type ("type/subtype", lower-case letters, digits and ".+-", 3..100 bytes). */
int order_result_name_ok(const char *name);
int order_result_type_ok(const char *type);

/* What a completed order costs: metered_s seconds of the staff's metered work on the metered
 * basis at the orderer's category (increment and minimum of the terms) plus the per-sample fee
 * times the samples received. LS_OK, or LS_ERR_INVAL when a product does not fit in 64 bits. */
int order_charge(const struct billing_terms *t, enum billing_category cat, int64_t metered_s,
                 int64_t samples, struct charge *c);

/* o as the API and the audit log show it (new reference), or NULL when out of memory. */
json_t *order_json(const struct order *o);
/* The same with the work so far: metered_seconds (of metered_ms inside its bookings) and the
 * number of its bookings not cancelled. */
json_t *order_json_work(const struct order *o, int64_t metered_ms, int64_t bookings);

#endif /* LS_SRV_ORDER_H */
