/* mbap.c - Modbus TCP framing: see mbap.h. */
#include "mbap.h"

#include <stdio.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xff);
}

static int is_bits(uint8_t function)
{
    return function == MBAP_READ_COILS || function == MBAP_READ_DISCRETE;
}

int mbap_request(uint8_t out[MBAP_REQUEST_LEN], uint16_t tid, uint8_t unit, uint8_t function,
                 uint16_t addr, uint16_t count_or_value)
{
    uint16_t field = count_or_value;

    switch (function) {
    case MBAP_READ_COILS:
    case MBAP_READ_DISCRETE:
        if (count_or_value < 1 || count_or_value > 2000)
            return LS_ERR_INVAL;
        break;
    case MBAP_READ_HOLDING:
    case MBAP_READ_INPUT:
        if (count_or_value < 1 || count_or_value > 125)
            return LS_ERR_INVAL;
        break;
    case MBAP_WRITE_COIL:
        if (count_or_value > 1)
            return LS_ERR_INVAL;
        field = count_or_value ? 0xff00 : 0x0000;
        break;
    case MBAP_WRITE_REGISTER:
        break;
    default:
        return LS_ERR_INVAL;
    }
    put16(out, tid);
    put16(out + 2, 0); /* protocol: Modbus */
    put16(out + 4, 6); /* unit, function, address, field */
    out[6] = unit;
    out[7] = function;
    put16(out + 8, addr);
    put16(out + 10, field);
    return LS_OK;
}

int mbap_frame_length(const uint8_t *buf, size_t n)
{
    uint16_t len;

    if (n < 6)
        return 0;
    len = be16(buf + 4);
    if (be16(buf + 2) != 0 || len < 2 || len > MBAP_ADU_MAX - 6)
        return -1;
    return 6 + len;
}

static const char *exception_name(uint8_t code)
{
    switch (code) {
    case 1:
        return "illegal function";
    case 2:
        return "illegal data address";
    case 3:
        return "illegal data value";
    case 4:
        return "server device failure";
    case 6:
        return "server device busy";
    case 10:
        return "gateway path unavailable";
    case 11:
        return "gateway target failed to respond";
    default:
        return "unknown exception";
    }
}

int mbap_reply(const uint8_t req[MBAP_REQUEST_LEN], const uint8_t *adu, size_t n, uint16_t *values,
               char *why, size_t len)
{
    uint8_t function = req[7];
    uint16_t count = be16(req + 10);

    if (n < 9 || mbap_frame_length(adu, n) != (int)n) {
        snprintf(why, len, "not one whole Modbus TCP frame (%zu bytes)", n);
        return LS_ERR_INVAL;
    }
    if (be16(adu) != be16(req)) {
        snprintf(why, len, "the answer to transaction %u, not %u", be16(adu), be16(req));
        return LS_ERR_INVAL;
    }
    if (adu[6] != req[6]) {
        snprintf(why, len, "an answer from unit %u, not %u", adu[6], req[6]);
        return LS_ERR_INVAL;
    }
    if (adu[7] == (function | 0x80)) {
        if (n != 9) {
            snprintf(why, len, "an exception of %zu bytes, not 9", n);
            return LS_ERR_INVAL;
        }
        snprintf(why, len, "exception %u (%s)", adu[8], exception_name(adu[8]));
        return LS_ERR_DENIED;
    }
    if (adu[7] != function) {
        snprintf(why, len, "an answer of function %u, not %u", adu[7], function);
        return LS_ERR_INVAL;
    }
    if (function == MBAP_WRITE_COIL || function == MBAP_WRITE_REGISTER) {
        /* the echo of the request */
        if (n != MBAP_REQUEST_LEN || memcmp(adu + 4, req + 4, MBAP_REQUEST_LEN - 4) != 0) {
            snprintf(why, len, "a write's answer that is not its echo");
            return LS_ERR_INVAL;
        }
        return LS_OK;
    }
    {
        size_t bytes = is_bits(function) ? (size_t)(count + 7) / 8 : (size_t)count * 2;
        if (adu[8] != bytes || n != 9 + bytes) {
            snprintf(why, len, "%u data bytes in a frame of %zu, %zu wanted", adu[8], n, bytes);
            return LS_ERR_INVAL;
        }
        for (size_t i = 0; i < count; i++) {
            if (is_bits(function))
                values[i] = (uint16_t)(adu[9 + i / 8] >> (i % 8) & 1);
            else
                values[i] = be16(adu + 9 + 2 * i);
        }
    }
    return LS_OK;
}
