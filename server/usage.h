/*
 * usage.h - from readings to usage (SPEC section 6), as pure functions (any thread):
 * sessions (maximal running intervals, short gaps merged), their run time from counter deltas
 * (a missed reading loses nothing; a counter that goes down starts a new baseline), energy and
 * samples, and their split into parts attributed to a booking's user, a badge's user or nobody.
 */
#ifndef LS_SRV_USAGE_H
#define LS_SRV_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "labshare/wire.h"

/* One reading of one instrument, as the usage computation needs it. */
struct usage_reading {
    int64_t ts;
    enum ls_state state;
    unsigned has; /* LS_HAS_RUN_SECONDS, LS_HAS_ENERGY_WH, LS_HAS_SAMPLES, LS_HAS_BADGE */
    int64_t run_seconds, energy_wh, samples, badge;
    int64_t badge_user; /* the badge's user when the reading arrived: 0 none, -1 not recorded
                           (readings stored before schema 6) */
};

struct usage_session {
    int64_t start_ms, end_ms; /* [start, end): end is the first non-running reading after it
                                 (or the last reading while it still runs) */
    int64_t run_ms;           /* metered run time */
    int64_t energy_wh, samples;
    int64_t badge;      /* the badge logged in during it (the first reported), 0 = none */
    int64_t badge_user; /* that badge's user when its reading arrived (as usage_reading) */
    int badge_seen;     /* a reading of it reported a badge (0 included) */
    int open;           /* 1: still running at the last reading */
};

/* Counter increase from a to b: b - a, or b when the counter went down (a reset or wrap: a new
 * baseline, the run since it), never more than max (the time available, so garbage cannot make
 * a huge delta). */
int64_t usage_counter_delta(int64_t a, int64_t b, int64_t max);

/* Sessions of readings r[0..n) sorted by ts. Gaps in a non-running state shorter than
 * merge_gap_ms are merged, unless the new run reports another badge. A session never mixes
 * users: where a running reading reports a badge other than the session's (another log-in, or
 * a log-out to 0), the session ends there and a new one starts. Run time comes from the
 * run_seconds counter where both ends of a step have it, otherwise from the time spent
 * running. *out allocated (caller frees). */
int usage_sessions(const struct usage_reading *r, size_t n, int64_t merge_gap_ms,
                   struct usage_session **out, size_t *nout);

/* A booking as attribution needs it. */
struct usage_booking {
    int64_t id, user_id;
    int64_t start_ms, end_ms;
};

enum usage_attribution { USAGE_BOOKING = 0, USAGE_BADGE, USAGE_NONE };

struct usage_part {
    int64_t start_ms, end_ms;
    int64_t run_ms, energy_wh, samples; /* the session's, shared in proportion to time */
    enum usage_attribution attribution;
    int64_t booking_id; /* when attribution is booking */
    int64_t user_id;    /* booking's user, badge's user, 0 for none */
};

/* Split session s over bookings b[0..nb) (sorted by start, not overlapping): a part inside a
 * booking belongs to its user; outside, to badge_user (the user of the session's badge, 0 when
 * none or unknown). Counters are shared in proportion to each part's time (integer, the rounding
 * rest going to the last part, so parts sum to the session exactly). *out allocated. */
int usage_split(const struct usage_session *s, const struct usage_booking *b, size_t nb,
                int64_t badge_user, struct usage_part **out, size_t *nout);

const char *usage_attribution_name(enum usage_attribution a);

#endif /* LS_SRV_USAGE_H */
