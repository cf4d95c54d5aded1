/* libFuzzer harness: the server's INI configuration (server/config.c) from arbitrary text. */
// LINK: server/config.c server/http/forwarded.c server/notify.c
#include "../../server/config.h"
#include "fuzz_common.h"

FUZZ_QUIET_LOGS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_config cfg;
    char err[600];
    const char *path = fuzz_file(data, size, ".ini");

    if (path)
        srv_config_load(path, &cfg, err, sizeof(err));
    return 0;
}
