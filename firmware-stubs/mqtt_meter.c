#include "mqtt_meter.h"

#include <jansson.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

#define LISTEN_MAX 64

struct mqtt_link {
    struct mosquitto *mosq;
    char name[300];
    pthread_mutex_t lock; /* guards what follows: the network thread writes, ticks read */
    size_t nlisten;
    struct {
        char topic[300];
        const struct sim_instrument *in;
        int pending; /* -1 none, else the relay asked for */
    } listen[LISTEN_MAX];
};

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    struct mqtt_link *l = obj;
    json_error_t je;
    json_t *root, *v;

    (void)mosq;
    root = json_loadb(m->payload, (size_t)m->payloadlen, 0, &je);
    v = json_object_get(root, "interlock");
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->nlisten; i++)
        if (strcmp(l->listen[i].topic, m->topic) == 0) {
            if (json_is_boolean(v))
                l->listen[i].pending = json_is_true(v);
            else
                ls_warn("%s: ignoring a command that is not {\"interlock\": true|false}",
                        l->listen[i].in->meter.id);
        }
    pthread_mutex_unlock(&l->lock);
    json_decref(root);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt_link *l = obj;

    if (rc) {
        ls_warn("mqtt %s: connection refused: %s", l->name, mosquitto_connack_string(rc));
        return;
    }
    ls_info("mqtt %s: connected", l->name);
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->nlisten; i++)
        mosquitto_subscribe(mosq, NULL, l->listen[i].topic, 1);
    pthread_mutex_unlock(&l->lock);
}

int mqtt_link_new(const char *host, int port, struct mqtt_link **out)
{
    struct mqtt_link *l = calloc(1, sizeof(*l));
    int rc;

    if (!l)
        return LS_ERR_NOMEM;
    snprintf(l->name, sizeof(l->name), "%s:%d", host, port);
    pthread_mutex_init(&l->lock, NULL);
    l->mosq = mosquitto_new(NULL, true, l);
    if (!l->mosq) {
        free(l);
        return LS_ERR_NOMEM;
    }
    mosquitto_connect_callback_set(l->mosq, on_connect);
    mosquitto_message_callback_set(l->mosq, on_message);
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
    pthread_mutex_destroy(&l->lock);
    free(l);
}

int mqtt_meter_listen(struct mqtt_link *l, struct sim_instrument *in)
{
    size_t i;

    pthread_mutex_lock(&l->lock);
    if (l->nlisten == LISTEN_MAX) {
        pthread_mutex_unlock(&l->lock);
        return LS_ERR_FULL;
    }
    i = l->nlisten++;
    snprintf(l->listen[i].topic, sizeof(l->listen[i].topic), "instruments/%s/cmd", in->meter.id);
    l->listen[i].in = in;
    l->listen[i].pending = -1;
    mosquitto_subscribe(l->mosq, NULL, l->listen[i].topic, 1); /* when already connected */
    pthread_mutex_unlock(&l->lock);
    return LS_OK;
}

/* The relay command waiting for in, -1 when none (taken). */
static int take_command(struct mqtt_link *l, const struct sim_instrument *in)
{
    int v = -1;

    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->nlisten; i++)
        if (l->listen[i].in == in) {
            v = l->listen[i].pending;
            l->listen[i].pending = -1;
        }
    pthread_mutex_unlock(&l->lock);
    return v;
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

    {
        int cmd = take_command(l, in);
        if (cmd >= 0) {
            if (cmd != in->meter.interlock)
                ls_info("%s: interlock %s by an MQTT command", in->meter.id,
                        cmd ? "enabled" : "disabled");
            meter_set_interlock(&in->meter, cmd, now_ms);
            force = 1; /* the payload confirms it */
        }
    }
    meter_to_reading(&in->meter, now_ms, &r);
    if (!force && in->published_once && now_ms < in->next_publish_ms &&
        !changed(&r, &in->last_published))
        return 0;
    /* the relay's state rides along ("interlock", an extension of SPEC 3.1) */
    r.interlock = in->meter.interlock ? 1 : 0;
    r.has |= LS_HAS_INTERLOCK;
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
