/* libFuzzer harness: the simulator's scenario (firmware-stubs/scenario.c) and fleet
 * (firmware-stubs/fleet.c) parsers from arbitrary text; a scenario that parses is played. */
// LINK: firmware-stubs/scenario.c firmware-stubs/fleet.c firmware-stubs/meter.c
// LINK: firmware-stubs/duty.c firmware-stubs/statefile.c firmware-stubs/mb_server.c
// LINK: firmware-stubs/sim.c
#include <stdlib.h>
#include <string.h>

#include "../../firmware-stubs/fleet.h"
#include "../../firmware-stubs/meter.h"
#include "../../firmware-stubs/scenario.h"
#include "fuzz_common.h"
#include "labshare/rc.h"

FUZZ_QUIET_LOGS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[400], *text;
    struct scenario sc;

    if (size == 0)
        return 0;
    if (data[0] & 1) {
        struct sim_spec *specs = NULL;
        size_t n = 0;
        const char *path = fuzz_file(data + 1, size - 1, ".fleet");
        if (path && fleet_load(path, &specs, &n, err, sizeof(err)) == LS_OK)
            free(specs);
        return 0;
    }
    text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    memset(&sc, 0, sizeof(sc));
    if (scenario_parse("fuzz", text, &sc, err, sizeof(err)) == LS_OK) {
        struct meter m;
        meter_init(&m, "fuzz", 0);
        scenario_start(&sc, 0);
        for (int64_t t = 0; t < 200000 && scenario_next_ms(&sc) != INT64_MAX; t += 5000)
            scenario_step(&sc, &m, t);
        scenario_release(&sc);
    }
    free(text);
    return 0;
}
