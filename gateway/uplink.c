#include "uplink.h"

#include "relay.h"

#include <mosquitto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labshare/log.h"
#include "labshare/mqtt_loop.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/version.h"
#include "labshare/banned.h"

/* Status republished at most this often, so a busy outbox does not flood the broker. */
#define STATUS_MIN_INTERVAL_MS 1000

struct uplink {
    const struct gw_config *cfg;
    struct outbox *ob;
    struct mosquitto *mosq;
    struct ls_mqtt_loop *loop; /* its network thread (mqtt_loop.h) */
    pthread_mutex_t lock;
    int connected;
    int64_t sent_upto;    /* highest seq published since the last (re)connect or resend */
    int64_t progress_ms;  /* monotonic time of the last ack progress (or first send) */
    int64_t status_ms;    /* monotonic time of the last status publish */
    int64_t status_count; /* outbox count in that status */
    int status_full;
    uint64_t status_relays; /* relays_changes() in that status */
    int status_due;         /* publish status at the next tick */
    int64_t ack_pending;    /* highest ack received, applied to the outbox at the next tick */
    int64_t published_max;  /* highest seq this process has published: no ack may go beyond */
    pthread_cond_t wake;    /* signalled on a new reading, an ack, a (re)connect */
    int woken;
    char topic_readings[128], topic_ack[128], topic_status[128], topic_cmd[128];
    struct relays *relays;
    struct ls_reading *batch;
};

static char *status_payload(struct uplink *u, int online)
{
    struct ls_status st;
    char *s;

    memset(&st, 0, sizeof(st));
    st.online = online;
    snprintf(st.version, sizeof(st.version), "%s", LS_VERSION);
    st.outbox = outbox_count(u->ob);
    st.outbox_full = outbox_full(u->ob);
    st.instrument_count = u->cfg->device_count;
    st.instruments = calloc(st.instrument_count ? st.instrument_count : 1, LS_ID_MAX);
    if (!st.instruments)
        return NULL;
    for (size_t i = 0; i < st.instrument_count; i++)
        snprintf(st.instruments[i], LS_ID_MAX, "%s", u->cfg->devices[i].id);
    if (u->relays && online) {
        struct relay_report *rep = calloc(st.instrument_count + 1, sizeof(*rep));
        size_t n = rep ? relays_report(u->relays, rep, st.instrument_count) : 0;
        st.interlock_ids = calloc(n + 1, LS_ID_MAX);
        st.interlock_on = calloc(n + 1, sizeof(int));
        st.fault_ids = calloc(n + 1, LS_ID_MAX);
        st.faults = calloc(n + 1, LS_FAULT_MAX);
        for (size_t i = 0;
             st.interlock_ids && st.interlock_on && st.fault_ids && st.faults && i < n; i++) {
            if (rep[i].on >= 0) {
                snprintf(st.interlock_ids[st.interlock_count], LS_ID_MAX, "%s", rep[i].id);
                st.interlock_on[st.interlock_count++] = rep[i].on;
            }
            if (rep[i].fault[0]) {
                snprintf(st.fault_ids[st.fault_count], LS_ID_MAX, "%s", rep[i].id);
                snprintf(st.faults[st.fault_count++], LS_FAULT_MAX, "%s", rep[i].fault);
            }
        }
        free(rep);
    }
    s = ls_status_encode(&st);
    ls_status_release(&st);
    return s;
}

/* Wake the thread that runs uplink_tick(). Called with u->lock held. */
static void wake_locked(struct uplink *u)
{
    u->woken = 1;
    pthread_cond_signal(&u->wake);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct uplink *u = obj;

    if (rc) {
        ls_warn("uplink: broker refused the connection: %s", mosquitto_connack_string(rc));
        return;
    }
    ls_info("uplink: connected to %s:%d", u->cfg->host, u->cfg->port);
    mosquitto_subscribe(mosq, NULL, u->topic_ack, 1);
    /* the server's command is retained: on every (re)connect the newest comes at once */
    if (u->relays)
        mosquitto_subscribe(mosq, NULL, u->topic_cmd, 1);
    pthread_mutex_lock(&u->lock);
    u->connected = 1;
    /* Whatever was in flight may be lost: resend everything not acked (the server stores
     * each (gateway, epoch, seq) once, so a repeat is harmless). */
    u->sent_upto = outbox_acked(u->ob);
    /* An ack received before the drop but not yet applied is forgotten: the server acks again
     * what it has stored, and a stale or forged one cannot linger. */
    u->ack_pending = 0;
    u->progress_ms = ls_mono_ms();
    u->status_due = 1;
    wake_locked(u);
    pthread_mutex_unlock(&u->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct uplink *u = obj;

    (void)mosq;
    pthread_mutex_lock(&u->lock);
    u->connected = 0;
    pthread_mutex_unlock(&u->lock);
    if (rc)
        ls_warn("uplink: connection to %s:%d lost; reconnecting", u->cfg->host, u->cfg->port);
}

static void on_new_reading(void *arg)
{
    struct uplink *u = arg;

    pthread_mutex_lock(&u->lock);
    wake_locked(u);
    pthread_mutex_unlock(&u->lock);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    struct uplink *u = obj;
    struct ls_ack ack;
    char why[200];

    (void)mosq;
    if (u->relays && strcmp(m->topic, u->topic_cmd) == 0) {
        int64_t v = 0;
        int rc = relays_command(u->relays, m->payload, (size_t)m->payloadlen, &v, why, sizeof(why));
        if (rc == LS_OK || rc == LS_ERR_IO)
            ls_info("uplink: interlock command version %lld applied%s%s", (long long)v,
                    rc ? ": " : "", rc ? why : "");
        else
            ls_warn("uplink: interlock command refused: %s", why);
        pthread_mutex_lock(&u->lock);
        u->status_due = 1; /* report the relays soon */
        wake_locked(u);
        pthread_mutex_unlock(&u->lock);
        return;
    }
    if (strcmp(m->topic, u->topic_ack) != 0)
        return;
    if (m->retain) {
        /* The server never retains an ack: a retained one is old or forged, and applied it
         * would delete readings at every reconnect. */
        ls_warn("uplink: ignoring a retained ack");
        return;
    }
    if (ls_ack_decode(m->payload, (size_t)m->payloadlen, &ack, why, sizeof(why))) {
        ls_warn("uplink: ignoring a bad ack: %s", why);
        return;
    }
    if (ack.epoch != outbox_epoch(u->ob)) {
        ls_warn("uplink: ignoring an ack for epoch %lld (ours is %lld)", (long long)ack.epoch,
                (long long)outbox_epoch(u->ob));
        return;
    }
    /* Applied (and fsynced) by the next tick: several acks that arrive together cost one
     * deletion, and this network thread never waits for the disk. */
    pthread_mutex_lock(&u->lock);
    if (ack.upto > u->published_max) {
        /* Nothing beyond what we published can be stored by the server: an ack that claims it
         * is forged or broken, and obeyed it would delete readings never sent. */
        ls_warn("uplink: ignoring an ack up to %lld: only up to %lld was published",
                (long long)ack.upto, (long long)u->published_max);
    } else if (ack.upto > u->ack_pending) {
        u->ack_pending = ack.upto;
        wake_locked(u);
    }
    pthread_mutex_unlock(&u->lock);
}

int uplink_start(const struct gw_config *cfg, struct outbox *ob, struct relays *relays,
                 struct uplink **out)
{
    struct uplink *u = calloc(1, sizeof(*u));
    char client_id[LS_ID_MAX + 16];
    char *will = NULL;
    int rc;

    if (!u)
        return LS_ERR_NOMEM;
    u->cfg = cfg;
    u->ob = ob;
    pthread_mutex_init(&u->lock, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&u->wake, &ca);
        pthread_condattr_destroy(&ca);
    }
    u->batch = calloc((size_t)cfg->batch_max, sizeof(*u->batch));
    if (!u->batch)
        goto nomem;
    ls_topic(u->topic_readings, sizeof(u->topic_readings), cfg->id, LS_TOPIC_READINGS);
    ls_topic(u->topic_ack, sizeof(u->topic_ack), cfg->id, LS_TOPIC_ACK);
    ls_topic(u->topic_status, sizeof(u->topic_status), cfg->id, LS_TOPIC_STATUS);
    ls_topic(u->topic_cmd, sizeof(u->topic_cmd), cfg->id, LS_TOPIC_CMD);
    u->relays = relays;
    snprintf(client_id, sizeof(client_id), "labshare-gw-%s", cfg->id);
    u->mosq = mosquitto_new(client_id, true, u);
    if (!u->mosq)
        goto nomem;
    mosquitto_connect_callback_set(u->mosq, on_connect);
    mosquitto_disconnect_callback_set(u->mosq, on_disconnect);
    mosquitto_message_callback_set(u->mosq, on_message);
    /* Reconnect from 1 s doubling to 30 s: quick after a broker restart, calm during an outage. */
    mosquitto_reconnect_delay_set(u->mosq, 1, 30, true);
    if (cfg->username[0])
        mosquitto_username_pw_set(u->mosq, cfg->username, cfg->password[0] ? cfg->password : NULL);
    if (cfg->cafile[0]) {
        rc = mosquitto_tls_set(u->mosq, cfg->cafile, NULL, cfg->certfile[0] ? cfg->certfile : NULL,
                               cfg->keyfile[0] ? cfg->keyfile : NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            ls_error("uplink: TLS set-up failed: %s", mosquitto_strerror(rc));
            goto fail;
        }
    }
    will = status_payload(u, 0);
    if (!will)
        goto nomem;
    mosquitto_will_set(u->mosq, u->topic_status, (int)strlen(will), will, 1, true);
    free(will);
    rc = mosquitto_connect_async(u->mosq, cfg->host, cfg->port, 30);
    if (rc != MOSQ_ERR_SUCCESS)
        ls_warn("uplink: cannot reach %s:%d yet (%s); will keep trying", cfg->host, cfg->port,
                mosquitto_strerror(rc));
    if (ls_mqtt_loop_start(u->mosq, "uplink", &u->loop)) {
        ls_error("uplink: cannot start the MQTT thread");
        goto fail;
    }
    outbox_set_notify(ob, on_new_reading, u);
    *out = u;
    return LS_OK;
nomem:
    ls_error("uplink: out of memory");
fail:
    if (u->mosq)
        mosquitto_destroy(u->mosq);
    free(u->batch);
    pthread_mutex_destroy(&u->lock);
    free(u);
    return LS_ERR_IO;
}

static void publish_status(struct uplink *u, int64_t now)
{
    char *s = status_payload(u, 1);

    if (!s)
        return;
    if (mosquitto_publish(u->mosq, NULL, u->topic_status, (int)strlen(s), s, 1, true) ==
        MOSQ_ERR_SUCCESS) {
        u->status_ms = now;
        u->status_count = outbox_count(u->ob);
        u->status_full = outbox_full(u->ob);
        u->status_relays = u->relays ? relays_changes(u->relays) : 0;
        u->status_due = 0;
    }
    free(s);
}

void uplink_tick(struct uplink *u)
{
    int64_t now = ls_mono_ms(), acked, pending;
    int64_t window = (int64_t)UPLINK_WINDOW_BATCHES * u->cfg->batch_max;

    pthread_mutex_lock(&u->lock);
    pending = u->ack_pending;
    if (pending > outbox_acked(u->ob) && outbox_ack(u->ob, pending) == LS_OK) {
        u->progress_ms = now;
        ls_debug("uplink: acked up to %lld", (long long)pending);
    }
    acked = outbox_acked(u->ob);
    if (!u->connected)
        goto out;
    if (u->sent_upto < acked)
        u->sent_upto = acked;
    if (u->sent_upto > acked && now - u->progress_ms > (int64_t)u->cfg->ack_timeout_s * 1000) {
        ls_warn("uplink: no ack for %d s; resending from seq %lld", u->cfg->ack_timeout_s,
                (long long)acked + 1);
        u->sent_upto = acked;
        u->progress_ms = now;
    }
    while (u->sent_upto - acked < window && outbox_last_seq(u->ob) > u->sent_upto) {
        size_t n = 0;
        char *payload;
        int rc;

        if (outbox_fetch(u->ob, u->sent_upto, u->batch, (size_t)u->cfg->batch_max, &n) || !n)
            break;
        /* The outbox holds everything not acked, so this batch is all there is of
         * (sent_upto, last]: a seq missing from it was thinned and the server may ack past it. */
        payload = ls_batch_encode(u->cfg->id, outbox_epoch(u->ob), u->sent_upto, u->batch, n);
        if (!payload)
            break;
        rc = mosquitto_publish(u->mosq, NULL, u->topic_readings, (int)strlen(payload), payload, 1,
                               false);
        free(payload);
        if (rc != MOSQ_ERR_SUCCESS)
            break;
        if (u->sent_upto == acked)
            u->progress_ms = now; /* the ack timeout runs from the first unacked send */
        u->sent_upto = u->batch[n - 1].seq;
        if (u->sent_upto > u->published_max)
            u->published_max = u->sent_upto;
    }
    if (u->status_due ||
        ((outbox_count(u->ob) != u->status_count || outbox_full(u->ob) != u->status_full ||
          (u->relays && relays_changes(u->relays) != u->status_relays)) &&
         now - u->status_ms >= STATUS_MIN_INTERVAL_MS))
        publish_status(u, now);
out:
    pthread_mutex_unlock(&u->lock);
}

void uplink_wait(struct uplink *u, int max_ms)
{
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += max_ms / 1000;
    until.tv_nsec += (long)(max_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&u->lock);
    while (!u->woken && pthread_cond_timedwait(&u->wake, &u->lock, &until) == 0)
        ;
    u->woken = 0;
    pthread_mutex_unlock(&u->lock);
}

void uplink_stop(struct uplink *u)
{
    char *s;

    if (!u)
        return;
    outbox_set_notify(u->ob, NULL, NULL);
    pthread_mutex_lock(&u->lock);
    if (u->connected) {
        s = status_payload(u, 0);
        if (s) {
            mosquitto_publish(u->mosq, NULL, u->topic_status, (int)strlen(s), s, 1, true);
            free(s);
        }
    }
    pthread_mutex_unlock(&u->lock);
    ls_mqtt_loop_stop(u->loop, 1);
    mosquitto_destroy(u->mosq);
    free(u->batch);
    pthread_cond_destroy(&u->wake);
    pthread_mutex_destroy(&u->lock);
    free(u);
}
