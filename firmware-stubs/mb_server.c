#include "mb_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Clients one TCP endpoint serves at once; more are closed at accept. */
#define MAX_CLIENTS 64
/* Units one endpoint serves (a real RS-485 bus takes 32 loads, a gateway more). */
#define MAX_UNITS 247
/* Answers waiting for their --delay-ms. */
#define MAX_PENDING 256
#define ADU_MAX 260
/* Bytes of an RTU request that stop arriving for this long are line noise: dropped. */
#define RTU_FRAME_GAP_MS 500

struct conn {
    int fd;       /* -1 when free */
    unsigned gen; /* bumped on close, so a late answer never goes to a new client */
    uint8_t buf[ADU_MAX];
    size_t len;
    int64_t last_ms; /* time of the last byte (RTU framing) */
};

struct pending {
    int64_t due_ms;
    int slot; /* connection index */
    unsigned gen;
    struct sim_instrument *in;
    uint8_t adu[ADU_MAX];
    int len;
};

struct mb_endpoint {
    int rtu;
    char name[256];
    modbus_t *ctx;
    int listen_fd;                  /* TCP */
    struct conn conns[MAX_CLIENTS]; /* RTU: conns[0] is the serial line */
    struct sim_instrument *units[MAX_UNITS + 1];
    size_t unit_count;
    struct mb_faults faults;
    unsigned short rng[3];
    struct pending *pending; /* MAX_PENDING, owned */
    size_t npending;
    uint64_t answered; /* requests answered with data (not exceptions) */
};

uint16_t mb_crc16(const uint8_t *buf, size_t n)
{
    /* The Modbus RTU CRC (poly 0xA001 reflected, init 0xFFFF). libmodbus computes it for what
     * it sends but does not export it, and the simulator must check what it receives. */
    uint16_t crc = 0xFFFF;

    for (size_t i = 0; i < n; i++) {
        crc ^= buf[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

int mb_rtu_request_length(const uint8_t *buf, size_t n)
{
    if (n < 2)
        return 0;
    switch (buf[1]) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
        return 8;
    case 15:
    case 16:
        return n < 7 ? 0 : 9 + buf[6];
    case 22:
        return 10;
    case 23:
        return n < 11 ? 0 : 13 + buf[10];
    default:
        return -1;
    }
}

static struct mb_endpoint *endpoint_alloc(const char *name, const struct mb_faults *faults)
{
    struct mb_endpoint *e = calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    e->pending = calloc(MAX_PENDING, sizeof(*e->pending));
    if (!e->pending) {
        free(e);
        return NULL;
    }
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->listen_fd = -1;
    for (int i = 0; i < MAX_CLIENTS; i++)
        e->conns[i].fd = -1;
    if (faults)
        e->faults = *faults;
    e->rng[0] = (unsigned short)(e->faults.seed & 0xffff);
    e->rng[1] = (unsigned short)((e->faults.seed >> 16) & 0xffff);
    e->rng[2] = (unsigned short)(((e->faults.seed >> 32) & 0xffff) ^ 0x1234);
    return e;
}

int mb_endpoint_new_tcp(const char *host, int port, const struct mb_faults *faults,
                        struct mb_endpoint **out)
{
    char name[300], port_s[8];
    struct mb_endpoint *e;

    snprintf(name, sizeof(name), "%s:%d", host, port);
    e = endpoint_alloc(name, faults);
    if (!e)
        return LS_ERR_NOMEM;
    snprintf(port_s, sizeof(port_s), "%d", port);
    e->ctx = modbus_new_tcp_pi(host, port_s);
    if (!e->ctx) {
        ls_error("modbus: cannot create a TCP context for %s: %s", name, modbus_strerror(errno));
        goto fail;
    }
    e->listen_fd = modbus_tcp_pi_listen(e->ctx, 64);
    if (e->listen_fd < 0) {
        ls_error("modbus: cannot listen on %s: %s", name, modbus_strerror(errno));
        goto fail;
    }
    *out = e;
    return LS_OK;
fail:
    mb_endpoint_free(e);
    return LS_ERR_IO;
}

int mb_endpoint_new_rtu(const char *device, int baud, char parity, const struct mb_faults *faults,
                        struct mb_endpoint **out)
{
    struct mb_endpoint *e = endpoint_alloc(device, faults);

    if (!e)
        return LS_ERR_NOMEM;
    e->rtu = 1;
    e->ctx = modbus_new_rtu(device, baud, parity, 8, 1);
    if (!e->ctx) {
        ls_error("modbus: cannot create an RTU context for %s: %s", device, modbus_strerror(errno));
        goto fail;
    }
    /* Any unit: the endpoint dispatches on the unit id itself. */
    if (modbus_connect(e->ctx) < 0) {
        ls_error("modbus: cannot open %s: %s", device, modbus_strerror(errno));
        goto fail;
    }
    e->conns[0].fd = modbus_get_socket(e->ctx);
    *out = e;
    return LS_OK;
fail:
    mb_endpoint_free(e);
    return LS_ERR_IO;
}

void mb_endpoint_free(struct mb_endpoint *e)
{
    if (!e)
        return;
    if (!e->rtu) {
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (e->conns[i].fd >= 0)
                close(e->conns[i].fd);
        if (e->listen_fd >= 0)
            close(e->listen_fd);
    } else if (e->ctx) {
        modbus_close(e->ctx);
    }
    if (e->ctx)
        modbus_free(e->ctx);
    free(e->pending);
    free(e);
}

int mb_endpoint_add(struct mb_endpoint *e, struct sim_instrument *in)
{
    if (in->unit < 1 || in->unit > MAX_UNITS || e->units[in->unit])
        return LS_ERR_CONFLICT;
    e->units[in->unit] = in;
    e->unit_count++;
    return LS_OK;
}

size_t mb_endpoint_pollfds(struct mb_endpoint *e, struct pollfd *fds, size_t max)
{
    size_t n = 0;

    if (!e->rtu && n < max) {
        fds[n].fd = e->listen_fd;
        fds[n].events = POLLIN;
        fds[n++].revents = 0;
    }
    /* only the slots in use, in slot order: a thousand endpoints stay within the descriptor
     * limit poll() checks nfds against */
    for (int i = 0; i < MAX_CLIENTS && n < max; i++) {
        if (e->conns[i].fd < 0)
            continue;
        fds[n].fd = e->conns[i].fd;
        fds[n].events = POLLIN;
        fds[n++].revents = 0;
    }
    return n;
}

static void conn_close(struct mb_endpoint *e, int slot)
{
    struct conn *c = &e->conns[slot];

    if (e->rtu) {
        c->len = 0; /* the serial line stays open: only the partial frame goes */
        return;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->gen++;
}

static double chance(struct mb_endpoint *e)
{
    return erand48(e->rng);
}

/* The instrument a frame is for, or NULL. */
static struct sim_instrument *unit_of(struct mb_endpoint *e, int unit)
{
    if (unit >= 1 && unit <= MAX_UNITS && e->units[unit])
        return e->units[unit];
    /* Modbus TCP: 0 and 255 mean "the device behind this address" when there is only one. */
    if (!e->rtu && (unit == 0 || unit == 255) && e->unit_count == 1) {
        for (int u = 1; u <= MAX_UNITS; u++)
            if (e->units[u])
                return e->units[u];
    }
    return NULL;
}

/* Send the answer to adu from in's present registers. */
static void answer(struct mb_endpoint *e, int slot, struct sim_instrument *in, const uint8_t *adu,
                   int len, int64_t now_ms)
{
    int offset = e->rtu ? 1 : 7; /* of the function code */
    int fc = adu[offset];
    uint8_t coil_before;
    uint16_t reg_before;
    int rc;

    if (!e->rtu)
        modbus_set_socket(e->ctx, e->conns[slot].fd);
    if (sim_refresh_map(in, now_ms)) {
        modbus_reply_exception(e->ctx, adu, MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE);
        return;
    }
    /* A meter's registers are read-only; only the interlock relay can be written: coil 0, or
     * register 12 alone (function 6, or 16 for that one register) for a gateway that drives the
     * relay through a holding register. */
    if (fc != 1 && fc != 2 && fc != 3 && fc != 4 && fc != 5 && fc != 6 && fc != 15 && fc != 16) {
        modbus_reply_exception(e->ctx, adu, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
        return;
    }
    if (fc == 6 || fc == 16) {
        int addr = (adu[offset + 1] << 8) | adu[offset + 2];
        int count = fc == 16 ? (adu[offset + 3] << 8) | adu[offset + 4] : 1;
        if (!in->map->nb_registers || addr != LS_REG_INTERLOCK || count != 1) {
            modbus_reply_exception(e->ctx, adu, MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
            return;
        }
    }
    if ((fc == 5 || fc == 6 || fc == 15 || fc == 16) && e->faults.relay_fault == MB_RELAY_REFUSE) {
        ls_info("%s: refusing a write of the interlock relay (--relay-fault refuse)", in->meter.id);
        modbus_reply_exception(e->ctx, adu, MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE);
        return;
    }
    coil_before = in->map->nb_bits ? in->map->tab_bits[LS_COIL_INTERLOCK] : 0;
    reg_before = in->map->nb_registers ? in->map->tab_registers[LS_REG_INTERLOCK] : 0;
    rc = modbus_reply(e->ctx, adu, len, in->map);
    if (rc < 0 && !e->rtu) {
        conn_close(e, slot);
        return;
    }
    if (rc >= 0)
        e->answered++;
    if (e->faults.relay_fault == MB_RELAY_STUCK && in->map->nb_bits &&
        (in->map->tab_bits[LS_COIL_INTERLOCK] != coil_before ||
         in->map->tab_registers[LS_REG_INTERLOCK] != reg_before)) {
        ls_info("%s: the interlock relay does not move (--relay-fault stuck)", in->meter.id);
        in->map->tab_bits[LS_COIL_INTERLOCK] = coil_before;
        in->map->tab_registers[LS_REG_INTERLOCK] = reg_before;
    }
    if (in->map->nb_registers && in->map->tab_registers[LS_REG_INTERLOCK] != reg_before) {
        /* written through register 12: the relay follows (any non-zero value enables) */
        in->map->tab_bits[LS_COIL_INTERLOCK] = in->map->tab_registers[LS_REG_INTERLOCK] ? 1 : 0;
        in->map->tab_registers[LS_REG_INTERLOCK] = in->map->tab_bits[LS_COIL_INTERLOCK];
    }
    if (in->map->nb_bits && in->map->tab_bits[LS_COIL_INTERLOCK] != coil_before) {
        meter_set_interlock(&in->meter, in->map->tab_bits[LS_COIL_INTERLOCK], now_ms);
        ls_info("%s: interlock %s by a Modbus write", in->meter.id,
                in->meter.interlock ? "enabled" : "disabled");
    }
}

static void send_garbage(struct mb_endpoint *e, int slot, const uint8_t *adu)
{
    uint8_t junk[16];
    size_t n = 0;

    if (!e->rtu) {
        /* the right transaction id and header, then a PDU whose byte count lies */
        memcpy(junk, adu, 7);
        junk[4] = 0;
        junk[5] = 5;
        junk[7] = adu[7];
        junk[8] = 200;
        n = 11;
    } else {
        junk[0] = adu[0];
        junk[1] = adu[1];
        n = 7;
    }
    for (size_t i = e->rtu ? 2 : 9; i < n; i++)
        junk[i] = (uint8_t)(nrand48(e->rng) & 0xff);
    if (write(e->conns[slot].fd, junk, n) < 0)
        conn_close(e, slot);
}

/* One complete request frame arrived on slot. */
static void handle_frame(struct mb_endpoint *e, int slot, const uint8_t *adu, int len,
                         int64_t now_ms)
{
    int unit = e->rtu ? adu[0] : adu[6];
    struct sim_instrument *in = unit_of(e, unit);
    struct pending *p;

    if (!in) {
        /* A TCP gateway says the target did not answer; on a bus, nobody answers. */
        if (!e->rtu) {
            modbus_set_socket(e->ctx, e->conns[slot].fd);
            modbus_reply_exception(e->ctx, adu, MODBUS_EXCEPTION_GATEWAY_TARGET);
        }
        return;
    }
    if (e->faults.drop_rate > 0 && chance(e) < e->faults.drop_rate) {
        ls_debug("%s: fault injection: dropping the connection", e->name);
        conn_close(e, slot);
        return;
    }
    if (e->faults.garbage_rate > 0 && chance(e) < e->faults.garbage_rate) {
        ls_debug("%s: fault injection: answering garbage", e->name);
        send_garbage(e, slot, adu);
        return;
    }
    if (e->faults.fail_rate > 0 && chance(e) < e->faults.fail_rate) {
        ls_debug("%s: fault injection: answering an exception", e->name);
        if (!e->rtu)
            modbus_set_socket(e->ctx, e->conns[slot].fd);
        modbus_reply_exception(e->ctx, adu, MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE);
        return;
    }
    if (e->faults.delay_ms <= 0) {
        answer(e, slot, in, adu, len, now_ms);
        return;
    }
    if (e->npending == MAX_PENDING) {
        ls_warn("%s: too many delayed answers; dropping a request", e->name);
        return;
    }
    p = &e->pending[e->npending++];
    p->due_ms = now_ms + e->faults.delay_ms;
    p->slot = slot;
    p->gen = e->conns[slot].gen;
    p->in = in;
    memcpy(p->adu, adu, (size_t)len);
    p->len = len;
}

static void accept_client(struct mb_endpoint *e)
{
    int fd = modbus_tcp_pi_accept(e->ctx, &e->listen_fd);

    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (e->conns[i].fd < 0) {
            e->conns[i].fd = fd;
            e->conns[i].len = 0;
            return;
        }
    }
    ls_warn("%s: more than %d clients, closing the new one", e->name, MAX_CLIENTS);
    close(fd);
}

/* Frame TCP requests: MBAP header (transaction, protocol 0, length), unit, PDU. */
static void tcp_frames(struct mb_endpoint *e, int slot, int64_t now_ms)
{
    struct conn *c = &e->conns[slot];

    while (c->fd >= 0 && c->len >= 7) {
        unsigned proto = (unsigned)(c->buf[2] << 8 | c->buf[3]);
        unsigned l = (unsigned)(c->buf[4] << 8 | c->buf[5]);
        size_t total = 6 + l;
        uint8_t adu[ADU_MAX];
        int want;

        if (proto != 0 || l < 2 || total > ADU_MAX) {
            ls_warn("%s: not Modbus TCP from a client; closing it", e->name);
            conn_close(e, slot);
            return;
        }
        if (c->len < total)
            return;
        memcpy(adu, c->buf, total);
        memmove(c->buf, c->buf + total, c->len - total);
        c->len -= total;
        /* The PDU must be as long as its function code says (the RTU rule, without the CRC):
         * libmodbus answers from the byte counts inside it, and a header that says less would
         * have it read past the request - a write of the relay taking stale bytes. A function
         * code we do not know is answered (illegal function) by handle_frame. */
        want = mb_rtu_request_length(adu + 6, total - 6);
        if (want >= 0 && (want == 0 || (size_t)want - 2 != total - 6)) {
            ls_warn("%s: a request whose length does not match its function code; closing the "
                    "client",
                    e->name);
            conn_close(e, slot);
            return;
        }
        handle_frame(e, slot, adu, (int)total, now_ms);
    }
}

/* Frame RTU requests by their function code, checked by CRC. */
static void rtu_frames(struct mb_endpoint *e, int64_t now_ms)
{
    struct conn *c = &e->conns[0];

    while (c->len >= 2) {
        int want = mb_rtu_request_length(c->buf, c->len);
        uint8_t adu[ADU_MAX];

        if (want < 0 || want > ADU_MAX) {
            c->len = 0; /* not a request we know: line noise */
            return;
        }
        if (want == 0 || c->len < (size_t)want)
            return;
        memcpy(adu, c->buf, (size_t)want);
        memmove(c->buf, c->buf + want, c->len - (size_t)want);
        c->len -= (size_t)want;
        if (mb_crc16(adu, (size_t)want - 2) != (uint16_t)(adu[want - 2] | adu[want - 1] << 8)) {
            ls_debug("%s: request with a bad CRC ignored", e->name);
            c->len = 0;
            return;
        }
        if (adu[0] == 0) {
            /* broadcast: writes reach every unit, nobody answers */
            continue;
        }
        handle_frame(e, 0, adu, want, now_ms);
    }
}

static void read_conn(struct mb_endpoint *e, int slot, int64_t now_ms)
{
    struct conn *c = &e->conns[slot];
    ssize_t n;

    if (e->rtu && c->len && now_ms - c->last_ms > RTU_FRAME_GAP_MS)
        c->len = 0;
    n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (!e->rtu)
            conn_close(e, slot);
        return;
    }
    c->len += (size_t)n;
    c->last_ms = now_ms;
    if (e->rtu)
        rtu_frames(e, now_ms);
    else
        tcp_frames(e, slot, now_ms);
    if (c->len == sizeof(c->buf))
        c->len = 0; /* a full buffer without a frame is junk */
}

void mb_endpoint_process(struct mb_endpoint *e, const struct pollfd *fds, size_t n, int64_t now_ms)
{
    size_t k = 0;

    if (!e->rtu && n > 0) {
        if (fds[0].revents & POLLIN)
            accept_client(e);
        k = 1;
    }
    /* fds holds the slots that were in use, in slot order (mb_endpoint_pollfds); a client
     * accepted just now is not among them and its descriptor is none of theirs */
    for (int i = 0; k < n; k++) {
        while (i < MAX_CLIENTS && e->conns[i].fd != fds[k].fd)
            i++;
        if (i == MAX_CLIENTS)
            break;
        if (fds[k].revents & (POLLIN | POLLHUP | POLLERR))
            read_conn(e, i, now_ms);
        i++;
    }
    /* Delayed answers that are due, oldest first. */
    for (size_t i = 0; i < e->npending;) {
        struct pending *p = &e->pending[i];
        if (p->due_ms > now_ms) {
            i++;
            continue;
        }
        if (e->conns[p->slot].fd >= 0 && e->conns[p->slot].gen == p->gen)
            answer(e, p->slot, p->in, p->adu, p->len, now_ms);
        memmove(p, p + 1, (e->npending - i - 1) * sizeof(*p));
        e->npending--;
    }
}

int64_t mb_endpoint_next_ms(const struct mb_endpoint *e)
{
    int64_t next = INT64_MAX;

    for (size_t i = 0; i < e->npending; i++)
        if (e->pending[i].due_ms < next)
            next = e->pending[i].due_ms;
    return next;
}

uint64_t mb_endpoint_answered(const struct mb_endpoint *e)
{
    return e->answered;
}
