#include "mqtt_in.h"

#include <mosquitto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"
#include "tracker.h"
#include "labshare/log.h"
#include "labshare/mqtt_loop.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

struct mqtt_dev {
    const struct gw_device *dev;
    struct tracker tracker;
    int bad; /* the last payload was refused (logged once until a good one) */
    /* the relay (under owner->lock): as the meter last said, -1 unknown; its run state */
    int actual;
    int running;
    int64_t cmd_mono;       /* when a command was last sent (0: never) */
    int64_t cmd_backoff_ms; /* unconfirmed: the wait before the next send; 0 when confirmed */
    char cmd_topic[GW_STR_MAX + 8];
};

struct broker {
    struct mqtt_in *owner;
    struct mosquitto *mosq;
    struct ls_mqtt_loop *loop;     /* its network thread (mqtt_loop.h) */
    const struct gw_device *first; /* host and port */
    size_t count;
    struct mqtt_dev *devs;
};

struct mqtt_in {
    const struct gw_config *cfg;
    struct outbox *ob;
    struct relays *relays;
    size_t count;
    struct broker *brokers;
    pthread_mutex_t lock;
    unsigned long rejected;
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct broker *b = obj;

    if (rc) {
        ls_warn("mqtt %s:%d: connection refused: %s", b->first->host, b->first->port,
                mosquitto_connack_string(rc));
        return;
    }
    ls_info("mqtt %s:%d: connected, reading %zu instrument%s", b->first->host, b->first->port,
            b->count, b->count == 1 ? "" : "s");
    for (size_t i = 0; i < b->count; i++)
        mosquitto_subscribe(mosq, NULL, b->devs[i].dev->topic, 1);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct broker *b = obj;
    struct mqtt_dev *md = NULL;
    struct ls_reading r;
    char why[300];
    int64_t mono = ls_mono_ms();

    (void)mosq;
    for (size_t i = 0; i < b->count && !md; i++)
        if (strcmp(b->devs[i].dev->topic, msg->topic) == 0)
            md = &b->devs[i];
    if (!md || msg->retain)
        return; /* a retained payload is old news: its time already passed */
    if (ls_meter_decode(msg->payload, (size_t)msg->payloadlen, &r, why, sizeof(why))) {
        if (!md->bad)
            ls_warn("%s: refusing a payload on %s: %s", md->dev->id, msg->topic, why);
        md->bad = 1;
        pthread_mutex_lock(&b->owner->lock);
        b->owner->rejected++;
        pthread_mutex_unlock(&b->owner->lock);
        return;
    }
    if (md->bad)
        ls_info("%s: good payloads again", md->dev->id);
    md->bad = 0;
    /* the relay as the meter reports it ("interlock", beside the fields of SPEC 3.1) */
    pthread_mutex_lock(&b->owner->lock);
    md->running = r.state == LS_STATE_RUNNING;
    if (r.has & LS_HAS_INTERLOCK) {
        if (md->actual != (int)r.interlock && md->cmd_mono)
            ls_info("%s: interlock relay %s (the meter confirms)", md->dev->id,
                    r.interlock ? "enabled" : "disabled");
        md->actual = (int)r.interlock;
    }
    pthread_mutex_unlock(&b->owner->lock);
    if ((r.has & LS_HAS_INTERLOCK) && b->owner->relays)
        relays_actual(b->owner->relays, md->dev->id, (int)r.interlock);
    snprintf(r.instrument, sizeof(r.instrument), "%s", md->dev->id);
    /* The meter's own time when it sends one; ours otherwise. */
    if (!(r.has & LS_HAS_TS))
        r.ts = ls_now_ms();
    r.has &= ~(unsigned)LS_HAS_TS;
    if (!tracker_observe(&md->tracker, &r, mono))
        return;
    if (outbox_append(b->owner->ob, &r, -1) == LS_OK)
        tracker_sent(&md->tracker, &r, mono);
}

int mqtt_in_start(const struct gw_config *cfg, struct outbox *ob, struct relays *relays,
                  struct mqtt_in **out)
{
    struct mqtt_in *m;
    int rc;

    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return LS_ERR_NOMEM;
    m->cfg = cfg;
    m->ob = ob;
    m->relays = relays;
    pthread_mutex_init(&m->lock, NULL);
    m->brokers = calloc(cfg->device_count ? cfg->device_count : 1, sizeof(*m->brokers));
    if (!m->brokers)
        goto nomem;
    for (size_t i = 0; i < cfg->device_count; i++) {
        const struct gw_device *d = &cfg->devices[i];
        struct broker *b = NULL;
        struct mqtt_dev *nd;

        if (d->kind != GW_DEV_MQTT)
            continue;
        for (size_t k = 0; k < m->count && !b; k++)
            if (gw_same_endpoint(m->brokers[k].first, d))
                b = &m->brokers[k];
        if (!b) {
            b = &m->brokers[m->count++];
            b->owner = m;
            b->first = d;
        }
        nd = realloc(b->devs, (b->count + 1) * sizeof(*nd));
        if (!nd)
            goto nomem;
        b->devs = nd;
        memset(&nd[b->count], 0, sizeof(*nd));
        nd[b->count].dev = d;
        nd[b->count].actual = -1;
        {
            size_t tl = strlen(d->topic);
            if (tl > 6 && strcmp(d->topic + tl - 6, "/meter") == 0)
                snprintf(nd[b->count].cmd_topic, sizeof(nd[b->count].cmd_topic), "%.*s/cmd",
                         (int)(tl - 6), d->topic);
            else
                snprintf(nd[b->count].cmd_topic, sizeof(nd[b->count].cmd_topic), "%s/cmd",
                         d->topic);
        }
        tracker_init(&nd[b->count].tracker, cfg->heartbeat_s);
        b->count++;
    }
    if (m->count == 0) {
        mqtt_in_stop(m);
        return LS_OK;
    }
    for (size_t k = 0; k < m->count; k++) {
        struct broker *b = &m->brokers[k];
        b->mosq = mosquitto_new(NULL, true, b);
        if (!b->mosq)
            goto nomem;
        mosquitto_connect_callback_set(b->mosq, on_connect);
        mosquitto_message_callback_set(b->mosq, on_message);
        mosquitto_reconnect_delay_set(b->mosq, 1, 30, true);
        if (b->first->username[0])
            mosquitto_username_pw_set(b->mosq, b->first->username,
                                      b->first->password[0] ? b->first->password : NULL);
        if (b->first->cafile[0]) {
            rc = mosquitto_tls_set(b->mosq, b->first->cafile, NULL,
                                   b->first->certfile[0] ? b->first->certfile : NULL,
                                   b->first->keyfile[0] ? b->first->keyfile : NULL, NULL);
            if (rc) {
                ls_error("mqtt %s:%d: TLS set-up failed: %s", b->first->host, b->first->port,
                         mosquitto_strerror(rc));
                mqtt_in_stop(m);
                return LS_ERR_IO;
            }
        }
        rc = mosquitto_connect_async(b->mosq, b->first->host, b->first->port, 30);
        if (rc)
            ls_warn("mqtt %s:%d: not reachable yet (%s); retrying", b->first->host, b->first->port,
                    mosquitto_strerror(rc));
        rc = ls_mqtt_loop_start(b->mosq, "mqtt", &b->loop);
        if (rc) {
            ls_error("mqtt %s:%d: cannot start the network thread", b->first->host, b->first->port);
            mqtt_in_stop(m);
            return LS_ERR_IO;
        }
    }
    *out = m;
    return LS_OK;
nomem:
    ls_error("mqtt: out of memory");
    mqtt_in_stop(m);
    return LS_ERR_NOMEM;
}

void mqtt_in_stop(struct mqtt_in *m)
{
    if (!m)
        return;
    for (size_t k = 0; k < m->count; k++) {
        struct broker *b = &m->brokers[k];
        if (b->mosq) {
            ls_mqtt_loop_stop(b->loop, 1);
            mosquitto_destroy(b->mosq);
        }
        free(b->devs);
    }
    free(m->brokers);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void mqtt_in_tick(struct mqtt_in *m)
{
    int64_t now = ls_now_ms(), mono = ls_mono_ms();

    if (!m || !m->relays)
        return;
    for (size_t k = 0; k < m->count; k++) {
        struct broker *b = &m->brokers[k];
        for (size_t i = 0; i < b->count; i++) {
            struct mqtt_dev *md = &b->devs[i];
            int want, send, retry = 0, settled = 0;
            pthread_mutex_lock(&m->lock);
            want = relays_want(m->relays, md->dev->id, now, md->running);
            send = want >= 0 && want != md->actual &&
                   (!md->cmd_backoff_ms || mono - md->cmd_mono >= md->cmd_backoff_ms);
            if (send) {
                /* unconfirmed sends are repeated after 1 s, 2 s, 4 s ... up to 10 s */
                retry = md->cmd_backoff_ms > 0;
                md->cmd_backoff_ms = !retry                       ? 1000
                                     : md->cmd_backoff_ms >= 5000 ? 10000
                                                                  : md->cmd_backoff_ms * 2;
                md->cmd_mono = mono;
            } else if (md->cmd_backoff_ms && (want < 0 || want == md->actual)) {
                md->cmd_backoff_ms = 0; /* confirmed by the meter, or no longer wanted */
                settled = 1;
            }
            pthread_mutex_unlock(&m->lock);
            if (settled)
                relays_fault(m->relays, md->dev->id, NULL);
            if (send) {
                const char *p = want ? "{\"interlock\":true}" : "{\"interlock\":false}";
                char why[LS_FAULT_MAX];
                int rc =
                    mosquitto_publish(b->mosq, NULL, md->cmd_topic, (int)strlen(p), p, 1, false);
                if (rc != MOSQ_ERR_SUCCESS) {
                    snprintf(why, sizeof(why), "cannot %s: publish on %.60s failed: %s",
                             want ? "enable" : "disable", md->cmd_topic, mosquitto_strerror(rc));
                    ls_warn("%s: %s; trying again", md->dev->id, why);
                    relays_fault(m->relays, md->dev->id, why);
                } else if (retry) {
                    snprintf(why, sizeof(why), "cannot %s: the meter has not confirmed on %.60s",
                             want ? "enable" : "disable", md->dev->topic);
                    relays_fault(m->relays, md->dev->id, why);
                    ls_warn("%s: %s; asking again", md->dev->id, why);
                } else {
                    ls_info("%s: interlock %s asked on %s", md->dev->id,
                            want ? "enable" : "disable", md->cmd_topic);
                }
            }
        }
    }
}

unsigned long mqtt_in_rejected(struct mqtt_in *m)
{
    unsigned long v;

    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    v = m->rejected;
    pthread_mutex_unlock(&m->lock);
    return v;
}
