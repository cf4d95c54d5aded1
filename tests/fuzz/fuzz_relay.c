/* libFuzzer harness: the gateway's interlock command decoder (gateway/relay.c, SPEC 3.2 cmd) on
 * arbitrary payloads, twice in a row (a repeat must be refused as not newer), and the state it
 * asks for at a few times. */
// LINK: gateway/relay.c
#include "../../gateway/relay.h"
#include "fuzz_common.h"
#include "labshare/rc.h"

FUZZ_QUIET_LOGS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct relays *r;
    int64_t v, v2;
    char err[300];

    if (relays_open(NULL, &r))
        return 0;
    if (relays_command(r, (const char *)data, size, &v, err, sizeof(err)) == LS_OK) {
        if (relays_command(r, (const char *)data, size, &v2, err, sizeof(err)) != LS_ERR_CONFLICT)
            __builtin_trap(); /* a replay was taken */
        for (int64_t t = 0; t < 4; t++) {
            relays_want(r, "icp-ms-01", t * 1000000000000LL, (int)(t & 1));
            relays_actual(r, "icp-ms-01", (int)(t & 1));
        }
    }
    relays_free(r);
    return 0;
}
