/*
 * meter.h - the model of one simulated instrument meter (SPEC section 2).
 *
 * A meter holds a state and monotonic counters. Time is given by the caller (epoch ms), so
 * the model is deterministic and testable: meter_advance() integrates run time and energy
 * over the time since the last call. Not thread-safe: one owner.
 */
#ifndef LS_METER_H
#define LS_METER_H

#include <stdint.h>

#include "labshare/regmap.h"
#include "labshare/wire.h"

struct meter {
    char id[LS_ID_MAX];
    enum ls_state state;
    uint32_t run_seconds; /* wraps at 2^32 like the u32 register */
    uint32_t energy_wh;
    double power_w;
    uint32_t samples;
    uint32_t badge;
    uint16_t fault_code;
    int interlock;       /* 1 = enabled (the relay starts closed) */
    int64_t last_ms;     /* time of the last meter_advance(), 0 before the first */
    int64_t run_ms_frac; /* run time not yet counted as a whole second, ms */
    double energy_frac;  /* energy not yet counted as a whole Wh */
};

/* Initialise a meter at time now_ms: state idle, counters 0, interlock enabled. */
void meter_init(struct meter *m, const char *id, int64_t now_ms);

/* Advance counters to now_ms: while running, run_seconds and energy_wh grow. A now_ms earlier
 * than the last call (clock stepped back) only resets the reference time. */
void meter_advance(struct meter *m, int64_t now_ms);

/* Change state at now_ms (advancing first). Entering running is refused while the interlock is
 * 0: returns LS_ERR_DENIED and leaves the state. Leaving running sets power to the idle power. */
int meter_set_state(struct meter *m, enum ls_state state, int64_t now_ms);

/* Set the interlock relay (coil 0). Disabling it while running stops the run (state idle). */
void meter_set_interlock(struct meter *m, int enabled, int64_t now_ms);

/* Fill the LabShare register map (LS_REG_COUNT holding registers). */
void meter_to_registers(const struct meter *m, uint16_t *regs);

#endif /* LS_METER_H */
