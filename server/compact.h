/*
 * compact.h - which readings of a closed month stay when its heartbeats are compacted (issue 15,
 * opt-in: [evidence] compact_readings). Pure functions (any thread).
 *
 * Of one instrument's readings of a month, in time order, these stay: every boot and change
 * reading, every reading whose state or badge differs from the one before it (a heartbeat that
 * tells of a change the gateway did not report), and the first and the last reading of each
 * hour. The heartbeats between two kept readings go: with counters (run seconds, energy,
 * samples) the steps they made add up to the one step between the kept readings, so sessions and
 * their run time stay as they were; the store checks that they do before it removes anything.
 */
#ifndef LS_SRV_COMPACT_H
#define LS_SRV_COMPACT_H

#include <stddef.h>
#include <stdint.h>

struct compact_reading {
    int64_t ts;
    int state, cause;
    int has_badge;
    int64_t badge;
};

/* keep[i] = 1 for each of r[0..n) that stays, 0 for each that goes; returns how many go. */
size_t compact_select(const struct compact_reading *r, size_t n, unsigned char *keep);

#endif /* LS_SRV_COMPACT_H */
