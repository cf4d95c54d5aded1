#include "sim.h"

#include <errno.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

int sim_refresh_map(struct sim_instrument *in, int64_t now_ms)
{
    struct meter *m = &in->meter;

    if (!in->map) {
        if (m->profile == METER_POWER)
            in->map = modbus_mapping_new(0, 0, 0, METER_POWER_IR_COUNT);
        else
            in->map = modbus_mapping_new(1, 0, LS_REG_COUNT, 0);
        if (!in->map) {
            ls_error("%s: cannot allocate a register map: %s", m->id, modbus_strerror(errno));
            return LS_ERR_NOMEM;
        }
    }
    meter_advance(m, now_ms);
    if (m->profile == METER_POWER) {
        meter_to_power_registers(m, in->map->tab_input_registers);
    } else {
        meter_to_registers(m, in->map->tab_registers);
        in->map->tab_bits[LS_COIL_INTERLOCK] = (uint8_t)m->interlock;
    }
    return LS_OK;
}

int sim_drive(struct sim_instrument *in, int64_t now_ms)
{
    int n = in->has_scenario ? scenario_step(&in->scenario, &in->meter, now_ms)
                             : duty_step(&in->duty, &in->meter, now_ms);

    meter_advance(&in->meter, now_ms);
    return n;
}
