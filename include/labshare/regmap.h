/*
 * regmap.h - Modbus register maps: the LabShare meter map (SPEC section 2) and the decoding of
 * typed values from 16-bit registers in either word order, for any map given in config.
 *
 * libmodbus 3.1.6's float helpers (modbus_get_float_*) have byte-order bugs, so LabShare
 * decodes and encodes every type itself here. Registers are host-order uint16_t values as
 * libmodbus returns them; "word order" says which register holds the high 16 bits.
 * All functions are pure and thread-safe.
 */
#ifndef LS_REGMAP_H
#define LS_REGMAP_H

#include <stddef.h>
#include <stdint.h>

/* --- The LabShare meter map: holding registers, unit id 1, 32-bit values high word first. */
enum {
    LS_REG_STATE = 0,       /* u16: enum ls_state code */
    LS_REG_RUN_SECONDS = 1, /* u32: seconds in state running since manufacture */
    LS_REG_ENERGY_WH = 3,   /* u32: total energy, Wh */
    LS_REG_POWER_DW = 5,    /* u32: present power, 0.1 W */
    LS_REG_SAMPLES = 7,     /* u32: total samples processed */
    LS_REG_BADGE = 9,       /* u32: badge of the user logged in, 0 = none */
    LS_REG_FAULT_CODE = 11, /* u16: 0 = none */
    LS_REG_INTERLOCK = 12,  /* u16: 1 = enabled by the interlock relay */
    LS_REG_COUNT = 13,      /* registers in the map */
    LS_COIL_INTERLOCK = 0,  /* coil: write 1 to enable the instrument, 0 to disable */
    LS_UNIT_DEFAULT = 1
};

/* Modbus tables a field can live in. */
enum ls_reg_table { LS_TABLE_HR = 0, LS_TABLE_IR, LS_TABLE_CO, LS_TABLE_DI };

/* Value types. Bits (coils, discrete inputs) use LS_TYPE_BIT. */
enum ls_reg_type {
    LS_TYPE_U16 = 0,
    LS_TYPE_I16,
    LS_TYPE_U32,
    LS_TYPE_I32,
    LS_TYPE_U64,
    LS_TYPE_F32,
    LS_TYPE_BIT
};

enum ls_word_order { LS_WORD_BIG = 0, LS_WORD_LITTLE };

/* Where one field of a meter lives: "<table>:<address>:<type>[*<scale>]". */
struct ls_field_spec {
    enum ls_reg_table table;
    uint16_t address;
    enum ls_reg_type type;
    double scale; /* multiply the raw value by this; 1 when not given */
};

/* Registers (or bits) a value of type occupies: 1, 2 or 4. */
unsigned ls_reg_type_words(enum ls_reg_type type);

/* Names for messages and --check output ("hr", "f32", "big"). Static strings. */
const char *ls_reg_table_name(enum ls_reg_table t);
const char *ls_reg_type_name(enum ls_reg_type t);
const char *ls_word_order_name(enum ls_word_order o);

/* Parse "big"/"little" into *out. LS_ERR_INVAL otherwise. */
int ls_word_order_parse(const char *s, enum ls_word_order *out);

/* Parse a field spec such as "ir:12:f32*1000" or "hr:0:u16" or "co:0". On error returns
 * LS_ERR_INVAL and writes a one-line reason into err (errlen bytes, may be 0). A value must fit
 * the 16-bit address space: address + words - 1 <= 65535. The scale must be finite and not 0. */
int ls_field_spec_parse(const char *s, struct ls_field_spec *out, char *err, size_t errlen);

/* Decode a value of type from regs (ls_reg_type_words(type) registers) as a double.
 * For LS_TYPE_BIT, regs[0] is 0 or 1. LS_ERR_INVAL for a non-finite f32 (NaN, infinity). */
int ls_reg_decode(const uint16_t *regs, enum ls_reg_type type, enum ls_word_order order,
                  double *out);

/* Encode an integer value of an integer type (no range check beyond truncation to the type's
 * width) into regs. */
void ls_reg_encode_int(uint16_t *regs, enum ls_reg_type type, enum ls_word_order order,
                       uint64_t value);

/* Encode v as an IEEE-754 float32 into two registers. */
void ls_reg_encode_f32(uint16_t *regs, enum ls_word_order order, float v);

#endif /* LS_REGMAP_H */
