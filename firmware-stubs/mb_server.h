/*
 * mb_server.h - Modbus slaves of the simulator: a TCP listener (several clients at once) or an
 * RTU serial device, each serving one or more instruments told apart by unit id, as a Modbus
 * gateway or an RS-485 bus does.
 *
 * The simulator frames requests itself (libmodbus 3.1.6's modbus_receive waits with select(),
 * which breaks for descriptors >= 1024 and would let one slow client block the others) and
 * uses libmodbus to build and send the replies. Driven by the caller's poll() loop. Fault
 * injection for tests: a seeded share of requests is answered with an exception, with garbage,
 * late, or by dropping the connection. Not thread-safe: one owner.
 */
#ifndef LS_MB_SERVER_H
#define LS_MB_SERVER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

enum { MB_RELAY_SOUND = 0, MB_RELAY_REFUSE, MB_RELAY_STUCK };

struct mb_faults {
    double fail_rate;    /* share of requests answered with exception 4 (server failure) */
    double garbage_rate; /* share answered with corrupt bytes */
    double drop_rate;    /* share for which the connection is closed (RTU: no answer) */
    int delay_ms;        /* every answer this late */
    /* the interlock relay: 0 sound; MB_RELAY_REFUSE answers a write of it with exception 4;
     * MB_RELAY_STUCK acknowledges the write but the relay does not move (welded contacts) */
    int relay_fault;
    uint64_t seed;
};

struct mb_endpoint;

/* Listen on host:port. LS_ERR_IO with a logged reason. */
int mb_endpoint_new_tcp(const char *host, int port, const struct mb_faults *faults,
                        struct mb_endpoint **out);
/* Open a serial device (a tty or pty) at baud, parity 'N', 'E' or 'O', 8 data bits, 1 stop. */
int mb_endpoint_new_rtu(const char *device, int baud, char parity, const struct mb_faults *faults,
                        struct mb_endpoint **out);
void mb_endpoint_free(struct mb_endpoint *e);

/* Serve in (borrowed, must outlive e) at its unit id. LS_ERR_CONFLICT when the unit is taken. */
int mb_endpoint_add(struct mb_endpoint *e, struct sim_instrument *in);

/* Write e's descriptors into fds (at most max); returns how many. */
size_t mb_endpoint_pollfds(struct mb_endpoint *e, struct pollfd *fds, size_t max);

/* Handle the descriptors returned by the last mb_endpoint_pollfds() (same order) and send the
 * delayed answers that are due. */
void mb_endpoint_process(struct mb_endpoint *e, const struct pollfd *fds, size_t n, int64_t now_ms);

/* Requests answered with data so far (benchmarks count the polls a client made). */
uint64_t mb_endpoint_answered(const struct mb_endpoint *e);

/* When the next delayed answer is due (INT64_MAX if none). */
int64_t mb_endpoint_next_ms(const struct mb_endpoint *e);

/* For tests: the length of the RTU request at the start of buf (n bytes so far), 0 when more
 * bytes are needed, -1 when it cannot be a request. */
int mb_rtu_request_length(const uint8_t *buf, size_t n);
/* For tests: the Modbus CRC-16 of buf. */
uint16_t mb_crc16(const uint8_t *buf, size_t n);

#endif /* LS_MB_SERVER_H */
