/* libFuzzer harness: the gateway's Modbus TCP framing (gateway/mbap.c) on replies from a hostile
 * or broken meter. The first 6 bytes pick the request (function, unit, count, transaction); the
 * rest is the reply. What is accepted must hold: one whole frame of the request's transaction,
 * unit and function, and no value written past the request's count. */
// LINK: gateway/mbap.c
#include <stdlib.h>
#include <string.h>

#include "../../gateway/mbap.h"
#include "fuzz_common.h"
#include "labshare/rc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t req[MBAP_REQUEST_LEN];
    uint16_t values[2001];
    uint16_t count;
    char why[200];
    int len, rc;

    if (size < 6)
        return 0;
    count = (uint16_t)(data[2] << 8 | data[3]);
    if (mbap_request(req, (uint16_t)(data[4] << 8 | data[5]), data[1], (uint8_t)(data[0] % 7 + 1),
                     0, count) != LS_OK)
        return 0;
    data += 6;
    size -= 6;
    len = mbap_frame_length(data, size);
    if (len < -1 || (len > 0 && len < 8) || len > MBAP_ADU_MAX) /* -1 refused, 0 more to come */
        abort();
    values[2000] = 0x5a5a; /* a canary past the most a request reads */
    why[0] = '\0';
    rc = mbap_reply(req, data, size, values, why, sizeof(why));
    if (rc == LS_OK && ((size_t)len != size || memcmp(data, req, 2) != 0 || data[6] != req[6] ||
                        data[7] != req[7]))
        abort();
    if (rc != LS_OK && rc != LS_ERR_INVAL && rc != LS_ERR_DENIED)
        abort();
    if (values[2000] != 0x5a5a || !memchr(why, 0, sizeof(why)))
        abort();
    return 0;
}
