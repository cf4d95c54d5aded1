/* requests.c - the API's request bodies decoded and checked: see requests.h. */
#include "requests.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "billing.h"
#include "booking.h"
#include "interlock.h"
#include "notify.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

static const char *const instrument_keys[] = {
    "id",          "name",        "org_id",    "category", "location", "value_yuan",
    "rated_hours", "public",      "gateway",   "booking",  "billing",  "service_hours",
    "joined",      "description", "interlock", NULL};
static const char *const org_types[] = {"government", "enterprise", "university", "institute",
                                        NULL};
static const char *const roles[] = {"researcher", "manager", "auditor", "admin", NULL};

/* LS_ERR_INVAL with the reason in why. */
__attribute__((format(printf, 3, 4))) static int bad(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return LS_ERR_INVAL;
}

static int one_of(const char *s, const char *const *set)
{
    for (size_t i = 0; s && set[i]; i++)
        if (strcmp(s, set[i]) == 0)
            return 1;
    return 0;
}

/* A string member of 1..max bytes: NULL when absent; *wrong set when it is there but not a
 * string, empty or too long. */
static const char *opt_string(const json_t *o, const char *key, size_t max, int *wrong)
{
    json_t *v = json_object_get(o, key);

    if (!v)
        return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
        *wrong = 1;
        return NULL;
    }
    return json_string_value(v);
}

/* An optional text member of at most max bytes (empty allowed): LS_ERR_INVAL otherwise. */
static int opt_text(const json_t *o, const char *key, size_t max, const char **out, char *why,
                    size_t len)
{
    json_t *v = json_object_get(o, key);

    *out = NULL;
    if (!v)
        return LS_OK;
    if (!json_is_string(v) || json_string_length(v) > max)
        return bad(why, len, "%s must be text of at most %zu characters", key, max);
    *out = json_string_value(v);
    return LS_OK;
}

/* Common to every decoder: an object with only the members keys names. */
static int object_of(const json_t *body, const char *const *keys, char *why, size_t len)
{
    if (!json_is_object(body))
        return bad(why, len, "the body must be a JSON object");
    return req_only_keys(body, keys, why, len);
}

int req_only_keys(const json_t *obj, const char *const *keys, char *why, size_t len)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        (void)v;
        if (!one_of(key, keys))
            return bad(why, len, "unknown field '%.64s'", key);
    }
    return LS_OK;
}

/* --- Sample-testing orders ---------------------------------------------------------------- */

int req_order_create(const json_t *body, struct order_request *o, char *why, size_t len)
{
    static const char *const keys[] = {"instrument", "samples", "description",
                                       "analysis",   "urgency", NULL};
    const char *urgency;
    json_t *v;

    memset(o, 0, sizeof(*o));
    if (object_of(body, keys, why, len))
        return LS_ERR_INVAL;
    o->instrument = json_string_value(json_object_get(body, "instrument"));
    if (!o->instrument || !ls_id_valid(o->instrument))
        return bad(why, len, "instrument (an instrument id) is required");
    v = json_object_get(body, "samples");
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > ORDER_SAMPLES_MAX)
        return bad(why, len, "samples (how many, 1 to %d) is required", ORDER_SAMPLES_MAX);
    o->samples = json_integer_value(v);
    if (opt_text(body, "description", ORDER_TEXT_MAX, &o->description, why, len) ||
        opt_text(body, "analysis", ORDER_TEXT_MAX, &o->analysis, why, len))
        return LS_ERR_INVAL;
    if (!o->analysis || !o->analysis[0])
        return bad(why, len, "analysis (what is to be measured) is required");
    if (!o->description)
        o->description = "";
    if (opt_text(body, "urgency", 16, &urgency, why, len))
        return LS_ERR_INVAL;
    if (urgency && strcmp(urgency, "normal") != 0 && strcmp(urgency, "urgent") != 0)
        return bad(why, len, "urgency must be normal or urgent");
    o->urgent = urgency && strcmp(urgency, "urgent") == 0;
    return LS_OK;
}

int req_order_step(const json_t *body, enum order_action action, struct order_step *s, char *why,
                   size_t len)
{
    static const char *const reason_keys[] = {"reason", NULL};
    static const char *const receive_keys[] = {"samples_received", NULL};
    static const char *const schedule_keys[] = {"start", "end", NULL};
    static const char *const no_keys[] = {NULL};
    const char *t;
    json_t *v;

    memset(s, 0, sizeof(*s));
    s->samples_received = -1;
    switch (action) {
    case ORDER_DECLINE:
    case ORDER_CANCEL:
        if (!body)
            return LS_OK;
        if (object_of(body, reason_keys, why, len))
            return LS_ERR_INVAL;
        return opt_text(body, "reason", 500, &s->reason, why, len);
    case ORDER_RECEIVE:
        if (!body)
            return LS_OK;
        if (object_of(body, receive_keys, why, len))
            return LS_ERR_INVAL;
        if ((v = json_object_get(body, "samples_received"))) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > ORDER_SAMPLES_MAX)
                return bad(why, len, "samples_received must be 0 to %d", ORDER_SAMPLES_MAX);
            s->samples_received = json_integer_value(v);
        }
        return LS_OK;
    case ORDER_SCHEDULE:
        if (object_of(body, schedule_keys, why, len))
            return LS_ERR_INVAL;
        if (!(t = json_string_value(json_object_get(body, "start"))) ||
            ls_time_parse(t, &s->start_ms) ||
            !(t = json_string_value(json_object_get(body, "end"))) ||
            ls_time_parse(t, &s->end_ms) || s->end_ms <= s->start_ms)
            return bad(why, len, "start and end are required RFC 3339 times, start first");
        if (s->end_ms - s->start_ms > (int64_t)ORDER_SLOT_MAX_DAYS * 86400000)
            return bad(why, len, "a slot of work is at most %d days", ORDER_SLOT_MAX_DAYS);
        return LS_OK;
    default:
        if (!body)
            return LS_OK;
        return object_of(body, no_keys, why, len);
    }
}

/* --- Bookings ----------------------------------------------------------------------------- */

int req_booking_create(const json_t *body, struct booking *b, char *why, size_t len)
{
    static const char *const keys[] = {"instrument", "start", "end", "project", "user_id", NULL};
    const char *instrument, *s, *project;
    json_t *v;

    memset(b, 0, sizeof(*b));
    if (object_of(body, keys, why, len))
        return LS_ERR_INVAL;
    instrument = json_string_value(json_object_get(body, "instrument"));
    if (!instrument || !ls_id_valid(instrument))
        return bad(why, len, "instrument (an instrument id) is required");
    if (!(s = json_string_value(json_object_get(body, "start"))) ||
        ls_time_parse(s, &b->start_ms) || !(s = json_string_value(json_object_get(body, "end"))) ||
        ls_time_parse(s, &b->end_ms) || b->end_ms <= b->start_ms)
        return bad(why, len, "start and end are required RFC 3339 times, start first");
    if (opt_text(body, "project", 200, &project, why, len))
        return LS_ERR_INVAL;
    if ((v = json_object_get(body, "user_id"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return bad(why, len, "user_id must be a user id");
        b->user_id = json_integer_value(v);
    }
    snprintf(b->instrument, sizeof(b->instrument), "%s", instrument);
    snprintf(b->project, sizeof(b->project), "%s", project ? project : "");
    return LS_OK;
}

int req_booking_reason(const json_t *body, const char **reason, char *why, size_t len)
{
    static const char *const keys[] = {"reason", NULL};

    *reason = NULL;
    if (!body)
        return LS_OK;
    if (object_of(body, keys, why, len))
        return LS_ERR_INVAL;
    return opt_text(body, "reason", 500, reason, why, len);
}

int req_booking_rating(const json_t *body, int *score, const char **comment, char *why, size_t len)
{
    static const char *const keys[] = {"score", "comment", NULL};
    json_t *v;

    *comment = NULL;
    if (object_of(body, keys, why, len))
        return LS_ERR_INVAL;
    v = json_object_get(body, "score");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5)
        return bad(why, len, "score must be a whole number from 1 to 5");
    *score = (int)json_integer_value(v);
    return opt_text(body, "comment", 1000, comment, why, len);
}

/* --- Organisations and users ------------------------------------------------------------- */

int req_org(const json_t *body, int create, const char **name, const char **type, char *why,
            size_t len)
{
    static const char *const keys[] = {"name", "type", NULL};
    int wrong = 0;

    if (object_of(body, keys, why, len))
        return LS_ERR_INVAL;
    *name = opt_string(body, "name", 200, &wrong);
    *type = opt_string(body, "type", 20, &wrong);
    if (wrong || (*type && !one_of(*type, org_types)) || (create && (!*name || !*type)))
        return bad(why, len,
                   "name (1-200 characters) and type (government, enterprise, university or "
                   "institute) are required");
    return LS_OK;
}

/* A name of a system part (store.h's AUDIT_RESERVED_NAMES), in any case. */
static int reserved_name(const char *name)
{
    static const char *const reserved[] = AUDIT_RESERVED_NAMES;

    for (size_t i = 0; reserved[i]; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return 1;
    return 0;
}

int req_user(const json_t *body, int create, struct user_request *out, char *why, size_t len)
{
    static const char *const create_keys[] = {
        "username", "display_name", "org_id", "role",         "badge",
        "password", "email",        "lang",   "mail_opt_out", NULL};
    static const char *const update_keys[] = {
        "username",      "display_name", "org_id", "role",         "badge", "password",
        "revoke_tokens", "email",        "lang",   "mail_opt_out", NULL};
    struct user_fields *f = &out->f;
    json_t *v;
    int wrong = 0;

    memset(out, 0, sizeof(*out));
    f->org_id = -1;
    f->badge = -2;
    if (object_of(body, create ? create_keys : update_keys, why, len))
        return LS_ERR_INVAL;
    f->username = opt_string(body, "username", 63, &wrong);
    if (wrong || (f->username && (strlen(f->username) < 3 || !ls_id_valid(f->username))))
        return bad(why, len, "username: 3-63 of A-Z a-z 0-9 . _ -");
    if (f->username && reserved_name(f->username))
        return bad(why, len,
                   "username: '%s' is reserved for a part of the system (the audit log names "
                   "them)",
                   f->username);
    f->display_name = opt_string(body, "display_name", 200, &wrong);
    if (wrong)
        return bad(why, len, "display_name: 1-200 characters");
    f->role = opt_string(body, "role", 16, &wrong);
    if (wrong || (f->role && !one_of(f->role, roles)))
        return bad(why, len, "role: researcher, manager, auditor or admin");
    if ((v = json_object_get(body, "org_id"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return bad(why, len, "org_id must be an organisation id");
        f->org_id = json_integer_value(v);
    }
    if ((v = json_object_get(body, "badge"))) {
        if (json_is_null(v))
            f->badge = -1;
        else if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                 json_integer_value(v) > 4294967295LL)
            return bad(why, len, "badge must be a number from 1 to 4294967295 or null");
        else
            f->badge = json_integer_value(v);
    }
    if ((v = json_object_get(body, "password"))) {
        const char *pw = json_string_value(v);
        if (!pw || strlen(pw) != json_string_length(v) || strlen(pw) < AUTH_PASSWORD_MIN ||
            strlen(pw) > AUTH_PASSWORD_MAX)
            return bad(why, len, "password: %d to %d characters", AUTH_PASSWORD_MIN,
                       AUTH_PASSWORD_MAX);
        out->password = pw;
    }
    if ((v = json_object_get(body, "revoke_tokens"))) {
        if (!json_is_boolean(v) || !out->password)
            return bad(why, len, "revoke_tokens: true or false, and only with a new password");
        out->revoke_tokens = json_is_true(v);
    }
    if ((v = json_object_get(body, "email"))) {
        if (json_is_null(v))
            f->email = "";
        else if (!json_is_string(v) || !notify_email_ok(json_string_value(v)))
            return bad(why, len, "email must be an address (name@domain, no spaces) or null");
        else
            f->email = json_string_value(v);
    }
    if ((v = json_object_get(body, "lang"))) {
        const char *l = json_string_value(v);
        if (!l || (strcmp(l, "en") != 0 && strcmp(l, "zh") != 0))
            return bad(why, len, "lang must be en or zh (the language of the mails)");
        f->lang = l;
    }
    if ((v = json_object_get(body, "mail_opt_out"))) {
        if (notify_opt_out_join(v, out->opt_out, sizeof(out->opt_out), why, len))
            return LS_ERR_INVAL;
        f->mail_opt_out = out->opt_out;
    }
    if (create && (!f->username || !f->role || f->org_id < 1 || !out->password))
        return bad(why, len, "username, org_id, role and password are required");
    return LS_OK;
}

/* --- Instruments ------------------------------------------------------------------------ */

/* The nested settings of an instrument's body (create: all, with their defaults; a change:
 * those given), each validated into in. LS_ERR_INVAL with the reason. */
static int nested_settings(const json_t *body, int create, struct instrument *in, char *why,
                           size_t len)
{
    json_t *v;

    if (((v = json_object_get(body, "booking")) || create) &&
        booking_rules_parse(v, &in->booking, why, len))
        return LS_ERR_INVAL;
    if (((v = json_object_get(body, "interlock")) || create) &&
        interlock_policy_parse(v, &in->interlock, why, len))
        return LS_ERR_INVAL;
    if (((v = json_object_get(body, "service_hours")) || create) &&
        service_hours_parse(v, &in->hours, why, len))
        return LS_ERR_INVAL;
    if (((v = json_object_get(body, "billing")) || create) &&
        billing_terms_parse(v, &in->billing, why, len))
        return LS_ERR_INVAL;
    return LS_OK;
}

/* A text key of at most max bytes into dst (dlen > max bytes); absent: kept. */
static int text_key(const json_t *body, const char *key, size_t max, char *dst, size_t dlen,
                    char *why, size_t len)
{
    const json_t *v = json_object_get(body, key);

    if (!v)
        return LS_OK;
    if (!json_is_string(v) || json_string_length(v) > max)
        return bad(why, len, "%s must be text of at most %zu characters", key, max);
    snprintf(dst, dlen, "%s", json_string_value(v));
    return LS_OK;
}

static int instrument_scalars(const json_t *body, int create, int64_t now_ms, struct instrument *in,
                              unsigned *given, char *why, size_t len)
{
    json_t *v;

    if (create) {
        const char *id = json_string_value(json_object_get(body, "id"));
        if (!id || !ls_id_valid(id))
            return bad(why, len, "id is required: 1-63 of A-Z a-z 0-9 . _ -");
        snprintf(in->id, sizeof(in->id), "%s", id);
    } else if (json_object_get(body, "id")) {
        return bad(why, len, "an instrument's id cannot change");
    }
    if ((v = json_object_get(body, "name")) || create) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200)
            return bad(why, len, "name is required: 1-200 characters");
        snprintf(in->name, sizeof(in->name), "%s", json_string_value(v));
    }
    if ((v = json_object_get(body, "org_id")) || create) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return bad(why, len, "org_id (the owner organisation) is required");
        in->org_id = json_integer_value(v);
        *given |= REQ_INSTRUMENT_ORG;
    }
    if (text_key(body, "category", 100, in->category, sizeof(in->category), why, len) ||
        text_key(body, "location", 100, in->location, sizeof(in->location), why, len))
        return LS_ERR_INVAL;
    /* what it does, for the catalog: a paragraph, not a document; null removes it */
    if ((v = json_object_get(body, "description"))) {
        if (!json_is_null(v) && (!json_is_string(v) || json_string_length(v) > 2000))
            return bad(why, len, "description must be text of at most 2000 bytes");
        if (instrument_set_description(in, json_is_null(v) ? "" : json_string_value(v)))
            return bad(why, len, "out of memory"), LS_ERR_NOMEM;
    }
    if ((v = json_object_get(body, "value_yuan"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 1000000000000LL)
            return bad(why, len, "value_yuan must be a whole number of yuan, 0 or more");
        in->value_yuan = json_integer_value(v);
    }
    if ((v = json_object_get(body, "rated_hours"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 8760)
            return bad(why, len,
                       "rated_hours must be hours per year from 1 to 8760 (1400 by default, "
                       "800 for special-purpose instruments)");
        in->rated_hours = json_integer_value(v);
    }
    if ((v = json_object_get(body, "public"))) {
        if (!json_is_boolean(v))
            return bad(why, len, "public must be true or false");
        in->is_public = json_is_true(v);
    }
    if ((v = json_object_get(body, "joined"))) {
        int64_t ms;
        if (!create)
            return bad(why, len, "joined is set when an instrument is registered");
        if (!json_is_string(v) || ls_time_parse(json_string_value(v), &ms) || ms > now_ms)
            return bad(why, len,
                       "joined must be an RFC 3339 time or a date, not in the future (an "
                       "instrument migrated from an older system)");
        in->joined_ms = ms;
        *given |= REQ_INSTRUMENT_JOINED;
    } else if (create) {
        in->joined_ms = now_ms;
    }
    if ((v = json_object_get(body, "gateway"))) {
        if (!json_is_null(v) && (!json_is_string(v) || !ls_id_valid(json_string_value(v))))
            return bad(why, len, "gateway must be a gateway id or null");
        snprintf(in->gateway, sizeof(in->gateway), "%s",
                 json_is_null(v) ? "" : json_string_value(v));
    }
    return LS_OK;
}

int req_instrument(const json_t *body, int create, int64_t now_ms, struct instrument *in,
                   unsigned *given, char *why, size_t len)
{
    int rc;

    *given = 0;
    if (!json_is_object(body))
        return bad(why, len, "the body must be a JSON object");
    if (req_only_keys(body, instrument_keys, why, len))
        return LS_ERR_INVAL;
    rc = instrument_scalars(body, create, now_ms, in, given, why, len);
    if (rc == LS_OK)
        rc = nested_settings(body, create, in, why, len);
    return rc;
}

/* JSON merge patch (RFC 7386) of patch into target, in place: objects merge key by key, at
 * every depth; null removes a key; anything else replaces. */
static void merge_patch(json_t *target, const json_t *patch)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)patch, key, v)
    {
        json_t *t = json_object_get(target, key);
        if (json_is_null(v)) {
            json_object_del(target, key);
        } else if (json_is_object(v) && json_is_object(t)) {
            merge_patch(t, v);
        } else if (json_is_object(v)) {
            json_t *fresh = json_object();
            merge_patch(fresh, v); /* drops the nulls inside */
            json_object_set_new(target, key, fresh);
        } else {
            json_object_set(target, key, v);
        }
    }
}

void req_instrument_merge(json_t *body, const json_t *current)
{
    static const char *const nested[] = {"booking", "billing", "service_hours", "interlock"};

    for (size_t i = 0; i < sizeof(nested) / sizeof(nested[0]); i++) {
        json_t *patch = json_object_get(body, nested[i]);
        json_t *merged;
        if (!json_is_object(patch))
            continue; /* absent, or not an object: validation says what is wrong */
        merged = json_deep_copy(json_object_get(current, nested[i]));
        if (!json_is_object(merged)) {
            json_decref(merged);
            merged = json_object();
        }
        merge_patch(merged, patch);
        json_object_set_new(body, nested[i], merged);
    }
}

/* --- Outages and vouchers ----------------------------------------------------------------- */

int req_outage(const json_t *body, const json_t *cur, struct outage_request *out, char *why,
               size_t len)
{
    static const char *const keys[] = {"start", "end", "kind", "note", NULL};
    const json_t *src;
    const char *s;

    memset(out, 0, sizeof(*out));
    if (object_of(body, keys, why, len))
        return LS_ERR_INVAL;
    src = json_object_get(body, "start") ? body : cur;
    s = json_string_value(json_object_get(src, "start"));
    if (!s || ls_time_parse(s, &out->start_ms))
        goto wrong;
    src = json_object_get(body, "end") ? body : cur;
    s = json_string_value(json_object_get(src, "end"));
    if (!s || ls_time_parse(s, &out->end_ms) || out->end_ms <= out->start_ms)
        goto wrong;
    src = json_object_get(body, "kind") ? body : cur;
    out->kind = json_string_value(json_object_get(src, "kind"));
    if (!out->kind || (strcmp(out->kind, "maintenance") && strcmp(out->kind, "breakdown")))
        goto wrong;
    src = json_object_get(body, "note") ? body : cur;
    out->note = json_object_get(src, "note") ? json_string_value(json_object_get(src, "note")) : "";
    if (!out->note || json_string_length(json_object_get(src, "note")) > 500)
        goto wrong;
    return LS_OK;
wrong:
    return bad(why, len,
               "start and end (RFC 3339, start before end), kind (maintenance or breakdown) and "
               "an optional note (at most 500 characters) are required");
}

/* A YYYY-MM-DD date that exists. */
static int is_date(const char *s)
{
    int64_t ms;

    return s && strlen(s) == 10 && ls_time_parse(s, &ms) == LS_OK;
}

int req_voucher(const json_t *body, struct voucher_request *out, char *why, size_t len)
{
    static const char *const keys[] = {"org_id",     "percent",  "annual_cap",
                                       "valid_from", "valid_to", NULL};
    const json_t *org = json_object_get(body, "org_id"), *pct = json_object_get(body, "percent"),
                 *cap = json_object_get(body, "annual_cap");

    memset(out, 0, sizeof(*out));
    if (object_of(body, keys, why, len))
        return LS_ERR_INVAL;
    out->valid_from = json_string_value(json_object_get(body, "valid_from"));
    out->valid_to = json_string_value(json_object_get(body, "valid_to"));
    if (!json_is_integer(org) || json_integer_value(org) < 1 || !json_is_integer(pct) ||
        json_integer_value(pct) < 1 || json_integer_value(pct) > 100 || !json_is_integer(cap) ||
        json_integer_value(cap) < 0 || !is_date(out->valid_from) || !is_date(out->valid_to) ||
        strcmp(out->valid_from, out->valid_to) > 0)
        return bad(why, len,
                   "org_id, percent (1-100), annual_cap (fen, 0 or more), valid_from and "
                   "valid_to (YYYY-MM-DD, in order) are required");
    out->org_id = json_integer_value(org);
    out->percent = json_integer_value(pct);
    out->annual_cap = json_integer_value(cap);
    return LS_OK;
}

/* --- Gateways ----------------------------------------------------------------------------- */

int req_gateway_create(const json_t *body, struct gateway_request *out, char *why, size_t len)
{
    static const char *const keys[] = {"id", "name", "org_id", NULL};
    json_t *v;

    memset(out, 0, sizeof(*out));
    if (object_of(body, keys, why, len))
        return LS_ERR_INVAL;
    out->id = json_string_value(json_object_get(body, "id"));
    if (!out->id || !ls_id_valid(out->id) || strlen(out->id) < 3)
        return bad(why, len, "id is required: 3-63 letters, digits, '.', '_' or '-'");
    v = json_object_get(body, "name");
    out->name = v ? json_string_value(v) : out->id;
    if (!out->name || !out->name[0] ||
        json_string_length(v ? v : json_object_get(body, "id")) > 200)
        return bad(why, len, "name must be a text of 1-200 characters");
    if ((v = json_object_get(body, "org_id")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return bad(why, len, "org_id must be an organisation id");
        out->org_id = json_integer_value(v);
    }
    return LS_OK;
}

int req_gateway_update(const json_t *body, const char **name, int *enabled, char *why, size_t len)
{
    static const char *const keys[] = {"name", "disabled", NULL};
    json_t *v;

    *name = NULL;
    *enabled = -1;
    if (object_of(body, keys, why, len))
        return LS_ERR_INVAL;
    if ((v = json_object_get(body, "name")) &&
        (!(*name = json_string_value(v)) || !(*name)[0] || json_string_length(v) > 200))
        return bad(why, len, "name must be a text of 1-200 characters");
    if ((v = json_object_get(body, "disabled"))) {
        if (!json_is_boolean(v))
            return bad(why, len, "disabled must be true or false");
        *enabled = json_is_true(v) ? 0 : 1;
    }
    return LS_OK;
}
