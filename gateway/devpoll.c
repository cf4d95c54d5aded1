/* devpoll.c - one meter's poll as a sequence of Modbus operations: see devpoll.h. */
#include "devpoll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mbap.h"
#include "outbox.h"
#include "relay.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* A relay that cannot be put right is tried again after the poll interval, then twice that and so
 * on up to this. */
#define RELAY_BACKOFF_MAX_MS 10000

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

/* Reconnect backoff after a failure (devpoll_link_backoff). */
#define LINK_BACKOFF_MIN_MS 1000
#define LINK_BACKOFF_MAX_MS 30000

void devpoll_skip(struct dev_state *ds, int64_t mono)
{
    /* keep the cadence: the next poll is due poll_ms after this one was due */
    ds->next_ms += ds->dev->poll_ms;
    if (ds->next_ms <= mono)
        ds->next_ms = mono + ds->dev->poll_ms;
}

int64_t devpoll_link_backoff(int64_t *backoff_ms)
{
    *backoff_ms = *backoff_ms ? *backoff_ms * 2 : LINK_BACKOFF_MIN_MS;
    if (*backoff_ms > LINK_BACKOFF_MAX_MS)
        *backoff_ms = LINK_BACKOFF_MAX_MS;
    return *backoff_ms;
}

void devpoll_init(struct dev_state *ds, const struct gw_device *d, const struct gw_config *cfg,
                  struct outbox *ob, int64_t mono)
{
    memset(ds, 0, sizeof(*ds));
    ds->dev = d;
    plan_build(d, &ds->plan);
    tracker_init(&ds->tracker, cfg->heartbeat_s);
    ds->derived = derive_wanted(d);
    if (ds->derived)
        derive_init(&ds->derive, d, outbox_derived_run_ms(ob, d->id));
    ds->next_ms = mono;
}

void devpoll_begin(struct dev_state *ds, struct relays *relays, uint16_t *regs, size_t regwords,
                   int64_t mono)
{
    devpoll_skip(ds, mono);
    ds->mono = mono;
    ds->regs = regs;
    ds->regwords = regwords;
    ds->relays = relays;
    ds->step = 0;
    ds->keep = ds->link_lost = 0;
    ds->known = ds->wrote = 0;
    ds->on = -1;
    ds->polled = 0;
    memset(&ds->r, 0, sizeof(ds->r));
    ds->phase = DP_READ;
}

static uint8_t read_function(enum ls_reg_table t)
{
    switch (t) {
    case LS_TABLE_CO:
        return MBAP_READ_COILS;
    case LS_TABLE_DI:
        return MBAP_READ_DISCRETE;
    case LS_TABLE_IR:
        return MBAP_READ_INPUT;
    case LS_TABLE_HR:
    default:
        return MBAP_READ_HOLDING;
    }
}

static const char *relay_what(const struct gw_device *d)
{
    return d->relay_table == LS_TABLE_CO ? "coil" : "holding register";
}

/* The poll is over: the relay's state goes into the reading, and the tracker decides. */
static void finish(struct dev_state *ds)
{
    struct ls_reading *r = &ds->r;
    int on = ds->on;

    if (on < 0 && ds->tracker.have_sent && (ds->tracker.last_sent.has & LS_HAS_INTERLOCK) &&
        ds->relay_failing) {
        /* not read this time (backoff): keep the last state rather than report a change */
        on = (int)ds->tracker.last_sent.interlock;
    }
    if (on >= 0) {
        r->interlock = on;
        r->has |= LS_HAS_INTERLOCK;
    }
    ds->keep = tracker_observe(&ds->tracker, r, ds->mono);
    ds->phase = DP_DONE;
}

/* The plan is read and decoded: decide whether the relay is to be read or written. */
static void relay_start(struct dev_state *ds)
{
    struct relays *rs = ds->relays;
    const struct gw_device *d = ds->dev;

    if (!rs) {
        finish(ds);
        return;
    }
    ds->want = relays_want(rs, d->id, ls_now_ms(), ds->running);
    if (ds->want < 0 && !relays_observed(rs, d->id)) {
        finish(ds);
        return;
    }
    if (d->relay_none) {
        /* nothing to write or read: said once, and the server shows it */
        relays_fault(rs, d->id,
                     "no interlock relay on this meter (relay = none in the gateway's"
                     " config)");
        finish(ds);
        return;
    }
    if (ds->relay_failing && ds->mono < ds->relay_retry_mono) {
        finish(ds);
        return;
    }
    ds->phase = DP_RELAY_READ;
}

static void relay_ok(struct dev_state *ds)
{
    const char *id = ds->dev->id;

    if (ds->wrote)
        ls_info("%s: interlock relay %s (read back)", id, ds->want ? "enabled" : "disabled");
    if (ds->relay_failing)
        ls_info("%s: interlock relay answering again", id);
    ds->relay_failing = 0;
    ds->relay_backoff_ms = 0;
    relays_actual(ds->relays, id, ds->on);
    relays_fault(ds->relays, id, NULL);
    finish(ds);
}

/* The relay could not be put right (why): logged once, reported, tried again with backoff. A
 * relay not read leaves its state unknown; no answer at all also drops the link. */
static void relay_fail(struct dev_state *ds, int rc, const char *why)
{
    const char *id = ds->dev->id;

    ds->relay_backoff_ms = ds->relay_backoff_ms ? ds->relay_backoff_ms * 2 : ds->dev->poll_ms;
    if (ds->relay_backoff_ms > RELAY_BACKOFF_MAX_MS)
        ds->relay_backoff_ms = RELAY_BACKOFF_MAX_MS;
    ds->relay_retry_mono = ds->mono + ds->relay_backoff_ms;
    if (!ds->relay_failing)
        ls_warn("%s: interlock relay: %s; trying again with backoff", id, why);
    ds->relay_failing = 1;
    relays_fault(ds->relays, id, why);
    if (ds->known)
        relays_actual(ds->relays, id, ds->on); /* the relay is in the other state: shown */
    else
        ds->on = -1;
    if (rc == LS_ERR_IO)
        ds->link_lost = 1;
    finish(ds);
}

int devpoll_next(struct dev_state *ds, struct mb_op *op, uint16_t **values)
{
    const struct gw_device *d = ds->dev;

    switch (ds->phase) {
    case DP_READ: {
        const struct plan_request *q = &ds->plan.requests[ds->step];
        op->function = read_function(q->table);
        op->addr = q->start;
        op->count_or_value = q->count;
        *values = ds->regs + (size_t)ds->step * ds->regwords;
        return 1;
    }
    case DP_RELAY_READ:
    case DP_RELAY_BACK:
        op->function = d->relay_table == LS_TABLE_CO ? MBAP_READ_COILS : MBAP_READ_HOLDING;
        op->addr = (uint16_t)d->relay_addr;
        op->count_or_value = 1;
        *values = &ds->relay_val;
        return 1;
    case DP_RELAY_WRITE:
        op->function = d->relay_table == LS_TABLE_CO ? MBAP_WRITE_COIL : MBAP_WRITE_REGISTER;
        op->addr = (uint16_t)d->relay_addr;
        op->count_or_value = ds->want ? 1 : 0;
        *values = NULL;
        return 1;
    case DP_IDLE:
    case DP_DONE:
    default:
        return 0;
    }
}

/* Every request of the plan is in: decode, derive, then the relay. */
static void plan_read(struct dev_state *ds)
{
    const struct gw_device *d = ds->dev;
    uint16_t *rp[GW_FIELD_COUNT];
    struct ls_reading *r = &ds->r;
    char why[160];

    for (int i = 0; i < GW_FIELD_COUNT; i++)
        rp[i] = ds->regs + (size_t)i * ds->regwords;
    r->ts = ls_now_ms();
    snprintf(r->instrument, sizeof(r->instrument), "%s", d->id);
    if (poller_decode(d, &ds->plan, rp, r, why, sizeof(why))) {
        if (!ds->failing)
            ls_warn("%s: garbage from the meter: %s", d->id, why);
        ds->failing = 1;
        ds->link_lost = 1;
        ds->phase = DP_DONE;
        return;
    }
    if (ds->failing) {
        ls_info("%s: answering again", d->id);
        ds->relay_retry_mono = 0; /* the meter is back: try its relay at once */
    }
    ds->failing = 0;
    ds->polled = 1;
    ds->running = r->state == LS_STATE_RUNNING;
    if (ds->derived)
        derive_apply(&ds->derive, r, ds->mono);
    /* the relay's state is part of the reading (a change of it is a change reading) */
    relay_start(ds);
}

/* The meter did not answer: a relay under command cannot be put right either. */
static void relay_unreachable(struct dev_state *ds, struct relays *rs, const char *why)
{
    char msg[LS_FAULT_MAX];

    if (rs && (relays_want(rs, ds->dev->id, ls_now_ms(), ds->running) >= 0 ||
               relays_observed(rs, ds->dev->id))) {
        snprintf(msg, sizeof(msg), "meter unreachable: %s", why);
        relays_fault(rs, ds->dev->id, msg);
    }
}

void devpoll_result(struct dev_state *ds, int rc, const char *why)
{
    const struct gw_device *d = ds->dev;
    char msg[LS_FAULT_MAX];

    switch (ds->phase) {
    case DP_READ: {
        const struct plan_request *q = &ds->plan.requests[ds->step];
        if (rc != LS_OK) {
            if (!ds->failing)
                ls_warn("%s: read of %s %u..%u failed: %s", d->id, ls_reg_table_name(q->table),
                        q->start, q->start + q->count - 1, why);
            ds->failing = 1;
            ds->link_lost = 1;
            relay_unreachable(ds, ds->relays, why);
            ds->phase = DP_DONE;
            return;
        }
        if (++ds->step >= ds->plan.request_count)
            plan_read(ds);
        return;
    }
    case DP_RELAY_READ:
        if (rc != LS_OK) {
            snprintf(msg, sizeof(msg), "cannot read %s %d: %s", relay_what(d), d->relay_addr, why);
            relay_fail(ds, rc, msg);
            return;
        }
        ds->on = ds->relay_val ? 1 : 0;
        ds->known = 1;
        if (ds->want >= 0 && ds->on != ds->want) {
            ds->wrote = 1;
            ds->phase = DP_RELAY_WRITE;
            return;
        }
        relay_ok(ds);
        return;
    case DP_RELAY_WRITE:
        if (rc != LS_OK) {
            snprintf(msg, sizeof(msg), "cannot %s: write of %s %d refused: %s",
                     ds->want ? "enable" : "disable", relay_what(d), d->relay_addr, why);
            relay_fail(ds, rc, msg);
            return;
        }
        ds->phase = DP_RELAY_BACK;
        return;
    case DP_RELAY_BACK:
        if (rc != LS_OK) {
            ds->known = 0;
            snprintf(msg, sizeof(msg), "cannot read %s %d back: %s", relay_what(d), d->relay_addr,
                     why);
            relay_fail(ds, rc, msg);
            return;
        }
        ds->on = ds->relay_val ? 1 : 0;
        if (ds->on != ds->want) {
            snprintf(msg, sizeof(msg), "cannot %s: %s %d reads back %s after the write",
                     ds->want ? "enable" : "disable", relay_what(d), d->relay_addr,
                     ds->on ? "enabled" : "disabled");
            relay_fail(ds, LS_ERR_DENIED, msg);
            return;
        }
        relay_ok(ds);
        return;
    case DP_IDLE:
    case DP_DONE:
    default:
        return;
    }
}

void devpoll_unreachable(struct dev_state *ds, struct relays *relays, const char *why, int64_t mono)
{
    relay_unreachable(ds, relays, why);
    devpoll_skip(ds, mono);
    if (!ds->failing)
        ls_warn("%s: cannot connect: %s", ds->dev->id, why);
    ds->failing = 1;
    ds->polled = 0;
}

int devpoll_batch_init(struct devpoll_batch *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    if (cap == 0)
        cap = 1;
    b->cap = cap;
    b->r = calloc(cap, sizeof(*b->r));
    b->run = calloc(cap, sizeof(*b->run));
    b->mono = calloc(cap, sizeof(*b->mono));
    b->ds = calloc(cap, sizeof(*b->ds));
    b->rc = calloc(cap, sizeof(*b->rc));
    if (!b->r || !b->run || !b->mono || !b->ds || !b->rc) {
        devpoll_batch_free(b);
        return LS_ERR_NOMEM;
    }
    return LS_OK;
}

void devpoll_batch_free(struct devpoll_batch *b)
{
    free(b->r);
    free(b->run);
    free(b->mono);
    free(b->ds);
    free(b->rc);
    memset(b, 0, sizeof(*b));
}

void devpoll_batch_add(struct devpoll_batch *b, struct dev_state *ds)
{
    if (b->n >= b->cap) /* cannot happen: one per device, flushed before its next poll */
        return;
    b->r[b->n] = ds->r;
    b->run[b->n] = ds->derived ? derive_run_to_keep(&ds->derive) : -1;
    b->mono[b->n] = ds->mono;
    b->ds[b->n] = ds;
    ds->pending = 1;
    b->n++;
}

void devpoll_batch_flush(struct devpoll_batch *b, struct outbox *ob)
{
    for (size_t at = 0; at < b->n;) {
        size_t n = b->n - at < OUTBOX_APPEND_MAX ? b->n - at : OUTBOX_APPEND_MAX;
        struct ls_reading *r = b->r + at;
        int *rcs = b->rc + at;

        if (outbox_append_many(ob, r, b->run + at, n, rcs) == LS_OK) {
            for (size_t i = 0; i < n; i++) {
                if (rcs[i] != LS_OK)
                    continue;
                tracker_sent(&b->ds[at + i]->tracker, &r[i], b->mono[at + i]);
                ls_debug("%s: seq %lld %s state %s run_seconds %lld", r[i].instrument,
                         (long long)r[i].seq, ls_cause_name(r[i].cause), ls_state_name(r[i].state),
                         (long long)r[i].run_seconds);
            }
        }
        at += n;
    }
    for (size_t i = 0; i < b->n; i++)
        b->ds[i]->pending = 0;
    b->n = 0;
}
