#include "mqtt_meter.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

struct mqtt_link {
    struct mosquitto *mosq;
    char name[300];
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt_link *l = obj;

    (void)mosq;
    if (rc)
        ls_warn("mqtt %s: connection refused: %s", l->name, mosquitto_connack_string(rc));
    else
        ls_info("mqtt %s: connected", l->name);
}

int mqtt_link_new(const char *host, int port, struct mqtt_link **out)
{
    struct mqtt_link *l = calloc(1, sizeof(*l));
    int rc;

    if (!l)
        return LS_ERR_NOMEM;
    snprintf(l->name, sizeof(l->name), "%s:%d", host, port);
    l->mosq = mosquitto_new(NULL, true, l);
    if (!l->mosq) {
        free(l);
        return LS_ERR_NOMEM;
    }
    mosquitto_connect_callback_set(l->mosq, on_connect);
    mosquitto_reconnect_delay_set(l->mosq, 1, 10, true);
    rc = mosquitto_connect_async(l->mosq, host, port, 30);
    if (rc)
        ls_warn("mqtt %s: not reachable yet (%s); retrying", l->name, mosquitto_strerror(rc));
    rc = mosquitto_loop_start(l->mosq);
    if (rc) {
        ls_error("mqtt %s: cannot start the network thread: %s", l->name, mosquitto_strerror(rc));
        mosquitto_destroy(l->mosq);
        free(l);
        return LS_ERR_IO;
    }
    *out = l;
    return LS_OK;
}

void mqtt_link_free(struct mqtt_link *l)
{
    if (!l)
        return;
    mosquitto_disconnect(l->mosq);
    mosquitto_loop_stop(l->mosq, false);
    mosquitto_destroy(l->mosq);
    free(l);
}

static int changed(const struct ls_reading *a, const struct ls_reading *b)
{
    return a->state != b->state || a->badge != b->badge || a->samples != b->samples ||
           a->run_seconds < b->run_seconds || a->energy_wh < b->energy_wh;
}

int mqtt_meter_tick(struct mqtt_link *l, struct sim_instrument *in, int64_t now_ms, int force)
{
    struct ls_reading r;
    char *payload;
    int rc;

    meter_to_reading(&in->meter, now_ms, &r);
    if (!force && in->published_once && now_ms < in->next_publish_ms &&
        !changed(&r, &in->last_published))
        return 0;
    payload = ls_meter_encode(&r);
    if (!payload)
        return 0;
    rc = mosquitto_publish(l->mosq, NULL, in->topic, (int)strlen(payload), payload, 1, false);
    free(payload);
    if (rc != MOSQ_ERR_SUCCESS) {
        ls_debug("%s: publish failed: %s", in->meter.id, mosquitto_strerror(rc));
        return 0;
    }
    in->last_published = r;
    in->published_once = 1;
    in->next_publish_ms = now_ms + (int64_t)in->interval_s * 1000;
    return 1;
}
