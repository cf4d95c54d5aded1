/*
 * meter.h - the model of one simulated instrument meter (SPEC section 2).
 *
 * A meter holds a state and monotonic counters. Time is given by the caller (epoch ms), so the
 * model is deterministic and testable: meter_advance() integrates run time (while running) and
 * energy (from power, while powered) over the time since the last call. Not thread-safe: one
 * owner.
 */
#ifndef LS_METER_H
#define LS_METER_H

#include <stdint.h>

#include "labshare/regmap.h"
#include "labshare/wire.h"

/* What the meter exposes over Modbus. */
enum meter_profile {
    METER_LABSHARE = 0, /* the LabShare map: holding registers 0-12, coil 0 = interlock */
    METER_POWER         /* a plain power meter: float32 input registers, power and energy only */
};

/* The power meter's input registers: power in W and energy in kWh, float32. The addresses are
 * those of common DIN-rail meters (and of SPEC section 4's example). */
enum { METER_POWER_IR_W = 12, METER_POWER_IR_KWH = 342, METER_POWER_IR_COUNT = 344 };

/* Power drawn when powered but not measuring: a typical instrument's standby. */
#define METER_IDLE_POWER_W 120.0
/* Power while running unless a scenario says otherwise. */
#define METER_RUN_POWER_W 1500.0

struct meter {
    char id[LS_ID_MAX];
    enum meter_profile profile;
    enum ls_word_order word_order; /* of 32-bit values in registers */
    enum ls_state state;
    uint32_t run_seconds; /* wraps at 2^32 like the u32 register */
    uint32_t energy_wh;
    double power_w;
    uint32_t samples;
    uint32_t badge;
    uint16_t fault_code;
    int interlock;       /* 1 = enabled (the relay starts closed) */
    int64_t last_ms;     /* time of the last meter_advance() */
    int64_t run_ms_frac; /* run time not yet counted as a whole second, ms */
    double energy_frac;  /* energy not yet counted as a whole Wh */
};

/* Initialise a meter at time now_ms: state idle, counters 0, interlock enabled, LabShare
 * profile, big word order. */
void meter_init(struct meter *m, const char *id, int64_t now_ms);

/* Advance counters to now_ms. A now_ms earlier than the last call (clock stepped back) only
 * resets the reference time. */
void meter_advance(struct meter *m, int64_t now_ms);

/* Change state at now_ms (advancing first). Entering running is refused while the interlock is
 * 0: returns LS_ERR_DENIED and leaves the state. A change of state sets the power of the new
 * state (METER_RUN_POWER_W, METER_IDLE_POWER_W, 0 when off). */
int meter_set_state(struct meter *m, enum ls_state state, int64_t now_ms);

/* Set the interlock relay (coil 0). Disabling it while running stops the run (state idle). */
void meter_set_interlock(struct meter *m, int enabled, int64_t now_ms);

/* Factory reset at now_ms: run_seconds, energy_wh and samples back to 0. */
void meter_reset_counters(struct meter *m, int64_t now_ms);

/* Fill the LabShare register map: LS_REG_COUNT holding registers. */
void meter_to_registers(const struct meter *m, uint16_t *regs);

/* Fill the power meter's input registers (METER_POWER_IR_COUNT, the rest zero). */
void meter_to_power_registers(const struct meter *m, uint16_t *ir);

/* The SPEC 3.1 payload of the meter's present values, taken at now_ms. */
void meter_to_reading(const struct meter *m, int64_t now_ms, struct ls_reading *r);

#endif /* LS_METER_H */
