/* libFuzzer harness: the wire decoders of SPEC 3 (readings batch, ack, status, MQTT-native meter
 * payload) on arbitrary bytes; whatever decodes must encode again and decode to the same. */
// LINK:
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "labshare/rc.h"
#include "labshare/wire.h"

FUZZ_QUIET_LOGS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    char err[300];
    struct ls_batch b;
    struct ls_ack a;
    struct ls_status s;
    struct ls_reading r;

    if (size == 0)
        return 0;
    /* the first byte picks the decoder, so one corpus feeds all four */
    switch (data[0] % 4) {
    case 0:
        if (ls_batch_decode(p + 1, size - 1, &b, err, sizeof(err)) == LS_OK) {
            char *again = ls_batch_encode(b.gateway, b.epoch, b.after, b.readings, b.count);
            struct ls_batch b2;
            if (!again || ls_batch_decode(again, strlen(again), &b2, err, sizeof(err)) != LS_OK)
                abort();
            if (b2.count != b.count || b2.epoch != b.epoch)
                abort();
            ls_batch_release(&b2);
            free(again);
            ls_batch_release(&b);
        }
        break;
    case 1:
        if (ls_ack_decode(p + 1, size - 1, &a, err, sizeof(err)) == LS_OK) {
            char *again = ls_ack_encode(&a);
            struct ls_ack a2;
            if (!again || ls_ack_decode(again, strlen(again), &a2, err, sizeof(err)) != LS_OK ||
                a2.epoch != a.epoch || a2.upto != a.upto)
                abort();
            free(again);
        }
        break;
    case 2:
        if (ls_status_decode(p + 1, size - 1, &s, err, sizeof(err)) == LS_OK) {
            char *again = ls_status_encode(&s);
            struct ls_status s2;
            if (!again || ls_status_decode(again, strlen(again), &s2, err, sizeof(err)) != LS_OK ||
                s2.instrument_count != s.instrument_count || s2.fault_count != s.fault_count)
                abort();
            ls_status_release(&s2);
            free(again);
            ls_status_release(&s);
        }
        break;
    default:
        if (ls_meter_decode(p + 1, size - 1, &r, err, sizeof(err)) == LS_OK) {
            char *again = ls_meter_encode(&r);
            struct ls_reading r2;
            if (!again || ls_meter_decode(again, strlen(again), &r2, err, sizeof(err)) != LS_OK ||
                r2.state != r.state)
                abort();
            free(again);
        }
        break;
    }
    return 0;
}
