/* libFuzzer harness: the JSON request decoders of the HTTP API that are pure functions — an
 * instrument's nested booking rules, service hours (in the platform's zone), billing terms and
 * interlock policy — on arbitrary bytes, first parsed as JSON the way the server does. What is
 * accepted is used: rules checked against a booking, hours turned into windows, terms priced. */
// LINK: server/booking.c server/rollup.c server/billing.c server/interlock.c
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/billing.h"
#include "../../server/booking.h"
#include "../../server/interlock.h"
#include "fuzz_common.h"
#include "labshare/rc.h"

FUZZ_QUIET_LOGS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *o;
    char why[300];

    if (size == 0 || size > 65536)
        return 0;
    o = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return 0;
    switch (data[0] % 4) {
    case 0: {
        struct booking_rules r;
        struct service_hours h;
        struct booking_request q;
        memset(&h, 0, sizeof(h));
        memset(&q, 0, sizeof(q));
        if (booking_rules_parse(o, &r, why, sizeof(why)) == LS_OK) {
            q.start_ms = 1800000000000LL;
            q.end_ms = q.start_ms + 3600000;
            q.now_ms = q.start_ms - 86400000;
            booking_check(&r, &h, &q, why, sizeof(why));
        }
        break;
    }
    case 1: {
        struct service_hours h;
        struct interval *iv = NULL;
        size_t n = 0;
        if (service_hours_parse(o, &h, why, sizeof(why)) == LS_OK &&
            service_windows(&h, 1800000000000LL, 1800000000000LL + 14 * 86400000LL, &iv, &n) ==
                LS_OK)
            free(iv);
        break;
    }
    case 2: {
        struct billing_terms t;
        struct charge c;
        if (billing_terms_parse(o, &t, why, sizeof(why)) == LS_OK) {
            billing_booking(&t, CAT_INDUSTRY, 3600, 3000, 5, 0, &c);
            billing_unbooked(&t, CAT_ACADEMIC, 1234, 2, &c);
        }
        break;
    }
    default: {
        struct interlock_policy p;
        if (interlock_policy_parse(o, &p, why, sizeof(why)) == LS_OK)
            json_decref(interlock_policy_json(&p));
        break;
    }
    }
    json_decref(o);
    return 0;
}
