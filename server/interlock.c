#include "interlock.h"

#include <stdio.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

#define MIN_MS 60000LL

static const struct {
    const char *key;
    size_t offset;
    int min, max, def;
} int_keys[] = {
    /* a day's lead or grace is already more than any lab asks for */
    {"lead_min", offsetof(struct interlock_policy, lead_min), 0, 1440, 10},
    {"overrun_grace_min", offsetof(struct interlock_policy, overrun_grace_min), 0, 1440, 30},
};

static const char *const mode_names[] = {"none", "monitor", "enforce"};

const char *interlock_mode_name(enum interlock_mode m)
{
    return (unsigned)m <= INTERLOCK_ENFORCE ? mode_names[m] : "none";
}

int interlock_policy_parse(const json_t *obj, struct interlock_policy *p, char *why, size_t len)
{
    const char *key;
    json_t *v;

    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++)
        *(int *)(void *)((char *)p + int_keys[i].offset) = int_keys[i].def;
    if (!obj || json_is_null(obj))
        return LS_OK;
    if (!json_is_object(obj)) {
        snprintf(why, len, "interlock must be an object");
        return LS_ERR_INVAL;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        if (strcmp(key, "mode") == 0) {
            const char *m = json_string_value(v);
            for (i = 0; m && i < 3 && strcmp(m, mode_names[i]); i++)
                ;
            if (!m || i == 3) {
                snprintf(why, len, "interlock.mode must be none, monitor or enforce");
                return LS_ERR_INVAL;
            }
            p->mode = (enum interlock_mode)i;
            continue;
        }
        if (strcmp(key, "walkup") == 0) {
            if (!json_is_boolean(v)) {
                snprintf(why, len, "interlock.walkup must be true or false");
                return LS_ERR_INVAL;
            }
            p->walkup = json_is_true(v);
            continue;
        }
        for (i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++)
            if (strcmp(key, int_keys[i].key) == 0)
                break;
        if (i == sizeof(int_keys) / sizeof(int_keys[0])) {
            snprintf(why, len, "interlock.%.40s is not an interlock setting", key);
            return LS_ERR_INVAL;
        }
        if (!json_is_integer(v) || json_integer_value(v) < int_keys[i].min ||
            json_integer_value(v) > int_keys[i].max) {
            snprintf(why, len, "interlock.%s must be whole minutes from %d to %d", key,
                     int_keys[i].min, int_keys[i].max);
            return LS_ERR_INVAL;
        }
        *(int *)(void *)((char *)p + int_keys[i].offset) = (int)json_integer_value(v);
    }
    return LS_OK;
}

json_t *interlock_policy_json(const struct interlock_policy *p)
{
    return json_pack("{s:s, s:i, s:i, s:b}", "mode", interlock_mode_name(p->mode), "lead_min",
                     p->lead_min, "overrun_grace_min", p->overrun_grace_min, "walkup", p->walkup);
}

const char *interlock_reason_name(enum interlock_reason r)
{
    static const char *const names[] = {"no_booking", "outage", "booking", "overrun", "walkup"};

    return (unsigned)r <= IL_ON_WALKUP ? names[r] : "unknown";
}

static void set(struct interlock_desired *out, int enable, enum interlock_reason r, int64_t booking,
                int64_t end_ms, int64_t until_ms)
{
    out->enable = enable;
    out->reason = r;
    out->booking = booking;
    out->end_ms = end_ms;
    out->until_ms = until_ms;
}

void interlock_desire(const struct interlock_policy *p, const struct interlock_input *in,
                      struct interlock_desired *out)
{
    const int64_t now = in->now_ms, lead = p->lead_min * MIN_MS;
    const int64_t grace = p->overrun_grace_min * MIN_MS;
    const struct interlock_booking *holding = NULL, *overrun = NULL;
    int64_t next = INT64_MAX;

    set(out, 0, IL_OFF_NO_BOOKING, 0, 0, INT64_MAX);
    if (p->mode == INTERLOCK_NONE)
        return;
    /* an outage wins over everything, a running measurement included: the instrument is
     * broken or in maintenance */
    for (size_t i = 0; i < in->noutages; i++) {
        const struct interlock_span *o = &in->outages[i];
        if (o->start_ms <= now && now < o->end_ms) {
            set(out, 0, IL_OFF_OUTAGE, 0, 0, o->end_ms);
            return;
        }
        if (o->start_ms > now && o->start_ms < next)
            next = o->start_ms;
    }
    for (size_t i = 0; i < in->nbookings; i++) {
        const struct interlock_booking *b = &in->bookings[i];
        if (b->start_ms - lead <= now && now < b->end_ms) {
            /* of two that hold it (back to back, with the next one's lead), the one that ends
             * last: the relay stays on across the change */
            if (!holding || b->end_ms > holding->end_ms)
                holding = b;
        } else if (in->running && in->idle_at_ms < b->end_ms && b->end_ms <= now &&
                   now < b->end_ms + grace) {
            if (!overrun || b->end_ms > overrun->end_ms)
                overrun = b;
        } else if (b->start_ms - lead > now && b->start_ms - lead < next) {
            next = b->start_ms - lead;
        }
    }
    if (holding) {
        int64_t until = holding->end_ms + grace;
        /* an outage that begins inside the booking ends it there */
        for (size_t i = 0; i < in->noutages; i++)
            if (in->outages[i].start_ms > now && in->outages[i].start_ms < until)
                until = in->outages[i].start_ms;
        set(out, 1, IL_ON_BOOKING, holding->id, holding->end_ms < until ? holding->end_ms : until,
            until);
        return;
    }
    if (overrun) {
        int64_t until = overrun->end_ms + grace;
        if (next < until)
            until = next; /* the next booking's lead (or an outage) takes over */
        set(out, 1, IL_ON_OVERRUN, overrun->id, overrun->end_ms, until);
        return;
    }
    if (p->walkup && in->walkup_badge) {
        /* until the next booking's lead time or outage: then it is theirs */
        set(out, 1, IL_ON_WALKUP, 0, next, next);
        return;
    }
    set(out, 0, IL_OFF_NO_BOOKING, 0, 0, next);
}
