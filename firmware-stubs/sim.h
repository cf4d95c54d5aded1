/*
 * sim.h - one simulated instrument: a meter, what drives it (a scenario or a seeded duty
 * cycle) and how it is reached (Modbus TCP, Modbus RTU or MQTT). Shared by the simulator's
 * transports and its main loop. Not thread-safe: the main loop owns every instrument.
 */
#ifndef LS_SIM_H
#define LS_SIM_H

#include <modbus.h>
#include <stdint.h>

#include "duty.h"
#include "meter.h"
#include "scenario.h"

enum sim_transport { SIM_TCP = 0, SIM_RTU, SIM_MQTT };

struct sim_instrument {
    struct meter meter;
    enum sim_transport transport;
    char address[256]; /* host:port, or the serial device */
    int unit;          /* Modbus unit id */
    int has_scenario;
    struct scenario scenario;
    struct duty duty;
    modbus_mapping_t *map; /* Modbus register image; owned */
    /* MQTT */
    char topic[256];
    int interval_s;
    int64_t next_publish_ms;
    struct ls_reading last_published;
    int published_once;
};

/* Register image for the meter's profile: allocate (once) and refresh from the meter's present
 * values, advanced to now_ms. LS_ERR_NOMEM. */
int sim_refresh_map(struct sim_instrument *in, int64_t now_ms);

/* Drive the meter to now_ms (scenario or duty cycle). Returns the number of changes. */
int sim_drive(struct sim_instrument *in, int64_t now_ms);

#endif /* LS_SIM_H */
