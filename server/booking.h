/*
 * booking.h - the rules of booking an instrument (pure functions, any thread): an instrument's
 * booking rules, its weekly service hours in the platform time zone, the checks a new booking
 * must pass, the status machine, and free intervals for availability.
 *
 * Local time is the process's time zone (TZ), set once at start to the platform's
 * ([server] timezone) before any thread starts.
 */
#ifndef LS_SRV_BOOKING_H
#define LS_SRV_BOOKING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "labshare/wire.h"

/* Where a booking stands (SPEC 7). Pending and confirmed ones hold their slot. */
enum booking_status {
    BOOKING_PENDING = 0,
    BOOKING_CONFIRMED,
    BOOKING_CANCELLED,
    BOOKING_COMPLETED,
    BOOKING_NO_SHOW,
    BOOKING_STATUS_COUNT
};

/* The API's name of s ("pending" ... "no_show"). */
const char *booking_status_name(enum booking_status s);
/* The status named name: LS_OK, or LS_ERR_INVAL for a name that is none. */
int booking_status_parse(const char *name, enum booking_status *s);

/* A booking as stored (SPEC 5, 7). Texts are complete: project <= 200 bytes, reason <= 600
 * ("rejected: " and a 500-byte reason), comment <= 1000. */
struct booking {
    int64_t id;
    char instrument[LS_ID_MAX];
    int64_t user_id;
    char project[256];
    int64_t start_ms, end_ms;
    enum booking_status status;
    char reason[640];
    int has_reason; /* 0: no reason (null in JSON) */
    int64_t metered_seconds;
    int64_t created_by;
    int64_t created_at;
    int rating; /* 0 = none */
    char comment[1024];
    int has_comment;
    int64_t order_id; /* the sample-testing order whose staff work this is (order.h); 0: none */
};

/* Who a booking is for, as its readers see them. */
struct booking_requester {
    char username[64];
    char display_name[256];
    int64_t org_id; /* 0: none (null in JSON) */
    char org[256];
    char org_type[16];
};

/* A booking with its requester: what the API shows of it. */
struct booking_view {
    struct booking b;
    struct booking_requester requester;
};

/* An outage of an instrument (SPEC 5): maintenance or breakdown, with a note of <= 500 bytes. */
struct outage {
    int64_t id;
    char instrument[LS_ID_MAX];
    int64_t start_ms, end_ms;
    char kind[16];
    char note[512];
    int64_t created_by;
};

/* A span of time [start_ms, end_ms), epoch ms. */
struct interval {
    int64_t start_ms, end_ms;
};

struct booking_rules {
    int min_minutes;            /* shortest booking (15) */
    int max_minutes;            /* longest booking (480) */
    int slot_minutes;           /* start and end on this grid from local midnight (15) */
    int horizon_days;           /* how far ahead one may book (90) */
    int min_notice_minutes;     /* how soon before the start one may book (60) */
    int cancel_notice_minutes;  /* users may cancel until this long before the start (1440) */
    int cancel_grace_minutes;   /* ... and, whatever the notice, this long after booking (15) */
    int approval_external;      /* 1: bookings by external users wait for a manager (1) */
    int max_future_bookings;    /* pending or confirmed future bookings per user (10) */
    int requires_qualification; /* 1: only qualified users book for self-operation (0) */
};

#define SERVICE_WINDOWS_MAX 4

/* Weekly opening hours: for each day (0 = Monday) up to four [from, to) windows in minutes
 * after local midnight (to may be 1440). */
struct service_hours {
    int count[7];
    int from[7][SERVICE_WINDOWS_MAX], to[7][SERVICE_WINDOWS_MAX];
};

/* Parse an instrument's "booking" object (NULL or {} = defaults; absent keys keep defaults).
 * LS_ERR_INVAL with a reason on an unknown key, a wrong type or a value out of range. */
int booking_rules_parse(const json_t *obj, struct booking_rules *r, char *why, size_t len);
json_t *booking_rules_json(const struct booking_rules *r);

/* Parse {"mon": [["08:00", "18:00"]], ...} (NULL or {} = Monday to Friday 08:00-18:00).
 * Windows of a day must be ordered and not overlap. */
int service_hours_parse(const json_t *obj, struct service_hours *h, char *why, size_t len);
/* h as JSON with all seven days, a closed one as [] (so it parses back to h). */
json_t *service_hours_json(const struct service_hours *h);

/* The windows of service hours meeting [from, to), in epoch ms, clipped to it, in order;
 * *out allocated (caller frees). */
int service_windows(const struct service_hours *h, int64_t from_ms, int64_t to_ms,
                    struct interval **out, size_t *n);

struct booking_request {
    int64_t start_ms, end_ms;
    int64_t now_ms;
    int external;         /* the user belongs to another organisation than the owner */
    int64_t future_count; /* the user's pending or confirmed bookings ending after now */
    int privileged;       /* a manager of the owner or an admin: rules do not apply */
    int qualified;        /* the user is qualified on the instrument for the whole booking */
};

/* NULL when the booking keeps the rules; otherwise the name of the first rule it breaks
 * ("in_past", "min_duration", "max_duration", "slot", "min_notice", "horizon",
 * "service_hours", "max_future_bookings", "qualification") with a sentence in msg. A privileged
 * booking (assisted use, a walk-in recorded) keeps none of them. */
const char *booking_check(const struct booking_rules *r, const struct service_hours *h,
                          const struct booking_request *q, char *msg, size_t len);

/* The figure of r that rule (a name booking_check returns) names - minutes for min_duration,
 * max_duration, slot and min_notice, days for horizon, a count for max_future_bookings, minutes
 * of notice for cancel_notice - for a client to say it in its own language; -1 for the rules
 * without one. */
int64_t booking_rule_limit(const struct booking_rules *r, const char *rule);

/* 1 when a qualification held from since_ms until expires_ms (the first instant it no longer
 * holds; INT64_MAX for none) covers all of [from_ms, to_ms): a booking must lie inside it, and a
 * walk-up at t asks for [t, t + 1). Pure. */
int qualification_covers(int64_t since_ms, int64_t expires_ms, int64_t from_ms, int64_t to_ms);

enum booking_action { BOOKING_APPROVE = 0, BOOKING_REJECT, BOOKING_CANCEL, BOOKING_RATE };

/* The status after action on a booking in status into *next: LS_OK, or LS_ERR_CONFLICT with a
 * reason in msg when the status machine forbids it (approving a cancelled booking, rating one
 * not completed ...). */
int booking_next_status(enum booking_status status, enum booking_action action,
                        enum booking_status *next, char *msg, size_t len);

/* A confirmed (or already settled) booking once the meter's evidence reaches evidence_ms: when it
 * ended by then, completed when the meter ran at least no_show_min_run_s in it and no_show
 * otherwise; else it stays as it is. Other statuses stay as they are. */
enum booking_status booking_settled_status(enum booking_status status, int64_t end_ms,
                                           int64_t evidence_ms, int64_t metered_s,
                                           int64_t no_show_min_run_s);

/* Subtract busy intervals (sorted by start) from free ones (sorted, disjoint) into *out
 * (caller frees). */
int interval_subtract(const struct interval *free_iv, size_t nfree, const struct interval *busy,
                      size_t nbusy, struct interval **out, size_t *n);

/* The reason of a pending booking that waits for its user's side to agree (SPEC 7). */
#define BOOKING_AWAITS_CONSENT "awaiting the user's consent"

/* Whether a booking made by the caller (admin?, user id, organisation) for user_id of
 * user_org must wait for that user's side to agree: a manager may book for users of their own
 * organisation; for anyone else's, that organisation agrees first. Admins book for anyone. */
int booking_needs_consent(int caller_is_admin, int64_t caller_id, int64_t caller_org,
                          int64_t user_id, int64_t user_org);

#endif /* LS_SRV_BOOKING_H */
