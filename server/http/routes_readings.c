/* routes_readings.c - GET /api/v1/readings: the stored readings, the evidence behind every
 * usage figure, each with its (gateway, epoch, seq) and receive time. */
#include "routes.h"

#include <stdlib.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

/* A page of at most 10,000 readings keeps a response under a few MB. */
#define READINGS_PAGE_MAX 10000

static json_t *reading_json(const struct reading_row *row)
{
    const struct ls_reading *r = &row->r;
    char ts[40], rx[40];
    json_t *o;

    ls_time_format(r->ts, ts, sizeof(ts));
    ls_time_format(row->received_ms, rx, sizeof(rx));
    o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "gateway", row->gateway, "epoch",
                  (json_int_t)row->epoch, "seq", (json_int_t)r->seq, "instrument", r->instrument,
                  "ts", ts, "state", ls_state_name(r->state), "cause", ls_cause_name(r->cause),
                  "received_at", rx);
    if (!o)
        return NULL;
    json_object_set_new(o, "run_seconds",
                        r->has & LS_HAS_RUN_SECONDS ? json_integer(r->run_seconds) : json_null());
    json_object_set_new(o, "energy_wh",
                        r->has & LS_HAS_ENERGY_WH ? json_integer(r->energy_wh) : json_null());
    json_object_set_new(o, "power_w",
                        r->has & LS_HAS_POWER_W ? json_real(r->power_w) : json_null());
    json_object_set_new(o, "samples",
                        r->has & LS_HAS_SAMPLES ? json_integer(r->samples) : json_null());
    json_object_set_new(o, "badge", r->has & LS_HAS_BADGE ? json_integer(r->badge) : json_null());
    json_object_set_new(o, "interlock",
                        r->has & LS_HAS_INTERLOCK ? json_boolean(r->interlock) : json_null());
    if (row->refused[0])
        json_object_set_new(o, "refused", json_string(row->refused));
    return o;
}

int route_readings_list(struct http_req *req, struct http_resp *resp)
{
    struct reading_query q = {0};
    struct reading_row *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    json_t *items = NULL;
    int rc;

    q.instrument = http_query(req, "instrument");
    if (q.instrument && !ls_id_valid(q.instrument))
        return http_error(resp, LS_ERR_INVAL, "instrument is not a valid id");
    if (http_query(req, "refused")) {
        /* what ingest refused, with its cause: evidence of what did not count */
        const char *v = http_query(req, "refused");
        if (strcmp(v, "true") && strcmp(v, "false"))
            return http_error(resp, LS_ERR_INVAL, "refused must be true or false");
        q.refused = strcmp(v, "true") == 0;
    }
    /* Evidence: auditors and admins read all of it, managers their own instruments'. */
    if (!http_is_admin(req) && !http_is_auditor(req)) {
        struct instrument inst;
        int64_t org = 0;
        if (strcmp(req->who.role, "manager") != 0)
            return http_error(resp, LS_ERR_DENIED,
                              "readings are for managers, auditors and "
                              "admins; see your usage instead");
        if (!q.instrument)
            return http_error(resp, LS_ERR_DENIED,
                              "managers read one of their instruments: "
                              "give instrument=");
        if (store_instrument_get(req->st, q.instrument, &inst) == LS_OK) {
            org = inst.org_id;
            instrument_clear(&inst);
        }
        if (!http_manages(req, org))
            return http_error(resp, LS_ERR_DENIED, "not an instrument of your organisation");
    }
    if (http_list_args(req, resp, 1000, READINGS_PAGE_MAX, &q.limit, &q.offset, &q.from_ms,
                       &q.to_ms))
        return LS_OK;
    rc = store_readings_list(req->st, &q, &rows, &n, &total);
    if (rc)
        return http_error(resp, rc, "cannot list readings");
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        json_t *o = reading_json(&rows[i]);
        if (!o || json_array_append_new(items, o)) {
            json_decref(items);
            items = NULL;
        }
    }
    free(rows);
    if (!items)
        return LS_ERR_NOMEM;
    return http_list(req, resp, items, total, "readings");
}
