#include "config.h"

#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Where a key lives. */
enum sec { SEC_GATEWAY = 0, SEC_UPLINK, SEC_MODBUS, SEC_MQTT };

enum ktype {
    K_STR,      /* copied into a char[size] */
    K_INT,      /* int in [min, max] */
    K_I64,      /* int64_t in [min, max] */
    K_DOUBLE,   /* double in [min, max] */
    K_ID,       /* a LabShare id */
    K_HOSTPORT, /* "host:port" into gw_device host and port */
    K_ORDER,    /* word order */
    K_PARITY,   /* N, E or O */
    K_FIELD     /* a field spec; size = enum gw_field */
};

struct key {
    enum sec sec;
    const char *name;
    enum ktype type;
    size_t offset; /* in struct gw_config (gateway, uplink) or struct gw_device */
    size_t size;
    double min, max;
    const char *def; /* default value as text, parsed like a value; NULL = none */
};

#define CFG(m) offsetof(struct gw_config, m), sizeof(((struct gw_config *)0)->m)
#define DEV(m) offsetof(struct gw_device, m), sizeof(((struct gw_device *)0)->m)

static const struct key keys[] = {
    {SEC_GATEWAY, "id", K_ID, CFG(id), 0, 0, NULL},
    {SEC_GATEWAY, "outbox", K_STR, CFG(outbox), 0, 0, NULL},
    /* A heartbeat proves the meter is alive; more than a day apart would hide outages. */
    {SEC_GATEWAY, "heartbeat_s", K_INT, CFG(heartbeat_s), 1, 86400, "60"},
    {SEC_GATEWAY, "batch_max", K_INT, CFG(batch_max), 1, LS_BATCH_MAX_READINGS, "100"},
    {SEC_GATEWAY, "ack_timeout_s", K_INT, CFG(ack_timeout_s), 1, 3600, "30"},
    /* 10 million rows is about a year of 500 instruments changing every 30 minutes. */
    {SEC_GATEWAY, "outbox_max_rows", K_I64, CFG(outbox_max_rows), 100, 1e9, "10000000"},
    {SEC_UPLINK, "host", K_STR, CFG(host), 0, 0, NULL},
    {SEC_UPLINK, "port", K_INT, CFG(port), 1, 65535, "1883"},
    {SEC_UPLINK, "username", K_STR, CFG(username), 0, 0, ""},
    {SEC_UPLINK, "password", K_STR, CFG(password), 0, 0, ""},
    {SEC_UPLINK, "cafile", K_STR, CFG(cafile), 0, 0, ""},
    {SEC_UPLINK, "certfile", K_STR, CFG(certfile), 0, 0, ""},
    {SEC_UPLINK, "keyfile", K_STR, CFG(keyfile), 0, 0, ""},
    {SEC_MODBUS, "tcp", K_HOSTPORT, DEV(tcp), 0, 0, NULL},
    {SEC_MODBUS, "rtu", K_STR, DEV(rtu), 0, 0, NULL},
    {SEC_MODBUS, "baud", K_INT, DEV(baud), 300, 4000000, "9600"},
    {SEC_MODBUS, "parity", K_PARITY, DEV(parity), 0, 0, "N"},
    {SEC_MODBUS, "unit", K_INT, DEV(unit), 0, 255, "1"},
    /* Faster than 50 ms would flood a serial bus; slower than an hour misses whole sessions. */
    {SEC_MODBUS, "poll_ms", K_INT, DEV(poll_ms), 50, 3600000, "1000"},
    {SEC_MODBUS, "timeout_ms", K_INT, DEV(timeout_ms), 10, 60000, "500"},
    {SEC_MODBUS, "word_order", K_ORDER, DEV(word_order), 0, 0, "big"},
    {SEC_MODBUS, "state", K_FIELD, offsetof(struct gw_device, fields), GW_F_STATE, 0, 0, NULL},
    {SEC_MODBUS, "run_seconds", K_FIELD, offsetof(struct gw_device, fields), GW_F_RUN_SECONDS, 0, 0,
     NULL},
    {SEC_MODBUS, "energy_wh", K_FIELD, offsetof(struct gw_device, fields), GW_F_ENERGY_WH, 0, 0,
     NULL},
    {SEC_MODBUS, "power_w", K_FIELD, offsetof(struct gw_device, fields), GW_F_POWER_W, 0, 0, NULL},
    {SEC_MODBUS, "samples", K_FIELD, offsetof(struct gw_device, fields), GW_F_SAMPLES, 0, 0, NULL},
    {SEC_MODBUS, "badge", K_FIELD, offsetof(struct gw_device, fields), GW_F_BADGE, 0, 0, NULL},
    {SEC_MODBUS, "start_w", K_DOUBLE, DEV(start_w), 0, 1e9, "0"},
    {SEC_MODBUS, "stop_w", K_DOUBLE, DEV(stop_w), 0, 1e9, "0"},
    {SEC_MODBUS, "min_on_s", K_INT, DEV(min_on_s), 0, 86400, "0"},
    {SEC_MODBUS, "min_off_s", K_INT, DEV(min_off_s), 0, 86400, "0"},
    {SEC_MQTT, "host", K_STR, DEV(host), 0, 0, "127.0.0.1"},
    {SEC_MQTT, "port", K_INT, DEV(port), 1, 65535, "1883"},
    {SEC_MQTT, "topic", K_STR, DEV(topic), 0, 0, ""},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const field_names[GW_FIELD_COUNT] = {"state",   "run_seconds", "energy_wh",
                                                        "power_w", "samples",     "badge"};

/* The LabShare meter map (SPEC section 2), used when a Modbus section names no field. */
static const char *const labshare_map[GW_FIELD_COUNT] = {"hr:0:u16",     "hr:1:u32", "hr:3:u32",
                                                         "hr:5:u32*0.1", "hr:7:u32", "hr:9:u32"};

const char *gw_field_name(enum gw_field f)
{
    return (unsigned)f < GW_FIELD_COUNT ? field_names[f] : "?";
}

/* Parse one value of key k into base (a struct gw_config or struct gw_device). */
static int set_value(const struct key *k, void *base, const char *value, char *err, size_t errlen)
{
    char *dst = (char *)base + k->offset;
    int iv;
    int64_t lv;
    double dv;

    switch (k->type) {
    case K_STR:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "%s: value longer than %zu characters", k->name, k->size - 1);
            return LS_ERR_INVAL;
        }
        memcpy(dst, value, strlen(value) + 1);
        return LS_OK;
    case K_ID:
        if (!ls_id_valid(value)) {
            snprintf(err, errlen, "%s: '%s' is not a valid id (1-63 of A-Z a-z 0-9 . _ -)", k->name,
                     value);
            return LS_ERR_INVAL;
        }
        snprintf(dst, k->size, "%s", value);
        return LS_OK;
    case K_INT:
        if (ls_parse_int(value, (int)k->min, (int)k->max, &iv)) {
            snprintf(err, errlen, "%s: '%s' is not a whole number from %.0f to %.0f", k->name,
                     value, k->min, k->max);
            return LS_ERR_INVAL;
        }
        memcpy(dst, &iv, sizeof(iv));
        return LS_OK;
    case K_I64:
        if (ls_parse_i64(value, (int64_t)k->min, (int64_t)k->max, &lv)) {
            snprintf(err, errlen, "%s: '%s' is not a whole number from %.0f to %.0f", k->name,
                     value, k->min, k->max);
            return LS_ERR_INVAL;
        }
        memcpy(dst, &lv, sizeof(lv));
        return LS_OK;
    case K_DOUBLE:
        if (ls_parse_double(value, k->min, k->max, &dv)) {
            snprintf(err, errlen, "%s: '%s' is not a number from %g to %g", k->name, value, k->min,
                     k->max);
            return LS_ERR_INVAL;
        }
        memcpy(dst, &dv, sizeof(dv));
        return LS_OK;
    case K_HOSTPORT: {
        struct gw_device *d = base;
        if (ls_parse_hostport(value, d->host, sizeof(d->host), &d->port)) {
            snprintf(err, errlen, "%s: '%s' is not host:port", k->name, value);
            return LS_ERR_INVAL;
        }
        snprintf(d->tcp, sizeof(d->tcp), "%s", value);
        return LS_OK;
    }
    case K_ORDER: {
        enum ls_word_order o;
        if (ls_word_order_parse(value, &o)) {
            snprintf(err, errlen, "%s: '%s' is not big or little", k->name, value);
            return LS_ERR_INVAL;
        }
        memcpy(dst, &o, sizeof(o));
        return LS_OK;
    }
    case K_PARITY:
        if (strcmp(value, "N") && strcmp(value, "E") && strcmp(value, "O")) {
            snprintf(err, errlen, "%s: '%s' is not N, E or O", k->name, value);
            return LS_ERR_INVAL;
        }
        snprintf(dst, k->size, "%s", value);
        return LS_OK;
    case K_FIELD: {
        struct gw_device *d = base;
        char why[128];
        if (ls_field_spec_parse(value, &d->fields[k->size], why, sizeof(why))) {
            snprintf(err, errlen, "%s: %s", k->name, why);
            return LS_ERR_INVAL;
        }
        d->field_present[k->size] = 1;
        return LS_OK;
    }
    }
    return LS_ERR_INVAL;
}

static void apply_defaults(enum sec sec, void *base)
{
    char err[160];

    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].sec == sec && keys[i].def)
            set_value(&keys[i], base, keys[i].def, err, sizeof(err));
}

struct parse_state {
    struct gw_config *cfg;
    char err[512]; /* the first error; inih reports its line */
    char last_section[GW_STR_MAX];
    struct gw_device *cur; /* device of the current section */
};

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *ps = user;
    struct gw_config *cfg = ps->cfg;
    enum sec sec;
    void *base;
    uint64_t *seen;
    const char *id = NULL;
    char why[400];

    if (ps->err[0])
        return 0; /* keep only the first error */
    if (strcmp(section, "gateway") == 0) {
        sec = SEC_GATEWAY;
    } else if (strcmp(section, "uplink") == 0) {
        sec = SEC_UPLINK;
    } else if (strncmp(section, "modbus:", 7) == 0) {
        sec = SEC_MODBUS;
        id = section + 7;
    } else if (strncmp(section, "mqtt:", 5) == 0) {
        sec = SEC_MQTT;
        id = section + 5;
    } else {
        snprintf(ps->err, sizeof(ps->err),
                 "unknown section [%.100s] (gateway, uplink, modbus:<id>, mqtt:<id>)", section);
        return 0;
    }
    if (id && strcmp(section, ps->last_section) != 0) {
        struct gw_device *nd;
        if (!ls_id_valid(id)) {
            snprintf(ps->err, sizeof(ps->err), "[%.100s]: '%.64s' is not a valid instrument id",
                     section, id);
            return 0;
        }
        for (size_t i = 0; i < cfg->device_count; i++) {
            if (strcmp(cfg->devices[i].id, id) == 0) {
                snprintf(ps->err, sizeof(ps->err), "instrument '%s' is configured twice", id);
                return 0;
            }
        }
        if (cfg->device_count >= 4096) {
            snprintf(ps->err, sizeof(ps->err), "more than 4096 devices");
            return 0;
        }
        nd = realloc(cfg->devices, (cfg->device_count + 1) * sizeof(*nd));
        if (!nd) {
            snprintf(ps->err, sizeof(ps->err), "out of memory");
            return 0;
        }
        cfg->devices = nd;
        ps->cur = &nd[cfg->device_count++];
        memset(ps->cur, 0, sizeof(*ps->cur));
        snprintf(ps->cur->id, sizeof(ps->cur->id), "%s", id);
        ps->cur->kind = sec == SEC_MQTT ? GW_DEV_MQTT : GW_DEV_MODBUS_TCP;
        apply_defaults(sec, ps->cur);
    } else if (!id && strcmp(section, ps->last_section) != 0 &&
               (cfg->seen & (sec == SEC_GATEWAY ? 1ull << 62 : 1ull << 63))) {
        snprintf(ps->err, sizeof(ps->err), "section [%s] appears twice", section);
        return 0;
    }
    snprintf(ps->last_section, sizeof(ps->last_section), "%s", section);
    if (!id)
        cfg->seen |= sec == SEC_GATEWAY ? 1ull << 62 : 1ull << 63;
    base = id ? (void *)ps->cur : (void *)cfg;
    seen = id ? &ps->cur->seen : &cfg->seen;
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].sec != sec || strcmp(keys[i].name, name) != 0)
            continue;
        if (*seen & (1ull << i)) {
            snprintf(ps->err, sizeof(ps->err), "[%.100s] %s given twice", section, name);
            return 0;
        }
        *seen |= 1ull << i;
        if (set_value(&keys[i], base, value, why, sizeof(why))) {
            snprintf(ps->err, sizeof(ps->err), "[%.100s] %s", section, why);
            return 0;
        }
        return 1;
    }
    snprintf(ps->err, sizeof(ps->err), "[%.100s] unknown key '%.64s'", section, name);
    return 0;
}

static int key_seen(uint64_t seen, enum sec sec, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].sec == sec && strcmp(keys[i].name, name) == 0)
            return (seen >> i) & 1;
    return 0;
}

/* Checks that need the whole file. */
static int validate(struct gw_config *cfg, char *why, size_t len)
{
    if (!cfg->id[0]) {
        snprintf(why, len, "[gateway] id is required");
        return LS_ERR_INVAL;
    }
    if (!cfg->outbox[0]) {
        snprintf(why, len, "[gateway] outbox (a SQLite file path) is required");
        return LS_ERR_INVAL;
    }
    if (!cfg->host[0]) {
        snprintf(why, len, "[uplink] host (the central MQTT broker) is required");
        return LS_ERR_INVAL;
    }
    if ((cfg->certfile[0] != 0) != (cfg->keyfile[0] != 0)) {
        snprintf(why, len, "[uplink] certfile and keyfile go together");
        return LS_ERR_INVAL;
    }
    if (cfg->device_count == 0) {
        snprintf(why, len, "no [modbus:<id>] or [mqtt:<id>] section: nothing to read");
        return LS_ERR_INVAL;
    }
    for (size_t i = 0; i < cfg->device_count; i++) {
        struct gw_device *d = &cfg->devices[i];
        int any = 0, has_tcp, has_rtu;

        if (d->kind == GW_DEV_MQTT) {
            if (!d->topic[0] && ls_topic_meter(d->topic, sizeof(d->topic), d->id)) {
                snprintf(why, len, "[mqtt:%s] topic too long", d->id);
                return LS_ERR_INVAL;
            }
            continue;
        }
        has_tcp = key_seen(d->seen, SEC_MODBUS, "tcp");
        has_rtu = key_seen(d->seen, SEC_MODBUS, "rtu");
        if (has_tcp == has_rtu) {
            snprintf(why, len, "[modbus:%s] needs exactly one of tcp = host:port or rtu = /dev/...",
                     d->id);
            return LS_ERR_INVAL;
        }
        d->kind = has_rtu ? GW_DEV_MODBUS_RTU : GW_DEV_MODBUS_TCP;
        if (d->timeout_ms > d->poll_ms) {
            snprintf(why, len, "[modbus:%s] timeout_ms (%d) longer than poll_ms (%d)", d->id,
                     d->timeout_ms, d->poll_ms);
            return LS_ERR_INVAL;
        }
        for (int f = 0; f < GW_FIELD_COUNT; f++)
            any |= d->field_present[f];
        if (!any) {
            for (int f = 0; f < GW_FIELD_COUNT; f++) {
                ls_field_spec_parse(labshare_map[f], &d->fields[f], NULL, 0);
                d->field_present[f] = 1;
            }
        }
        if (!d->field_present[GW_F_STATE]) {
            if (!d->field_present[GW_F_POWER_W] || d->start_w <= 0) {
                snprintf(why, len,
                         "[modbus:%s] no state field: give power_w and start_w (and stop_w) so "
                         "the state can be derived from power",
                         d->id);
                return LS_ERR_INVAL;
            }
            if (d->stop_w <= 0)
                d->stop_w = d->start_w;
            if (d->stop_w > d->start_w) {
                snprintf(why, len, "[modbus:%s] stop_w (%g) above start_w (%g)", d->id, d->stop_w,
                         d->start_w);
                return LS_ERR_INVAL;
            }
        }
    }
    return LS_OK;
}

int gw_config_load(const char *path, struct gw_config *cfg, char *err, size_t errlen)
{
    struct parse_state ps;
    char why[512];
    int line;

    memset(cfg, 0, sizeof(*cfg));
    memset(&ps, 0, sizeof(ps));
    ps.cfg = cfg;
    apply_defaults(SEC_GATEWAY, cfg);
    apply_defaults(SEC_UPLINK, cfg);
    line = ini_parse(path, handler, &ps);
    if (line == -1) {
        snprintf(err, errlen, "%s: cannot open the file", path);
        return LS_ERR_IO;
    }
    if (line == -2) {
        snprintf(err, errlen, "%s: out of memory", path);
        return LS_ERR_NOMEM;
    }
    if (line > 0) {
        snprintf(err, errlen, "%s:%d: %s", path, line,
                 ps.err[0] ? ps.err : "syntax error (expected [section] or key = value)");
        return LS_ERR_INVAL;
    }
    if (validate(cfg, why, sizeof(why))) {
        snprintf(err, errlen, "%s: %s", path, why);
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

void gw_config_release(struct gw_config *cfg)
{
    free(cfg->devices);
    cfg->devices = NULL;
    cfg->device_count = 0;
}

void gw_config_print_plan(const struct gw_config *cfg, FILE *f)
{
    fprintf(f, "gateway %s: outbox %s, uplink %s:%d, heartbeat %d s, batches of %d\n", cfg->id,
            cfg->outbox, cfg->host, cfg->port, cfg->heartbeat_s, cfg->batch_max);
    for (size_t i = 0; i < cfg->device_count; i++) {
        const struct gw_device *d = &cfg->devices[i];
        struct plan p;

        if (d->kind == GW_DEV_MQTT) {
            fprintf(f, "[mqtt:%s] broker %s:%d topic %s\n", d->id, d->host, d->port, d->topic);
            continue;
        }
        if (d->kind == GW_DEV_MODBUS_TCP)
            fprintf(f, "[modbus:%s] tcp %s:%d", d->id, d->host, d->port);
        else
            fprintf(f, "[modbus:%s] rtu %s %d %s", d->id, d->rtu, d->baud, d->parity);
        fprintf(f, " unit %d, poll %d ms, timeout %d ms, word order %s\n", d->unit, d->poll_ms,
                d->timeout_ms, ls_word_order_name(d->word_order));
        plan_build(d, &p);
        plan_print(&p, d, f);
        if (!d->field_present[GW_F_STATE])
            fprintf(f, "  state from power: start %g W, stop %g W, min on %d s, min off %d s\n",
                    d->start_w, d->stop_w, d->min_on_s, d->min_off_s);
    }
}

int gw_config_check_table(void)
{
    struct gw_config cfg;
    struct gw_device dev;
    char err[200];
    int bad = 0;

    for (size_t i = 0; i < NKEYS; i++) {
        void *base = keys[i].sec <= SEC_UPLINK ? (void *)&cfg : (void *)&dev;
        memset(&cfg, 0, sizeof(cfg));
        memset(&dev, 0, sizeof(dev));
        if (keys[i].def && set_value(&keys[i], base, keys[i].def, err, sizeof(err))) {
            fprintf(stderr, "default of %s does not parse: %s\n", keys[i].name, err);
            bad++;
        }
        if ((keys[i].type == K_INT || keys[i].type == K_I64 || keys[i].type == K_DOUBLE) &&
            keys[i].min > keys[i].max) {
            fprintf(stderr, "bounds of %s are reversed\n", keys[i].name);
            bad++;
        }
        if (i >= 62) {
            fprintf(stderr, "too many keys for the 'seen' bit set\n");
            bad++;
        }
    }
    return bad;
}
