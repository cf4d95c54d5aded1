/* records.c - the JSON of each kind of record: see records.h. */
#include "records.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "labshare/json_guard.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

/* text, or JSON null when absent */
static json_t *text_or_null(int present, const char *text)
{
    return present ? json_string(text) : json_null();
}

json_t *booking_view_json(const struct booking_view *v)
{
    const struct booking *b = &v->b;
    const struct booking_requester *r = &v->requester;
    char start[40], end[40], created[40];
    json_t *who;

    ls_time_format(b->start_ms, start, sizeof(start));
    ls_time_format(b->end_ms, end, sizeof(end));
    ls_time_format(b->created_at, created, sizeof(created));
    who = json_pack("{s:s, s:s, s:o, s:o, s:o}", "username", r->username, "display_name",
                    r->display_name, "org_id", r->org_id ? json_integer(r->org_id) : json_null(),
                    "org", text_or_null(r->org_id != 0, r->org), "org_type",
                    text_or_null(r->org_id != 0, r->org_type));
    if (!who)
        return NULL;
    return json_pack(
        "{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:s, s:o, s:o, s:o, s:o}", "id",
        (json_int_t)b->id, "instrument", b->instrument, "user_id", (json_int_t)b->user_id,
        "project", b->project, "start", start, "end", end, "status", booking_status_name(b->status),
        "reason", text_or_null(b->has_reason, b->reason), "metered_seconds",
        (json_int_t)b->metered_seconds, "created_by", (json_int_t)b->created_by, "created_at",
        created, "rating", b->rating ? json_integer(b->rating) : json_null(), "comment",
        text_or_null(b->has_comment, b->comment), "requester", who, "order_id",
        b->order_id ? json_integer(b->order_id) : json_null());
}

json_t *instrument_json(const struct instrument *in)
{
    char joined[40];

    ls_time_format(in->joined_ms, joined, sizeof(joined));
    return json_pack(
        "{s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:b, s:o, s:o, s:o, s:o, s:s}", "id", in->id,
        "name", in->name, "org_id", (json_int_t)in->org_id, "category", in->category, "location",
        in->location, "description", in->description ? in->description : "", "interlock",
        interlock_policy_json(&in->interlock), "value_yuan", (json_int_t)in->value_yuan,
        "rated_hours", (json_int_t)in->rated_hours, "public", in->is_public, "gateway",
        text_or_null(in->gateway[0] != '\0', in->gateway), "booking",
        booking_rules_json(&in->booking), "billing", billing_terms_json(&in->billing),
        "service_hours", service_hours_json(&in->hours), "joined", joined);
}

static json_t *one_instrument(const void *in)
{
    return instrument_json(in);
}

json_t *instruments_json(const struct instrument *v, size_t n)
{
    return records_json(v, n, sizeof(*v), one_instrument);
}

/* an id, or JSON null when 0 (none) */
static json_t *id_or_null(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

/* n ids as an array of strings. */
static json_t *ids_json(const char (*ids)[LS_ID_MAX], size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(ids[i]))) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

/* epoch ms as RFC 3339, or null when 0 (never) */
static json_t *time_or_null(int64_t ms)
{
    char at[40];

    if (!ms)
        return json_null();
    ls_time_format(ms, at, sizeof(at));
    return json_string(at);
}

json_t *gateway_json(const struct gateway *g)
{
    return json_pack("{s:s, s:s, s:o, s:b, s:o, s:o, s:b, s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "id",
                     g->id, "name", g->name, "org_id", id_or_null(g->org_id), "enabled", g->enabled,
                     "registered", time_or_null(g->registered_ms), "rotated",
                     time_or_null(g->rotated_ms), "online", g->online, "version",
                     text_or_null(g->has_version, g->version), "outbox",
                     g->outbox < 0 ? json_null() : json_integer(g->outbox), "outbox_full",
                     g->outbox_full, "last_seen", time_or_null(g->last_seen_ms), "last_ack",
                     g->last_ack < 0 ? json_null() : json_integer(g->last_ack), "reported",
                     ids_json((const char(*)[LS_ID_MAX])g->reported, g->nreported), "instruments",
                     ids_json((const char(*)[LS_ID_MAX])g->bound, g->nbound));
}

static json_t *one_gateway(const void *g)
{
    return gateway_json(g);
}

json_t *gateways_json(const struct gateway *v, size_t n)
{
    return records_json(v, n, sizeof(*v), one_gateway);
}

json_t *outage_json(const struct outage *o)
{
    char start[40], end[40];

    ls_time_format(o->start_ms, start, sizeof(start));
    ls_time_format(o->end_ms, end, sizeof(end));
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)o->id, "instrument",
                     o->instrument, "start", start, "end", end, "kind", o->kind, "note", o->note,
                     "created_by", (json_int_t)o->created_by);
}

json_t *org_json(const struct org *o)
{
    return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)o->id, "name", o->name, "type", o->type);
}

json_t *voucher_json(const struct voucher *v)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:I}", "id", (json_int_t)v->id, "org_id",
                     (json_int_t)v->org_id, "percent", (json_int_t)v->percent, "annual_cap",
                     (json_int_t)v->annual_cap, "valid_from", v->valid_from, "valid_to",
                     v->valid_to, "used", (json_int_t)v->used);
}

json_t *user_json(const struct user *u)
{
    json_t *off = json_array();
    char kinds[sizeof(u->mail_opt_out)], *save = NULL;

    snprintf(kinds, sizeof(kinds), "%s", u->mail_opt_out);
    for (char *k = strtok_r(kinds, ",", &save); off && k; k = strtok_r(NULL, ",", &save))
        if (json_array_append_new(off, json_string(k))) {
            json_decref(off);
            off = NULL;
        }
    if (!off)
        return NULL;
    return json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:o}", "id", (json_int_t)u->id,
                     "username", u->username, "display_name", u->display_name, "org_id",
                     u->org_id ? json_integer(u->org_id) : json_null(), "role", u->role, "badge",
                     u->badge ? json_integer(u->badge) : json_null(), "email",
                     u->email[0] ? json_string(u->email) : json_null(), "lang", u->lang,
                     "mail_opt_out", off);
}

json_t *charge_line_json(const struct charge_line *c)
{
    char at[40];

    ls_time_format(c->at_ms, at, sizeof(at));
    return json_pack("{s:I, s:s, s:s, s:I, s:o, s:s, s:o, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I,"
                     " s:I, s:I, s:s}",
                     "id", (json_int_t)c->id, "kind",
                     c->kind == CHARGE_KIND_ADJUSTMENT ? "adjustment" : "charge", "source",
                     c->source, "org_id", (json_int_t)c->org_id, "user_id", id_or_null(c->user_id),
                     "instrument", c->instrument, "booking_id", id_or_null(c->booking_id), "at", at,
                     "month", c->month, "category", c->category, "minutes", (json_int_t)c->minutes,
                     "rate", (json_int_t)c->rate, "samples", (json_int_t)c->samples, "sample_fee",
                     (json_int_t)c->sample_fee, "amount", (json_int_t)c->amount, "voucher",
                     (json_int_t)c->voucher, "payable", (json_int_t)(c->amount - c->voucher),
                     "description", c->description);
}

json_t *records_json(const void *items, size_t n, size_t size, json_t *(*one)(const void *))
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, one((const char *)items + i * size))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static json_t *one_charge_line(const void *c)
{
    return charge_line_json(c);
}

json_t *charge_lines_json(const struct charge_line *c, size_t n)
{
    return records_json(c, n, sizeof(*c), one_charge_line);
}

json_t *statement_json(const struct statement *s)
{
    json_t *lines = charge_lines_json(s->lines, s->nlines);

    if (!lines)
        return NULL;
    return json_pack("{s:I, s:s, s:s, s:b, s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "org_id",
                     (json_int_t)s->org_id, "kind", s->owner ? "revenue" : "payer", "month",
                     s->month, "closed", s->closed, "lines", lines, "lines_total",
                     (json_int_t)s->lines_total, "limit", (json_int_t)s->limit, "offset",
                     (json_int_t)s->offset, "gross", (json_int_t)s->gross, "voucher",
                     (json_int_t)s->voucher, "payable", (json_int_t)(s->gross - s->voucher));
}

json_t *usage_row_json(const struct usage_row *u)
{
    char start[40], end[40], session[40], to[40], link[LS_ID_MAX * 3 + 128];

    ls_time_format(u->start_ms, start, sizeof(start));
    ls_time_format(u->end_ms, end, sizeof(end));
    ls_time_format(u->session_start_ms, session, sizeof(session));
    /* the readings it was made from: its end is inclusive */
    ls_time_format(u->end_ms + 1, to, sizeof(to));
    snprintf(link, sizeof(link), "/api/v1/readings?instrument=%s&from=%s&to=%s", u->instrument,
             start, to);
    return json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:s, s:s, s:o, s:s, s:b}", "id",
                     (json_int_t)u->id, "instrument", u->instrument, "start", start, "end", end,
                     "run_seconds", (json_int_t)(u->run_ms / 1000), "energy_wh",
                     (json_int_t)u->energy_wh, "samples", (json_int_t)u->samples, "user_id",
                     id_or_null(u->user_id), "booking_id", id_or_null(u->booking_id), "attribution",
                     usage_attribution_name(u->attribution), "readings", link, "badge",
                     u->has_badge ? json_integer(u->badge) : json_null(), "session_start", session,
                     "open", u->open);
}

static json_t *one_usage_row(const void *u)
{
    return usage_row_json(u);
}

json_t *usage_rows_json(const struct usage_row *u, size_t n)
{
    return records_json(u, n, sizeof(*u), one_usage_row);
}

/* "" as JSON null */
static json_t *text_or_null_empty(const char *text)
{
    return text[0] ? json_string(text) : json_null();
}

/* A stored JSON text (NULL: null), parsed; NULL when it does not parse. */
static json_t *stored_json(const char *text)
{
    return text ? ls_json_loads(text, JSON_DECODE_ANY, NULL, NULL) : json_null();
}

json_t *audit_record_json(const struct audit_record *r)
{
    char at[40];
    json_t *before = stored_json(r->before), *after = stored_json(r->after);

    if (!before || !after) {
        json_decref(before);
        json_decref(after);
        return NULL;
    }
    ls_time_format(r->at_ms, at, sizeof(at));
    return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:s, s:s}", "seq",
                     (json_int_t)r->seq, "at", at, "actor", r->actor, "actor_kind",
                     text_or_null_empty(r->actor_kind), "actor_id", text_or_null_empty(r->actor_id),
                     "actor_user", id_or_null(r->actor_user), "action", r->action, "object",
                     r->object, "before", before, "after", after, "prev_hash", r->prev_hash, "hash",
                     r->hash);
}

json_t *secret_row_json(const struct secret_row *r, int feed)
{
    char created[40];

    ls_time_format(r->created_ms, created, sizeof(created));
    if (feed)
        return json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)r->id, "kind", r->kind,
                         "subject", r->subject, "created", created);
    return json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)r->id, "kind", r->kind, "created",
                     created, "expires", time_or_null(r->expires_ms));
}

json_t *collaboration_row_json(const struct collaboration_row *r)
{
    /* hours to 4 places */
    double hours = (double)llround(r->run_ms / 360.0) / 1e4;

    return json_pack("{s:s, s:s, s:f}", "user_org_type", r->user_org_type, "owner_org_type",
                     r->owner_org_type, "hours", hours);
}

static json_t *one_audit_record(const void *r)
{
    return audit_record_json(r);
}

json_t *audit_records_json(const struct audit_record *r, size_t n)
{
    return records_json(r, n, sizeof(*r), one_audit_record);
}

static json_t *one_token(const void *r)
{
    return secret_row_json(r, 0);
}

static json_t *one_feed(const void *r)
{
    return secret_row_json(r, 1);
}

json_t *secret_rows_json(const struct secret_row *r, size_t n, int feeds)
{
    return records_json(r, n, sizeof(*r), feeds ? one_feed : one_token);
}

static json_t *one_collaboration_row(const void *r)
{
    return collaboration_row_json(r);
}

json_t *collaboration_rows_json(const struct collaboration_row *r, size_t n)
{
    return records_json(r, n, sizeof(*r), one_collaboration_row);
}
