/*
 * interlock.h - the state an instrument's interlock relay should be in (issue 12), pure.
 *
 * Policy per instrument: `none` (nothing is computed or sent), `monitor` (computed and compared
 * with what the meter reports, never sent), `enforce` (sent to the gateway). Under a policy the
 * relay is enabled from `lead_min` before a confirmed booking's start until its end; at the end a
 * running measurement is not cut: it stays enabled until the meter goes idle or `overrun_grace_min`
 * after the end, whichever is first. A walk-up (a qualified user's badge at the instrument when
 * no booking holds it) enables it only when `walkup` is allowed. An outage disables it, also in
 * a booking. Everything else: disabled.
 */
#ifndef LS_SRV_INTERLOCK_H
#define LS_SRV_INTERLOCK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum interlock_mode { INTERLOCK_NONE = 0, INTERLOCK_MONITOR, INTERLOCK_ENFORCE };

struct interlock_policy {
    enum interlock_mode mode;
    int lead_min;          /* enabled this long before a booking's start (10) */
    int overrun_grace_min; /* a running measurement may go on this long after the end (30) */
    int walkup;            /* 1: a qualified user's badge enables it outside bookings (0) */
};

/* Parse the instrument's "interlock" object ({} or NULL: mode none and the defaults). Unknown
 * keys and values out of range are LS_ERR_INVAL with a sentence in why. */
int interlock_policy_parse(const json_t *obj, struct interlock_policy *p, char *why, size_t len);
json_t *interlock_policy_json(const struct interlock_policy *p);
const char *interlock_mode_name(enum interlock_mode m);

struct interlock_booking {
    int64_t id;
    int64_t start_ms, end_ms;
};

struct interlock_span {
    int64_t start_ms, end_ms;
};

struct interlock_input {
    int64_t now_ms;
    /* confirmed bookings of the instrument near now (any order) */
    const struct interlock_booking *bookings;
    size_t nbookings;
    /* its outages near now */
    const struct interlock_span *outages;
    size_t noutages;
    int running;        /* the meter's last reading says running */
    int64_t idle_at_ms; /* the time of its latest reading not running (0: none): once idle
                           after a booking's end, it stays disabled */
    int walkup_badge;   /* a badge of a user qualified on it is at the instrument */
};

enum interlock_reason {
    IL_OFF_NO_BOOKING = 0, /* disabled: nothing allows it */
    IL_OFF_OUTAGE,         /* disabled: an outage */
    IL_ON_BOOKING,         /* enabled: a booking (or its lead time) */
    IL_ON_OVERRUN,         /* enabled: a measurement running past the booking's end */
    IL_ON_WALKUP,          /* enabled: a qualified walk-up */
};

struct interlock_desired {
    int enable;
    enum interlock_reason reason;
    int64_t booking;  /* the booking that enables it, 0 for none */
    int64_t end_ms;   /* enabled: the booking's end (from then the gateway disables it when the
                         meter is not running); 0 when disabled */
    int64_t until_ms; /* enabled: the gateway disables it at this time whatever happens (the end
                         plus the overrun grace); disabled: when the desired state may next
                         change (the next lead time or outage end), INT64_MAX when unknown */
};

/* The desired state for in under p (for mode none: disabled with reason IL_OFF_NO_BOOKING). */
void interlock_desire(const struct interlock_policy *p, const struct interlock_input *in,
                      struct interlock_desired *out);
const char *interlock_reason_name(enum interlock_reason r);

#endif /* LS_SRV_INTERLOCK_H */
