/*
 * uplink.h - the gateway's link to the central MQTT broker (libmosquitto): sends the outbox
 * in batches, deletes what the server's ack covers, resends when acks stall, and keeps the
 * retained status message current (SPEC 3.2).
 *
 * libmosquitto's network thread runs the callbacks; uplink_tick() runs on the caller's thread.
 * Shared state is guarded by the uplink's mutex and the outbox's own.
 */
#ifndef LS_GW_UPLINK_H
#define LS_GW_UPLINK_H

#include "config.h"
#include "outbox.h"

struct uplink;

/* Batches in flight without an ack: enough to keep a WAN link busy, few enough that a resend
 * after a lost ack repeats little. */
#define UPLINK_WINDOW_BATCHES 8

/* Create and start connecting (in the background; a broker that is down is retried). cfg and
 * ob are borrowed and must outlive the uplink. */
int uplink_start(const struct gw_config *cfg, struct outbox *ob, struct uplink **out);

/* Send what the window allows, detect stalled acks, republish status when the backlog
 * changed (at most once a second). Call every few tens of ms. */
void uplink_tick(struct uplink *u);

/* Publish the offline status, disconnect cleanly and free u. */
void uplink_stop(struct uplink *u);

#endif /* LS_GW_UPLINK_H */
