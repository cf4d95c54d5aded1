/*
 * poller.h - Modbus polling. The Modbus TCP meters are polled from one event loop (mbloop.h:
 * non-blocking, one connection per endpoint host:port, thousands of them in one process). Each
 * RTU bus has a thread of its own that polls through libmodbus, one request at a time on the
 * bus. Either way a device is polled at its poll_ms, a dead endpoint never delays the others,
 * and a poll (devpoll.h) turns the registers into readings, keeps the ones the tracker wants
 * and appends them to the outbox.
 */
#ifndef LS_GW_POLLER_H
#define LS_GW_POLLER_H

#include "config.h"
#include "outbox.h"

struct pollers;

/* Start polling every Modbus device of cfg (borrowed: must outlive the pollers). After each
 * poll the device's interlock relay (coil 0) is put in the state relays wants (borrowed, may be
 * NULL: relays are left alone), read back and reported (relay.h). */
struct relays;
int pollers_start(const struct gw_config *cfg, struct outbox *ob, struct relays *relays,
                  struct pollers **out);

/* Stop every poll after its current step, commit what is pending and join. Frees p. */
void pollers_stop(struct pollers *p);

#endif /* LS_GW_POLLER_H */
