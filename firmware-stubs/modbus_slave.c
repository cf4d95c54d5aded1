#include "modbus_slave.h"

#include <errno.h>
#include <modbus.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Clients one slave serves at once; more are refused (closed) after accept. */
#define MAX_CLIENTS 32

struct mb_slave {
    modbus_t *ctx;
    modbus_mapping_t *map;
    int listen_fd;
    int clients[MAX_CLIENTS];
    int unit;
};

int mb_slave_new_tcp(const char *host, const char *port, int unit, struct mb_slave **out)
{
    struct mb_slave *s = calloc(1, sizeof(*s));

    if (!s)
        return LS_ERR_NOMEM;
    for (int i = 0; i < MAX_CLIENTS; i++)
        s->clients[i] = -1;
    s->unit = unit;
    s->listen_fd = -1;
    s->ctx = modbus_new_tcp_pi(host, port);
    if (!s->ctx) {
        ls_error("modbus: cannot create TCP context for %s:%s: %s", host, port,
                 modbus_strerror(errno));
        goto fail;
    }
    /* Unit 0 is broadcast; the slave only answers its own unit (and 0xFF, "TCP any"). */
    modbus_set_slave(s->ctx, unit);
    s->map = modbus_mapping_new(8, 8, LS_REG_COUNT, LS_REG_COUNT);
    if (!s->map) {
        ls_error("modbus: cannot allocate register map: %s", modbus_strerror(errno));
        goto fail;
    }
    s->map->tab_bits[LS_COIL_INTERLOCK] = 1;
    s->listen_fd = modbus_tcp_pi_listen(s->ctx, 16);
    if (s->listen_fd < 0) {
        ls_error("modbus: cannot listen on %s:%s: %s", host, port, modbus_strerror(errno));
        goto fail;
    }
    *out = s;
    return LS_OK;
fail:
    mb_slave_free(s);
    return LS_ERR_IO;
}

void mb_slave_free(struct mb_slave *s)
{
    if (!s)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s->clients[i] >= 0)
            close(s->clients[i]);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->map)
        modbus_mapping_free(s->map);
    if (s->ctx)
        modbus_free(s->ctx);
    free(s);
}

void mb_slave_prepare(struct mb_slave *s, fd_set *rd, int *maxfd)
{
    FD_SET(s->listen_fd, rd);
    if (s->listen_fd > *maxfd)
        *maxfd = s->listen_fd;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (s->clients[i] < 0)
            continue;
        FD_SET(s->clients[i], rd);
        if (s->clients[i] > *maxfd)
            *maxfd = s->clients[i];
    }
}

static void accept_client(struct mb_slave *s)
{
    int fd = modbus_tcp_pi_accept(s->ctx, &s->listen_fd);

    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (s->clients[i] < 0) {
            s->clients[i] = fd;
            return;
        }
    }
    ls_warn("modbus: more than %d clients, closing the new one", MAX_CLIENTS);
    close(fd);
}

static void serve(struct mb_slave *s, int slot, struct meter *m, int64_t now_ms)
{
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    uint8_t coil_before = s->map->tab_bits[LS_COIL_INTERLOCK];
    int n;

    modbus_set_socket(s->ctx, s->clients[slot]);
    n = modbus_receive(s->ctx, query);
    if (n == 0)
        return; /* a request for another unit: ignored, as on a real bus */
    if (n < 0) {
        close(s->clients[slot]);
        s->clients[slot] = -1;
        return;
    }
    meter_advance(m, now_ms);
    s->map->tab_bits[LS_COIL_INTERLOCK] = (uint8_t)m->interlock;
    coil_before = s->map->tab_bits[LS_COIL_INTERLOCK];
    meter_to_registers(m, s->map->tab_registers);
    meter_to_registers(m, s->map->tab_input_registers);
    if (modbus_reply(s->ctx, query, n, s->map) < 0) {
        close(s->clients[slot]);
        s->clients[slot] = -1;
        return;
    }
    if (s->map->tab_bits[LS_COIL_INTERLOCK] != coil_before) {
        meter_set_interlock(m, s->map->tab_bits[LS_COIL_INTERLOCK], now_ms);
        ls_info("%s: interlock %s by a Modbus write", m->id, m->interlock ? "enabled" : "disabled");
    }
}

void mb_slave_process(struct mb_slave *s, fd_set *rd, struct meter *m, int64_t now_ms)
{
    if (FD_ISSET(s->listen_fd, rd))
        accept_client(s);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s->clients[i] >= 0 && FD_ISSET(s->clients[i], rd))
            serve(s, i, m, now_ms);
}
