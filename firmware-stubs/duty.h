/*
 * duty.h - a random but reproducible duty cycle for a simulated meter: idle for a while, run
 * for a while with a badge logged in and some power, log out with a few samples done, repeat.
 * The same seed gives the same sequence. Not thread-safe: one owner.
 */
#ifndef LS_DUTY_H
#define LS_DUTY_H

#include <stdint.h>

#include "meter.h"

struct duty {
    unsigned short rng[3]; /* nrand48 state from the seed */
    int64_t next_ms;       /* when the next change happens */
    int idle_min_s, idle_max_s, run_min_s, run_max_s;
};

/* Start a duty cycle at now_ms; the first run starts after one idle period. */
void duty_init(struct duty *d, uint64_t seed, int64_t now_ms);

/* Apply every change due at or before now_ms to m. Returns the number of changes applied. */
int duty_step(struct duty *d, struct meter *m, int64_t now_ms);

#endif /* LS_DUTY_H */
