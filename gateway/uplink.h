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

/* Batches in flight without an ack. The server commits what it has queued as one group and
 * acks it; 64 batches keep the gateway encoding the next batches while the server stores the
 * last ones (measured by make bench: 16 in flight replayed at half the rate of 64). A resend
 * after a lost ack repeats at most this much. */
#define UPLINK_WINDOW_BATCHES 64

/* Create and start connecting (in the background; a broker that is down is retried). cfg and
 * ob are borrowed and must outlive the uplink. */
/* relays (borrowed, may be NULL) takes the interlock commands of the cmd topic and gives the
 * relays read back for the status. */
struct relays;
int uplink_start(const struct gw_config *cfg, struct outbox *ob, struct relays *relays,
                 struct uplink **out);

/* Apply the acks received, send what the window allows, detect stalled acks, republish status
 * when the backlog changed (at most once a second). Call in a loop with uplink_wait(). */
void uplink_tick(struct uplink *u);

/* Wait until there is something to do (a new reading, an ack, a reconnect) or max_ms passed. */
void uplink_wait(struct uplink *u, int max_ms);

/* Publish the offline status, disconnect cleanly and free u. */
void uplink_stop(struct uplink *u);

#endif /* LS_GW_UPLINK_H */
