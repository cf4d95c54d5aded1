/* Unit tests of the Modbus TCP framing (gateway/mbap.c): requests as the protocol spells them,
 * answered by libmodbus's own server code (modbus_reply over a socket pair) and read back; and
 * hostile or out-of-step replies refused with nothing taken from them. */
// LINK: gateway/mbap.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <modbus.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../gateway/mbap.h"
#include "labshare/rc.h"

static void requests_are_spelled_as_the_protocol_says(void **state)
{
    uint8_t r[MBAP_REQUEST_LEN];
    static const uint8_t read_input[] = {0x12, 0x34, 0, 0, 0, 6, 7, 4, 0x00, 0x10, 0x00, 0x0a};
    static const uint8_t coil_on[] = {0, 1, 0, 0, 0, 6, 1, 5, 0x00, 0x00, 0xff, 0x00};

    (void)state;
    assert_int_equal(mbap_request(r, 0x1234, 7, MBAP_READ_INPUT, 16, 10), LS_OK);
    assert_memory_equal(r, read_input, sizeof(r));
    assert_int_equal(mbap_request(r, 1, 1, MBAP_WRITE_COIL, 0, 1), LS_OK);
    assert_memory_equal(r, coil_on, sizeof(r));
    /* what Modbus does not allow is not sent */
    assert_int_equal(mbap_request(r, 1, 1, MBAP_READ_HOLDING, 0, 126), LS_ERR_INVAL);
    assert_int_equal(mbap_request(r, 1, 1, MBAP_READ_HOLDING, 0, 0), LS_ERR_INVAL);
    assert_int_equal(mbap_request(r, 1, 1, MBAP_READ_COILS, 0, 2001), LS_ERR_INVAL);
    assert_int_equal(mbap_request(r, 1, 1, MBAP_WRITE_COIL, 0, 2), LS_ERR_INVAL);
    assert_int_equal(mbap_request(r, 1, 1, 16, 0, 1), LS_ERR_INVAL);
}

/* libmodbus answers req from map through a socket pair; the reply's bytes into adu. */
static size_t answer(modbus_t *ctx, int peer, modbus_mapping_t *map, const uint8_t *req,
                     uint8_t *adu)
{
    ssize_t got;

    assert_true(modbus_reply(ctx, req, MBAP_REQUEST_LEN, map) > 0);
    got = read(peer, adu, MBAP_ADU_MAX);
    assert_true(got > 0);
    assert_int_equal(mbap_frame_length(adu, (size_t)got), (int)got);
    return (size_t)got;
}

static void libmodbus_answers_are_read(void **state)
{
    int sv[2];
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", 1502);
    modbus_mapping_t *map = modbus_mapping_new(32, 32, 200, 200);
    uint8_t req[MBAP_REQUEST_LEN], adu[MBAP_ADU_MAX];
    uint16_t v[125];
    char why[160];
    size_t n;

    (void)state;
    assert_non_null(ctx);
    assert_non_null(map);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    modbus_set_socket(ctx, sv[1]);
    for (int i = 0; i < 200; i++) {
        map->tab_registers[i] = (uint16_t)(1000 + i);
        map->tab_input_registers[i] = (uint16_t)(0xfff0 - i);
    }
    for (int i = 0; i < 32; i++)
        map->tab_bits[i] = (uint8_t)(i % 3 == 0);
    /* holding registers, the most one request may ask */
    assert_int_equal(mbap_request(req, 77, 1, MBAP_READ_HOLDING, 10, 125), LS_OK);
    n = answer(ctx, sv[0], map, req, adu);
    assert_int_equal(mbap_reply(req, adu, n, v, why, sizeof(why)), LS_OK);
    assert_int_equal(v[0], 1010);
    assert_int_equal(v[124], 1134);
    /* input registers */
    assert_int_equal(mbap_request(req, 78, 1, MBAP_READ_INPUT, 0, 3), LS_OK);
    n = answer(ctx, sv[0], map, req, adu);
    assert_int_equal(mbap_reply(req, adu, n, v, why, sizeof(why)), LS_OK);
    assert_int_equal(v[2], 0xffee);
    /* coils: 11 bits, packed least significant first */
    assert_int_equal(mbap_request(req, 79, 1, MBAP_READ_COILS, 1, 11), LS_OK);
    n = answer(ctx, sv[0], map, req, adu);
    assert_int_equal(mbap_reply(req, adu, n, v, why, sizeof(why)), LS_OK);
    for (int i = 0; i < 11; i++)
        assert_int_equal(v[i], (i + 1) % 3 == 0);
    /* a coil written: the answer is the echo, and the coil is on */
    assert_int_equal(mbap_request(req, 80, 1, MBAP_WRITE_COIL, 4, 1), LS_OK);
    n = answer(ctx, sv[0], map, req, adu);
    assert_int_equal(mbap_reply(req, adu, n, v, why, sizeof(why)), LS_OK);
    assert_int_equal(map->tab_bits[4], 1);
    /* beyond the map: libmodbus's exception, told as such */
    assert_int_equal(mbap_request(req, 81, 1, MBAP_READ_HOLDING, 190, 20), LS_OK);
    n = answer(ctx, sv[0], map, req, adu);
    assert_int_equal(mbap_reply(req, adu, n, v, why, sizeof(why)), LS_ERR_DENIED);
    assert_non_null(strstr(why, "illegal data address"));
    modbus_mapping_free(map);
    modbus_free(ctx); /* the socket is not its own to close */
    close(sv[0]);
    close(sv[1]);
}

/* Replies that do not answer the request: nothing is taken from them. */
static void out_of_step_replies_are_refused(void **state)
{
    uint8_t req[MBAP_REQUEST_LEN];
    uint8_t good[] = {0, 9, 0, 0, 0, 7, 3, 3, 4, 0x01, 0x02, 0x03, 0x04};
    uint8_t bad[sizeof(good) + 1];
    uint16_t v[2] = {0xdead, 0xbeef};
    char why[160];

    (void)state;
    assert_int_equal(mbap_request(req, 9, 3, MBAP_READ_HOLDING, 0, 2), LS_OK);
    assert_int_equal(mbap_reply(req, good, sizeof(good), v, why, sizeof(why)), LS_OK);
    assert_int_equal(v[0], 0x0102);
    assert_int_equal(v[1], 0x0304);
    v[0] = v[1] = 0xdead;
#define REFUSED(mutate, n)                                                                         \
    do {                                                                                           \
        memcpy(bad, good, sizeof(good));                                                           \
        mutate;                                                                                    \
        assert_int_equal(mbap_reply(req, bad, n, v, why, sizeof(why)), LS_ERR_INVAL);              \
        assert_int_equal(v[0], 0xdead);                                                            \
    } while (0)
    REFUSED(bad[1] = 8, sizeof(good));                    /* another transaction */
    REFUSED(bad[6] = 4, sizeof(good));                    /* another unit */
    REFUSED(bad[7] = 4, sizeof(good));                    /* another function */
    REFUSED(bad[3] = 1, sizeof(good));                    /* not Modbus */
    REFUSED(bad[8] = 2, sizeof(good));                    /* byte count off */
    REFUSED((bad[5] = 8, bad[13] = 0), sizeof(good) + 1); /* a byte too many */
    REFUSED((bad[5] = 6, bad[8] = 4), sizeof(good) - 1);  /* a byte short */
    REFUSED((void)0, sizeof(good) - 1);                   /* cut off */
    REFUSED((bad[7] = 0x83, bad[5] = 4), 10);             /* an exception too long */
    /* framing: a header not yet in, a length beyond a frame, a zero length */
    assert_int_equal(mbap_frame_length(good, 5), 0);
    assert_int_equal(mbap_frame_length(good, 6), 13);
    memcpy(bad, good, sizeof(good));
    bad[4] = 1; /* 256 + 7 */
    assert_int_equal(mbap_frame_length(bad, 6), -1);
    bad[4] = 0;
    bad[5] = 1;
    assert_int_equal(mbap_frame_length(bad, 6), -1);
    /* a write answered with another value is not its echo */
    {
        uint8_t w[MBAP_REQUEST_LEN], echo[MBAP_REQUEST_LEN];
        assert_int_equal(mbap_request(w, 5, 1, MBAP_WRITE_REGISTER, 2, 300), LS_OK);
        memcpy(echo, w, sizeof(w));
        assert_int_equal(mbap_reply(w, echo, sizeof(echo), v, why, sizeof(why)), LS_OK);
        echo[11] ^= 1;
        assert_int_equal(mbap_reply(w, echo, sizeof(echo), v, why, sizeof(why)), LS_ERR_INVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests_are_spelled_as_the_protocol_says),
        cmocka_unit_test(libmodbus_answers_are_read),
        cmocka_unit_test(out_of_step_replies_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
