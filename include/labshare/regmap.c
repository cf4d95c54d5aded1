#include "labshare/regmap.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

static const char *const table_names[] = {"hr", "ir", "co", "di"};
static const char *const type_names[] = {"u16", "i16", "u32", "i32", "u64", "f32", "bit"};
static const unsigned type_words[] = {1, 1, 2, 2, 4, 2, 1};

unsigned ls_reg_type_words(enum ls_reg_type type)
{
    return (unsigned)type <= LS_TYPE_BIT ? type_words[type] : 1;
}

const char *ls_reg_table_name(enum ls_reg_table t)
{
    return (unsigned)t <= LS_TABLE_DI ? table_names[t] : "?";
}

const char *ls_reg_type_name(enum ls_reg_type t)
{
    return (unsigned)t <= LS_TYPE_BIT ? type_names[t] : "?";
}

const char *ls_word_order_name(enum ls_word_order o)
{
    return o == LS_WORD_LITTLE ? "little" : "big";
}

int ls_word_order_parse(const char *s, enum ls_word_order *out)
{
    if (strcmp(s, "big") == 0)
        *out = LS_WORD_BIG;
    else if (strcmp(s, "little") == 0)
        *out = LS_WORD_LITTLE;
    else
        return LS_ERR_INVAL;
    return LS_OK;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (errlen)                                                                                \
            snprintf(err, errlen, __VA_ARGS__);                                                    \
        return LS_ERR_INVAL;                                                                       \
    } while (0)

int ls_field_spec_parse(const char *s, struct ls_field_spec *out, char *err, size_t errlen)
{
    char tmp[96];
    char *addr, *type, *scale;
    struct ls_field_spec f = {.scale = 1.0};
    int found = 0, a;
    size_t i;

    if (strlen(s) >= sizeof(tmp))
        FAIL("field spec too long");
    snprintf(tmp, sizeof(tmp), "%s", s);
    addr = strchr(tmp, ':');
    if (!addr)
        FAIL("'%s' is not <table>:<address>:<type>[*<scale>]", s);
    *addr++ = '\0';
    for (i = 0; i < sizeof(table_names) / sizeof(table_names[0]); i++) {
        if (strcmp(tmp, table_names[i]) == 0) {
            f.table = (enum ls_reg_table)i;
            found = 1;
        }
    }
    if (!found)
        FAIL("unknown table '%s' (hr, ir, co or di)", tmp);
    scale = strchr(addr, '*');
    if (scale) {
        *scale++ = '\0';
        if (ls_parse_double(scale, -1e12, 1e12, &f.scale) || f.scale == 0.0)
            FAIL("bad scale '%s' (a non-zero number)", scale);
    }
    type = strchr(addr, ':');
    if (type)
        *type++ = '\0';
    if (ls_parse_int(addr, 0, 65535, &a))
        FAIL("bad address '%s' (0 to 65535)", addr);
    f.address = (uint16_t)a;
    if (f.table == LS_TABLE_CO || f.table == LS_TABLE_DI) {
        if (type && strcmp(type, "bit") != 0 && strcmp(type, "u16") != 0)
            FAIL("a %s field is a single bit, not '%s'", tmp, type);
        f.type = LS_TYPE_BIT;
    } else {
        if (!type)
            FAIL("missing type in '%s' (u16, i16, u32, i32, u64 or f32)", s);
        found = 0;
        for (i = 0; i < LS_TYPE_BIT; i++) {
            if (strcmp(type, type_names[i]) == 0) {
                f.type = (enum ls_reg_type)i;
                found = 1;
            }
        }
        if (!found)
            FAIL("unknown type '%s' (u16, i16, u32, i32, u64 or f32)", type);
    }
    if ((unsigned)f.address + ls_reg_type_words(f.type) - 1 > 65535)
        FAIL("address %u + %u registers runs past 65535", f.address, ls_reg_type_words(f.type));
    *out = f;
    return LS_OK;
}

/* Assemble n 16-bit words into a 64-bit value, most significant first. */
static uint64_t gather(const uint16_t *regs, unsigned n, enum ls_word_order order)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        unsigned k = order == LS_WORD_BIG ? i : n - 1 - i;
        v = (v << 16) | regs[k];
    }
    return v;
}

int ls_reg_decode(const uint16_t *regs, enum ls_reg_type type, enum ls_word_order order,
                  double *out)
{
    uint64_t raw;
    uint32_t bits;
    float f;

    switch (type) {
    case LS_TYPE_U16:
        *out = regs[0];
        return LS_OK;
    case LS_TYPE_I16:
        *out = (int16_t)regs[0];
        return LS_OK;
    case LS_TYPE_BIT:
        *out = regs[0] ? 1 : 0;
        return LS_OK;
    case LS_TYPE_U32:
        *out = (double)(uint32_t)gather(regs, 2, order);
        return LS_OK;
    case LS_TYPE_I32:
        *out = (int32_t)(uint32_t)gather(regs, 2, order);
        return LS_OK;
    case LS_TYPE_U64:
        *out = (double)gather(regs, 4, order);
        return LS_OK;
    case LS_TYPE_F32:
        raw = gather(regs, 2, order);
        bits = (uint32_t)raw;
        memcpy(&f, &bits, sizeof(f));
        if (!isfinite(f))
            return LS_ERR_INVAL;
        *out = f;
        return LS_OK;
    }
    return LS_ERR_INVAL;
}

static void scatter(uint16_t *regs, unsigned n, enum ls_word_order order, uint64_t v)
{
    for (unsigned i = 0; i < n; i++) {
        unsigned k = order == LS_WORD_BIG ? n - 1 - i : i;
        regs[k] = (uint16_t)(v & 0xffff);
        v >>= 16;
    }
}

void ls_reg_encode_int(uint16_t *regs, enum ls_reg_type type, enum ls_word_order order,
                       uint64_t value)
{
    unsigned n = ls_reg_type_words(type);

    if (type == LS_TYPE_BIT)
        value = value ? 1 : 0;
    scatter(regs, n, order, value);
}

void ls_reg_encode_f32(uint16_t *regs, enum ls_word_order order, float v)
{
    uint32_t bits;

    memcpy(&bits, &v, sizeof(bits));
    scatter(regs, 2, order, bits);
}
