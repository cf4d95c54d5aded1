#include "trust.h"

#include <math.h>
#include <string.h>

#include "labshare/banned.h"

const char *trust_cause_name(enum trust_cause c)
{
    static const char *const names[TRUST_CAUSE_COUNT] = {
        "unknown_gateway", "unbound_instrument", "bad_time",        "bad_value",       "oversized",
        "malformed",       "conflicting_repeat", "bad_range_claim", "unexpected_topic"};

    return (unsigned)c < TRUST_CAUSE_COUNT ? names[c] : "unknown";
}

int trust_check_values(const struct ls_reading *r)
{
    if (((r->has & LS_HAS_RUN_SECONDS) &&
         (r->run_seconds < 0 || r->run_seconds > TRUST_COUNTER_MAX)) ||
        ((r->has & LS_HAS_ENERGY_WH) && (r->energy_wh < 0 || r->energy_wh > TRUST_COUNTER_MAX)) ||
        ((r->has & LS_HAS_SAMPLES) && (r->samples < 0 || r->samples > TRUST_COUNTER_MAX)) ||
        ((r->has & LS_HAS_BADGE) && (r->badge < 0 || r->badge > TRUST_BADGE_MAX)) ||
        ((r->has & LS_HAS_POWER_W) &&
         (!isfinite(r->power_w) || r->power_w < 0 || r->power_w > TRUST_POWER_MAX)))
        return TRUST_BAD_VALUE;
    return -1;
}

int trust_check_time(const struct ls_reading *r, int64_t received_ms, int64_t instrument_created_ms,
                     const struct trust_limits *lim)
{
    /* ts is at most LS_TS_MAX (year 3000) after decoding, the limits at most a century: no
     * overflow. */
    if (r->ts > received_ms + lim->max_future_ms ||
        r->ts < instrument_created_ms - lim->max_past_ms)
        return TRUST_BAD_TIME;
    return -1;
}

int trust_range_claim(int64_t after, int64_t last, const struct ls_reading *r, size_t n,
                      int64_t stored_ack, int64_t max_thinned, int64_t *from)
{
    int64_t start = after > stored_ack ? after : stored_ack, inside = 0;

    /* after, last and the seqs are 0..2^53-1 (decoded), n <= LS_BATCH_MAX_READINGS */
    if (last <= start)
        return -1;
    for (size_t i = 0; i < n; i++)
        inside += r[i].seq > start && r[i].seq <= last;
    if (last - start - inside > max_thinned)
        return 0;
    *from = start;
    return 1;
}

int trust_same_reading(const struct ls_reading *a, const struct ls_reading *b)
{
    unsigned h = a->has & ~(unsigned)LS_HAS_TS;

    if (strcmp(a->instrument, b->instrument) != 0 || a->ts != b->ts || a->state != b->state ||
        a->cause != b->cause || h != (b->has & ~(unsigned)LS_HAS_TS))
        return 0;
    return (!(h & LS_HAS_RUN_SECONDS) || a->run_seconds == b->run_seconds) &&
           (!(h & LS_HAS_ENERGY_WH) || a->energy_wh == b->energy_wh) &&
           (!(h & LS_HAS_SAMPLES) || a->samples == b->samples) &&
           (!(h & LS_HAS_BADGE) || a->badge == b->badge) &&
           (!(h & LS_HAS_INTERLOCK) || a->interlock == b->interlock) &&
           /* stored as a REAL: exact for the doubles the decoder produced */
           (!(h & LS_HAS_POWER_W) || a->power_w == b->power_w);
}
