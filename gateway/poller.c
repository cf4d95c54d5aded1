#include "poller.h"

#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "derive.h"
#include "plan.h"
#include "relay.h"
#include "tracker.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Reconnect backoff after a failure: doubles from 1 s up to 30 s, so a dead meter costs a
 * connect attempt twice a minute at most. */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
/* A relay that cannot be put right is tried again after the poll interval, then twice that and so
 * on up to this. */
#define RELAY_BACKOFF_MAX_MS 10000

struct dev_state {
    const struct gw_device *dev;
    struct plan plan;
    struct tracker tracker;
    int derived; /* no state register: state (and maybe run time) from power */
    struct derive derive;
    int64_t next_ms;          /* monotonic time of the next poll */
    int failing;              /* logged as failing; cleared (and logged) on the next success */
    int polled;               /* the last poll answered */
    int running;              /* ... and said the meter runs */
    int relay_failing;        /* a relay write or read-back failed (logged once) */
    int64_t relay_retry_mono; /* after a relay failure, not tried again before this */
    int64_t relay_backoff_ms;
};

struct worker {
    pthread_t thread;
    struct pollers *owner;
    modbus_t *ctx;
    int connected;
    int64_t retry_ms; /* monotonic time before which we do not reconnect */
    int64_t backoff_ms;
    size_t count;
    struct dev_state *devs;
    uint16_t *regs; /* GW_FIELD_COUNT requests of regwords each */
    size_t regwords;
    /* Readings waiting for the end of their poll round, to be committed together; count
     * entries each. */
    struct ls_reading *pend;
    int64_t *pend_run; /* derived run time to keep, or -1 */
    int64_t *pend_mono;
    struct dev_state **pend_ds;
    int *pend_rc;
    size_t npend;
};

struct pollers {
    const struct gw_config *cfg;
    struct outbox *ob;
    struct relays *relays;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    size_t count;   /* workers set up (their memory is freed at stop) */
    size_t started; /* workers whose thread runs (joined at stop) */
    struct worker *workers;
};

int poller_decode(const struct gw_device *d, const struct plan *p, uint16_t *const *regs,
                  struct ls_reading *r, char *err, size_t errlen)
{
    int64_t *dst[GW_FIELD_COUNT] = {NULL, &r->run_seconds, &r->energy_wh,
                                    NULL, &r->samples,     &r->badge};
    static const unsigned flag[GW_FIELD_COUNT] = {
        0, LS_HAS_RUN_SECONDS, LS_HAS_ENERGY_WH, LS_HAS_POWER_W, LS_HAS_SAMPLES, LS_HAS_BADGE};

    for (int f = 0; f < GW_FIELD_COUNT; f++) {
        const struct ls_field_spec *s = &d->fields[f];
        int q = p->field_request[f];
        double v;

        if (q < 0)
            continue;
        if (ls_reg_decode(regs[q] + (s->address - p->requests[q].start), s->type, d->word_order,
                          &v)) {
            snprintf(err, errlen, "%s is not a finite number", gw_field_name((enum gw_field)f));
            return LS_ERR_INVAL;
        }
        v *= s->scale;
        if (f == GW_F_STATE) {
            if (v != floor(v) || v < LS_STATE_OFF || v > LS_STATE_FAULT) {
                snprintf(err, errlen, "state code %g is not 0-3", v);
                return LS_ERR_INVAL;
            }
            r->state = (enum ls_state)(int)v;
        } else if (f == GW_F_POWER_W) {
            r->power_w = v;
            r->has |= LS_HAS_POWER_W;
        } else {
            double n = floor(v + 0.5);
            if (n < 0 || n > (double)LS_JSON_INT_MAX) {
                snprintf(err, errlen, "%s = %g is out of range", gw_field_name((enum gw_field)f),
                         v);
                return LS_ERR_INVAL;
            }
            *dst[f] = (int64_t)n;
            r->has |= flag[f];
        }
    }
    return LS_OK;
}

static int endpoint_connect(struct worker *w)
{
    const struct gw_device *d = w->devs[0].dev;
    char port[8];

    if (!w->ctx) {
        if (d->kind == GW_DEV_MODBUS_TCP) {
            snprintf(port, sizeof(port), "%d", d->port);
            w->ctx = modbus_new_tcp_pi(d->host, port);
        } else {
            w->ctx = modbus_new_rtu(d->rtu, d->baud, d->parity[0], 8, 1);
        }
        if (!w->ctx) {
            ls_error("%s: cannot create a Modbus context: %s", d->id, modbus_strerror(errno));
            return LS_ERR_IO;
        }
        /* No MODBUS_ERROR_RECOVERY_LINK: in libmodbus 3.1.6 it blocks the worker for the whole
         * timeout in a loop. We close and reconnect ourselves with backoff instead. */
        modbus_set_error_recovery(w->ctx, MODBUS_ERROR_RECOVERY_NONE);
    }
    if (modbus_connect(w->ctx) < 0)
        return LS_ERR_IO;
    if (modbus_get_socket(w->ctx) >= FD_SETSIZE) {
        /* libmodbus would FD_SET() it past the end of its fd_set. */
        ls_error("%s: descriptor %d is beyond select()'s limit of %d; not polling", d->id,
                 modbus_get_socket(w->ctx), FD_SETSIZE);
        modbus_close(w->ctx);
        errno = EMFILE;
        return LS_ERR_IO;
    }
    w->connected = 1;
    return LS_OK;
}

static void endpoint_fail(struct worker *w, int64_t now)
{
    /* libmodbus 3.1.6 stays out of step after one late reply: drop the link every time. */
    if (w->ctx && w->connected)
        modbus_close(w->ctx);
    w->connected = 0;
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (w->backoff_ms > BACKOFF_MAX_MS)
        w->backoff_ms = BACKOFF_MAX_MS;
    w->retry_ms = now + w->backoff_ms;
}

/* Read every request of ds's plan. LS_ERR_IO when the device did not answer properly. */
static int read_plan(struct worker *w, struct dev_state *ds, uint16_t *const *regs)
{
    const struct gw_device *d = ds->dev;
    uint8_t bits[PLAN_MAX_BITS];

    modbus_set_slave(w->ctx, d->unit);
    modbus_set_response_timeout(w->ctx, (uint32_t)(d->timeout_ms / 1000),
                                (uint32_t)(d->timeout_ms % 1000) * 1000);
    for (unsigned i = 0; i < ds->plan.request_count; i++) {
        const struct plan_request *q = &ds->plan.requests[i];
        int n = -1;

        switch (q->table) {
        case LS_TABLE_HR:
            n = modbus_read_registers(w->ctx, q->start, q->count, regs[i]);
            break;
        case LS_TABLE_IR:
            n = modbus_read_input_registers(w->ctx, q->start, q->count, regs[i]);
            break;
        case LS_TABLE_CO:
        case LS_TABLE_DI:
            n = q->table == LS_TABLE_CO ? modbus_read_bits(w->ctx, q->start, q->count, bits)
                                        : modbus_read_input_bits(w->ctx, q->start, q->count, bits);
            for (int k = 0; k < n; k++)
                regs[i][k] = bits[k];
            break;
        }
        if (n != q->count) {
            if (!ds->failing)
                ls_warn("%s: read of %s %u..%u failed: %s", d->id, ls_reg_table_name(q->table),
                        q->start, q->start + q->count - 1,
                        n < 0 ? modbus_strerror(errno) : "short reply");
            return LS_ERR_IO;
        }
    }
    return LS_OK;
}

/* The relay as the meter has it: 1/0 into *on; -1 when it did not answer. */
static int relay_read(struct worker *w, const struct gw_device *d, int *on)
{
    uint8_t bit;
    uint16_t reg;

    if (d->relay_table == LS_TABLE_CO) {
        if (modbus_read_bits(w->ctx, d->relay_addr, 1, &bit) != 1)
            return -1;
        *on = bit ? 1 : 0;
    } else {
        if (modbus_read_registers(w->ctx, d->relay_addr, 1, &reg) != 1)
            return -1;
        *on = reg ? 1 : 0;
    }
    return 0;
}

static int relay_write(struct worker *w, const struct gw_device *d, int on)
{
    return (d->relay_table == LS_TABLE_CO
                ? modbus_write_bit(w->ctx, d->relay_addr, on)
                : modbus_write_register(w->ctx, d->relay_addr, on ? 1 : 0)) == 1
               ? 0
               : -1;
}

/* Put the device's interlock relay in the state the commands want and read it back: returns
 * the relay as read (1/0, also when it could not be changed), or -1 when it is not under
 * command, could not be read, or is waiting for its next try. A failure is logged once,
 * reported in the status (relays_fault) and tried again with a backoff that doubles from the
 * poll interval up to RELAY_BACKOFF_MAX_MS. */
static int apply_relay(struct worker *w, struct dev_state *ds, int64_t mono)
{
    struct relays *rs = w->owner->relays;
    const struct gw_device *d = ds->dev;
    const char *id = d->id, *what = d->relay_table == LS_TABLE_CO ? "coil" : "holding register";
    int want, on = 0, wrote = 0, known = 0; /* known: on holds the relay as just read */
    char why[LS_FAULT_MAX];

    if (!rs)
        return -1;
    want = relays_want(rs, id, ls_now_ms(), ds->running);
    if (want < 0 && !relays_observed(rs, id))
        return -1;
    if (d->relay_none) {
        /* nothing to write or read: said once, and the server shows it */
        relays_fault(rs, id,
                     "no interlock relay on this meter (relay = none in the gateway's"
                     " config)");
        return -1;
    }
    if (ds->relay_failing && mono < ds->relay_retry_mono)
        return -1;
    modbus_set_slave(w->ctx, d->unit);
    if (relay_read(w, d, &on)) {
        snprintf(why, sizeof(why), "cannot read %s %d: %s", what, d->relay_addr,
                 modbus_strerror(errno));
        goto fail;
    }
    known = 1;
    if (want >= 0 && on != want) {
        wrote = 1;
        if (relay_write(w, d, want)) {
            snprintf(why, sizeof(why), "cannot %s: write of %s %d refused: %s",
                     want ? "enable" : "disable", what, d->relay_addr, modbus_strerror(errno));
            goto fail;
        }
        if (relay_read(w, d, &on)) {
            known = 0;
            snprintf(why, sizeof(why), "cannot read %s %d back: %s", what, d->relay_addr,
                     modbus_strerror(errno));
            goto fail;
        }
        if (on != want) {
            snprintf(why, sizeof(why), "cannot %s: %s %d reads back %s after the write",
                     want ? "enable" : "disable", what, d->relay_addr, on ? "enabled" : "disabled");
            goto fail;
        }
    }
    if (wrote)
        ls_info("%s: interlock relay %s (read back)", id, want ? "enabled" : "disabled");
    if (ds->relay_failing)
        ls_info("%s: interlock relay answering again", id);
    ds->relay_failing = 0;
    ds->relay_backoff_ms = 0;
    relays_actual(rs, id, on);
    relays_fault(rs, id, NULL);
    return on;
fail:
    ds->relay_backoff_ms = ds->relay_backoff_ms ? ds->relay_backoff_ms * 2 : d->poll_ms;
    if (ds->relay_backoff_ms > RELAY_BACKOFF_MAX_MS)
        ds->relay_backoff_ms = RELAY_BACKOFF_MAX_MS;
    ds->relay_retry_mono = mono + ds->relay_backoff_ms;
    if (!ds->relay_failing)
        ls_warn("%s: interlock relay: %s; trying again with backoff", id, why);
    ds->relay_failing = 1;
    relays_fault(rs, id, why);
    if (known)
        relays_actual(rs, id, on); /* the relay is in the other state: the server shows it */
    /* a timeout leaves libmodbus out of step (see endpoint_fail); a Modbus exception or a wrong
     * read-back does not */
    else if (errno < MODBUS_ENOBASE)
        endpoint_fail(w, mono);
    return known ? on : -1;
}

/* The meter did not answer: a relay under command cannot be put right either. */
static void relay_unreachable(struct worker *w, struct dev_state *ds)
{
    struct relays *rs = w->owner->relays;
    char why[LS_FAULT_MAX];

    if (!rs || (relays_want(rs, ds->dev->id, ls_now_ms(), ds->running) < 0 &&
                !relays_observed(rs, ds->dev->id)))
        return;
    snprintf(why, sizeof(why), "meter unreachable: %s", modbus_strerror(errno));
    relays_fault(rs, ds->dev->id, why);
}

static void poll_device(struct worker *w, struct dev_state *ds, int64_t mono)
{
    uint16_t *rp[GW_FIELD_COUNT];
    struct ls_reading *r = &w->pend[w->npend];
    char why[160];

    for (int i = 0; i < GW_FIELD_COUNT; i++)
        rp[i] = w->regs + (size_t)i * w->regwords;
    memset(r, 0, sizeof(*r));
    ds->polled = 0;
    if (read_plan(w, ds, rp)) {
        ds->failing = 1;
        relay_unreachable(w, ds);
        endpoint_fail(w, mono);
        return;
    }
    r->ts = ls_now_ms();
    snprintf(r->instrument, sizeof(r->instrument), "%s", ds->dev->id);
    if (poller_decode(ds->dev, &ds->plan, rp, r, why, sizeof(why))) {
        if (!ds->failing)
            ls_warn("%s: garbage from the meter: %s", ds->dev->id, why);
        ds->failing = 1;
        endpoint_fail(w, mono);
        return;
    }
    if (ds->failing) {
        ls_info("%s: answering again", ds->dev->id);
        ds->relay_retry_mono = 0; /* the meter is back: try its relay at once */
    }
    ds->failing = 0;
    ds->polled = 1;
    ds->running = r->state == LS_STATE_RUNNING;
    w->backoff_ms = 0;
    if (ds->derived)
        derive_apply(&ds->derive, r, mono);
    /* the relay's state is part of the reading (a change of it is a change reading) */
    {
        int on = apply_relay(w, ds, mono);
        if (on < 0 && ds->tracker.have_sent && (ds->tracker.last_sent.has & LS_HAS_INTERLOCK) &&
            ds->relay_failing) {
            /* not read this time (backoff): keep the last state rather than report a change */
            on = (int)ds->tracker.last_sent.interlock;
        }
        if (on >= 0) {
            r->interlock = on;
            r->has |= LS_HAS_INTERLOCK;
        }
    }
    if (!tracker_observe(&ds->tracker, r, mono))
        return;
    w->pend_run[w->npend] = ds->derived ? derive_run_to_keep(&ds->derive) : -1;
    w->pend_mono[w->npend] = mono;
    w->pend_ds[w->npend] = ds;
    w->npend++;
}

/* Commit the readings of this poll round together: one fsync for the round, not per reading. */
static void flush_pending(struct worker *w)
{
    for (size_t at = 0; at < w->npend;) {
        size_t n = w->npend - at < OUTBOX_APPEND_MAX ? w->npend - at : OUTBOX_APPEND_MAX;
        struct ls_reading *r = w->pend + at;
        int *rcs = w->pend_rc + at;

        if (outbox_append_many(w->owner->ob, r, w->pend_run + at, n, rcs) == LS_OK) {
            for (size_t i = 0; i < n; i++) {
                if (rcs[i] != LS_OK)
                    continue;
                tracker_sent(&w->pend_ds[at + i]->tracker, &r[i], w->pend_mono[at + i]);
                ls_debug("%s: seq %lld %s state %s run_seconds %lld", r[i].instrument,
                         (long long)r[i].seq, ls_cause_name(r[i].cause), ls_state_name(r[i].state),
                         (long long)r[i].run_seconds);
            }
        }
        at += n;
    }
    w->npend = 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pollers *p = w->owner;

    for (;;) {
        int64_t mono = ls_mono_ms(), next = INT64_MAX;
        struct timespec until;

        pthread_mutex_lock(&p->lock);
        if (p->stopping) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < w->count; i++) {
            struct dev_state *ds = &w->devs[i];
            if (ds->next_ms > mono)
                continue;
            /* Keep the cadence: the next poll is due poll_ms after this one was due. */
            ds->next_ms += ds->dev->poll_ms;
            if (ds->next_ms <= mono)
                ds->next_ms = mono + ds->dev->poll_ms;
            if (!w->connected && mono >= w->retry_ms && endpoint_connect(w) != LS_OK) {
                if (!ds->failing)
                    ls_warn("%s: cannot connect: %s", ds->dev->id, modbus_strerror(errno));
                ds->failing = 1;
                endpoint_fail(w, mono);
            }
            if (w->connected)
                poll_device(w, ds, mono);
            mono = ls_mono_ms();
        }
        flush_pending(w);
        for (size_t i = 0; i < w->count; i++)
            if (w->devs[i].next_ms < next)
                next = w->devs[i].next_ms;
        if (!w->connected && w->retry_ms > next)
            next = w->retry_ms;
        /* Sleep until the next poll, waking at once when asked to stop. */
        clock_gettime(CLOCK_MONOTONIC, &until);
        {
            int64_t wait_ms = next - ls_mono_ms();
            if (wait_ms < 0)
                wait_ms = 0;
            until.tv_sec += wait_ms / 1000;
            until.tv_nsec += (wait_ms % 1000) * 1000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
        }
        pthread_mutex_lock(&p->lock);
        if (!p->stopping)
            pthread_cond_timedwait(&p->wake, &p->lock, &until);
        pthread_mutex_unlock(&p->lock);
    }
    if (w->ctx) {
        if (w->connected)
            modbus_close(w->ctx);
        modbus_free(w->ctx);
        w->ctx = NULL;
    }
    return NULL;
}

int pollers_start(const struct gw_config *cfg, struct outbox *ob, struct relays *relays,
                  struct pollers **out)
{
    struct pollers *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;
    int64_t mono = ls_mono_ms();

    if (!p)
        return LS_ERR_NOMEM;
    p->cfg = cfg;
    p->ob = ob;
    p->relays = relays;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &ca);
    pthread_condattr_destroy(&ca);
    p->workers = calloc(cfg->device_count ? cfg->device_count : 1, sizeof(*p->workers));
    if (!p->workers) {
        free(p);
        return LS_ERR_NOMEM;
    }
    for (size_t i = 0; i < cfg->device_count; i++) {
        const struct gw_device *d = &cfg->devices[i];
        struct worker *w = NULL;
        struct dev_state *ds;

        if (d->kind == GW_DEV_MQTT)
            continue;
        for (size_t k = 0; k < p->count && !w; k++)
            if (gw_same_endpoint(p->workers[k].devs[0].dev, d))
                w = &p->workers[k];
        if (!w) {
            w = &p->workers[p->count++];
            w->owner = p;
        }
        ds = realloc(w->devs, (w->count + 1) * sizeof(*ds));
        if (!ds) {
            pollers_stop(p);
            return LS_ERR_NOMEM;
        }
        w->devs = ds;
        ds = &w->devs[w->count++];
        memset(ds, 0, sizeof(*ds));
        ds->dev = d;
        plan_build(d, &ds->plan);
        tracker_init(&ds->tracker, cfg->heartbeat_s);
        ds->derived = derive_wanted(d);
        if (ds->derived)
            derive_init(&ds->derive, d, outbox_derived_run_ms(ob, d->id));
        ds->next_ms = mono;
    }
    for (size_t k = 0; k < p->count; k++) {
        struct worker *w = &p->workers[k];
        /* Buffers sized for this worker's largest request, not the protocol's largest. */
        for (size_t i = 0; i < w->count; i++)
            for (unsigned q = 0; q < w->devs[i].plan.request_count; q++)
                if (w->devs[i].plan.requests[q].count > w->regwords)
                    w->regwords = w->devs[i].plan.requests[q].count;
        w->regs = calloc((size_t)GW_FIELD_COUNT * w->regwords, sizeof(*w->regs));
        w->pend = calloc(w->count, sizeof(*w->pend));
        w->pend_run = calloc(w->count, sizeof(*w->pend_run));
        w->pend_mono = calloc(w->count, sizeof(*w->pend_mono));
        w->pend_ds = calloc(w->count, sizeof(*w->pend_ds));
        w->pend_rc = calloc(w->count, sizeof(*w->pend_rc));
        if (!w->regs || !w->pend || !w->pend_run || !w->pend_mono || !w->pend_ds || !w->pend_rc) {
            pollers_stop(p);
            return LS_ERR_NOMEM;
        }
    }
    for (size_t k = 0; k < p->count; k++) {
        if (pthread_create(&p->workers[k].thread, NULL, worker_main, &p->workers[k])) {
            ls_error("cannot start a polling thread");
            pollers_stop(p);
            return LS_ERR_NOMEM;
        }
        p->started++;
    }
    ls_info("polling %zu Modbus endpoint%s", p->count, p->count == 1 ? "" : "s");
    *out = p;
    return LS_OK;
}

void pollers_stop(struct pollers *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (size_t k = 0; k < p->started; k++)
        pthread_join(p->workers[k].thread, NULL);
    for (size_t k = 0; k < p->count; k++) {
        free(p->workers[k].devs);
        free(p->workers[k].regs);
        free(p->workers[k].pend);
        free(p->workers[k].pend_run);
        free(p->workers[k].pend_mono);
        free(p->workers[k].pend_ds);
        free(p->workers[k].pend_rc);
    }
    free(p->workers);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
