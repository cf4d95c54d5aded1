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

static json_t *or_null(json_t *v)
{
    return v ? v : json_null();
}

static int matches(const struct instrument *in, const struct org *owner, const char *q)
{
    const char *fields[] = {in->id,       in->name,        in->category,
                            in->location, in->description, owner ? owner->name : ""};

    if (!q || !*q)
        return 1;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i] && strcasestr(fields[i], q))
            return 1;
    return 0;
}

/* The free slots of in in [now, now + CATALOG_AHEAD_MS) into slots, their hours into *hours. */
static void free_slots(struct store *st, const struct instrument *in, int64_t now, json_t *slots,
                       double *hours)
{
    struct interval *win = NULL, *busy = NULL, *free_iv = NULL;
    size_t nw = 0, nb = 0, nf = 0;
    char a[40], b[40];

    *hours = 0;
    if (service_windows(&in->hours, now, now + CATALOG_AHEAD_MS, &win, &nw) == LS_OK &&
        store_busy(st, in->id, now, now + CATALOG_AHEAD_MS, &busy, &nb) == LS_OK &&
        interval_subtract(win, nw, busy, nb, &free_iv, &nf) == LS_OK) {
        for (size_t k = 0; k < nf; k++) {
            *hours += (double)(free_iv[k].end_ms - free_iv[k].start_ms) / 3600000.0;
            ls_time_format(free_iv[k].start_ms, a, sizeof(a));
            ls_time_format(free_iv[k].end_ms, b, sizeof(b));
            json_array_append_new(slots, json_pack("{s:s, s:s}", "start", a, "end", b));
        }
    }
    free(win);
    free(busy);
    free(free_iv);
}

/* The catalog's row of in (NULL: out of memory); the CSV leaves out the nested columns. */
static json_t *catalog_row(struct store *st, const struct instrument *in, const struct org *owner,
                           int64_t now, int csv)
{
    json_t *slots = json_array(), *row;
    double free_h = 0;

    if (!slots)
        return NULL;
    free_slots(st, in, now, slots, &free_h);
    row = json_pack(
        "{s:s, s:s, s:o, s:o, s:s, s:s, s:I, s:I, s:s, s:o, s:f, s:I, s:I, s:s}", "id", in->id,
        "name", in->name, "owner", or_null(owner ? json_string(owner->name) : NULL), "owner_type",
        or_null(owner ? json_string(owner->type) : NULL), "category", in->category, "location",
        in->location, "academic_rate", (json_int_t)in->billing.rates[CAT_ACADEMIC], "industry_rate",
        (json_int_t)in->billing.rates[CAT_INDUSTRY], "basis", billing_basis_name(in->billing.basis),
        "booking", booking_rules_json(&in->booking), "free_hours_14d",
        (double)(int64_t)(free_h * 100 + 0.5) / 100, "per_sample",
        (json_int_t)in->billing.per_sample, "value_yuan", (json_int_t)in->value_yuan, "description",
        in->description ? in->description : "");
    if (row)
        add_live(st, in->id, now, row);
    if (row && !csv) {
        json_object_set(row, "free_slots", slots);
        json_object_set_new(row, "service_hours", or_null(service_hours_json(&in->hours)));
    }
    json_decref(slots);
    return row;
}

int route_catalog(struct http_req *req, struct http_resp *resp)
{
    const char *q = http_query(req, "q"), *category = http_query(req, "category");
    int csv = http_query(req, "format") && strcmp(http_query(req, "format"), "csv") == 0;
    struct instrument *all = NULL;
    json_t *items = json_array();
    int64_t total = 0, now = ls_now_ms();
    size_t n = 0;

    if ((q && strlen(q) > 100) || (category && strlen(category) > 100)) {
        json_decref(items);
        return http_error(resp, LS_ERR_INVAL, "q and category are at most 100 characters");
    }
    if (!items || store_instrument_list(req->st, 0, 1, INT64_MAX, 0, &all, &n, &total)) {
        json_decref(items);
        return http_error(resp, LS_ERR_DB, "cannot read the catalog");
    }
    for (size_t i = 0; items && i < n; i++) {
        struct org owner;
        int have = store_org_get(req->st, all[i].org_id, &owner) == LS_OK;
        json_t *row;

        if ((category && strcasecmp(category, all[i].category)) ||
            !matches(&all[i], have ? &owner : NULL, q))
            continue;
        if (!(row = catalog_row(req->st, &all[i], have ? &owner : NULL, now, csv)) ||
            json_array_append_new(items, row)) {
            json_decref(items);
            items = NULL;
        }
    }
    instruments_free(all, n);
    if (!items)
        return http_error(resp, LS_ERR_NOMEM, "cannot read the catalog");
    return http_list(req, resp, items, (int64_t)json_array_size(items), "catalog");
}
