#include "commands.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "booking.h"
#include "interlock.h"
#include "store.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* Bookings and outages within a day of now are all that can decide the relay's state now. */
#define NEAR_MS (86400000LL)
/* The same command again once a minute: a gateway that missed one catches up. */
#define REFRESH_MS 60000
#define MAX_GATEWAYS 256

struct sent {
    char gateway[LS_ID_MAX];
    char *body; /* the instruments array as sent, to see whether anything changed */
    int64_t at_mono;
};

/* A walk-up under way: recorded as an after-the-fact booking when it ends. */
struct walkup {
    char instrument[LS_ID_MAX];
    int64_t user_id;
    int64_t start_ms;
};
#define MAX_WALKUPS 256

struct commands {
    const struct srv_config *cfg;
    struct broker *broker;
    struct store *st;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    struct commands_stats stats;
    struct sent sent[MAX_GATEWAYS];
    size_t nsent;
    struct walkup walkups[MAX_WALKUPS];
    size_t nwalkups;
};

static struct sent *sent_for(struct commands *c, const char *gw)
{
    for (size_t i = 0; i < c->nsent; i++)
        if (strcmp(c->sent[i].gateway, gw) == 0)
            return &c->sent[i];
    if (c->nsent == MAX_GATEWAYS)
        return NULL;
    snprintf(c->sent[c->nsent].gateway, LS_ID_MAX, "%s", gw);
    return &c->sent[c->nsent++];
}

/* The desired state of one instrument now, into d. */
static int desire(struct commands *c, const char *id, const struct interlock_policy *p, int64_t now,
                  struct interlock_desired *d, int64_t *badge_user)
{
    struct booking_span *bs = NULL;
    struct interval *os = NULL;
    size_t nb = 0, no = 0;
    struct interlock_booking *b = NULL;
    struct interlock_span *o = NULL;
    struct interlock_input in;
    int rc;

    memset(&in, 0, sizeof(in));
    rc = store_confirmed_spans(c->st, id, now - NEAR_MS, now + NEAR_MS, &bs, &nb);
    if (rc == LS_OK)
        rc = store_outage_spans(c->st, id, now - NEAR_MS, now + NEAR_MS, &os, &no);
    if (rc == LS_OK)
        rc = store_meter_activity(c->st, id, &in.running, &in.idle_at_ms);
    *badge_user = 0;
    if (rc == LS_OK && p->walkup && store_meter_badge_user(c->st, id, badge_user) == LS_OK &&
        *badge_user) {
        /* a walk-up at now: the badge's user qualified at this instant */
        struct qualification q;
        in.walkup_badge = store_qualification_get(c->st, id, *badge_user, &q) == LS_OK &&
                          qualification_covers(q.since_ms, q.expires_ms, now, now + 1);
    }
    b = calloc(nb ? nb : 1, sizeof(*b));
    o = calloc(no ? no : 1, sizeof(*o));
    if (rc == LS_OK && (!b || !o))
        rc = LS_ERR_NOMEM;
    if (rc == LS_OK) {
        for (size_t i = 0; i < nb; i++) {
            b[i].id = bs[i].id;
            b[i].start_ms = bs[i].start_ms;
            b[i].end_ms = bs[i].end_ms;
        }
        for (size_t i = 0; i < no; i++) {
            o[i].start_ms = os[i].start_ms;
            o[i].end_ms = os[i].end_ms;
        }
        in.now_ms = now;
        in.bookings = b;
        in.nbookings = nb;
        in.outages = o;
        in.noutages = no;
        interlock_desire(p, &in, d);
    }
    free(bs);
    free(os);
    free(b);
    free(o);
    return rc;
}

/* A qualified walk-up begins (audited) or ends (recorded as an after-the-fact booking, audited):
 * the service's own records, actor "interlock". */
static void walkup_edges(struct commands *c, const char *id, const struct interlock_desired *d,
                         int64_t user, int64_t now)
{
    struct walkup *w = NULL;
    struct audit_actor il_actor = audit_system("interlock");
    size_t i;
    char object[LS_ID_MAX + 32];

    for (i = 0; i < c->nwalkups && !w; i++)
        if (strcmp(c->walkups[i].instrument, id) == 0)
            w = &c->walkups[i];
    if (d->reason == IL_ON_WALKUP && !w && c->nwalkups < MAX_WALKUPS) {
        json_t *after = json_pack("{s:s, s:I}", "instrument", id, "user_id", (json_int_t)user);
        w = &c->walkups[c->nwalkups++];
        snprintf(w->instrument, sizeof(w->instrument), "%s", id);
        w->user_id = user;
        w->start_ms = now;
        snprintf(object, sizeof(object), "instrument/%s", id);
        /* in the period's transaction */
        store_audit_append(c->st, now, &il_actor, "interlock.walkup", object, NULL, after);
        json_decref(after);
        ls_info("interlock: %s enabled for a walk-up by user %lld", id, (long long)user);
    } else if (d->reason != IL_ON_WALKUP && w) {
        struct booking b;
        memset(&b, 0, sizeof(b));
        snprintf(b.instrument, sizeof(b.instrument), "%s", id);
        b.user_id = w->user_id;
        snprintf(b.project, sizeof(b.project), "walk-in");
        b.start_ms = w->start_ms;
        b.end_ms = now > w->start_ms ? now : w->start_ms + 1;
        b.status = BOOKING_CONFIRMED;
        snprintf(b.reason, sizeof(b.reason), "walk-up by badge");
        b.created_at = now;
        {
            json_t *after = NULL;
            int rc = store_booking_insert(c->st, &b);
            if (rc == LS_OK) {
                after = json_pack("{s:I, s:s, s:I, s:I, s:I}", "id", (json_int_t)b.id, "instrument",
                                  id, "user_id", (json_int_t)b.user_id, "start_ms",
                                  (json_int_t)b.start_ms, "end_ms", (json_int_t)b.end_ms);
                snprintf(object, sizeof(object), "booking/%lld", (long long)b.id);
                rc = store_audit_append(c->st, now, &il_actor, "booking.walkin", object, NULL,
                                        after);
            }
            json_decref(after);
            if (rc == LS_OK)
                ls_info("interlock: %s walk-up by user %lld recorded as booking %lld", id,
                        (long long)b.user_id, (long long)b.id);
        }
        *w = c->walkups[--c->nwalkups];
    }
}

static json_t *command_entry(const char *id, const struct interlock_desired *d)
{
    json_t *e =
        json_pack("{s:s, s:s}", "instrument", id, "interlock", d->enable ? "enable" : "disable");

    /* why it is off: an outage stops even a running measurement, anything else lets a run the
     * gateway sees going finish within the grace it was given */
    if (e && !d->enable)
        json_object_set_new(e, "reason", json_string(interlock_reason_name(d->reason)));
    if (e && d->enable) {
        json_object_set_new(e, "booking", json_integer(d->booking));
        json_object_set_new(e, "end", json_integer(d->end_ms));
        json_object_set_new(e, "until", json_integer(d->until_ms));
    }
    return e;
}

/* Publish gateway gw's commands (the instruments array cmds, stolen) when they changed or are
 * due again; set *version to what was sent (0 when nothing). */
static void send(struct commands *c, const char *gw, json_t *cmds, int64_t now, int64_t *version)
{
    struct sent *s = sent_for(c, gw);
    char *body = json_dumps(cmds, JSON_COMPACT | JSON_SORT_KEYS), *payload = NULL;
    char topic[LS_ID_MAX + 32];
    int64_t v = 0, mono = ls_mono_ms();
    json_t *msg = NULL;

    *version = 0;
    if (!s || !body)
        goto out;
    if (s->body && strcmp(s->body, body) == 0 && mono - s->at_mono < REFRESH_MS)
        goto out;
    if (store_interlock_next_version(c->st, now, &v))
        goto out;
    msg = json_pack("{s:I, s:O}", "version", (json_int_t)v, "instruments", cmds);
    payload = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    snprintf(topic, sizeof(topic), "labshare/v1/gw/%s/cmd", gw);
    if (!payload || broker_publish(c->broker, topic, payload, 1) != LS_OK) {
        pthread_mutex_lock(&c->lock);
        c->stats.failed++;
        pthread_mutex_unlock(&c->lock);
        goto out;
    }
    if (!s->body || strcmp(s->body, body) != 0)
        ls_info("interlock: gateway %s: command version %lld: %s", gw, (long long)v, body);
    free(s->body);
    s->body = body;
    body = NULL;
    s->at_mono = mono;
    *version = v;
    pthread_mutex_lock(&c->lock);
    c->stats.sent++;
    pthread_mutex_unlock(&c->lock);
out:
    free(body);
    free(payload);
    json_decref(msg);
    json_decref(cmds);
}

/* Append entry (stolen) to gateway gw's list in bygw. */
static void add_entry(json_t *bygw, const char *gw, json_t *entry)
{
    json_t *list = json_object_get(bygw, gw);

    if (!list) {
        list = json_array();
        json_object_set_new(bygw, gw, list);
    }
    json_array_append_new(list, entry);
}

static void one_period(struct commands *c)
{
    struct instrument *all = NULL;
    json_t *bygw = json_object();
    int64_t total = 0, now = ls_now_ms();
    uint64_t enforced = 0, monitored = 0, disagreeing = 0, faulty = 0;
    size_t n = 0;

    if (!bygw || store_instrument_list(c->st, 0, 0, INT64_MAX, 0, &all, &n, &total))
        goto out;
    /* the period's writes in one transaction: one fsync, not one per instrument, so ingest's
     * commits (and the gateways' acks) do not queue behind the service */
    if (store_begin(c->st))
        goto out;
    /* every gateway that had commands gets its list again, empty when none is enforced now */
    for (size_t k = 0; k < c->nsent; k++)
        json_object_set_new(bygw, c->sent[k].gateway, json_array());
    for (size_t i = 0; i < n; i++) {
        const char *id = all[i].id;
        const char *gw = all[i].gateway[0] ? all[i].gateway : NULL;
        const struct interlock_policy p = all[i].interlock;
        struct interlock_desired d;
        struct interlock_row row, old;

        if (p.mode == INTERLOCK_NONE) {
            if (store_interlock_get(c->st, id, &old) == LS_OK)
                store_interlock_forget(c->st, id); /* a policy just turned off */
            continue;
        }
        int64_t badge_user = 0;
        if (desire(c, id, &p, now, &d, &badge_user))
            continue;
        walkup_edges(c, id, &d, badge_user, now);
        memset(&row, 0, sizeof(row));
        snprintf(row.instrument, sizeof(row.instrument), "%s", id);
        snprintf(row.gateway, sizeof(row.gateway), "%s", gw ? gw : "");
        snprintf(row.mode, sizeof(row.mode), "%s", interlock_mode_name(p.mode));
        snprintf(row.reason, sizeof(row.reason), "%s", interlock_reason_name(d.reason));
        row.desired = d.enable;
        row.booking = d.booking;
        row.until_ms = d.until_ms;
        row.computed_at = now;
        if (store_interlock_get(c->st, id, &old) == LS_OK) {
            row.version = old.version;
            /* a disagreement: the gateway reports the other state since before the last change
             * of mind had time to reach it (two periods) */
            if (old.actual >= 0 && old.actual != d.enable && old.desired == d.enable &&
                now - old.actual_at < 5LL * c->cfg->interlock_period_s * 1000)
                disagreeing++;
            if (old.fault[0])
                faulty++;
        }
        if (p.mode == INTERLOCK_ENFORCE && gw) {
            add_entry(bygw, gw, command_entry(id, &d));
            enforced++;
        } else {
            /* monitor: the gateway reads the relay back and reports it, and writes nothing */
            if (gw)
                add_entry(bygw, gw,
                          json_pack("{s:s, s:s}", "instrument", id, "interlock", "observe"));
            monitored++;
        }
        store_interlock_put(c->st, &row);
    }
    if (store_commit(c->st))
        store_rollback(c->st);
    {
        const char *gw;
        json_t *list;
        void *tmp;
        json_object_foreach_safe(bygw, tmp, gw, list)
        {
            int64_t v = 0;
            send(c, gw, json_incref(list), now, &v);
            if (v) /* the rows of the gateway's instruments name the command that carried them */
                store_interlock_set_version(c->st, gw, v);
        }
    }
    pthread_mutex_lock(&c->lock);
    c->stats.enforced = enforced;
    c->stats.monitored = monitored;
    c->stats.disagreeing = disagreeing;
    c->stats.faulty = faulty;
    pthread_mutex_unlock(&c->lock);
out:
    instruments_free(all, n);
    json_decref(bygw);
}

static void *thread_main(void *arg)
{
    struct commands *c = arg;

    for (;;) {
        struct timespec until;
        pthread_mutex_lock(&c->lock);
        if (c->stopping) {
            pthread_mutex_unlock(&c->lock);
            break;
        }
        pthread_mutex_unlock(&c->lock);
        one_period(c);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += c->cfg->interlock_period_s;
        pthread_mutex_lock(&c->lock);
        if (!c->stopping)
            pthread_cond_timedwait(&c->wake, &c->lock, &until);
        pthread_mutex_unlock(&c->lock);
    }
    return NULL;
}

int commands_start(const struct srv_config *cfg, struct broker *broker, struct commands **out)
{
    struct commands *c = calloc(1, sizeof(*c));
    pthread_condattr_t attr;

    *out = NULL;
    if (!c)
        return LS_ERR_NOMEM;
    c->cfg = cfg;
    c->broker = broker;
    if (store_open(cfg->db, &c->st)) {
        free(c);
        return LS_ERR_DB;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&c->thread, NULL, thread_main, c)) {
        store_close(c->st);
        free(c);
        return LS_ERR_NOMEM;
    }
    *out = c;
    return LS_OK;
}

void commands_stop(struct commands *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    for (size_t i = 0; i < c->nsent; i++)
        free(c->sent[i].body);
    store_close(c->st);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
}

void commands_get_stats(struct commands *c, struct commands_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}
