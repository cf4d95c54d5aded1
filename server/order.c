/* order.c - the rules of sample-testing orders: see order.h. */
#include "order.h"

#include <stdio.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

static const char *const status_names[ORDER_STATUS_COUNT] = {
    "requested", "accepted", "declined", "received", "scheduled", "completed", "cancelled",
};
static const char *const action_names[ORDER_ACTION_COUNT] = {
    "accept", "decline", "receive", "schedule", "complete", "cancel",
};

const char *order_status_name(enum order_status s)
{
    return (unsigned)s < ORDER_STATUS_COUNT ? status_names[s] : "cancelled";
}

int order_status_parse(const char *name, enum order_status *s)
{
    for (int i = 0; name && i < ORDER_STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *s = (enum order_status)i;
            return LS_OK;
        }
    return LS_ERR_INVAL;
}

const char *order_action_name(enum order_action a)
{
    return (unsigned)a < ORDER_ACTION_COUNT ? action_names[a] : "?";
}

int order_status_final(enum order_status s)
{
    return s == ORDER_DECLINED || s == ORDER_COMPLETED || s == ORDER_CANCELLED;
}

int order_orderer_may_cancel(enum order_status s)
{
    return s == ORDER_REQUESTED || s == ORDER_ACCEPTED;
}

int order_next_status(enum order_status s, enum order_action a, enum order_status *next, char *why,
                      size_t len)
{
    static const char *const need[ORDER_ACTION_COUNT] = {
        "only a requested order can be accepted",
        "only a requested order can be declined",
        "samples are received for an accepted order",
        "work is scheduled once the samples are received",
        "an order is completed once its samples are received",
        "",
    };
    int ok;

    if (order_status_final(s)) {
        snprintf(why, len, "the order is %s already", order_status_name(s));
        return LS_ERR_RULE;
    }
    switch (a) {
    case ORDER_ACCEPT:
        ok = s == ORDER_REQUESTED;
        *next = ORDER_ACCEPTED;
        break;
    case ORDER_DECLINE:
        ok = s == ORDER_REQUESTED;
        *next = ORDER_DECLINED;
        break;
    case ORDER_RECEIVE:
        ok = s == ORDER_ACCEPTED;
        *next = ORDER_RECEIVED;
        break;
    case ORDER_SCHEDULE:
        ok = s == ORDER_RECEIVED || s == ORDER_SCHEDULED;
        *next = ORDER_SCHEDULED;
        break;
    case ORDER_COMPLETE:
        ok = s == ORDER_RECEIVED || s == ORDER_SCHEDULED;
        *next = ORDER_COMPLETED;
        break;
    case ORDER_CANCEL:
        ok = 1;
        *next = ORDER_CANCELLED;
        break;
    default:
        ok = 0;
    }
    if (!ok) {
        snprintf(why, len, "%s (it is %s)",
                 (unsigned)a < ORDER_ACTION_COUNT ? need[a] : "no such step", order_status_name(s));
        return LS_ERR_RULE;
    }
    return LS_OK;
}

int order_result_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > ORDER_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int order_result_type_ok(const char *type)
{
    size_t n = type ? strlen(type) : 0, slash = 0;

    if (n < 3 || n > 100)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = type[i];
        if (c == '/') {
            if (slash || i == 0 || i == n - 1)
                return 0;
            slash = i;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
                     c == '-')) {
            return 0;
        }
    }
    return slash != 0;
}

int order_charge(const struct billing_terms *t, enum billing_category cat, int64_t metered_s,
                 int64_t samples, struct charge *c)
{
    /* the metered basis, as for use without a booking: the staff's work is what the meter saw;
     * the samples are the ones received, not a counter */
    return billing_unbooked(t, cat, metered_s < 0 ? 0 : metered_s, samples < 0 ? 0 : samples, c);
}

static json_t *time_or_null(int64_t ms)
{
    char buf[40];

    if (!ms)
        return json_null();
    ls_time_format(ms, buf, sizeof(buf));
    return json_string(buf);
}

json_t *order_json_work(const struct order *o, int64_t metered_ms, int64_t bookings)
{
    json_t *j = order_json(o);

    if (j && (json_object_set_new(j, "metered_seconds", json_integer(metered_ms / 1000)) ||
              json_object_set_new(j, "bookings", json_integer(bookings)))) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

json_t *order_json(const struct order *o)
{
    json_t *result = json_null();

    if (o->result_size >= 0) {
        char at[40];
        ls_time_format(o->result_at, at, sizeof(at));
        result = json_pack("{s:s, s:s, s:I, s:s, s:s}", "name", o->result_name, "content_type",
                           o->result_type, "size", (json_int_t)o->result_size, "sha256",
                           o->result_sha256, "uploaded_at", at);
        if (!result)
            return NULL;
    }
    return json_pack(
        "{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "id", (json_int_t)o->id, "instrument", o->instrument, "user_id", (json_int_t)o->user_id,
        "samples", (json_int_t)o->samples, "description", o->description, "analysis", o->analysis,
        "urgency", o->urgent ? "urgent" : "normal", "status", order_status_name(o->status),
        "reason", o->has_reason ? json_string(o->reason) : json_null(), "samples_received",
        o->samples_received >= 0 ? json_integer(o->samples_received) : json_null(), "accepted_at",
        time_or_null(o->accepted_at), "received_at", time_or_null(o->received_at), "completed_at",
        time_or_null(o->completed_at), "handled_by",
        o->handled_by ? json_integer(o->handled_by) : json_null(), "created_at",
        time_or_null(o->created_at), "updated_at", time_or_null(o->updated_at), "result", result);
}
