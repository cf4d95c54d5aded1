/* Unit tests of the shared helpers: register decoding (regmap.c), number parsing (num.c), the
 * bounded buffer (buf.c), growable arrays (grow.c) and result codes (rc.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/buf.h"
#include "labshare/grow.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/regmap.h"

static void decode_every_type_both_orders(void **state)
{
    uint16_t r[4];
    double v;

    (void)state;
    r[0] = 0xFFFF;
    assert_int_equal(ls_reg_decode(r, LS_TYPE_U16, LS_WORD_BIG, &v), LS_OK);
    assert_true(v == 65535.0);
    assert_int_equal(ls_reg_decode(r, LS_TYPE_I16, LS_WORD_BIG, &v), LS_OK);
    assert_true(v == -1.0);

    /* u32 0x00010002: big = high word first */
    r[0] = 0x0001;
    r[1] = 0x0002;
    ls_reg_decode(r, LS_TYPE_U32, LS_WORD_BIG, &v);
    assert_true(v == 65538.0);
    ls_reg_decode(r, LS_TYPE_U32, LS_WORD_LITTLE, &v);
    assert_true(v == (double)0x00020001);
    /* i32 -2 */
    r[0] = 0xFFFF;
    r[1] = 0xFFFE;
    ls_reg_decode(r, LS_TYPE_I32, LS_WORD_BIG, &v);
    assert_true(v == -2.0);
    /* u64 */
    r[0] = 0x0000;
    r[1] = 0x0001;
    r[2] = 0x0000;
    r[3] = 0x0005;
    ls_reg_decode(r, LS_TYPE_U64, LS_WORD_BIG, &v);
    assert_true(v == 4294967301.0);
    ls_reg_decode(r, LS_TYPE_U64, LS_WORD_LITTLE, &v);
    assert_true(v == (double)0x0005000000010000ULL);
    /* f32 1500.25 = 0x44BB8800 */
    r[0] = 0x44BB;
    r[1] = 0x8800;
    ls_reg_decode(r, LS_TYPE_F32, LS_WORD_BIG, &v);
    assert_true(v == 1500.25);
    r[0] = 0x8800;
    r[1] = 0x44BB;
    ls_reg_decode(r, LS_TYPE_F32, LS_WORD_LITTLE, &v);
    assert_true(v == 1500.25);
    /* NaN and infinity are garbage, not values */
    r[0] = 0x7FC0;
    r[1] = 0x0000;
    assert_int_equal(ls_reg_decode(r, LS_TYPE_F32, LS_WORD_BIG, &v), LS_ERR_INVAL);
    r[0] = 0x7F80;
    assert_int_equal(ls_reg_decode(r, LS_TYPE_F32, LS_WORD_BIG, &v), LS_ERR_INVAL);
}

static void encode_round_trips(void **state)
{
    static const enum ls_reg_type types[] = {LS_TYPE_U16, LS_TYPE_U32, LS_TYPE_U64};
    static const uint64_t values[] = {0, 1, 65535, 65536, 4294967295ULL, 123456789012ULL};
    uint16_t r[4];
    double v;

    (void)state;
    for (int o = 0; o <= LS_WORD_LITTLE; o++) {
        for (size_t t = 0; t < 3; t++) {
            for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                uint64_t max = types[t] == LS_TYPE_U16   ? 0xFFFF
                               : types[t] == LS_TYPE_U32 ? 0xFFFFFFFFULL
                                                         : UINT64_MAX;
                uint64_t want = values[i] & max;
                ls_reg_encode_int(r, types[t], (enum ls_word_order)o, values[i]);
                ls_reg_decode(r, types[t], (enum ls_word_order)o, &v);
                assert_true(v == (double)want);
            }
        }
        ls_reg_encode_f32(r, (enum ls_word_order)o, -0.125f);
        ls_reg_decode(r, LS_TYPE_F32, (enum ls_word_order)o, &v);
        assert_true(v == -0.125);
    }
    /* u32 counter that wraps: 2^32 + 5 encodes as 5 */
    ls_reg_encode_int(r, LS_TYPE_U32, LS_WORD_BIG, 4294967301ULL);
    ls_reg_decode(r, LS_TYPE_U32, LS_WORD_BIG, &v);
    assert_true(v == 5.0);
}

static void field_specs(void **state)
{
    struct ls_field_spec f;
    char err[200];
    static const struct {
        const char *spec, *why;
    } bad[] = {
        {"xx:1:u16", "table"},    {"hr", "table"},          {"hr:1", "type"},
        {"hr:1:u8", "type"},      {"hr:-1:u16", "address"}, {"hr:65536:u16", "address"},
        {"hr:65535:u32", "past"}, {"hr:1:u16*0", "scale"},  {"hr:1:u16*x", "scale"},
        {"co:1:f32", "bit"},      {"hr:1x:u16", "address"},
    };

    (void)state;
    assert_int_equal(ls_field_spec_parse("ir:342:f32*1000", &f, err, sizeof(err)), LS_OK);
    assert_int_equal(f.table, LS_TABLE_IR);
    assert_int_equal(f.address, 342);
    assert_int_equal(f.type, LS_TYPE_F32);
    assert_true(f.scale == 1000.0);
    assert_int_equal(ls_field_spec_parse("hr:5:u32*0.1", &f, err, sizeof(err)), LS_OK);
    assert_true(fabs(f.scale - 0.1) < 1e-12);
    assert_int_equal(ls_field_spec_parse("co:0", &f, err, sizeof(err)), LS_OK);
    assert_int_equal(f.type, LS_TYPE_BIT);
    assert_int_equal(ls_field_spec_parse("hr:65535:u16", &f, err, sizeof(err)), LS_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (ls_field_spec_parse(bad[i].spec, &f, err, sizeof(err)) == LS_OK)
            fail_msg("accepted '%s'", bad[i].spec);
        if (!strstr(err, bad[i].why))
            fail_msg("'%s': '%s' does not mention '%s'", bad[i].spec, err, bad[i].why);
    }
}

static void numbers(void **state)
{
    int64_t i = 7;
    uint64_t u = 7;
    double d;
    int b, port;
    char host[64];

    (void)state;
    assert_int_equal(ls_parse_i64("-5", -10, 10, &i), LS_OK);
    assert_int_equal(i, -5);
    assert_int_equal(ls_parse_i64("11", -10, 10, &i), LS_ERR_INVAL);
    assert_int_equal(ls_parse_i64("10", -10, 10, &i), LS_OK); /* bounds are inclusive */
    assert_int_equal(ls_parse_i64("", 0, 10, &i), LS_ERR_INVAL);
    assert_int_equal(ls_parse_i64(" 1", 0, 10, &i), LS_ERR_INVAL);
    assert_int_equal(ls_parse_i64("1 ", 0, 10, &i), LS_ERR_INVAL);
    assert_int_equal(ls_parse_i64("0x10", 0, 100, &i), LS_ERR_INVAL);
    assert_int_equal(ls_parse_i64("99999999999999999999", INT64_MIN, INT64_MAX, &i), LS_ERR_INVAL);
    assert_int_equal(i, 10); /* unchanged by failures */
    assert_int_equal(ls_parse_u64("-1", 0, UINT64_MAX, &u), LS_ERR_INVAL);
    assert_int_equal(ls_parse_u64("18446744073709551615", 0, UINT64_MAX, &u), LS_OK);
    assert_int_equal(ls_parse_double("nan", -1e9, 1e9, &d), LS_ERR_INVAL);
    assert_int_equal(ls_parse_double("inf", -1e300, 1e300, &d), LS_ERR_INVAL);
    assert_int_equal(ls_parse_double("2.5", 0, 3, &d), LS_OK);
    assert_true(d == 2.5);
    assert_int_equal(ls_parse_bool("Yes", &b), LS_OK);
    assert_int_equal(b, 1);
    assert_int_equal(ls_parse_bool("nope", &b), LS_ERR_INVAL);
    assert_int_equal(ls_parse_hostport("127.0.0.1:1883", host, sizeof(host), &port), LS_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 1883);
    assert_int_equal(ls_parse_hostport("[::1]:80", host, sizeof(host), &port), LS_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(ls_parse_hostport("host:0", host, sizeof(host), &port), LS_ERR_INVAL);
    assert_int_equal(ls_parse_hostport("host:65536", host, sizeof(host), &port), LS_ERR_INVAL);
    assert_int_equal(ls_parse_hostport(":80", host, sizeof(host), &port), LS_ERR_INVAL);
    assert_int_equal(ls_parse_hostport("host", host, sizeof(host), &port), LS_ERR_INVAL);
}

static void bounded_buffer(void **state)
{
    struct ls_buf b;
    char *p;

    (void)state;
    ls_buf_init(&b, 10);
    assert_string_equal(ls_buf_str(&b), "");
    assert_int_equal(ls_buf_adds(&b, "hello"), LS_OK);
    assert_int_equal(ls_buf_printf(&b, "%d", 12345), LS_OK); /* exactly 10 */
    assert_string_equal(ls_buf_str(&b), "hello12345");
    assert_int_equal(ls_buf_adds(&b, "x"), LS_ERR_TOOBIG);
    assert_int_equal(ls_buf_printf(&b, "%s", "y"), LS_ERR_TOOBIG);
    assert_string_equal(ls_buf_str(&b), "hello12345"); /* unchanged */
    ls_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(ls_buf_add(&b, "abc", 3), LS_OK);
    p = ls_buf_detach(&b);
    assert_string_equal(p, "abc");
    free(p);
    assert_null(b.data);
    ls_buf_release(&b);
}

static void growable_array(void **state)
{
    int64_t *v = NULL;
    size_t n = 0, cap = 0;

    (void)state;
    for (int64_t i = 0; i < 1000; i++) {
        assert_int_equal(LS_GROW(v, cap, n + 1), LS_OK);
        assert_true(cap >= n + 1);
        v[n++] = i * 3;
    }
    assert_int_equal(cap, 1024); /* doubled from 16, not grown one by one */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i], (int64_t)i * 3);
    assert_int_equal(LS_GROW(v, cap, 10), LS_OK); /* enough room: unchanged */
    assert_int_equal(cap, 1024);
    /* an impossible size fails and leaves the array as it was */
    assert_int_equal(LS_GROW(v, cap, SIZE_MAX / 4), LS_ERR_NOMEM);
    assert_int_equal(cap, 1024);
    assert_int_equal(v[999], 2997);
    free(v);
}

static void result_codes(void **state)
{
    (void)state;
    for (int rc = 0; rc < LS_RC_COUNT; rc++) {
        assert_non_null(ls_strerror((enum ls_rc)rc));
        assert_string_not_equal(ls_rc_name((enum ls_rc)rc), "unknown");
    }
    assert_string_equal(ls_rc_name((enum ls_rc)999), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_every_type_both_orders),
        cmocka_unit_test(encode_round_trips),
        cmocka_unit_test(field_specs),
        cmocka_unit_test(numbers),
        cmocka_unit_test(bounded_buffer),
        cmocka_unit_test(growable_array),
        cmocka_unit_test(result_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
