/*
 * mbap.h - Modbus TCP framing (the MBAP header and the read and write PDUs the gateway uses),
 * without a socket: the building block of a non-blocking poller that serves thousands of
 * meters from one event loop (issue 15: libmodbus waits in select(), which aborts at
 * descriptors >= 1024). Pure functions; every reply is checked against the request it answers
 * before a value is taken from it.
 *
 * Not yet used by the poller (poller.c still uses libmodbus, a thread per endpoint).
 */
#ifndef LS_GW_MBAP_H
#define LS_GW_MBAP_H

#include <stddef.h>
#include <stdint.h>

/* A Modbus TCP ADU at most: the 7-byte MBAP header and a 253-byte PDU. */
#define MBAP_ADU_MAX 260
/* A request the gateway sends: header, function, address, count or value. */
#define MBAP_REQUEST_LEN 12

enum mbap_function {
    MBAP_READ_COILS = 1,
    MBAP_READ_DISCRETE = 2,
    MBAP_READ_HOLDING = 3,
    MBAP_READ_INPUT = 4,
    MBAP_WRITE_COIL = 5,
    MBAP_WRITE_REGISTER = 6,
};

/* The request of transaction tid to unit: a read (functions 1-4) of count items at addr (1-2000
 * bits, 1-125 registers), or a write (5, 6) of value at addr (a coil: 0 or 1). Into out
 * (MBAP_REQUEST_LEN bytes); LS_ERR_INVAL for a function or count Modbus does not allow. */
int mbap_request(uint8_t out[MBAP_REQUEST_LEN], uint16_t tid, uint8_t unit, uint8_t function,
                 uint16_t addr, uint16_t count_or_value);

/* The length of the ADU buf starts with, once its header is in (n bytes so far): 0 when more
 * bytes are needed to know, -1 when it is not a Modbus TCP frame (protocol not 0, a length
 * below 2 or above 254: the connection is out of step and must be closed). */
int mbap_frame_length(const uint8_t *buf, size_t n);

/* Check that adu (one whole frame, n bytes) answers request req (from mbap_request) and take
 * its values: a read's count items into values (bits as 0/1), a write's echo compared. LS_OK;
 * LS_ERR_INVAL with a reason in why for a reply that does not answer it (another transaction,
 * unit or function, a byte count that does not match, bytes left over), LS_ERR_DENIED for a
 * Modbus exception (its code in why). Nothing is taken from a reply that fails. */
int mbap_reply(const uint8_t req[MBAP_REQUEST_LEN], const uint8_t *adu, size_t n, uint16_t *values,
               char *why, size_t len);

#endif /* LS_GW_MBAP_H */
