/* records.c - the JSON of each kind of record: see records.h. */
#include "records.h"

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
    return json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:s, s:o, s:o, s:o}", "id",
                     (json_int_t)b->id, "instrument", b->instrument, "user_id",
                     (json_int_t)b->user_id, "project", b->project, "start", start, "end", end,
                     "status", b->status, "reason", text_or_null(b->has_reason, b->reason),
                     "metered_seconds", (json_int_t)b->metered_seconds, "created_by",
                     (json_int_t)b->created_by, "created_at", created, "rating",
                     b->rating ? json_integer(b->rating) : json_null(), "comment",
                     text_or_null(b->has_comment, b->comment), "requester", who);
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
    return json_pack("{s:I, s:s, s:s, s:o, s:s, s:o}", "id", (json_int_t)u->id, "username",
                     u->username, "display_name", u->display_name, "org_id",
                     u->org_id ? json_integer(u->org_id) : json_null(), "role", u->role, "badge",
                     u->badge ? json_integer(u->badge) : json_null());
}
