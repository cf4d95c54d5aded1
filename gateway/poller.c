/* poller.c - Modbus polling: the TCP event loop (mbloop.c) and a libmodbus thread per RTU bus.
 * See poller.h. */
#include "poller.h"

#include <errno.h>
#include <modbus.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "devpoll.h"
#include "mbap.h"
#include "mbloop.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* One RTU bus: its devices, polled in turn through libmodbus by a thread of its own. */
struct bus {
    pthread_t thread;
    struct pollers *owner;
    modbus_t *ctx;
    int connected;
    int64_t retry_ms; /* monotonic time before which we do not reopen */
    int64_t backoff_ms;
    size_t count;
    struct dev_state **devs;
    uint16_t *regs; /* GW_FIELD_COUNT requests of regwords each */
    size_t regwords;
    struct devpoll_batch batch; /* the readings of a round, committed together */
};

struct pollers {
    const struct gw_config *cfg;
    struct outbox *ob;
    struct relays *relays;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    struct dev_state *devs; /* every Modbus device: the TCP ones first */
    size_t ndevs, ntcp;
    struct mbloop *loop;
    size_t count;   /* buses set up (their memory is freed at stop) */
    size_t started; /* buses whose thread runs (joined at stop) */
    struct bus *buses;
};

static int bus_open(struct bus *b)
{
    const struct gw_device *d = b->devs[0]->dev;

    if (!b->ctx) {
        b->ctx = modbus_new_rtu(d->rtu, d->baud, d->parity[0], 8, 1);
        if (!b->ctx) {
            ls_error("%s: cannot create a Modbus context: %s", d->id, modbus_strerror(errno));
            return LS_ERR_IO;
        }
        /* No MODBUS_ERROR_RECOVERY_LINK: in libmodbus 3.1.6 it blocks the worker for the whole
         * timeout in a loop. We close and reopen ourselves with backoff instead. */
        modbus_set_error_recovery(b->ctx, MODBUS_ERROR_RECOVERY_NONE);
    }
    if (modbus_connect(b->ctx) < 0)
        return LS_ERR_IO;
    if (modbus_get_socket(b->ctx) >= FD_SETSIZE) {
        /* libmodbus would FD_SET() it past the end of its fd_set. */
        ls_error("%s: descriptor %d is beyond select()'s limit of %d; not polling", d->id,
                 modbus_get_socket(b->ctx), FD_SETSIZE);
        modbus_close(b->ctx);
        errno = EMFILE;
        return LS_ERR_IO;
    }
    b->connected = 1;
    return LS_OK;
}

static void bus_fail(struct bus *b, int64_t now)
{
    /* libmodbus 3.1.6 stays out of step after one late reply: drop the link every time. */
    if (b->ctx && b->connected)
        modbus_close(b->ctx);
    b->connected = 0;
    b->retry_ms = now + devpoll_link_backoff(&b->backoff_ms);
}

/* Perform one operation through libmodbus: LS_OK, LS_ERR_DENIED (an exception or an answer
 * libmodbus found wrong, which leaves the bus in step), LS_ERR_IO (no answer). */
static int bus_exec(struct bus *b, const struct mb_op *op, uint16_t *values, char *why, size_t len)
{
    uint8_t bits[2000];
    int n = -1, want = op->count_or_value;

    switch (op->function) {
    case MBAP_READ_HOLDING:
        n = modbus_read_registers(b->ctx, op->addr, op->count_or_value, values);
        break;
    case MBAP_READ_INPUT:
        n = modbus_read_input_registers(b->ctx, op->addr, op->count_or_value, values);
        break;
    case MBAP_READ_COILS:
    case MBAP_READ_DISCRETE:
        n = op->function == MBAP_READ_COILS
                ? modbus_read_bits(b->ctx, op->addr, op->count_or_value, bits)
                : modbus_read_input_bits(b->ctx, op->addr, op->count_or_value, bits);
        for (int k = 0; k < n && k < want; k++)
            values[k] = bits[k];
        break;
    case MBAP_WRITE_COIL:
        n = modbus_write_bit(b->ctx, op->addr, op->count_or_value);
        want = 1;
        break;
    case MBAP_WRITE_REGISTER:
        n = modbus_write_register(b->ctx, op->addr, op->count_or_value);
        want = 1;
        break;
    default:
        break;
    }
    if (n == want)
        return LS_OK;
    if (n >= 0) {
        snprintf(why, len, "short reply");
        return LS_ERR_DENIED;
    }
    snprintf(why, len, "%s", modbus_strerror(errno));
    return errno >= MODBUS_ENOBASE ? LS_ERR_DENIED : LS_ERR_IO;
}

static void bus_poll(struct bus *b, struct dev_state *ds, int64_t mono)
{
    const struct gw_device *d = ds->dev;
    struct mb_op op;
    uint16_t *values;
    char why[160];

    if (ds->pending)
        devpoll_batch_flush(&b->batch, b->owner->ob);
    devpoll_begin(ds, b->owner->relays, b->regs, b->regwords, mono);
    modbus_set_slave(b->ctx, d->unit);
    modbus_set_response_timeout(b->ctx, (uint32_t)(d->timeout_ms / 1000),
                                (uint32_t)(d->timeout_ms % 1000) * 1000);
    while (devpoll_next(ds, &op, &values)) {
        int rc = bus_exec(b, &op, values, why, sizeof(why));
        devpoll_result(ds, rc, why);
    }
    ds->phase = DP_IDLE;
    if (ds->keep)
        devpoll_batch_add(&b->batch, ds);
    if (ds->polled)
        b->backoff_ms = 0;
    if (ds->link_lost)
        bus_fail(b, mono);
}

static void *bus_main(void *arg)
{
    struct bus *b = arg;
    struct pollers *p = b->owner;

    for (;;) {
        int64_t mono = ls_mono_ms(), next = INT64_MAX;
        struct timespec until;

        pthread_mutex_lock(&p->lock);
        if (p->stopping) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < b->count; i++) {
            struct dev_state *ds = b->devs[i];
            if (ds->next_ms > mono)
                continue;
            if (!b->connected && mono >= b->retry_ms && bus_open(b) != LS_OK) {
                devpoll_unreachable(ds, p->relays, modbus_strerror(errno), mono);
                bus_fail(b, mono);
            } else if (b->connected) {
                bus_poll(b, ds, mono);
            } else {
                devpoll_skip(ds, mono); /* waiting to reopen */
            }
            mono = ls_mono_ms();
        }
        devpoll_batch_flush(&b->batch, p->ob);
        for (size_t i = 0; i < b->count; i++)
            if (b->devs[i]->next_ms < next)
                next = b->devs[i]->next_ms;
        if (!b->connected && b->retry_ms > next)
            next = b->retry_ms;
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
    if (b->ctx) {
        if (b->connected)
            modbus_close(b->ctx);
        modbus_free(b->ctx);
        b->ctx = NULL;
    }
    return NULL;
}

static int bus_setup(struct pollers *p, struct dev_state *ds)
{
    struct bus *b = NULL;
    struct dev_state **d;

    for (size_t k = 0; k < p->count && !b; k++)
        if (gw_same_endpoint(p->buses[k].devs[0]->dev, ds->dev))
            b = &p->buses[k];
    if (!b) {
        b = &p->buses[p->count++];
        b->owner = p;
    }
    d = realloc(b->devs, (b->count + 1) * sizeof(*d));
    if (!d)
        return LS_ERR_NOMEM;
    b->devs = d;
    b->devs[b->count++] = ds;
    return LS_OK;
}

int pollers_start(const struct gw_config *cfg, struct outbox *ob, struct relays *relays,
                  struct pollers **out)
{
    struct pollers *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;
    int64_t mono = ls_mono_ms();
    int rc;

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
    p->devs = calloc(cfg->device_count ? cfg->device_count : 1, sizeof(*p->devs));
    p->buses = calloc(cfg->device_count ? cfg->device_count : 1, sizeof(*p->buses));
    if (!p->devs || !p->buses) {
        pollers_stop(p);
        return LS_ERR_NOMEM;
    }
    /* the TCP devices first (the loop takes them as one array), then the RTU ones */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cfg->device_count; i++) {
            const struct gw_device *d = &cfg->devices[i];
            if (d->kind != (pass == 0 ? GW_DEV_MODBUS_TCP : GW_DEV_MODBUS_RTU))
                continue;
            devpoll_init(&p->devs[p->ndevs++], d, cfg, ob, mono);
            if (pass == 0)
                p->ntcp++;
        }
    for (size_t i = p->ntcp; i < p->ndevs; i++)
        if (bus_setup(p, &p->devs[i]) != LS_OK) {
            pollers_stop(p);
            return LS_ERR_NOMEM;
        }
    for (size_t k = 0; k < p->count; k++) {
        struct bus *b = &p->buses[k];
        /* Buffers sized for this bus's largest request, not the protocol's largest. */
        for (size_t i = 0; i < b->count; i++)
            for (unsigned q = 0; q < b->devs[i]->plan.request_count; q++)
                if (b->devs[i]->plan.requests[q].count > b->regwords)
                    b->regwords = b->devs[i]->plan.requests[q].count;
        if (b->regwords == 0)
            b->regwords = 1;
        b->regs = calloc((size_t)GW_FIELD_COUNT * b->regwords, sizeof(*b->regs));
        if (!b->regs || devpoll_batch_init(&b->batch, b->count) != LS_OK) {
            pollers_stop(p);
            return LS_ERR_NOMEM;
        }
    }
    if (p->ntcp && (rc = mbloop_start(p->devs, p->ntcp, ob, relays, &p->loop)) != LS_OK) {
        pollers_stop(p);
        return rc;
    }
    for (size_t k = 0; k < p->count; k++) {
        if (pthread_create(&p->buses[k].thread, NULL, bus_main, &p->buses[k])) {
            ls_error("cannot start a polling thread");
            pollers_stop(p);
            return LS_ERR_NOMEM;
        }
        p->started++;
    }
    ls_info("polling %zu Modbus TCP endpoint%s from one loop, %zu RTU bus%s",
            p->loop ? mbloop_endpoints(p->loop) : 0,
            p->loop && mbloop_endpoints(p->loop) == 1 ? "" : "s", p->count,
            p->count == 1 ? "" : "es");
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
    mbloop_stop(p->loop);
    for (size_t k = 0; k < p->started; k++)
        pthread_join(p->buses[k].thread, NULL);
    for (size_t k = 0; k < p->count; k++) {
        free(p->buses[k].devs);
        free(p->buses[k].regs);
        devpoll_batch_free(&p->buses[k].batch);
    }
    free(p->buses);
    free(p->devs);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
