#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/conf.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Custom value types of the gateway's table. */
static int parse_id(const struct ls_conf_key *k, void *base, const char *value, char *err,
                    size_t errlen)
{
    if (!ls_id_valid(value)) {
        snprintf(err, errlen, "'%s' is not a valid id (1-63 of A-Z a-z 0-9 . _ -)", value);
        return LS_ERR_INVAL;
    }
    snprintf((char *)base + k->offset, k->size, "%s", value);
    return LS_OK;
}

static int parse_tcp(const struct ls_conf_key *k, void *base, const char *value, char *err,
                     size_t errlen)
{
    struct gw_device *d = base;

    (void)k;
    if (ls_parse_hostport(value, d->host, sizeof(d->host), &d->port)) {
        snprintf(err, errlen, "'%s' is not host:port", value);
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

static int parse_order(const struct ls_conf_key *k, void *base, const char *value, char *err,
                       size_t errlen)
{
    enum ls_word_order o;

    if (ls_word_order_parse(value, &o)) {
        snprintf(err, errlen, "'%s' is not big or little", value);
        return LS_ERR_INVAL;
    }
    memcpy((char *)base + k->offset, &o, sizeof(o));
    return LS_OK;
}

static int parse_parity(const struct ls_conf_key *k, void *base, const char *value, char *err,
                        size_t errlen)
{
    if (strcmp(value, "N") && strcmp(value, "E") && strcmp(value, "O")) {
        snprintf(err, errlen, "'%s' is not N, E or O", value);
        return LS_ERR_INVAL;
    }
    snprintf((char *)base + k->offset, k->size, "%s", value);
    return LS_OK;
}

/* The interlock relay: "co:N" (a coil), "hr:N" (a holding register, 1 = enabled) or "none". */
static int parse_relay(const struct ls_conf_key *k, void *base, const char *value, char *err,
                       size_t errlen)
{
    struct gw_device *d = base;
    int addr = 0;

    (void)k;
    d->relay_none = strcmp(value, "none") == 0;
    if (d->relay_none)
        return LS_OK;
    if ((strncmp(value, "co:", 3) && strncmp(value, "hr:", 3)) ||
        ls_parse_int(value + 3, 0, 65535, &addr)) {
        snprintf(err, errlen,
                 "'%s' is not co:N (a coil), hr:N (a holding register) or none, N from 0 to 65535",
                 value);
        return LS_ERR_INVAL;
    }
    d->relay_table = value[0] == 'c' ? LS_TABLE_CO : LS_TABLE_HR;
    d->relay_addr = addr;
    return LS_OK;
}

/* A field spec; the key's size member holds the enum gw_field. */
static int parse_field(const struct ls_conf_key *k, void *base, const char *value, char *err,
                       size_t errlen)
{
    struct gw_device *d = base;

    if (ls_field_spec_parse(value, &d->fields[k->size], err, errlen))
        return LS_ERR_INVAL;
    d->field_present[k->size] = 1;
    return LS_OK;
}

#define CFG(m) LS_CONF_AT(struct gw_config, m)
#define DEV(m) LS_CONF_AT(struct gw_device, m)
#define FIELD(name, f)                                                                             \
    {                                                                                              \
        "modbus:", name, LS_CONF_CUSTOM, 0, f, 0, 0, NULL, parse_field                             \
    }

/* Sections: "gateway" and "uplink" fill struct gw_config; "modbus:<id>" and "mqtt:<id>" each
 * fill one struct gw_device. */
static const struct ls_conf_key keys[] = {
    {"gateway", "id", LS_CONF_CUSTOM, CFG(id), 0, 0, NULL, parse_id},
    {"gateway", "outbox", LS_CONF_STR, CFG(outbox), 0, 0, NULL, NULL},
    /* A heartbeat proves the meter is alive; more than a day apart would hide outages. */
    {"gateway", "heartbeat_s", LS_CONF_INT, CFG(heartbeat_s), 1, 86400, "60", NULL},
    {"gateway", "batch_max", LS_CONF_INT, CFG(batch_max), 1, LS_BATCH_MAX_READINGS, "100", NULL},
    {"gateway", "ack_timeout_s", LS_CONF_INT, CFG(ack_timeout_s), 1, 3600, "30", NULL},
    /* 10 million rows is about a year of 500 instruments changing every 30 minutes. */
    {"gateway", "outbox_max_rows", LS_CONF_I64, CFG(outbox_max_rows), 100, 1e9, "10000000", NULL},
    {"uplink", "host", LS_CONF_STR, CFG(host), 0, 0, NULL, NULL},
    {"uplink", "port", LS_CONF_INT, CFG(port), 1, 65535, "1883", NULL},
    {"uplink", "username", LS_CONF_STR, CFG(username), 0, 0, "", NULL},
    {"uplink", "password", LS_CONF_STR, CFG(password), 0, 0, "", NULL},
    {"uplink", "cafile", LS_CONF_STR, CFG(cafile), 0, 0, "", NULL},
    {"uplink", "certfile", LS_CONF_STR, CFG(certfile), 0, 0, "", NULL},
    {"uplink", "keyfile", LS_CONF_STR, CFG(keyfile), 0, 0, "", NULL},
    {"modbus:", "tcp", LS_CONF_CUSTOM, DEV(host), 0, 0, NULL, parse_tcp},
    {"modbus:", "rtu", LS_CONF_STR, DEV(rtu), 0, 0, NULL, NULL},
    {"modbus:", "baud", LS_CONF_INT, DEV(baud), 300, 4000000, "9600", NULL},
    {"modbus:", "parity", LS_CONF_CUSTOM, DEV(parity), 0, 0, "N", parse_parity},
    {"modbus:", "unit", LS_CONF_INT, DEV(unit), 0, 255, "1", NULL},
    /* Faster than 50 ms would flood a serial bus; slower than an hour misses whole sessions. */
    {"modbus:", "poll_ms", LS_CONF_INT, DEV(poll_ms), 50, 3600000, "1000", NULL},
    {"modbus:", "timeout_ms", LS_CONF_INT, DEV(timeout_ms), 10, 60000, "500", NULL},
    {"modbus:", "word_order", LS_CONF_CUSTOM, DEV(word_order), 0, 0, "big", parse_order},
    /* SPEC 2: coil 0 is the interlock relay */
    {"modbus:", "relay", LS_CONF_CUSTOM, DEV(relay_addr), 0, 0, "co:0", parse_relay},
    FIELD("state", GW_F_STATE),
    FIELD("run_seconds", GW_F_RUN_SECONDS),
    FIELD("energy_wh", GW_F_ENERGY_WH),
    FIELD("power_w", GW_F_POWER_W),
    FIELD("samples", GW_F_SAMPLES),
    FIELD("badge", GW_F_BADGE),
    {"modbus:", "start_w", LS_CONF_DOUBLE, DEV(start_w), 0, 1e9, "0", NULL},
    {"modbus:", "stop_w", LS_CONF_DOUBLE, DEV(stop_w), 0, 1e9, "0", NULL},
    {"modbus:", "min_on_s", LS_CONF_INT, DEV(min_on_s), 0, 86400, "0", NULL},
    {"modbus:", "min_off_s", LS_CONF_INT, DEV(min_off_s), 0, 86400, "0", NULL},
    {"mqtt:", "host", LS_CONF_STR, DEV(host), 0, 0, "127.0.0.1", NULL},
    {"mqtt:", "port", LS_CONF_INT, DEV(port), 1, 65535, "1883", NULL},
    {"mqtt:", "topic", LS_CONF_STR, DEV(topic), 0, 0, "", NULL},
    {"mqtt:", "username", LS_CONF_STR, DEV(username), 0, 0, "", NULL},
    {"mqtt:", "password", LS_CONF_STR, DEV(password), 0, 0, "", NULL},
    {"mqtt:", "cafile", LS_CONF_STR, DEV(cafile), 0, 0, "", NULL},
    {"mqtt:", "certfile", LS_CONF_STR, DEV(certfile), 0, 0, "", NULL},
    {"mqtt:", "keyfile", LS_CONF_STR, DEV(keyfile), 0, 0, "", NULL},
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

struct parse_state {
    struct gw_config *cfg;
    char err[512]; /* the first error; inih reports its line */
    char last_section[GW_STR_MAX];
    struct gw_device *cur; /* device of the current section */
};

/* A new device for section [<prefix><id>]. */
static struct gw_device *add_device(struct parse_state *ps, const char *section, const char *id)
{
    struct gw_config *cfg = ps->cfg;
    struct gw_device *nd;
    char prefix[8];

    if (!ls_id_valid(id)) {
        snprintf(ps->err, sizeof(ps->err), "[%.100s]: '%.64s' is not a valid instrument id",
                 section, id);
        return NULL;
    }
    for (size_t i = 0; i < cfg->device_count; i++) {
        if (strcmp(cfg->devices[i].id, id) == 0) {
            snprintf(ps->err, sizeof(ps->err), "instrument '%s' is configured twice", id);
            return NULL;
        }
    }
    if (cfg->device_count >= GW_MAX_DEVICES) {
        snprintf(ps->err, sizeof(ps->err), "more than %d devices", GW_MAX_DEVICES);
        return NULL;
    }
    nd = realloc(cfg->devices, (cfg->device_count + 1) * sizeof(*nd));
    if (!nd) {
        snprintf(ps->err, sizeof(ps->err), "out of memory");
        return NULL;
    }
    cfg->devices = nd;
    nd = &nd[cfg->device_count++];
    memset(nd, 0, sizeof(*nd));
    snprintf(nd->id, sizeof(nd->id), "%s", id);
    nd->kind = section[1] == 'q' ? GW_DEV_MQTT : GW_DEV_MODBUS_TCP; /* "mqtt:" or "modbus:" */
    snprintf(prefix, sizeof(prefix), "%.*s", (int)(id - section), section);
    ls_conf_defaults(keys, NKEYS, prefix, nd);
    return nd;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *ps = user;
    struct gw_config *cfg = ps->cfg;
    const struct ls_conf_key *k;
    const char *id = NULL;
    int known, new_section = strcmp(section, ps->last_section) != 0;
    uint64_t *seen, bit;
    void *base;
    char why[400];

    if (ps->err[0])
        return 0; /* keep only the first error: inih reports its line */
    k = ls_conf_find(keys, NKEYS, section, name, &known);
    if (!known) {
        snprintf(ps->err, sizeof(ps->err),
                 "unknown section [%.100s] (gateway, uplink, modbus:<id>, mqtt:<id>)", section);
        return 0;
    }
    if (strncmp(section, "modbus:", 7) == 0)
        id = section + 7;
    else if (strncmp(section, "mqtt:", 5) == 0)
        id = section + 5;
    if (id && new_section) {
        ps->cur = add_device(ps, section, id);
        if (!ps->cur)
            return 0;
    } else if (!id && new_section) {
        /* [gateway] and [uplink] may appear once each */
        bit = strcmp(section, "gateway") == 0 ? 1ull << 62 : 1ull << 63;
        if (cfg->seen & bit) {
            snprintf(ps->err, sizeof(ps->err), "section [%s] appears twice", section);
            return 0;
        }
        cfg->seen |= bit;
    }
    snprintf(ps->last_section, sizeof(ps->last_section), "%s", section);
    if (!k) {
        snprintf(ps->err, sizeof(ps->err), "[%.100s] unknown key '%.64s'", section, name);
        return 0;
    }
    base = id ? (void *)ps->cur : (void *)cfg;
    seen = id ? &ps->cur->seen : &cfg->seen;
    bit = 1ull << (k - keys);
    if (*seen & bit) {
        snprintf(ps->err, sizeof(ps->err), "[%.100s] %s given twice", section, name);
        return 0;
    }
    *seen |= bit;
    if (ls_conf_set(k, base, value, why, sizeof(why))) {
        snprintf(ps->err, sizeof(ps->err), "[%.100s] %s", section, why);
        return 0;
    }
    return 1;
}

static int key_seen(uint64_t seen, const char *section, const char *name)
{
    int known;
    const struct ls_conf_key *k = ls_conf_find(keys, NKEYS, section, name, &known);

    return k ? (int)((seen >> (k - keys)) & 1) : 0;
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
    if (cfg->password[0] && !cfg->username[0]) {
        snprintf(why, len, "[uplink] password needs a username");
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
            if ((d->certfile[0] != 0) != (d->keyfile[0] != 0)) {
                snprintf(why, len, "[mqtt:%s] certfile and keyfile go together", d->id);
                return LS_ERR_INVAL;
            }
            if (d->password[0] && !d->username[0]) {
                snprintf(why, len, "[mqtt:%s] password needs a username", d->id);
                return LS_ERR_INVAL;
            }
            if (strpbrk(d->topic, "+#")) {
                snprintf(why, len, "[mqtt:%s] topic '%s' has a wildcard: name one instrument's",
                         d->id, d->topic);
                return LS_ERR_INVAL;
            }
            for (size_t k = 0; k < i; k++) {
                if (cfg->devices[k].kind == GW_DEV_MQTT &&
                    strcmp(cfg->devices[k].topic, d->topic) == 0 &&
                    strcmp(cfg->devices[k].host, d->host) == 0 && cfg->devices[k].port == d->port) {
                    snprintf(why, len, "[mqtt:%s] topic '%s' is already read for '%s'", d->id,
                             d->topic, cfg->devices[k].id);
                    return LS_ERR_INVAL;
                }
            }
            continue;
        }
        has_tcp = key_seen(d->seen, "modbus:", "tcp");
        has_rtu = key_seen(d->seen, "modbus:", "rtu");
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
    if (gw_config_connections(cfg, 0) > GW_MAX_CONNECTIONS) {
        snprintf(why, len,
                 "the devices need %zu connections to RTU buses and MQTT brokers; at most %d fit "
                 "below the select() limit of 1024 descriptors that libmodbus and libmosquitto "
                 "wait with: split them over several gateways (Modbus TCP endpoints do not count)",
                 gw_config_connections(cfg, 0), GW_MAX_CONNECTIONS);
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

size_t gw_config_connections(const struct gw_config *cfg, int tcp)
{
    size_t n = 0;

    for (size_t i = 0; i < cfg->device_count; i++) {
        const struct gw_device *d = &cfg->devices[i];
        int seen = 0;
        if (!tcp && d->kind == GW_DEV_MODBUS_TCP)
            continue;
        for (size_t k = 0; k < i && !seen; k++)
            seen = gw_same_endpoint(&cfg->devices[k], d);
        n += !seen;
    }
    return n;
}

int gw_same_endpoint(const struct gw_device *a, const struct gw_device *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == GW_DEV_MODBUS_RTU)
        return strcmp(a->rtu, b->rtu) == 0;
    /* one connection per broker and account: devices with other credentials get their own */
    return a->port == b->port && strcmp(a->host, b->host) == 0 &&
           (a->kind != GW_DEV_MQTT ||
            (strcmp(a->username, b->username) == 0 && strcmp(a->password, b->password) == 0 &&
             strcmp(a->cafile, b->cafile) == 0 && strcmp(a->certfile, b->certfile) == 0 &&
             strcmp(a->keyfile, b->keyfile) == 0));
}

int gw_config_load(const char *path, struct gw_config *cfg, char *err, size_t errlen)
{
    struct parse_state ps;
    char why[512];
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    memset(&ps, 0, sizeof(ps));
    ps.cfg = cfg;
    ls_conf_defaults(keys, NKEYS, "gateway", cfg);
    ls_conf_defaults(keys, NKEYS, "uplink", cfg);
    rc = ls_conf_parse_file(path, handler, &ps, ps.err, err, errlen);
    if (rc)
        return rc;
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

int gw_config_check_table(void)
{
    size_t size = sizeof(struct gw_config) > sizeof(struct gw_device) ? sizeof(struct gw_config)
                                                                      : sizeof(struct gw_device);
    int bad = ls_conf_check_table(keys, NKEYS, size);

    /* The 'seen' bit sets use bits 0..61 for keys, 62 and 63 for sections. */
    if (NKEYS > 62) {
        fprintf(stderr, "too many keys for the 'seen' bit set\n");
        bad++;
    }
    return bad;
}
