/* libFuzzer harness: the gateway's decoding of Modbus replies into a reading (poller_decode) for
 * a register map itself taken from the input (field specs as the config gives them), and the
 * simulator's framing of RTU requests (mb_rtu_request_length) on the same bytes. */
// LINK: gateway/devpoll.c gateway/plan.c gateway/config.c gateway/outbox.c gateway/derive.c
// LINK: gateway/relay.c gateway/tracker.c firmware-stubs/mb_server.c firmware-stubs/sim.c
// LINK: firmware-stubs/meter.c firmware-stubs/scenario.c firmware-stubs/duty.c
#include <stdlib.h>
#include <string.h>

#include "../../firmware-stubs/mb_server.h"
#include "../../gateway/config.h"
#include "../../gateway/plan.h"
#include "../../gateway/devpoll.h"
#include "fuzz_common.h"
#include "labshare/rc.h"

FUZZ_QUIET_LOGS

static const char *const tables[] = {"hr", "ir", "co", "di"};
static const char *const types[] = {"u16", "i16", "u32", "i32", "u64", "f32"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_device d;
    struct plan p;
    struct ls_reading r;
    uint16_t regs[GW_FIELD_COUNT][128];
    uint16_t *rp[GW_FIELD_COUNT];
    char spec[64], err[300];
    size_t at = 0;

    mb_rtu_request_length(data, size);
    if (size < GW_FIELD_COUNT * 4 + 2)
        return 0;
    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "fuzz");
    d.word_order = data[at++] & 1 ? LS_WORD_LITTLE : LS_WORD_BIG;
    d.start_w = data[at++];
    d.stop_w = d.start_w / 2;
    for (int f = 0; f < GW_FIELD_COUNT; f++, at += 4) {
        if (!(data[at] & 1) && f != GW_F_STATE)
            continue;
        snprintf(spec, sizeof(spec), "%s:%u:%s%s", tables[data[at + 1] % 4],
                 (unsigned)(data[at + 2] % 120), types[data[at + 3] % 6],
                 data[at] & 2 ? "*0.1" : "");
        if (ls_field_spec_parse(spec, &d.fields[f], err, sizeof(err)) == LS_OK)
            d.field_present[f] = 1;
    }
    plan_build(&d, &p);
    memset(regs, 0, sizeof(regs));
    for (unsigned i = 0; i < p.request_count && i < GW_FIELD_COUNT; i++) {
        for (unsigned k = 0; k < p.requests[i].count && k < 128 && at + 1 < size; k++, at += 2)
            regs[i][k] = (uint16_t)(data[at] << 8 | data[at + 1]);
    }
    for (int i = 0; i < GW_FIELD_COUNT; i++)
        rp[i] = regs[i];
    memset(&r, 0, sizeof(r));
    poller_decode(&d, &p, rp, &r, err, sizeof(err));
    return 0;
}
