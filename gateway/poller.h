/*
 * poller.h - Modbus polling workers. One thread per TCP endpoint (host:port) and one per RTU
 * bus, so there is never more than one request in flight on a connection or bus, and a dead
 * endpoint never delays the others. Each worker polls its devices at their poll_ms, turns the
 * registers into readings (plan.h), keeps the ones the tracker wants and appends them to the
 * outbox.
 */
#ifndef LS_GW_POLLER_H
#define LS_GW_POLLER_H

#include "config.h"
#include "outbox.h"

struct pollers;

/* Start workers for every Modbus device of cfg (borrowed: must outlive the workers). After each
 * poll a worker puts the device's interlock relay (coil 0) in the state relays wants (borrowed,
 * may be NULL: relays are left alone), reads it back and reports it (relay.h). */
struct relays;
int pollers_start(const struct gw_config *cfg, struct outbox *ob, struct relays *relays,
                  struct pollers **out);

/* Ask every worker to stop after its current poll and join them. Frees p. */
void pollers_stop(struct pollers *p);

/* Decode one device's registers into r (exposed for tests). regs[i] holds the values read by
 * request i of the plan, as uint16 (bits as 0/1). Returns LS_ERR_INVAL with a reason in err
 * when a value is garbage (a state code that is not 0-3, a NaN, a negative counter). */
struct plan;
int poller_decode(const struct gw_device *d, const struct plan *p, uint16_t *const *regs,
                  struct ls_reading *r, char *err, size_t errlen);

#endif /* LS_GW_POLLER_H */
