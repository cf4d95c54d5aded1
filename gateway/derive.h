/*
 * derive.h - state and run time of a meter that has no state register: a plain power meter
 * clamped onto an instrument. The instrument runs when its power has stayed at or above start_w
 * for min_on_s, and stops when it has stayed below stop_w for min_off_s (hysteresis plus
 * debounce, so a short spike or dip changes nothing). Without a run-time counter, run time is
 * summed from the time spent running. Not thread-safe: one per instrument, owned by its worker.
 */
#ifndef LS_GW_DERIVE_H
#define LS_GW_DERIVE_H

#include <stdint.h>

#include "config.h"

struct derive {
    double start_w, stop_w;
    int64_t min_on_ms, min_off_ms;
    int running;
    int64_t pending_since; /* when power first crossed towards the other state; -1 = none */
    int64_t run_ms;        /* run time summed so far (restored from the outbox at start) */
    int64_t last_ms;       /* time of the last update; -1 before the first */
    int sum_run_time;      /* 1 when the meter has no run-time counter */
};

/* Set up for device d, with run_ms of run time already summed before (from the outbox). */
void derive_init(struct derive *dv, const struct gw_device *d, int64_t run_ms);

/* Whether device d needs its state derived from power: a Modbus meter without a state field. */
int derive_wanted(const struct gw_device *d);

/* The run time to keep with a reading in the outbox (outbox_append's derived_run_ms): the summed
 * one when dv sums it, else -1. */
int64_t derive_run_to_keep(const struct derive *dv);

/* Feed a polled reading taken at monotonic time mono_ms: sets r->state (idle or running; off
 * when the power is 0 or less) and, without a counter, r->run_seconds from the summed time. */
void derive_apply(struct derive *dv, struct ls_reading *r, int64_t mono_ms);

#endif /* LS_GW_DERIVE_H */
