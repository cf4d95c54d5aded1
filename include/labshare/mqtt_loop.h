/*
 * mqtt_loop.h - the network thread of a libmosquitto client that never gives up (issue 13).
 *
 * libmosquitto's own thread (mosquitto_loop_start) ends for good on an error that is not about
 * the connection, out of memory among them: a client that met one allocation failure stopped
 * reconnecting, and a server stopped ingesting until it was restarted (seen with injected
 * malloc failures). This thread runs mosquitto_loop() itself and, whatever the error,
 * reconnects with a backoff of 1 s doubling to 30 s, until asked to stop.
 */
#ifndef LS_MQTT_LOOP_H
#define LS_MQTT_LOOP_H

#include <mosquitto.h>

struct ls_mqtt_loop;

/* Start the thread for m (connect_async must have been called, so it knows where to go); who
 * names it in the log. LS_ERR_NOMEM, LS_ERR_IO. */
int ls_mqtt_loop_start(struct mosquitto *m, const char *who, struct ls_mqtt_loop **out);
/* Stop it: with disconnect, what is queued is sent first (up to 2 s), then the connection is
 * closed cleanly. NULL is fine. */
void ls_mqtt_loop_stop(struct ls_mqtt_loop *l, int disconnect);

#endif /* LS_MQTT_LOOP_H */
