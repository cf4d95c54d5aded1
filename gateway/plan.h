/*
 * plan.h - the read plan of a Modbus device: its mapped fields grouped into as few requests as
 * possible. Pure functions; any thread.
 */
#ifndef LS_GW_PLAN_H
#define LS_GW_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* Registers in one read request (the Modbus limit for function 3/4), and bits for 1/2. */
#define PLAN_MAX_REGS 125
#define PLAN_MAX_BITS 2000
/* Unused registers a request may span to join two fields instead of making a second request:
 * a round trip costs far more than a few extra registers. */
#define PLAN_MAX_GAP 16

struct plan_request {
    enum ls_reg_table table;
    uint16_t start;
    uint16_t count; /* registers or bits */
};

struct plan {
    unsigned request_count;
    struct plan_request requests[GW_FIELD_COUNT];
    int field_request[GW_FIELD_COUNT]; /* index into requests, -1 when the field is absent */
};

/* Group the device's present fields into requests (sorted by table and address). */
void plan_build(const struct gw_device *d, struct plan *p);

/* Print the requests and what each field decodes from, indented, for --check. */
void plan_print(const struct plan *p, const struct gw_device *d, FILE *f);

/* Print each device's resolved read plan (for --check) to f. */
void gw_config_print_plan(const struct gw_config *cfg, FILE *f);

#endif /* LS_GW_PLAN_H */
