/* routes_catalog.c - the open instrument database (no login): public instruments with their
 * owner, category, location, external rates, booking rules and free time in the coming weeks. */
#include "routes.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../booking.h"
#include "../records.h"
#include "labshare/wire.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

/* Free slots are listed for the next two weeks. */
#define CATALOG_AHEAD_MS (14LL * 86400000)
/* A meter heartbeats at least every minute (SPEC 2); five missed beats and it counts as offline. */
#define CATALOG_OFFLINE_MS (5LL * 60000)

/* The live state from the meter: its last reading's state, or offline when that is old. */
static void add_live(struct store *st, const char *id, int64_t now, json_t *row)
{
    int64_t ts = 0;
    enum ls_state state = LS_STATE_OFF;
    char when[40];
    int rc = store_last_reading(st, id, &ts, &state);

    if (rc) {
        json_object_set_new(row, "state",
                            json_string(rc == LS_ERR_NOTFOUND ? "offline" : "unknown"));
        json_object_set_new(row, "last_reading", json_null());
        return;
    }
    ls_time_format(ts, when, sizeof(when));
    json_object_set_new(
        row, "state",
        json_string(now - ts > CATALOG_OFFLINE_MS ? "offline" : ls_state_name(state)));
    json_object_set_new(row, "last_reading", json_string(when));
}

static const char *str(const json_t *v)
{
    return json_string_value(v) ? json_string_value(v) : "";
}

static json_t *or_null(json_t *v)
{
    return v ? v : json_null();
}

static int matches(const json_t *inst, const json_t *org, const char *q)
{
    static const char *const fields[] = {"id", "name", "category", "location", "description"};

    if (!q || !*q)
        return 1;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcasestr(str(json_object_get(inst, fields[i])), q))
            return 1;
    return strcasestr(str(json_object_get(org, "name")), q) != NULL;
}

int route_catalog(struct http_req *req, struct http_resp *resp)
{
    const char *q = http_query(req, "q"), *category = http_query(req, "category");
    int csv = http_query(req, "format") && strcmp(http_query(req, "format"), "csv") == 0;
    json_t *all = NULL, *items = json_array(), *inst;
    int64_t total = 0, now = ls_now_ms();
    size_t i;

    if ((q && strlen(q) > 100) || (category && strlen(category) > 100)) {
        json_decref(items);
        return http_error(resp, LS_ERR_INVAL, "q and category are at most 100 characters");
    }
    if (!items || store_instrument_list(req->st, 0, 1, 100000, 0, &all, &total)) {
        json_decref(items);
        json_decref(all);
        return http_error(resp, LS_ERR_DB, "cannot read the catalog");
    }
    json_array_foreach(all, i, inst)
    {
        json_t *org = NULL, *rates, *slots = json_array(), *row;
        struct org owner;
        struct service_hours hours;
        struct interval *win = NULL, *busy = NULL, *free_iv = NULL;
        size_t nw = 0, nb = 0, nf = 0;
        char why[200], a[40], b[40];
        double free_h = 0;
        const char *id = json_string_value(json_object_get(inst, "id"));

        if (category && strcasecmp(category, json_string_value(json_object_get(inst, "category"))))
            goto next;
        if (store_org_get(req->st, json_integer_value(json_object_get(inst, "org_id")), &owner) ==
            LS_OK)
            org = org_json(&owner);
        if (!matches(inst, org, q))
            goto next;
        if (service_hours_parse(json_object_get(inst, "service_hours"), &hours, why, sizeof(why)) ==
                LS_OK &&
            service_windows(&hours, now, now + CATALOG_AHEAD_MS, &win, &nw) == LS_OK &&
            store_busy(req->st, id, now, now + CATALOG_AHEAD_MS, &busy, &nb) == LS_OK &&
            interval_subtract(win, nw, busy, nb, &free_iv, &nf) == LS_OK) {
            for (size_t k = 0; k < nf; k++) {
                free_h += (double)(free_iv[k].end_ms - free_iv[k].start_ms) / 3600000.0;
                ls_time_format(free_iv[k].start_ms, a, sizeof(a));
                ls_time_format(free_iv[k].end_ms, b, sizeof(b));
                json_array_append_new(slots, json_pack("{s:s, s:s}", "start", a, "end", b));
            }
        }
        rates = json_object_get(json_object_get(inst, "billing"), "rates");
        row = json_pack(
            "{s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:f}", "id", id, "name",
            json_object_get(inst, "name"), "owner", or_null(json_object_get(org, "name")),
            "owner_type", or_null(json_object_get(org, "type")), "category",
            json_object_get(inst, "category"), "location", json_object_get(inst, "location"),
            "academic_rate", or_null(json_object_get(rates, "academic")), "industry_rate",
            or_null(json_object_get(rates, "industry")), "basis",
            or_null(json_object_get(json_object_get(inst, "billing"), "basis")), "booking",
            json_object_get(inst, "booking"), "free_hours_14d",
            (double)(int64_t)(free_h * 100 + 0.5) / 100);
        if (row) {
            json_t *billing = json_object_get(inst, "billing");
            json_object_set_new(row, "per_sample",
                                json_incref(or_null(json_object_get(billing, "per_sample"))));
            json_object_set_new(row, "value_yuan",
                                json_incref(or_null(json_object_get(inst, "value_yuan"))));
            json_object_set_new(row, "description",
                                json_incref(or_null(json_object_get(inst, "description"))));
            add_live(req->st, id, now, row);
        }
        if (row && !csv) {
            json_object_set(row, "free_slots", slots);
            json_object_set(row, "service_hours", or_null(json_object_get(inst, "service_hours")));
        }
        if (row)
            json_array_append_new(items, row);
    next:
        json_decref(slots);
        json_decref(org);
        free(win);
        free(busy);
        free(free_iv);
    }
    json_decref(all);
    return http_list(req, resp, items, (int64_t)json_array_size(items), "catalog");
}
