/*
 * scenario.h - timed scripts for a simulated meter.
 *
 * A scenario file has one step per line: "<seconds> <field>=<value> ...", where seconds counts
 * from the start (decimals allowed, never decreasing) and the fields are
 *   state=off|idle|running|fault   badge=N   power_w=W   samples=N   samples+=N
 *   fault_code=N   reset=counters
 * applied in that order whatever their order on the line. Run time and energy advance by
 * themselves. "#" starts a comment; blank lines are ignored; a line with only a time is a
 * no-op step (with --loop, it sets the length of the loop).
 * Not thread-safe: one owner.
 */
#ifndef LS_SCENARIO_H
#define LS_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "meter.h"

enum step_flags {
    STEP_STATE = 1 << 0,
    STEP_BADGE = 1 << 1,
    STEP_POWER = 1 << 2,
    STEP_SAMPLES_SET = 1 << 3,
    STEP_SAMPLES_ADD = 1 << 4,
    STEP_FAULT = 1 << 5,
    STEP_RESET = 1 << 6
};

struct step {
    int64_t at_ms;
    unsigned flags;
    enum ls_state state;
    uint32_t badge;
    double power_w;
    uint32_t samples;
    uint16_t fault_code;
    int line; /* in the file, for log messages */
};

struct scenario {
    char path[256];
    struct step *steps; /* owned */
    size_t count;
    int loop;
    /* running state */
    int64_t start_ms; /* start of the current pass */
    size_t next;      /* next step to apply */
};

/* Parse text (the content of a file named path, for messages). On error returns LS_ERR_INVAL
 * with "path:line: message" in err and leaves *sc empty. Release with scenario_release(). */
int scenario_parse(const char *path, const char *text, struct scenario *sc, char *err,
                   size_t errlen);

/* Read and parse a file (at most 1 MiB). LS_ERR_IO when it cannot be read. */
int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen);
void scenario_release(struct scenario *sc);

/* Start (or restart) at now_ms. */
void scenario_start(struct scenario *sc, int64_t now_ms);

/* Apply to m every step due at or before now_ms (each at its own time, so counters advance
 * exactly to the step). Returns the number applied. A step that would start a run while the
 * interlock is open is logged and its state change ignored. With loop set, a pass ends at its
 * last step and the next pass starts there. */
int scenario_step(struct scenario *sc, struct meter *m, int64_t now_ms);

/* Time of the next step, or INT64_MAX when the scenario is over. */
int64_t scenario_next_ms(const struct scenario *sc);

#endif /* LS_SCENARIO_H */
