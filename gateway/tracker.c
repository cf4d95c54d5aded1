#include "tracker.h"

#include <string.h>

#include "labshare/banned.h"

void tracker_init(struct tracker *t, int heartbeat_s)
{
    memset(t, 0, sizeof(*t));
    t->heartbeat_ms = (int64_t)heartbeat_s * 1000;
}

/* A monotonic counter went down: the meter was reset or wrapped. */
static int counter_reset(const struct ls_reading *prev, const struct ls_reading *r)
{
    return ((prev->has & r->has & LS_HAS_RUN_SECONDS) && r->run_seconds < prev->run_seconds) ||
           ((prev->has & r->has & LS_HAS_ENERGY_WH) && r->energy_wh < prev->energy_wh) ||
           ((prev->has & r->has & LS_HAS_SAMPLES) && r->samples < prev->samples);
}

/* The relay state came, went or changed (issue 12: a change of it is a reading). */
static int interlock_changed(const struct ls_reading *prev, const struct ls_reading *r)
{
    unsigned a = prev->has & LS_HAS_INTERLOCK, b = r->has & LS_HAS_INTERLOCK;

    return a != b || (a && prev->interlock != r->interlock);
}

int tracker_observe(struct tracker *t, struct ls_reading *r, int64_t mono_ms)
{
    int send = 0;

    if (!t->have_sent) {
        r->cause = LS_CAUSE_BOOT;
        send = 1;
    } else if (r->state != t->last_sent.state ||
               ((r->has | t->last_sent.has) & LS_HAS_BADGE && r->badge != t->last_sent.badge) ||
               interlock_changed(&t->last_sent, r) ||
               (t->have_seen && counter_reset(&t->last_seen, r))) {
        /* Compared with the last reading sent, so a change refused by a full outbox is
         * retried on the next poll rather than forgotten. */
        r->cause = LS_CAUSE_CHANGE;
        send = 1;
    } else if (mono_ms - t->sent_mono_ms >= t->heartbeat_ms) {
        r->cause = LS_CAUSE_HEARTBEAT;
        send = 1;
    }
    t->last_seen = *r;
    t->have_seen = 1;
    return send;
}

void tracker_sent(struct tracker *t, const struct ls_reading *r, int64_t mono_ms)
{
    t->last_sent = *r;
    t->have_sent = 1;
    t->sent_mono_ms = mono_ms;
}
