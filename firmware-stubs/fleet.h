/*
 * fleet.h - many simulated instruments in one process, so benchmarks can run hundreds of meters
 * without hundreds of processes. A fleet file has one instrument per line:
 *
 *   <id> <transport> <address> [key=value ...]
 *
 * transport tcp (address host:port), rtu (address /dev/...), or mqtt (address host:port of the
 * broker); keys profile=labshare|power-meter, scenario=FILE (relative to the fleet file),
 * seed=N, loop=yes|no, unit=N, word_order=big|little, topic=T, interval=S, baud=N,
 * parity=N|E|O. Instruments may share a TCP address or an RTU device with different units.
 * "#" starts a comment. The command line's single-instrument options build the same spec.
 */
#ifndef LS_FLEET_H
#define LS_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

struct sim_spec {
    char id[LS_ID_MAX];
    enum sim_transport transport;
    char address[256];
    enum meter_profile profile;
    enum ls_word_order word_order;
    int word_order_set;
    int unit;
    char scenario[512]; /* "" = duty cycle from seed */
    uint64_t seed;
    int loop;
    char topic[256]; /* "" = instruments/<id>/meter */
    int interval_s;
    int baud;
    char parity;
    int line; /* in the fleet file; 0 for the command line */
};

/* Defaults: LabShare profile, unit 1, seed 1, interval 60 s, 9600 baud, parity N. */
void sim_spec_init(struct sim_spec *s);

/* Parse a fleet file into *specs (caller frees with free()), *n entries. On error LS_ERR_INVAL
 * (or LS_ERR_IO) with "path:line: message" in err. */
int fleet_load(const char *path, struct sim_spec **specs, size_t *n, char *err, size_t errlen);

/* Set up an instrument from a spec at now_ms: meter, word order, scenario (loaded from disk)
 * or duty cycle, topic. On error LS_ERR_INVAL / LS_ERR_IO with a reason in err. */
int sim_instrument_init(struct sim_instrument *in, const struct sim_spec *s, int64_t now_ms,
                        char *err, size_t errlen);
void sim_instrument_release(struct sim_instrument *in);

#endif /* LS_FLEET_H */
