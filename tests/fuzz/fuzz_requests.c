/* libFuzzer harness: every request-body decoder of the HTTP API's writes (server/requests.c) -
 * bookings (create, reason, rating), organisations, users (create and change), instruments
 * (create, and a change merged into a registered instrument first, with the nested booking
 * rules, billing terms with rates, service hours and interlock policy), outages (create and a
 * change of a recorded one), vouchers and gateways (registration and change) - on arbitrary bytes
 * parsed as JSON the way the server does (http_body_json). The first byte picks the decoder. What
 * is accepted must hold: times in order, ranges kept, and an instrument as the API shows it
 * accepted again as a change, to the same instrument. */
// LINK: server/requests.c server/booking.c server/rollup.c server/interlock.c server/billing.c
// LINK: server/instrument.c server/records.c server/usage.c
// LINK: server/notify.c
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/records.h"
#include "../../server/requests.h"
#include "fuzz_common.h"
#include "labshare/rc.h"

FUZZ_QUIET_LOGS

#define NOW_MS 1796054400000LL

static void check(int ok)
{
    if (!ok)
        abort(); /* an accepted request broke an invariant: a finding */
}

/* in as the API shows it, given back as a change of an instrument (without its id and when
 * it joined, which do not change), decodes to the same instrument. */
static void check_idempotent(const struct instrument *in)
{
    json_t *shown = instrument_json(in), *again = NULL;
    struct instrument b;
    unsigned given;
    char why[200];

    check(in->rated_hours >= 1 && in->rated_hours <= 8760 && in->value_yuan >= 0 &&
          in->org_id >= 1 && in->description && strlen(in->description) <= 2000);
    if (!shown || instrument_init(&b)) {
        json_decref(shown);
        return;
    }
    json_object_del(shown, "id");
    json_object_del(shown, "joined");
    check(req_instrument(shown, 0, NOW_MS, &b, &given, why, sizeof(why)) == LS_OK);
    snprintf(b.id, sizeof(b.id), "%s", in->id);
    b.joined_ms = in->joined_ms;
    json_decref(shown);
    shown = instrument_json(in);
    again = instrument_json(&b);
    check(!shown || !again || json_equal(shown, again));
    json_decref(shown);
    json_decref(again);
    instrument_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *o;
    char why[200];

    if (size == 0 || size > 65536)
        return 0;
    o = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return 0;
    switch (data[0] % 12) {
    case 0: {
        struct booking b;
        if (req_booking_create(o, &b, why, sizeof(why)) == LS_OK)
            check(b.end_ms > b.start_ms && b.user_id >= 0 && b.instrument[0] &&
                  strlen(b.project) <= 200);
        break;
    }
    case 1: {
        const char *reason;
        int score;
        if (req_booking_reason(o, &reason, why, sizeof(why)) == LS_OK)
            check(!reason || strlen(reason) <= 500);
        if (req_booking_rating(o, &score, &reason, why, sizeof(why)) == LS_OK)
            check(score >= 1 && score <= 5);
        break;
    }
    case 2: {
        const char *name, *type;
        if (req_org(o, data[0] & 0x80, &name, &type, why, sizeof(why)) == LS_OK)
            check(!name || (strlen(name) >= 1 && strlen(name) <= 200));
        break;
    }
    case 3: {
        struct user_request u;
        if (req_user(o, data[0] & 0x80, &u, why, sizeof(why)) == LS_OK)
            check((!u.password || strlen(u.password) >= 12) && u.f.badge >= -2 &&
                  u.f.badge <= 4294967295LL && (u.f.org_id == -1 || u.f.org_id >= 1));
        break;
    }
    case 4: {
        struct instrument in;
        unsigned given;
        if (instrument_init(&in))
            break;
        if (req_instrument(o, 1, NOW_MS, &in, &given, why, sizeof(why)) == LS_OK)
            check_idempotent(&in);
        instrument_clear(&in);
        break;
    }
    case 5: {
        /* a change: merged into a registered instrument's settings first, as PATCH does */
        struct instrument in;
        unsigned given;
        json_t *cur = NULL, *reg = json_pack("{s:s, s:s, s:i, s:{s:s, s:{s:i}}}", "id", "ms-1",
                                             "name", "MS", "org_id", 1, "billing", "basis",
                                             "booked", "rates", "industry", 900);
        if (instrument_init(&in)) {
            json_decref(reg);
            break;
        }
        if (reg && req_instrument(reg, 1, NOW_MS, &in, &given, why, sizeof(why)) == LS_OK &&
            json_is_object(o) && (cur = instrument_json(&in))) {
            req_instrument_merge(o, cur);
            if (req_instrument(o, 0, NOW_MS, &in, &given, why, sizeof(why)) == LS_OK)
                check_idempotent(&in);
        }
        instrument_clear(&in);
        json_decref(cur);
        json_decref(reg);
        break;
    }
    case 6:
    case 7: {
        struct outage_request r;
        json_t *cur =
            data[0] % 11 == 7
                ? json_pack("{s:s, s:s, s:s, s:s}", "start", "2026-12-01T08:00:00Z", "end",
                            "2026-12-01T12:00:00Z", "kind", "breakdown", "note", "")
                : NULL;
        if (req_outage(o, cur, &r, why, sizeof(why)) == LS_OK)
            check(r.end_ms > r.start_ms && r.kind && r.note && strlen(r.note) <= 500);
        json_decref(cur);
        break;
    }
    case 9: {
        struct gateway_request g;
        const char *name;
        int enabled;
        if (req_gateway_create(o, &g, why, sizeof(why)) == LS_OK)
            check(strlen(g.id) >= 3 && g.name && strlen(g.name) >= 1 && strlen(g.name) <= 200 &&
                  g.org_id >= 0);
        if (req_gateway_update(o, &name, &enabled, why, sizeof(why)) == LS_OK)
            check((!name || (name[0] && strlen(name) <= 200)) && enabled >= -1 && enabled <= 1);
        break;
    }
    case 11: {
        struct order_request r;
        struct order_step st;
        enum order_action act = (enum order_action)((data[0] >> 4) % ORDER_ACTION_COUNT);
        if (req_order_create(o, &r, why, sizeof(why)) == LS_OK)
            check(r.samples >= 1 && r.samples <= ORDER_SAMPLES_MAX && r.analysis[0] &&
                  strlen(r.analysis) <= ORDER_TEXT_MAX && strlen(r.description) <= ORDER_TEXT_MAX);
        if (req_order_step(o, act, &st, why, sizeof(why)) == LS_OK)
            check((!st.reason || strlen(st.reason) <= 500) && st.samples_received >= -1 &&
                  st.samples_received <= ORDER_SAMPLES_MAX &&
                  (act != ORDER_SCHEDULE ||
                   (st.end_ms > st.start_ms &&
                    st.end_ms - st.start_ms <= (int64_t)ORDER_SLOT_MAX_DAYS * 86400000)));
        break;
    }
    default: {
        struct voucher_request v;
        if (req_voucher(o, &v, why, sizeof(why)) == LS_OK)
            check(v.percent >= 1 && v.percent <= 100 && v.annual_cap >= 0 &&
                  strcmp(v.valid_from, v.valid_to) <= 0);
        break;
    }
    }
    json_decref(o);
    return 0;
}
