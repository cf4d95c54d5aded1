/* libFuzzer harness: the gateway's INI configuration (gateway/config.c) from arbitrary text, and
 * the read plan of whatever it accepts. */
// LINK: gateway/config.c gateway/plan.c
#include "../../gateway/config.h"
#include "../../gateway/plan.h"
#include "fuzz_common.h"
#include "labshare/rc.h"

FUZZ_QUIET_LOGS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_config cfg;
    char err[600];
    const char *path = fuzz_file(data, size, ".ini");

    if (!path)
        return 0;
    if (gw_config_load(path, &cfg, err, sizeof(err)) == LS_OK) {
        for (size_t i = 0; i < cfg.device_count; i++) {
            struct plan p;
            if (cfg.devices[i].kind != GW_DEV_MQTT)
                plan_build(&cfg.devices[i], &p);
        }
    }
    gw_config_release(&cfg);
    return 0;
}
