#include "ingest.h"

#include <mosquitto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

struct ingest {
    const struct srv_config *cfg;
    struct mosquitto *mosq;
    struct store *st; /* used only on the network thread */
    pthread_mutex_t lock;
    struct ingest_stats stats;
};

static void count(struct ingest *in, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&in->lock);
    *field += n;
    pthread_mutex_unlock(&in->lock);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct ingest *in = obj;
    char topic[128];

    if (rc) {
        ls_warn("ingest: broker refused the connection: %s", mosquitto_connack_string(rc));
        return;
    }
    ls_topic(topic, sizeof(topic), "+", LS_TOPIC_READINGS);
    mosquitto_subscribe(mosq, NULL, topic, 1);
    ls_topic(topic, sizeof(topic), "+", LS_TOPIC_STATUS);
    mosquitto_subscribe(mosq, NULL, topic, 1);
    pthread_mutex_lock(&in->lock);
    in->stats.connected = 1;
    pthread_mutex_unlock(&in->lock);
    ls_info("ingest: connected to %s:%d", in->cfg->mqtt_host, in->cfg->mqtt_port);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct ingest *in = obj;

    (void)mosq;
    pthread_mutex_lock(&in->lock);
    in->stats.connected = 0;
    pthread_mutex_unlock(&in->lock);
    if (rc)
        ls_warn("ingest: connection lost; reconnecting");
}

static void handle_readings(struct ingest *in, const char *gw, const struct mosquitto_message *m)
{
    struct ls_batch b;
    struct ingest_result res;
    struct ls_ack ack;
    char why[300], topic[128], *payload;

    if (ls_batch_decode(m->payload, (size_t)m->payloadlen, &b, why, sizeof(why))) {
        ls_warn("ingest: rejected a batch on %s: %s", m->topic, why);
        count(in, &in->stats.rejected, 1);
        return;
    }
    if (strcmp(b.gateway, gw) != 0) {
        ls_warn("ingest: rejected a batch on %s that claims gateway '%s'", m->topic, b.gateway);
        count(in, &in->stats.rejected, 1);
        ls_batch_release(&b);
        return;
    }
    if (store_ingest_batch(in->st, &b, ls_now_ms(), &res)) {
        /* Not acked: the gateway resends after its ack timeout. */
        count(in, &in->stats.db_errors, 1);
        ls_batch_release(&b);
        return;
    }
    pthread_mutex_lock(&in->lock);
    in->stats.batches++;
    in->stats.readings += res.stored;
    in->stats.duplicates += res.duplicates;
    pthread_mutex_unlock(&in->lock);
    ls_debug("ingest: %s epoch %lld: %zu new, %zu repeated, acked up to %lld", gw,
             (long long)b.epoch, res.stored, res.duplicates, (long long)res.upto);
    ack.epoch = b.epoch;
    ack.upto = res.upto;
    ls_batch_release(&b);
    payload = ls_ack_encode(&ack);
    if (!payload || ls_topic(topic, sizeof(topic), gw, LS_TOPIC_ACK) ||
        mosquitto_publish(in->mosq, NULL, topic, (int)strlen(payload), payload, 1, false) !=
            MOSQ_ERR_SUCCESS)
        ls_warn("ingest: could not publish the ack to %s (it will resend)", gw);
    free(payload);
}

static void handle_status(struct ingest *in, const char *gw, const struct mosquitto_message *m)
{
    struct ls_status s;
    char why[300];

    if (m->payloadlen == 0)
        return; /* a cleared retained message */
    if (ls_status_decode(m->payload, (size_t)m->payloadlen, &s, why, sizeof(why))) {
        ls_warn("ingest: rejected a status on %s: %s", m->topic, why);
        count(in, &in->stats.rejected, 1);
        return;
    }
    store_gateway_status(in->st, gw, &s, ls_now_ms());
    ls_status_release(&s);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    struct ingest *in = obj;
    enum ls_topic_kind kind;
    char gw[LS_ID_MAX];

    (void)mosq;
    if (ls_topic_parse(m->topic, &kind, gw)) {
        ls_warn("ingest: ignoring a message on unexpected topic %.100s", m->topic);
        count(in, &in->stats.rejected, 1);
        return;
    }
    if (kind == LS_TOPIC_READINGS)
        handle_readings(in, gw, m);
    else if (kind == LS_TOPIC_STATUS)
        handle_status(in, gw, m);
}

int ingest_start(const struct srv_config *cfg, struct ingest **out)
{
    struct ingest *in = calloc(1, sizeof(*in));
    int rc;

    if (!in)
        return LS_ERR_NOMEM;
    in->cfg = cfg;
    pthread_mutex_init(&in->lock, NULL);
    if (store_open(cfg->db, &in->st))
        goto fail;
    /* A persistent session: the broker keeps QoS 1 batches for us while we restart. Nothing
     * depends on it (gateways resend until acked); it just saves a resend. */
    in->mosq = mosquitto_new(cfg->mqtt_client_id, false, in);
    if (!in->mosq) {
        ls_error("ingest: cannot create an MQTT client");
        goto fail;
    }
    mosquitto_connect_callback_set(in->mosq, on_connect);
    mosquitto_disconnect_callback_set(in->mosq, on_disconnect);
    mosquitto_message_callback_set(in->mosq, on_message);
    mosquitto_reconnect_delay_set(in->mosq, 1, 30, true);
    if (cfg->mqtt_username[0])
        mosquitto_username_pw_set(in->mosq, cfg->mqtt_username,
                                  cfg->mqtt_password[0] ? cfg->mqtt_password : NULL);
    if (cfg->mqtt_cafile[0]) {
        rc = mosquitto_tls_set(in->mosq, cfg->mqtt_cafile, NULL, NULL, NULL, NULL);
        if (rc) {
            ls_error("ingest: TLS set-up failed: %s", mosquitto_strerror(rc));
            goto fail;
        }
    }
    rc = mosquitto_connect_async(in->mosq, cfg->mqtt_host, cfg->mqtt_port, 30);
    if (rc)
        ls_warn("ingest: cannot reach %s:%d yet (%s); will keep trying", cfg->mqtt_host,
                cfg->mqtt_port, mosquitto_strerror(rc));
    rc = mosquitto_loop_start(in->mosq);
    if (rc) {
        ls_error("ingest: cannot start the MQTT thread: %s", mosquitto_strerror(rc));
        goto fail;
    }
    *out = in;
    return LS_OK;
fail:
    if (in->mosq)
        mosquitto_destroy(in->mosq);
    store_close(in->st);
    pthread_mutex_destroy(&in->lock);
    free(in);
    return LS_ERR_IO;
}

void ingest_stop(struct ingest *in)
{
    if (!in)
        return;
    mosquitto_disconnect(in->mosq);
    mosquitto_loop_stop(in->mosq, false);
    mosquitto_destroy(in->mosq);
    store_close(in->st);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

void ingest_get_stats(struct ingest *in, struct ingest_stats *out)
{
    pthread_mutex_lock(&in->lock);
    *out = in->stats;
    pthread_mutex_unlock(&in->lock);
}
