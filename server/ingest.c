#include "ingest.h"

#include "broker.h"

#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "labshare/log.h"
#include "labshare/mqtt_loop.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* A message taken off libmosquitto's network thread, waiting for the store worker: a batch
 * decoded there (so the decoding runs beside the worker, not in it: a quarter of the worker's
 * time during a replay, perf 2026-12-03), or a status as it came. */
struct msg {
    struct msg *next;
    enum ls_topic_kind kind;
    char gateway[LS_ID_MAX];
    size_t bytes;          /* what it holds, counted against [ingest] queue_max_mb */
    struct ls_batch batch; /* LS_TOPIC_READINGS: decoded, owned */
    size_t len;            /* LS_TOPIC_STATUS: the payload */
    char payload[];        /* len bytes and a NUL */
};

/* Messages waiting at most: beyond, new ones are dropped unacked (their gateway resends). */
#define QUEUE_MAX 4096
/* Batches stored in one transaction at most: a gateway's window (UPLINK_WINDOW_BATCHES). Each
 * instrument's usage is refreshed once per group, so a backlog replays faster in larger ones
 * (500,000 readings of 500 instruments: 13.7 s at 64, 17.1 s at 16, bench_gateway.sh); only
 * what is queued is taken, so a lone batch is not held back. */
#define GROUP_MAX 64
/* The ingest connection's page cache: the hot index pages of readings, usage and the day sums
 * of a national platform's active instruments (store_cache_mb). */
#define INGEST_CACHE_MB 64

/*
 * libmosquitto's network thread only decodes and queues; one worker thread stores what is
 * waiting as one group (one transaction, one fsync), then acks each batch. So the network
 * thread never waits for the disk, and a burst of batches costs one commit.
 */
struct ingest {
    const struct srv_config *cfg;
    struct mosquitto *mosq;
    struct ls_mqtt_loop *loop; /* its network thread (mqtt_loop.h) */
    struct store *st;          /* used only by the worker thread */
    pthread_t worker;
    int worker_started;
    pthread_mutex_t lock; /* guards the queue, stopping and the stats */
    pthread_cond_t more;
    struct msg *head, *tail;
    size_t queued;
    size_t queued_bytes; /* payload bytes waiting: bounded by [ingest] queue_max_mb */
    size_t queue_max_bytes;
    int stopping;
    int sub_refused; /* the broker refused a subscription: the worker tries again */
    struct ingest_stats stats;
    int64_t logged_ms[TRUST_CAUSE_COUNT]; /* when each cause was last logged (monotonic) */
    uint64_t unlogged[TRUST_CAUSE_COUNT]; /* refusals since then, not logged one by one */
};

static void count(struct ingest *in, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&in->lock);
    *field += n;
    pthread_mutex_unlock(&in->lock);
}

/* Count n refusals for cause and log at most one line per cause and minute, so a flood of
 * forgeries cannot flood the log. what says where (gateway, detail). */
static void refused(struct ingest *in, enum trust_cause cause, uint64_t n, const char *what)
{
    int64_t now = ls_mono_ms();
    uint64_t skipped = 0;
    int log_it = 0;

    if (!n)
        return;
    pthread_mutex_lock(&in->lock);
    in->stats.refused[cause] += n;
    if (!in->logged_ms[cause] || now - in->logged_ms[cause] >= 60000) {
        log_it = 1;
        skipped = in->unlogged[cause];
        in->unlogged[cause] = 0;
        in->logged_ms[cause] = now;
    } else {
        in->unlogged[cause] += n;
    }
    pthread_mutex_unlock(&in->lock);
    if (log_it)
        ls_warn("ingest: refused %llu (%s): %s%s", (unsigned long long)n, trust_cause_name(cause),
                what, skipped ? " (and more in the last minute, counted, not logged)" : "");
    else
        ls_debug("ingest: refused %llu (%s): %s", (unsigned long long)n, trust_cause_name(cause),
                 what);
}

/* Subscribe to every gateway's readings and status, shared with the other servers of [mqtt]
 * share_group; the other form is dropped, since the persistent session keeps what an earlier
 * start subscribed to and a message would otherwise come twice. */
static void subscribe_all(struct ingest *in)
{
    static const enum ls_topic_kind kinds[] = {LS_TOPIC_READINGS, LS_TOPIC_STATUS};
    char want[192], other[192];
    int shared = in->cfg->mqtt_share_group[0] != 0;

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (broker_ingest_filter(in->cfg, kinds[i], 1, want, sizeof(want)) ||
            broker_ingest_filter(in->cfg, kinds[i], 0, other, sizeof(other)))
            continue;
        if (shared)
            mosquitto_unsubscribe(in->mosq, NULL, other);
        mosquitto_subscribe(in->mosq, NULL, want, 1);
    }
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct ingest *in = obj;

    (void)mosq;
    if (rc) {
        ls_warn("ingest: broker refused the connection: %s", mosquitto_connack_string(rc));
        return;
    }
    subscribe_all(in);
    pthread_mutex_lock(&in->lock);
    in->stats.connected = 1;
    pthread_mutex_unlock(&in->lock);
    ls_info("ingest: connected to %s:%d%s%s", in->cfg->mqtt_host, in->cfg->mqtt_port,
            in->cfg->mqtt_share_group[0] ? ", sharing the ingest as group " : "",
            in->cfg->mqtt_share_group);
}

/* 0x80 for a filter means the broker's ACL refused it: this server would never hear a gateway.
 * The worker subscribes again every few seconds (the control connection grants the shared
 * filters to the server's role on a broker configured before them). */
static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted)
{
    struct ingest *in = obj;
    int refused = 0;

    (void)mosq;
    (void)mid;
    for (int i = 0; i < qos_count; i++)
        refused |= granted[i] > 2;
    if (!refused)
        return;
    pthread_mutex_lock(&in->lock);
    if (!in->sub_refused)
        ls_error("ingest: the broker refused the server's subscription to the gateways' topics "
                 "(its role lacks them: run broker-config for a new broker, or grant them); "
                 "trying again");
    in->sub_refused = 1;
    pthread_cond_signal(&in->more);
    pthread_mutex_unlock(&in->lock);
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

static void publish_ack(struct ingest *in, const char *gw, int64_t epoch, int64_t upto)
{
    struct ls_ack ack = {epoch, upto};
    char topic[128], *payload = ls_ack_encode(&ack);

    if (!payload || ls_topic(topic, sizeof(topic), gw, LS_TOPIC_ACK) ||
        mosquitto_publish(in->mosq, NULL, topic, (int)strlen(payload), payload, 1, false) !=
            MOSQ_ERR_SUCCESS)
        ls_warn("ingest: could not publish the ack to %s (it will resend)", gw);
    free(payload);
}

/* Keep a gateway's status; a change between online and offline is audited (actor: the gateway,
 * or the broker's will in its name), in the same transaction. */
static int record_status(struct ingest *in, const char *gateway, const struct ls_status *s)
{
    struct audit_actor who = {"gateway", "", 0, NULL};
    char object[LS_ID_MAX + 16];
    int was = -1, rc;
    int64_t now = ls_now_ms();

    if (store_begin(in->st))
        return LS_ERR_DB;
    rc = store_gateway_online(in->st, gateway, &was);
    if (rc == LS_OK)
        rc = store_gateway_status(in->st, gateway, s, now);
    if (rc == LS_OK && was != s->online) {
        json_t *after = json_pack("{s:b, s:s, s:I}", "online", s->online, "version", s->version,
                                  "outbox", (json_int_t)s->outbox);
        snprintf(who.id, sizeof(who.id), "%s", gateway);
        snprintf(object, sizeof(object), "gateway/%s", gateway);
        rc = store_audit_append(in->st, now, &who, s->online ? "gateway.online" : "gateway.offline",
                                object, NULL, after);
        json_decref(after);
    }
    if (rc) {
        store_rollback(in->st);
        return rc;
    }
    return store_commit(in->st);
}

static void msg_free(struct msg *m)
{
    ls_batch_release(&m->batch);
    free(m);
}

static void handle_status(struct ingest *in, const struct msg *m)
{
    struct ls_status s;
    char why[300], what[500];

    if (m->len == 0)
        return; /* a cleared retained message */
    if (ls_status_decode(m->payload, m->len, &s, why, sizeof(why))) {
        snprintf(what, sizeof(what), "a status of gateway %s: %s", m->gateway, why);
        refused(in, TRUST_MALFORMED, 1, what);
        count(in, &in->stats.rejected, 1);
        return;
    }
    if (record_status(in, m->gateway, &s) == LS_ERR_NOTFOUND) {
        snprintf(what, sizeof(what), "a status of gateway %s, not registered or disabled",
                 m->gateway);
        refused(in, TRUST_UNKNOWN_GATEWAY, 1, what);
    } else {
        /* the relays as the gateway read them back (issue 12) */
        for (size_t i = 0; i < s.interlock_count; i++)
            store_interlock_actual(in->st, m->gateway, s.interlock_ids[i], s.interlock_on[i],
                                   ls_now_ms());
        /* ... and those it cannot put right (an offline status says nothing of them) */
        if (s.online && store_interlock_faults(in->st, m->gateway, s.fault_ids, s.faults,
                                               s.fault_count, ls_now_ms()) == LS_OK) {
            for (size_t i = 0; i < s.fault_count; i++)
                ls_warn("ingest: gateway %s cannot put the relay of %s right: %s", m->gateway,
                        s.fault_ids[i], s.faults[i]);
        }
    }
    ls_status_release(&s);
}

/* Store a group of decoded reading batches in one transaction, then ack each. */
static void handle_group(struct ingest *in, struct msg **msgs, size_t n)
{
    struct ls_batch b[GROUP_MAX];
    struct ingest_result res[GROUP_MAX];
    size_t nb = 0;
    char what[500];

    for (size_t i = 0; i < n; i++) {
        b[nb++] = msgs[i]->batch; /* released below */
        memset(&msgs[i]->batch, 0, sizeof(msgs[i]->batch));
    }
    if (nb && ingest_store_batches(in->st, b, nb, ls_now_ms(), (int64_t)in->cfg->merge_gap_s * 1000,
                                   in->cfg->no_show_min_run_s, res) != LS_OK) {
        /* Not acked: the gateways resend after their ack timeout. */
        count(in, &in->stats.db_errors, nb);
    } else if (nb) {
        pthread_mutex_lock(&in->lock);
        for (size_t i = 0; i < nb; i++) {
            in->stats.batches++;
            in->stats.readings += res[i].stored;
            in->stats.duplicates += res[i].duplicates;
        }
        pthread_mutex_unlock(&in->lock);
        for (size_t i = 0; i < nb; i++) {
            for (int c = 0; c < TRUST_CAUSE_COUNT; c++)
                if (res[i].refused[c]) {
                    snprintf(what, sizeof(what), "readings of gateway %.64s epoch %lld",
                             b[i].gateway, (long long)b[i].epoch);
                    refused(in, (enum trust_cause)c, res[i].refused[c], what);
                }
            if (res[i].upto < 0)
                continue; /* not a registered, enabled gateway: no ack */
            ls_debug("ingest: %s epoch %lld: %zu new, %zu repeated, acked up to %lld", b[i].gateway,
                     (long long)b[i].epoch, res[i].stored, res[i].duplicates,
                     (long long)res[i].upto);
            publish_ack(in, b[i].gateway, b[i].epoch, res[i].upto);
        }
    }
    for (size_t i = 0; i < nb; i++)
        ls_batch_release(&b[i]);
}

static void *worker_main(void *arg)
{
    struct ingest *in = arg;
    struct msg *group[GROUP_MAX], *batches[GROUP_MAX];

    for (;;) {
        size_t n = 0, nb = 0;

        pthread_mutex_lock(&in->lock);
        while (!in->head && !in->stopping) {
            if (in->sub_refused) {
                struct timespec at;
                clock_gettime(CLOCK_REALTIME, &at);
                at.tv_sec += 3;
                pthread_cond_timedwait(&in->more, &in->lock, &at);
                if (!in->stopping && !in->head) {
                    in->sub_refused = 0;
                    pthread_mutex_unlock(&in->lock);
                    subscribe_all(in);
                    pthread_mutex_lock(&in->lock);
                }
                continue;
            }
            pthread_cond_wait(&in->more, &in->lock);
        }
        if (!in->head) {
            pthread_mutex_unlock(&in->lock);
            break; /* stopping, and everything queued is done */
        }
        while (in->head && n < GROUP_MAX) {
            struct msg *m = in->head;
            in->head = m->next;
            if (!in->head)
                in->tail = NULL;
            in->queued--;
            in->queued_bytes -= m->bytes;
            group[n++] = m;
        }
        pthread_mutex_unlock(&in->lock);
        for (size_t i = 0; i < n; i++) {
            if (group[i]->kind == LS_TOPIC_STATUS)
                handle_status(in, group[i]);
            else
                batches[nb++] = group[i];
        }
        if (nb)
            handle_group(in, batches, nb);
        for (size_t i = 0; i < n; i++)
            msg_free(group[i]);
    }
    return NULL;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *mm)
{
    struct ingest *in = obj;
    enum ls_topic_kind kind;
    char gw[LS_ID_MAX];
    struct msg *m;
    size_t len = mm->payloadlen > 0 ? (size_t)mm->payloadlen : 0;
    char what[500];

    (void)mosq;
    if (ls_topic_parse(mm->topic, &kind, gw) ||
        (kind != LS_TOPIC_READINGS && kind != LS_TOPIC_STATUS)) {
        snprintf(what, sizeof(what), "a message on topic %.100s", mm->topic);
        refused(in, TRUST_UNEXPECTED_TOPIC, 1, what);
        count(in, &in->stats.rejected, 1);
        return;
    }
    if (len > LS_PAYLOAD_MAX) {
        /* before any copy: libmosquitto holds it, we drop it */
        snprintf(what, sizeof(what), "a message of gateway %s: %zu bytes, the limit is %d", gw, len,
                 LS_PAYLOAD_MAX);
        refused(in, TRUST_OVERSIZED, 1, what);
        count(in, &in->stats.rejected, 1);
        return;
    }
    if (kind == LS_TOPIC_READINGS) {
        struct ls_batch b;
        char why[300];
        if (ls_batch_decode(mm->payload, len, &b, why, sizeof(why))) {
            snprintf(what, sizeof(what), "a batch of gateway %s: %s", gw, why);
            refused(in, TRUST_MALFORMED, 1, what);
            count(in, &in->stats.rejected, 1);
            return;
        }
        if (strcmp(b.gateway, gw) != 0) {
            snprintf(what, sizeof(what),
                     "a batch on the topic of gateway %s that claims gateway '%.64s'", gw,
                     b.gateway);
            refused(in, TRUST_UNKNOWN_GATEWAY, 1, what);
            count(in, &in->stats.rejected, 1);
            ls_batch_release(&b);
            return;
        }
        m = malloc(sizeof(*m) + 1);
        if (!m) {
            ls_batch_release(&b);
            return; /* not acked: resent later */
        }
        m->batch = b;
        m->len = 0;
        m->bytes = sizeof(*m) + b.count * sizeof(*b.readings);
    } else {
        m = malloc(sizeof(*m) + len + 1);
        if (!m)
            return; /* not acked: resent later */
        memset(&m->batch, 0, sizeof(m->batch));
        m->len = len;
        if (len)
            memcpy(m->payload, mm->payload, len);
        m->bytes = sizeof(*m) + len;
    }
    m->next = NULL;
    m->kind = kind;
    snprintf(m->gateway, sizeof(m->gateway), "%s", gw);
    m->payload[m->len] = '\0';
    pthread_mutex_lock(&in->lock);
    if (in->stopping) {
        pthread_mutex_unlock(&in->lock);
        msg_free(m); /* shutting down: not stored, not acked, resent to the next server */
        return;
    }
    if (in->queued >= QUEUE_MAX || in->queued_bytes + m->bytes > in->queue_max_bytes) {
        size_t q = in->queued, qb = in->queued_bytes;
        in->stats.dropped++;
        pthread_mutex_unlock(&in->lock);
        ls_warn("ingest: %zu messages (%zu bytes) waiting; dropping one of gateway %s (it will "
                "resend)",
                q, qb, gw);
        msg_free(m);
        return;
    }
    if (in->tail)
        in->tail->next = m;
    else
        in->head = m;
    in->tail = m;
    in->queued++;
    in->queued_bytes += m->bytes;
    pthread_cond_signal(&in->more);
    pthread_mutex_unlock(&in->lock);
}

struct inst_ts {
    const char *instrument;
    int64_t ts;
};

static int cmp_inst_ts(const void *a, const void *b)
{
    const struct inst_ts *x = a, *y = b;
    int c = strcmp(x->instrument, y->instrument);

    return c ? c : (x->ts < y->ts ? -1 : x->ts > y->ts);
}

/* Refresh the usage of every instrument of the batches, from its earliest new reading. */
static int refresh_usage(struct store *st, const struct ls_batch *b, size_t n, int64_t merge_gap_ms,
                         int64_t no_show_min_run_s)
{
    struct inst_ts *v;
    size_t cnt = 0, total = 0;
    int rc = LS_OK;

    for (size_t i = 0; i < n; i++)
        total += b[i].count;
    if (total == 0)
        return LS_OK;
    v = malloc(total * sizeof(*v));
    if (!v)
        return LS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < b[i].count; k++) {
            v[cnt].instrument = b[i].readings[k].instrument;
            v[cnt++].ts = b[i].readings[k].ts;
        }
    /* sorted by instrument then time: the first of each run is its earliest new reading */
    qsort(v, cnt, sizeof(*v), cmp_inst_ts);
    for (size_t i = 0; rc == LS_OK && i < cnt; i++) {
        if (i > 0 && strcmp(v[i].instrument, v[i - 1].instrument) == 0)
            continue;
        rc = store_usage_refresh(st, v[i].instrument, v[i].ts, merge_gap_ms, no_show_min_run_s);
    }
    free(v);
    return rc;
}

int ingest_store_batches(struct store *st, const struct ls_batch *b, size_t n, int64_t received_ms,
                         int64_t merge_gap_ms, int64_t no_show_min_run_s, struct ingest_result *res)
{
    int rc = store_begin(st);

    if (rc == LS_OK)
        rc = store_readings_insert(st, b, n, received_ms, res);
    if (rc == LS_OK)
        rc = refresh_usage(st, b, n, merge_gap_ms, no_show_min_run_s);
    /* With synchronous=FULL the batches are on disk when COMMIT returns: only then may the
     * gateways be told to forget them. */
    if (rc == LS_OK)
        rc = store_commit(st);
    if (rc) {
        store_rollback(st);
        memset(res, 0, n * sizeof(*res));
        return LS_ERR_DB;
    }
    return LS_OK;
}

int ingest_start(const struct srv_config *cfg, struct ingest **out)
{
    struct ingest *in = calloc(1, sizeof(*in));
    int rc;

    if (!in)
        return LS_ERR_NOMEM;
    in->cfg = cfg;
    in->queue_max_bytes = (size_t)cfg->queue_max_mb * 1024 * 1024;
    pthread_mutex_init(&in->lock, NULL);
    pthread_cond_init(&in->more, NULL);
    if (store_open(cfg->db, &in->st) || store_cache_mb(in->st, INGEST_CACHE_MB))
        goto fail;
    {
        struct trust_limits lim = {(int64_t)cfg->max_future_s * 1000,
                                   (int64_t)cfg->max_past_days * 86400 * 1000, cfg->max_thinned};
        store_set_trust(in->st, &lim);
    }
    if (pthread_create(&in->worker, NULL, worker_main, in)) {
        ls_error("ingest: cannot start the store thread");
        goto fail;
    }
    in->worker_started = 1;
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
    mosquitto_subscribe_callback_set(in->mosq, on_subscribe);
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
    rc = ls_mqtt_loop_start(in->mosq, "ingest", &in->loop);
    if (rc) {
        ls_error("ingest: cannot start the MQTT thread");
        goto fail;
    }
    *out = in;
    return LS_OK;
fail:
    if (in->mosq)
        mosquitto_destroy(in->mosq);
    in->mosq = NULL;
    ingest_stop(in);
    return LS_ERR_IO;
}

void ingest_stop(struct ingest *in)
{
    if (!in)
        return;
    /* Stop queueing, let the worker store and ack what is queued, then disconnect (which
     * sends the acks still in libmosquitto's queue first). */
    if (in->worker_started) {
        pthread_mutex_lock(&in->lock);
        in->stopping = 1;
        pthread_cond_signal(&in->more);
        pthread_mutex_unlock(&in->lock);
        pthread_join(in->worker, NULL);
    }
    if (in->mosq) {
        ls_mqtt_loop_stop(in->loop, 1);
        mosquitto_destroy(in->mosq);
    }
    while (in->head) {
        struct msg *m = in->head;
        in->head = m->next;
        msg_free(m);
    }
    store_close(in->st);
    pthread_cond_destroy(&in->more);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

void ingest_get_stats(struct ingest *in, struct ingest_stats *out)
{
    pthread_mutex_lock(&in->lock);
    *out = in->stats;
    out->queued_bytes = in->queued_bytes;
    pthread_mutex_unlock(&in->lock);
}
