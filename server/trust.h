/*
 * trust.h - what the server believes of what arrives on the wire (SPEC 3.3), as pure
 * functions (any thread): the causes for refusing a reading or a message, value and time
 * ranges, range claims, and whether a repeat of a stored reading is the same reading.
 */
#ifndef LS_SRV_TRUST_H
#define LS_SRV_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "labshare/wire.h"

/* Why something was refused; counted by cause in /metrics/prometheus. */
enum trust_cause {
    TRUST_UNKNOWN_GATEWAY = 0, /* not registered, or disabled */
    TRUST_UNBOUND_INSTRUMENT,  /* unknown instrument, or bound to another gateway */
    TRUST_BAD_TIME,            /* too far ahead of its arrival, or before its instrument */
    TRUST_BAD_VALUE,           /* a counter, power or badge out of range */
    TRUST_OVERSIZED,           /* a payload over the wire limit (no room in the queue: dropped) */
    TRUST_MALFORMED,           /* not a valid message */
    TRUST_CONFLICTING_REPEAT,  /* a stored (gateway, epoch, seq) again, with other content */
    TRUST_BAD_RANGE_CLAIM,  /* an "after" claim behind the ack or longer than thinning explains */
    TRUST_UNEXPECTED_TOPIC, /* a topic the server does not read */
    TRUST_CAUSE_COUNT
};

/* "unknown_gateway", ...: the label in /metrics/prometheus. */
const char *trust_cause_name(enum trust_cause c);

/* Counters (run_seconds, energy_wh, samples) at most: a u32 register scaled by 1000 fits. */
#define TRUST_COUNTER_MAX 4294967295000LL
/* Badge numbers are u32 registers. */
#define TRUST_BADGE_MAX 4294967295LL
/* Power at most 100 MW: no laboratory instrument draws more. */
#define TRUST_POWER_MAX 1e8

struct trust_limits {
    int64_t max_future_ms; /* a reading's ts at most this far after its arrival */
    int64_t max_past_ms;   /* and at least its instrument's creation minus this */
    int64_t max_thinned;   /* seqs a range claim may declare thinned */
};

/* TRUST_BAD_VALUE when a counter, the power or the badge is out of range, else -1. */
int trust_check_values(const struct ls_reading *r);

/* TRUST_BAD_TIME when r->ts is more than max_future_ms after received_ms or before
 * instrument_created_ms - max_past_ms, else -1. */
int trust_check_time(const struct ls_reading *r, int64_t received_ms, int64_t instrument_created_ms,
                     const struct trust_limits *lim);

/* A batch's claim that it holds every reading in (after, last]: the part behind the gateway's
 * stored ack is already settled, so the claim is taken from max(after, stored_ack) (a resend
 * after a lost ack claims from further back; what it says of the rest still holds). It is
 * believable when the seqs it says were thinned there (the range's length less in_range, the
 * batch's readings inside it) are not more than max_thinned. Returns the start of the range to
 * take into *from, or 0 (refused) or -1 (nothing left to claim). */
int trust_range_claim(int64_t after, int64_t last, const struct ls_reading *r, size_t n,
                      int64_t stored_ack, int64_t max_thinned, int64_t *from);

/* 1 when a and b are the same reading (instrument, ts, state, counters, power, badge, cause). */
int trust_same_reading(const struct ls_reading *a, const struct ls_reading *b);

#endif /* LS_SRV_TRUST_H */
