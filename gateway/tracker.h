/*
 * tracker.h - decides which polled values become readings (SPEC 3.2): the first one after
 * start (boot), every state change, badge change, interlock relay change and counter reset
 * (change), and otherwise a heartbeat every heartbeat interval. Not thread-safe: one per
 * instrument, owned by the worker that polls it.
 */
#ifndef LS_GW_TRACKER_H
#define LS_GW_TRACKER_H

#include <stdint.h>

#include "labshare/wire.h"

struct tracker {
    int have_sent, have_seen;
    struct ls_reading last_sent; /* the last reading stored in the outbox */
    struct ls_reading last_seen; /* the last value polled */
    int64_t sent_mono_ms;
    int64_t heartbeat_ms;
};

void tracker_init(struct tracker *t, int heartbeat_s);

/* Look at a freshly polled r at monotonic time mono_ms. Returns 1 and sets r->cause when r
 * should be stored and sent, 0 when not. Call tracker_sent() once it is stored. */
int tracker_observe(struct tracker *t, struct ls_reading *r, int64_t mono_ms);

/* r (as passed to tracker_observe) is now in the outbox. */
void tracker_sent(struct tracker *t, const struct ls_reading *r, int64_t mono_ms);

#endif /* LS_GW_TRACKER_H */
