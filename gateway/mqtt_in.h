/*
 * mqtt_in.h - MQTT-native instruments ([mqtt:<id>] sections): one connection per edge broker,
 * subscribed to each instrument's topic; every SPEC 3.1 payload goes through the instrument's
 * tracker (state, badge or counter change, heartbeat) into the outbox. Runs on libmosquitto's
 * network thread, one per broker; each instrument belongs to one broker, so its tracker is only
 * touched by that thread.
 */
#ifndef LS_GW_MQTT_IN_H
#define LS_GW_MQTT_IN_H

#include "config.h"
#include "outbox.h"

struct mqtt_in;

/* Connect (in the background, retrying) to the brokers of cfg's MQTT devices. cfg and ob are
 * borrowed. *out is NULL when there are none. */
/* relays (borrowed, may be NULL): the interlock commands; an MQTT-native meter's relay is driven
 * on the command topic beside its meter topic (".../meter" -> ".../cmd", else "<topic>/cmd") with
 * {"interlock": true|false}, and confirmed by the "interlock" field of its next payload. */
struct relays;
int mqtt_in_start(const struct gw_config *cfg, struct outbox *ob, struct relays *relays,
                  struct mqtt_in **out);

/* Send the relay commands that the interlock wants and the meters have not confirmed (each again
 * at most once a second until confirmed). Called from the main loop. */
void mqtt_in_tick(struct mqtt_in *m);

/* Disconnect and free (NULL is fine). */
void mqtt_in_stop(struct mqtt_in *m);

/* Messages refused as malformed since start (for tests and status). */
unsigned long mqtt_in_rejected(struct mqtt_in *m);

#endif /* LS_GW_MQTT_IN_H */
