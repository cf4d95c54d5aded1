#include "booking.h"
#include "rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labshare/num.h"
#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

static const struct {
    const char *key;
    size_t offset;
    int min, max, def;
} rule_keys[] = {
    {"min_minutes", offsetof(struct booking_rules, min_minutes), 1, 10080, 15},
    {"max_minutes", offsetof(struct booking_rules, max_minutes), 1, 10080 * 4, 480},
    {"slot_minutes", offsetof(struct booking_rules, slot_minutes), 1, 1440, 15},
    {"horizon_days", offsetof(struct booking_rules, horizon_days), 1, 730, 90},
    {"min_notice_minutes", offsetof(struct booking_rules, min_notice_minutes), 0, 43200, 60},
    {"cancel_notice_minutes", offsetof(struct booking_rules, cancel_notice_minutes), 0, 43200,
     1440},
    {"max_future_bookings", offsetof(struct booking_rules, max_future_bookings), 1, 1000, 10},
    {"cancel_grace_minutes", offsetof(struct booking_rules, cancel_grace_minutes), 0, 1440, 15},
};
#define NRULES (sizeof(rule_keys) / sizeof(rule_keys[0]))

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int booking_rules_parse(const json_t *obj, struct booking_rules *r, char *why, size_t len)
{
    const char *key;
    json_t *v;

    for (size_t i = 0; i < NRULES; i++)
        *(int *)(void *)((char *)r + rule_keys[i].offset) = rule_keys[i].def;
    r->approval_external = 1;
    r->requires_qualification = 0;
    if (!obj || json_is_null(obj))
        return LS_OK;
    if (!json_is_object(obj)) {
        snprintf(why, len, "booking must be an object");
        return LS_ERR_INVAL;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        if (strcmp(key, "approval_external") == 0 || strcmp(key, "requires_qualification") == 0) {
            if (!json_is_boolean(v)) {
                snprintf(why, len, "booking.%s must be true or false", key);
                return LS_ERR_INVAL;
            }
            if (key[0] == 'a')
                r->approval_external = json_is_true(v);
            else
                r->requires_qualification = json_is_true(v);
            continue;
        }
        for (i = 0; i < NRULES; i++)
            if (strcmp(key, rule_keys[i].key) == 0)
                break;
        if (i == NRULES) {
            snprintf(why, len, "booking.%.40s is not a booking rule", key);
            return LS_ERR_INVAL;
        }
        if (!json_is_integer(v) || json_integer_value(v) < rule_keys[i].min ||
            json_integer_value(v) > rule_keys[i].max) {
            snprintf(why, len, "booking.%s must be a whole number from %d to %d", key,
                     rule_keys[i].min, rule_keys[i].max);
            return LS_ERR_INVAL;
        }
        *(int *)(void *)((char *)r + rule_keys[i].offset) = (int)json_integer_value(v);
    }
    if (r->min_minutes > r->max_minutes) {
        snprintf(why, len, "booking.min_minutes is above booking.max_minutes");
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

json_t *booking_rules_json(const struct booking_rules *r)
{
    json_t *o = json_object();

    for (size_t i = 0; o && i < NRULES; i++)
        json_object_set_new(
            o, rule_keys[i].key,
            json_integer(*(const int *)(const void *)((const char *)r + rule_keys[i].offset)));
    if (o) {
        json_object_set_new(o, "approval_external", json_boolean(r->approval_external));
        json_object_set_new(o, "requires_qualification", json_boolean(r->requires_qualification));
    }
    return o;
}

/* "HH:MM" into minutes after midnight; 24:00 allowed as an end. */
static int parse_hhmm(const char *s, int *out)
{
    int h, m;
    char hh[3] = {0}, mm[3] = {0};

    if (!s || strlen(s) != 5 || s[2] != ':')
        return LS_ERR_INVAL;
    memcpy(hh, s, 2);
    memcpy(mm, s + 3, 2);
    if (ls_parse_int(hh, 0, 24, &h) || ls_parse_int(mm, 0, 59, &m) || (h == 24 && m != 0))
        return LS_ERR_INVAL;
    *out = h * 60 + m;
    return LS_OK;
}

int service_hours_parse(const json_t *obj, struct service_hours *h, char *why, size_t len)
{
    const char *key;
    json_t *v;

    memset(h, 0, sizeof(*h));
    if (!obj || json_is_null(obj) || (json_is_object(obj) && json_object_size(obj) == 0)) {
        for (int d = 0; d < 5; d++) {
            h->count[d] = 1;
            h->from[d][0] = 8 * 60;
            h->to[d][0] = 18 * 60;
        }
        return LS_OK;
    }
    if (!json_is_object(obj)) {
        snprintf(why, len, "service_hours must be an object");
        return LS_ERR_INVAL;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        int d;
        for (d = 0; d < 7; d++)
            if (strcmp(key, day_names[d]) == 0)
                break;
        if (d == 7) {
            snprintf(why, len, "service_hours.%.20s is not a day (mon ... sun)", key);
            return LS_ERR_INVAL;
        }
        if (!json_is_array(v) || json_array_size(v) > SERVICE_WINDOWS_MAX) {
            snprintf(why, len, "service_hours.%s must be a list of at most %d [from, to] pairs",
                     key, SERVICE_WINDOWS_MAX);
            return LS_ERR_INVAL;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *w = json_array_get(v, i);
            int from, to;
            if (!json_is_array(w) || json_array_size(w) != 2 ||
                parse_hhmm(json_string_value(json_array_get(w, 0)), &from) ||
                parse_hhmm(json_string_value(json_array_get(w, 1)), &to) || from >= to ||
                from == 1440) {
                snprintf(why, len,
                         "service_hours.%s[%zu] must be [\"HH:MM\", \"HH:MM\"] with the "
                         "start before the end",
                         key, i);
                return LS_ERR_INVAL;
            }
            if (i > 0 && from < h->to[d][i - 1]) {
                snprintf(why, len, "service_hours.%s windows overlap or are out of order", key);
                return LS_ERR_INVAL;
            }
            h->from[d][i] = from;
            h->to[d][i] = to;
            h->count[d]++;
        }
    }
    return LS_OK;
}

json_t *service_hours_json(const struct service_hours *h)
{
    json_t *o = json_object();

    for (int d = 0; o && d < 7; d++) {
        json_t *arr = json_array();
        for (int i = 0; arr && i < h->count[d]; i++) {
            char a[16], b[16];
            snprintf(a, sizeof(a), "%02d:%02d", h->from[d][i] / 60, h->from[d][i] % 60);
            snprintf(b, sizeof(b), "%02d:%02d", h->to[d][i] / 60, h->to[d][i] % 60);
            json_array_append_new(arr, json_pack("[s, s]", a, b));
        }
        /* every day, closed ones as []: an empty object would read back as the default hours,
         * reopening an instrument closed all week (found by fuzz_requests) */
        json_object_set_new(o, day_names[d], arr);
    }
    return o;
}

/* Epoch seconds of minute m after the local midnight day (handles days of 23 or 25 hours). */
static time_t at_minute(time_t day, int m)
{
    struct tm tm;

    localtime_r(&day, &tm);
    tm.tm_hour = m / 60;
    tm.tm_min = m % 60;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

/* Minute m of the local day [day_ms, next_ms): on a day of 24 hours, m minutes on; on a day
 * the clocks change, as the zone says (perf, issue 15: mktime for every window was a sixth of an
 * availability request). */
static int64_t minute_of(int64_t day_ms, int64_t next_ms, int m)
{
    if (next_ms - day_ms == 86400000)
        return day_ms + (int64_t)m * 60000;
    return (int64_t)at_minute((time_t)(day_ms / 1000), m) * 1000;
}

int service_windows(const struct service_hours *h, int64_t from_ms, int64_t to_ms,
                    struct interval **out, size_t *n)
{
    struct interval *v = NULL;
    size_t cnt = 0, cap = 0;
    int64_t day = rollup_day_start(from_ms);
    int wd = rollup_weekday(day);

    *out = NULL;
    *n = 0;
    /* A day at a time; at most 3 years, so a silly range cannot run away. */
    for (int guard = 0; day < to_ms && guard < 1100; guard++) {
        int64_t next = rollup_next_day(day);
        for (int i = 0; i < h->count[wd]; i++) {
            int64_t s = minute_of(day, next, h->from[wd][i]);
            int64_t e = h->to[wd][i] == 1440 ? next : minute_of(day, next, h->to[wd][i]);
            if (e <= from_ms || s >= to_ms)
                continue;
            if (LS_GROW(v, cap, cnt + 1)) {
                free(v);
                return LS_ERR_NOMEM;
            }
            v[cnt].start_ms = s < from_ms ? from_ms : s;
            v[cnt].end_ms = e > to_ms ? to_ms : e;
            /* a window ending at midnight that the next day's starts at midnight: one span */
            if (cnt > 0 && v[cnt - 1].end_ms == v[cnt].start_ms)
                v[cnt - 1].end_ms = v[cnt].end_ms;
            else
                cnt++;
        }
        day = next; /* whatever its length */
        wd = (wd + 1) % 7;
    }
    *out = v;
    *n = cnt;
    return LS_OK;
}

const char *booking_check(const struct booking_rules *r, const struct service_hours *h,
                          const struct booking_request *q, char *msg, size_t len)
{
    int64_t minutes = (q->end_ms - q->start_ms) / 60000;
    struct interval *w = NULL;
    size_t n = 0;
    int covered = 0;
    struct tm tm;
    time_t t;
    int64_t slot_ms = (int64_t)r->slot_minutes * 60000;

    if (q->privileged)
        return NULL;
    if (q->start_ms < q->now_ms) {
        snprintf(msg, len, "the booking starts in the past");
        return "in_past";
    }
    if (minutes < r->min_minutes || (q->end_ms - q->start_ms) % 60000) {
        snprintf(msg, len, "a booking lasts at least %d minutes", r->min_minutes);
        return "min_duration";
    }
    if (minutes > r->max_minutes) {
        snprintf(msg, len, "a booking lasts at most %d minutes", r->max_minutes);
        return "max_duration";
    }
    t = (time_t)(q->start_ms / 1000);
    localtime_r(&t, &tm);
    if ((q->start_ms + tm.tm_gmtoff * 1000) % slot_ms || (q->end_ms - q->start_ms) % slot_ms) {
        snprintf(msg, len, "bookings start and end on a %d-minute grid", r->slot_minutes);
        return "slot";
    }
    if (q->start_ms - q->now_ms < (int64_t)r->min_notice_minutes * 60000) {
        snprintf(msg, len, "book at least %d minutes ahead", r->min_notice_minutes);
        return "min_notice";
    }
    if (q->start_ms - q->now_ms > (int64_t)r->horizon_days * 86400000) {
        snprintf(msg, len, "bookings open %d days ahead", r->horizon_days);
        return "horizon";
    }
    if (service_windows(h, q->start_ms, q->end_ms, &w, &n) == LS_OK)
        covered = n == 1 && w[0].start_ms == q->start_ms && w[0].end_ms == q->end_ms;
    free(w);
    if (!covered) {
        snprintf(msg, len, "the booking lies outside the instrument's service hours");
        return "service_hours";
    }
    if (q->future_count >= r->max_future_bookings) {
        snprintf(msg, len, "at most %d future bookings per user", r->max_future_bookings);
        return "max_future_bookings";
    }
    if (r->requires_qualification && !q->qualified) {
        snprintf(msg, len,
                 "only users qualified on this instrument operate it themselves: ask its "
                 "manager for training, or to book assisted use for you");
        return "qualification";
    }
    return NULL;
}

static const char *const status_names[BOOKING_STATUS_COUNT] = {
    "pending", "confirmed", "cancelled", "completed", "no_show",
};

const char *booking_status_name(enum booking_status s)
{
    return (unsigned)s < BOOKING_STATUS_COUNT ? status_names[s] : "unknown";
}

int booking_status_parse(const char *name, enum booking_status *s)
{
    for (int i = 0; name && i < BOOKING_STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *s = (enum booking_status)i;
            return LS_OK;
        }
    return LS_ERR_INVAL;
}

int booking_next_status(enum booking_status status, enum booking_action action,
                        enum booking_status *next, char *msg, size_t len)
{
    const char *name = booking_status_name(status);

    switch (action) {
    case BOOKING_APPROVE:
    case BOOKING_REJECT:
        if (status == BOOKING_PENDING) {
            *next = action == BOOKING_APPROVE ? BOOKING_CONFIRMED : BOOKING_CANCELLED;
            return LS_OK;
        }
        snprintf(msg, len, "only a pending booking can be %s; this one is %s",
                 action == BOOKING_APPROVE ? "approved" : "rejected", name);
        return LS_ERR_CONFLICT;
    case BOOKING_CANCEL:
        if (status == BOOKING_PENDING || status == BOOKING_CONFIRMED) {
            *next = BOOKING_CANCELLED;
            return LS_OK;
        }
        snprintf(msg, len, "a %s booking cannot be cancelled", name);
        return LS_ERR_CONFLICT;
    case BOOKING_RATE:
        if (status == BOOKING_COMPLETED) {
            *next = BOOKING_COMPLETED;
            return LS_OK;
        }
        snprintf(msg, len, "only a completed booking can be rated; this one is %s", name);
        return LS_ERR_CONFLICT;
    }
    snprintf(msg, len, "unknown action");
    return LS_ERR_INVAL;
}

enum booking_status booking_settled_status(enum booking_status status, int64_t end_ms,
                                           int64_t evidence_ms, int64_t metered_s,
                                           int64_t no_show_min_run_s)
{
    if (status != BOOKING_CONFIRMED && status != BOOKING_COMPLETED && status != BOOKING_NO_SHOW)
        return status;
    if (end_ms > evidence_ms)
        return status;
    return metered_s >= no_show_min_run_s ? BOOKING_COMPLETED : BOOKING_NO_SHOW;
}

int interval_subtract(const struct interval *free_iv, size_t nfree, const struct interval *busy,
                      size_t nbusy, struct interval **out, size_t *n)
{
    struct interval *v = NULL;
    size_t cnt = 0, cap = 0;

    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < nfree; i++) {
        int64_t s = free_iv[i].start_ms, e = free_iv[i].end_ms;
        for (size_t k = 0; k < nbusy && s < e; k++) {
            if (busy[k].end_ms <= s || busy[k].start_ms >= e)
                continue;
            if (busy[k].start_ms > s) {
                if (LS_GROW(v, cap, cnt + 1)) {
                    free(v);
                    return LS_ERR_NOMEM;
                }
                v[cnt].start_ms = s;
                v[cnt++].end_ms = busy[k].start_ms;
            }
            if (busy[k].end_ms > s)
                s = busy[k].end_ms;
        }
        if (s < e) {
            if (LS_GROW(v, cap, cnt + 1)) {
                free(v);
                return LS_ERR_NOMEM;
            }
            v[cnt].start_ms = s;
            v[cnt++].end_ms = e;
        }
    }
    *out = v;
    *n = cnt;
    return LS_OK;
}

int booking_needs_consent(int caller_is_admin, int64_t caller_id, int64_t caller_org,
                          int64_t user_id, int64_t user_org)
{
    return !caller_is_admin && user_id != caller_id && user_org != caller_org;
}

int64_t booking_rule_limit(const struct booking_rules *r, const char *rule)
{
    const struct {
        const char *rule;
        int value;
    } figures[] = {
        {"min_duration", r->min_minutes},
        {"max_duration", r->max_minutes},
        {"slot", r->slot_minutes},
        {"min_notice", r->min_notice_minutes},
        {"horizon", r->horizon_days},
        {"max_future_bookings", r->max_future_bookings},
        {"cancel_notice", r->cancel_notice_minutes},
    };

    for (size_t i = 0; rule && i < sizeof(figures) / sizeof(figures[0]); i++)
        if (strcmp(rule, figures[i].rule) == 0)
            return figures[i].value;
    return -1;
}

int qualification_covers(int64_t since_ms, int64_t expires_ms, int64_t from_ms, int64_t to_ms)
{
    return since_ms <= from_ms && to_ms <= expires_ms && from_ms < to_ms;
}
