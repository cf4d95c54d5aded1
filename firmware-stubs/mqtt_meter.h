/*
 * mqtt_meter.h - MQTT-native instruments: publish the SPEC 3.1 payload on every change and at
 * an interval. One connection per broker is shared by the instruments that use it; its network
 * thread is libmosquitto's, publishing happens on the caller's thread (libmosquitto allows it).
 */
#ifndef LS_MQTT_METER_H
#define LS_MQTT_METER_H

#include <stdint.h>

#include "sim.h"

struct mqtt_link;

/* Connect (in the background, retrying) to host:port. LS_ERR_IO when the client cannot start. */
int mqtt_link_new(const char *host, int port, struct mqtt_link **out);
void mqtt_link_free(struct mqtt_link *l);

/* Publish in's reading when it changed (state, badge, samples, a counter reset) or its interval
 * is up, or always when force is set. Returns 1 when published. */
int mqtt_meter_tick(struct mqtt_link *l, struct sim_instrument *in, int64_t now_ms, int force);

/* Listen for in's interlock commands on instruments/<id>/cmd ({"interlock": true|false}, the
 * relay of an MQTT-native meter): applied at the next tick, which then publishes the payload
 * with its "interlock" field. LS_ERR_FULL past 64 instruments on a link. */
int mqtt_meter_listen(struct mqtt_link *l, struct sim_instrument *in);

#endif /* LS_MQTT_METER_H */
