#include "meter.h"

#include <stdio.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

void meter_init(struct meter *m, const char *id, int64_t now_ms)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->id, sizeof(m->id), "%s", id);
    m->state = LS_STATE_IDLE;
    m->power_w = METER_IDLE_POWER_W;
    m->interlock = 1;
    m->last_ms = now_ms;
}

void meter_advance(struct meter *m, int64_t now_ms)
{
    int64_t dt = now_ms - m->last_ms;
    double wh;

    if (dt <= 0) {
        if (dt < 0)
            m->last_ms = now_ms;
        return;
    }
    m->last_ms = now_ms;
    if (m->state == LS_STATE_RUNNING) {
        m->run_ms_frac += dt;
        /* u32 arithmetic wraps at 2^32 s, as the register does */
        m->run_seconds += (uint32_t)(m->run_ms_frac / 1000);
        m->run_ms_frac %= 1000;
    }
    if (m->state != LS_STATE_OFF && m->power_w > 0) {
        m->energy_frac += m->power_w * (double)dt / 3600000.0;
        wh = (double)(int64_t)m->energy_frac;
        m->energy_wh += (uint32_t)(uint64_t)wh;
        m->energy_frac -= wh;
    }
}

int meter_set_state(struct meter *m, enum ls_state state, int64_t now_ms)
{
    meter_advance(m, now_ms);
    if (state == LS_STATE_RUNNING && !m->interlock)
        return LS_ERR_DENIED;
    /* Power follows the state unless the caller sets it afterwards (a scenario's power_w). */
    if (state != m->state)
        m->power_w = state == LS_STATE_OFF       ? 0.0
                     : state == LS_STATE_RUNNING ? METER_RUN_POWER_W
                                                 : METER_IDLE_POWER_W;
    m->state = state;
    return LS_OK;
}

void meter_set_interlock(struct meter *m, int enabled, int64_t now_ms)
{
    meter_advance(m, now_ms);
    m->interlock = enabled ? 1 : 0;
    if (!enabled && m->state == LS_STATE_RUNNING)
        meter_set_state(m, LS_STATE_IDLE, now_ms);
}

void meter_reset_counters(struct meter *m, int64_t now_ms)
{
    meter_advance(m, now_ms);
    m->run_seconds = 0;
    m->energy_wh = 0;
    m->samples = 0;
    m->run_ms_frac = 0;
    m->energy_frac = 0;
}

void meter_to_registers(const struct meter *m, uint16_t *regs)
{
    double dw = m->power_w * 10.0;

    regs[LS_REG_STATE] = (uint16_t)m->state;
    ls_reg_encode_int(regs + LS_REG_RUN_SECONDS, LS_TYPE_U32, m->word_order, m->run_seconds);
    ls_reg_encode_int(regs + LS_REG_ENERGY_WH, LS_TYPE_U32, m->word_order, m->energy_wh);
    ls_reg_encode_int(regs + LS_REG_POWER_DW, LS_TYPE_U32, m->word_order,
                      dw > 0 ? (uint64_t)(dw + 0.5) : 0);
    ls_reg_encode_int(regs + LS_REG_SAMPLES, LS_TYPE_U32, m->word_order, m->samples);
    ls_reg_encode_int(regs + LS_REG_BADGE, LS_TYPE_U32, m->word_order, m->badge);
    regs[LS_REG_FAULT_CODE] = m->fault_code;
    regs[LS_REG_INTERLOCK] = (uint16_t)m->interlock;
}

void meter_to_power_registers(const struct meter *m, uint16_t *ir)
{
    double kwh = ((double)m->energy_wh + m->energy_frac) / 1000.0;

    memset(ir, 0, METER_POWER_IR_COUNT * sizeof(*ir));
    ls_reg_encode_f32(ir + METER_POWER_IR_W, m->word_order,
                      (float)(m->state == LS_STATE_OFF ? 0.0 : m->power_w));
    ls_reg_encode_f32(ir + METER_POWER_IR_KWH, m->word_order, (float)kwh);
}

void meter_to_reading(const struct meter *m, int64_t now_ms, struct ls_reading *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->instrument, sizeof(r->instrument), "%s", m->id);
    r->ts = now_ms;
    r->state = m->state;
    r->run_seconds = m->run_seconds;
    r->energy_wh = m->energy_wh;
    r->power_w = m->state == LS_STATE_OFF ? 0.0 : m->power_w;
    r->samples = m->samples;
    r->badge = m->badge;
    r->has = LS_HAS_TS | LS_HAS_RUN_SECONDS | LS_HAS_ENERGY_WH | LS_HAS_POWER_W | LS_HAS_SAMPLES |
             LS_HAS_BADGE;
}
