#include "labshare/wire.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/json_guard.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

static const char *const state_names[] = {"off", "idle", "running", "fault"};
static const char *const cause_names[] = {"change", "heartbeat", "boot"};
static const char *const topic_kinds[] = {"readings", "ack", "status", "cmd"};

#define TOPIC_PREFIX "labshare/v1/gw/"

const char *ls_state_name(enum ls_state s)
{
    return (unsigned)s <= LS_STATE_FAULT ? state_names[s] : "?";
}

int ls_state_parse(const char *s, enum ls_state *out)
{
    for (unsigned i = 0; i <= LS_STATE_FAULT; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum ls_state)i;
            return LS_OK;
        }
    }
    return LS_ERR_INVAL;
}

const char *ls_cause_name(enum ls_cause c)
{
    return (unsigned)c <= LS_CAUSE_BOOT ? cause_names[c] : "?";
}

int ls_cause_parse(const char *s, enum ls_cause *out)
{
    for (unsigned i = 0; i <= LS_CAUSE_BOOT; i++) {
        if (strcmp(s, cause_names[i]) == 0) {
            *out = (enum ls_cause)i;
            return LS_OK;
        }
    }
    return LS_ERR_INVAL;
}

int ls_id_valid(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
        if (n >= LS_ID_MAX - 1)
            return 0;
    }
    /* "." and ".." would be path tricks where an id names a file. */
    return n > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int ls_topic(char *buf, size_t len, const char *gateway, enum ls_topic_kind kind)
{
    int n;

    if ((unsigned)kind > LS_TOPIC_CMD)
        return LS_ERR_INVAL;
    n = snprintf(buf, len, TOPIC_PREFIX "%s/%s", gateway, topic_kinds[kind]);
    return n < 0 || (size_t)n >= len ? LS_ERR_TOOBIG : LS_OK;
}

int ls_topic_parse(const char *topic, enum ls_topic_kind *kind, char *gw)
{
    const char *p, *slash;
    size_t n;

    if (strncmp(topic, TOPIC_PREFIX, sizeof(TOPIC_PREFIX) - 1) != 0)
        return LS_ERR_INVAL;
    p = topic + sizeof(TOPIC_PREFIX) - 1;
    slash = strchr(p, '/');
    if (!slash)
        return LS_ERR_INVAL;
    n = (size_t)(slash - p);
    if (n == 0 || n >= LS_ID_MAX)
        return LS_ERR_INVAL;
    memcpy(gw, p, n);
    gw[n] = '\0';
    if (!ls_id_valid(gw))
        return LS_ERR_INVAL;
    for (unsigned i = 0; i <= LS_TOPIC_CMD; i++) {
        if (strcmp(slash + 1, topic_kinds[i]) == 0) {
            *kind = (enum ls_topic_kind)i;
            return LS_OK;
        }
    }
    return LS_ERR_INVAL;
}

int ls_topic_meter(char *buf, size_t len, const char *instrument)
{
    int n = snprintf(buf, len, "instruments/%s/meter", instrument);

    return n < 0 || (size_t)n >= len ? LS_ERR_TOOBIG : LS_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding helpers: each writes a reason into err and returns LS_ERR_INVAL on failure.      */

struct derr {
    char *buf;
    size_t len;
};

static int fail(struct derr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct derr *e, const char *fmt, ...)
{
    va_list ap;

    if (e->len) {
        va_start(ap, fmt);
        vsnprintf(e->buf, e->len, fmt, ap);
        va_end(ap);
    }
    return LS_ERR_INVAL;
}

/* An integer member in [min, max]. *present says whether it was there; absent is an error
 * only when required. */
static int get_int(json_t *obj, const char *key, int required, int64_t min, int64_t max,
                   int64_t *out, int *present, struct derr *e)
{
    json_t *v = json_object_get(obj, key);
    json_int_t i;

    *present = 0;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(e, "missing field '%s'", key);
        return LS_OK;
    }
    if (!json_is_integer(v))
        return fail(e, "field '%s' must be an integer", key);
    i = json_integer_value(v);
    if (i < min || i > max)
        return fail(e, "field '%s' out of range (%lld not in %lld..%lld)", key, (long long)i,
                    (long long)min, (long long)max);
    *out = i;
    *present = 1;
    return LS_OK;
}

static int get_str(json_t *obj, const char *key, const char **out, struct derr *e)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return fail(e, "missing field '%s'", key);
    if (!json_is_string(v))
        return fail(e, "field '%s' must be a string", key);
    *out = json_string_value(v);
    return LS_OK;
}

static json_t *load(const char *payload, size_t len, struct derr *e, int *rc)
{
    json_error_t jerr;
    json_t *root;
    int oom = 0;

    if (len > LS_PAYLOAD_MAX) {
        *rc = LS_ERR_TOOBIG;
        fail(e, "payload of %zu bytes exceeds %d", len, LS_PAYLOAD_MAX);
        return NULL;
    }
    /* never a value cut short by a failed allocation (json_guard.h): that is not the
     * sender's fault, and the message is not acked, so it comes again */
    root = ls_json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr, &oom);
    if (!root && oom) {
        *rc = LS_ERR_NOMEM;
        fail(e, "out of memory while parsing");
        return NULL;
    }
    if (!root) {
        *rc = fail(e, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        *rc = fail(e, "payload must be a JSON object");
        return NULL;
    }
    *rc = LS_OK;
    return root;
}

/* The measurement fields shared by the meter payload and gateway readings. */
static int decode_fields(json_t *o, struct ls_reading *r, int ts_required, struct derr *e)
{
    static const struct {
        const char *key;
        size_t off;
        unsigned flag;
    } counters[] = {
        {"run_seconds", offsetof(struct ls_reading, run_seconds), LS_HAS_RUN_SECONDS},
        {"energy_wh", offsetof(struct ls_reading, energy_wh), LS_HAS_ENERGY_WH},
        {"samples", offsetof(struct ls_reading, samples), LS_HAS_SAMPLES},
        {"badge", offsetof(struct ls_reading, badge), LS_HAS_BADGE},
    };
    const char *s;
    json_t *v;
    int present, rc;

    rc = get_int(o, "ts", ts_required, 0, LS_TS_MAX, &r->ts, &present, e);
    if (rc)
        return rc;
    if (present)
        r->has |= LS_HAS_TS;
    rc = get_str(o, "state", &s, e);
    if (rc)
        return rc;
    if (ls_state_parse(s, &r->state))
        return fail(e, "field 'state' must be off, idle, running or fault, not '%.32s'", s);
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        int64_t *dst = (int64_t *)(void *)((char *)r + counters[i].off);
        rc = get_int(o, counters[i].key, 0, 0, LS_JSON_INT_MAX, dst, &present, e);
        if (rc)
            return rc;
        if (present)
            r->has |= counters[i].flag;
    }
    v = json_object_get(o, "power_w");
    if (v && !json_is_null(v)) {
        if (!json_is_number(v))
            return fail(e, "field 'power_w' must be a number");
        r->power_w = json_number_value(v);
        if (!isfinite(r->power_w) || r->power_w < -1e9 || r->power_w > 1e9)
            return fail(e, "field 'power_w' out of range");
        r->has |= LS_HAS_POWER_W;
    }
    v = json_object_get(o, "interlock");
    if (v && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return fail(e, "field 'interlock' must be true or false");
        r->interlock = json_is_true(v);
        r->has |= LS_HAS_INTERLOCK;
    }
    return LS_OK;
}

static int encode_fields(json_t *o, const struct ls_reading *r)
{
    int rc = 0;

    rc |= json_object_set_new(o, "ts", json_integer(r->ts));
    rc |= json_object_set_new(o, "state", json_string(ls_state_name(r->state)));
    if (r->has & LS_HAS_RUN_SECONDS)
        rc |= json_object_set_new(o, "run_seconds", json_integer(r->run_seconds));
    if (r->has & LS_HAS_ENERGY_WH)
        rc |= json_object_set_new(o, "energy_wh", json_integer(r->energy_wh));
    if (r->has & LS_HAS_POWER_W)
        rc |= json_object_set_new(o, "power_w", json_real(r->power_w));
    if (r->has & LS_HAS_SAMPLES)
        rc |= json_object_set_new(o, "samples", json_integer(r->samples));
    if (r->has & LS_HAS_BADGE)
        rc |= json_object_set_new(o, "badge", json_integer(r->badge));
    if (r->has & LS_HAS_INTERLOCK)
        rc |= json_object_set_new(o, "interlock", json_boolean(r->interlock));
    return rc ? LS_ERR_NOMEM : LS_OK;
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    return s;
}

/* ---------------------------------------------------------------------------------------- */

int ls_meter_decode(const char *payload, size_t len, struct ls_reading *out, char *err,
                    size_t errlen)
{
    struct derr e = {err, errlen};
    struct ls_reading r;
    json_t *root;
    int rc;

    memset(&r, 0, sizeof(r));
    root = load(payload, len, &e, &rc);
    if (!root)
        return rc;
    rc = decode_fields(root, &r, 0, &e);
    json_decref(root);
    if (rc == LS_OK)
        *out = r;
    return rc;
}

char *ls_meter_encode(const struct ls_reading *r)
{
    json_t *o = json_object();

    if (!o || encode_fields(o, r)) {
        json_decref(o);
        return NULL;
    }
    return dump(o);
}

char *ls_batch_encode(const char *gateway, int64_t epoch, int64_t after, const struct ls_reading *r,
                      size_t count)
{
    json_t *root = json_object(), *arr = json_array();
    int rc = 0;

    if (!root || !arr) {
        json_decref(root);
        json_decref(arr);
        return NULL;
    }
    rc |= json_object_set_new(root, "gateway", json_string(gateway));
    rc |= json_object_set_new(root, "epoch", json_integer(epoch));
    if (after >= 0)
        rc |= json_object_set_new(root, "after", json_integer(after));
    rc |= json_object_set_new(root, "readings", arr);
    for (size_t i = 0; i < count && !rc; i++) {
        json_t *o = json_object();
        if (!o) {
            rc = 1;
            break;
        }
        rc |= json_object_set_new(o, "seq", json_integer(r[i].seq));
        rc |= json_object_set_new(o, "instrument", json_string(r[i].instrument));
        rc |= encode_fields(o, &r[i]);
        rc |= json_object_set_new(o, "cause", json_string(ls_cause_name(r[i].cause)));
        rc |= json_array_append_new(arr, o);
    }
    if (rc) {
        json_decref(root);
        return NULL;
    }
    return dump(root);
}

void ls_batch_release(struct ls_batch *b)
{
    free(b->readings);
    b->readings = NULL;
    b->count = 0;
}

int ls_batch_decode(const char *payload, size_t len, struct ls_batch *out, char *err, size_t errlen)
{
    struct derr e = {err, errlen};
    struct ls_batch b;
    json_t *root, *arr;
    const char *s;
    int rc, present;

    memset(&b, 0, sizeof(b));
    root = load(payload, len, &e, &rc);
    if (!root)
        return rc;
    rc = get_str(root, "gateway", &s, &e);
    if (rc)
        goto out;
    if (!ls_id_valid(s)) {
        rc = fail(&e, "field 'gateway' is not a valid id");
        goto out;
    }
    snprintf(b.gateway, sizeof(b.gateway), "%s", s);
    rc = get_int(root, "epoch", 1, 1, LS_JSON_INT_MAX, &b.epoch, &present, &e);
    if (rc)
        goto out;
    rc = get_int(root, "after", 0, 0, LS_JSON_INT_MAX, &b.after, &present, &e);
    if (rc)
        goto out;
    if (!present)
        b.after = -1;
    arr = json_object_get(root, "readings");
    if (!json_is_array(arr)) {
        rc = fail(&e, "field 'readings' must be an array");
        goto out;
    }
    if (json_array_size(arr) > LS_BATCH_MAX_READINGS) {
        rc = LS_ERR_TOOBIG;
        fail(&e, "batch of %zu readings exceeds %d", json_array_size(arr), LS_BATCH_MAX_READINGS);
        goto out;
    }
    b.count = json_array_size(arr);
    b.readings = calloc(b.count ? b.count : 1, sizeof(*b.readings));
    if (!b.readings) {
        rc = LS_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < b.count; i++) {
        struct ls_reading *r = &b.readings[i];
        json_t *o = json_array_get(arr, i);
        char sub[160];
        struct derr se = {sub, sizeof(sub)};

        sub[0] = '\0';
        if (!json_is_object(o)) {
            rc = fail(&e, "reading %zu is not an object", i);
            goto out;
        }
        rc = get_int(o, "seq", 1, 1, LS_JSON_INT_MAX, &r->seq, &present, &se);
        if (!rc)
            rc = get_str(o, "instrument", &s, &se);
        if (!rc && !ls_id_valid(s))
            rc = fail(&se, "field 'instrument' is not a valid id");
        if (!rc)
            snprintf(r->instrument, sizeof(r->instrument), "%s", s);
        if (!rc)
            rc = decode_fields(o, r, 1, &se);
        if (!rc)
            rc = get_str(o, "cause", &s, &se);
        if (!rc && ls_cause_parse(s, &r->cause))
            rc = fail(&se, "field 'cause' must be change, heartbeat or boot");
        if (!rc && i > 0 && r->seq <= b.readings[i - 1].seq)
            rc = fail(&se, "seq %lld does not increase", (long long)r->seq);
        if (!rc && i == 0 && b.after >= r->seq)
            rc = fail(&se, "seq %lld is not after 'after' (%lld)", (long long)r->seq,
                      (long long)b.after);
        if (rc) {
            fail(&e, "reading %zu: %s", i, sub);
            goto out;
        }
    }
    *out = b;
    b.readings = NULL;
out:
    free(b.readings);
    json_decref(root);
    return rc;
}

char *ls_ack_encode(const struct ls_ack *a)
{
    return dump(
        json_pack("{s:I, s:I}", "epoch", (json_int_t)a->epoch, "upto", (json_int_t)a->upto));
}

int ls_ack_decode(const char *payload, size_t len, struct ls_ack *out, char *err, size_t errlen)
{
    struct derr e = {err, errlen};
    struct ls_ack a;
    json_t *root;
    int rc, present;

    root = load(payload, len, &e, &rc);
    if (!root)
        return rc;
    rc = get_int(root, "epoch", 1, 1, LS_JSON_INT_MAX, &a.epoch, &present, &e);
    if (!rc)
        rc = get_int(root, "upto", 1, 0, LS_JSON_INT_MAX, &a.upto, &present, &e);
    json_decref(root);
    if (!rc)
        *out = a;
    return rc;
}

char *ls_status_encode(const struct ls_status *s)
{
    json_t *o = json_object(), *arr = json_array();
    int rc = 0;

    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return NULL;
    }
    rc |= json_object_set_new(o, "online", json_boolean(s->online));
    rc |= json_object_set_new(o, "version", json_string(s->version));
    for (size_t i = 0; i < s->instrument_count; i++)
        rc |= json_array_append_new(arr, json_string(s->instruments[i]));
    rc |= json_object_set_new(o, "instruments", arr);
    if (s->outbox >= 0)
        rc |= json_object_set_new(o, "outbox", json_integer(s->outbox));
    rc |= json_object_set_new(o, "outbox_full", json_boolean(s->outbox_full));
    if (s->interlock_count) {
        json_t *il = json_object();
        for (size_t i = 0; il && i < s->interlock_count; i++)
            rc |= json_object_set_new(il, s->interlock_ids[i], json_boolean(s->interlock_on[i]));
        rc |= il ? json_object_set_new(o, "interlock", il) : -1;
    }
    if (s->fault_count) {
        json_t *f = json_object();
        for (size_t i = 0; f && i < s->fault_count; i++)
            rc |= json_object_set_new(f, s->fault_ids[i], json_string(s->faults[i]));
        rc |= f ? json_object_set_new(o, "interlock_faults", f) : -1;
    }
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return dump(o);
}

void ls_status_release(struct ls_status *s)
{
    free(s->instruments);
    free(s->interlock_ids);
    free(s->interlock_on);
    free(s->fault_ids);
    free(s->faults);
    s->instruments = NULL;
    s->interlock_ids = NULL;
    s->interlock_on = NULL;
    s->fault_ids = NULL;
    s->faults = NULL;
    s->instrument_count = 0;
    s->interlock_count = 0;
    s->fault_count = 0;
}

/* A fault text as a gateway may send it: 1 .. LS_FAULT_MAX - 1 bytes of printable ASCII, so it
 * is safe in a log line, a CSV cell and the web UI. */
static int fault_text_valid(const char *t)
{
    size_t n = 0;

    for (; t[n]; n++)
        if ((unsigned char)t[n] < 0x20 || (unsigned char)t[n] > 0x7e)
            return 0;
    return n > 0 && n < LS_FAULT_MAX;
}

int ls_status_decode(const char *payload, size_t len, struct ls_status *out, char *err,
                     size_t errlen)
{
    struct derr e = {err, errlen};
    struct ls_status st;
    json_t *root, *v;
    int rc, present;

    memset(&st, 0, sizeof(st));
    st.outbox = -1;
    root = load(payload, len, &e, &rc);
    if (!root)
        return rc;
    v = json_object_get(root, "online");
    if (!json_is_boolean(v)) {
        rc = fail(&e, "field 'online' must be true or false");
        goto out;
    }
    st.online = json_is_true(v);
    v = json_object_get(root, "version");
    if (v && !json_is_string(v)) {
        rc = fail(&e, "field 'version' must be a string");
        goto out;
    }
    if (v)
        snprintf(st.version, sizeof(st.version), "%s", json_string_value(v));
    rc = get_int(root, "outbox", 0, 0, LS_JSON_INT_MAX, &st.outbox, &present, &e);
    if (rc)
        goto out;
    v = json_object_get(root, "outbox_full");
    if (v && !json_is_boolean(v)) {
        rc = fail(&e, "field 'outbox_full' must be true or false");
        goto out;
    }
    st.outbox_full = v ? json_is_true(v) : 0;
    v = json_object_get(root, "instruments");
    if (v) {
        if (!json_is_array(v) || json_array_size(v) > 10000) {
            rc = fail(&e, "field 'instruments' must be an array of at most 10000 ids");
            goto out;
        }
        st.instrument_count = json_array_size(v);
        st.instruments =
            calloc(st.instrument_count ? st.instrument_count : 1, sizeof(*st.instruments));
        if (!st.instruments) {
            rc = LS_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < st.instrument_count; i++) {
            const char *id = json_string_value(json_array_get(v, i));
            if (!id || !ls_id_valid(id)) {
                rc = fail(&e, "instruments[%zu] is not a valid id", i);
                goto out;
            }
            snprintf(st.instruments[i], LS_ID_MAX, "%s", id);
        }
    }
    v = json_object_get(root, "interlock");
    if (v) {
        const char *key;
        json_t *on;
        size_t k = 0;
        if (!json_is_object(v) || json_object_size(v) > 10000) {
            rc = fail(&e, "field 'interlock' must be an object of at most 10000 instruments");
            goto out;
        }
        st.interlock_ids = calloc(json_object_size(v) + 1, sizeof(*st.interlock_ids));
        st.interlock_on = calloc(json_object_size(v) + 1, sizeof(*st.interlock_on));
        if (!st.interlock_ids || !st.interlock_on) {
            rc = LS_ERR_NOMEM;
            goto out;
        }
        json_object_foreach(v, key, on)
        {
            if (!ls_id_valid(key) || !json_is_boolean(on)) {
                rc = fail(&e, "interlock: each entry must be an instrument id and true or false");
                goto out;
            }
            snprintf(st.interlock_ids[k], LS_ID_MAX, "%s", key);
            st.interlock_on[k++] = json_is_true(on);
        }
        st.interlock_count = k;
    }
    v = json_object_get(root, "interlock_faults");
    if (v) {
        const char *key;
        json_t *why;
        size_t k = 0;
        if (!json_is_object(v) || json_object_size(v) > 10000) {
            rc =
                fail(&e, "field 'interlock_faults' must be an object of at most 10000 instruments");
            goto out;
        }
        st.fault_ids = calloc(json_object_size(v) + 1, sizeof(*st.fault_ids));
        st.faults = calloc(json_object_size(v) + 1, sizeof(*st.faults));
        if (!st.fault_ids || !st.faults) {
            rc = LS_ERR_NOMEM;
            goto out;
        }
        json_object_foreach(v, key, why)
        {
            if (!ls_id_valid(key) || !json_is_string(why) ||
                !fault_text_valid(json_string_value(why))) {
                rc = fail(&e,
                          "interlock_faults: each entry must be an instrument id and a text of"
                          " 1 to %d printable ASCII characters",
                          LS_FAULT_MAX - 1);
                goto out;
            }
            snprintf(st.fault_ids[k], LS_ID_MAX, "%s", key);
            snprintf(st.faults[k++], LS_FAULT_MAX, "%s", json_string_value(why));
        }
        st.fault_count = k;
    }
    *out = st;
    st.instruments = NULL;
    st.interlock_ids = NULL;
    st.interlock_on = NULL;
    st.fault_ids = NULL;
    st.faults = NULL;
out:
    free(st.instruments);
    free(st.interlock_ids);
    free(st.interlock_on);
    free(st.fault_ids);
    free(st.faults);
    json_decref(root);
    return rc;
}
