#include "fleet.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/num.h"
#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* Instruments in one fleet: enough for the 500-device benchmark with room to spare. */
#define FLEET_MAX 5000

void sim_spec_init(struct sim_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->profile = METER_LABSHARE;
    s->unit = LS_UNIT_DEFAULT;
    s->seed = 1;
    s->interval_s = 60;
    s->baud = 9600;
    s->parity = 'N';
}

static int set_key(struct sim_spec *s, const char *key, const char *val, const char *dir, char *why,
                   size_t len)
{
    if (strcmp(key, "profile") == 0) {
        if (strcmp(val, "labshare") == 0)
            s->profile = METER_LABSHARE;
        else if (strcmp(val, "power-meter") == 0)
            s->profile = METER_POWER;
        else
            goto bad;
    } else if (strcmp(key, "scenario") == 0) {
        if (val[0] == '/' || !dir)
            snprintf(s->scenario, sizeof(s->scenario), "%s", val);
        else
            snprintf(s->scenario, sizeof(s->scenario), "%s/%s", dir, val);
    } else if (strcmp(key, "seed") == 0) {
        if (ls_parse_u64(val, 0, UINT64_MAX, &s->seed))
            goto bad;
    } else if (strcmp(key, "loop") == 0) {
        if (ls_parse_bool(val, &s->loop))
            goto bad;
    } else if (strcmp(key, "unit") == 0) {
        if (ls_parse_int(val, 1, 247, &s->unit))
            goto bad;
    } else if (strcmp(key, "word_order") == 0) {
        if (ls_word_order_parse(val, &s->word_order))
            goto bad;
        s->word_order_set = 1;
    } else if (strcmp(key, "topic") == 0) {
        if (strlen(val) >= sizeof(s->topic) || strpbrk(val, "+#"))
            goto bad;
        snprintf(s->topic, sizeof(s->topic), "%s", val);
    } else if (strcmp(key, "interval") == 0) {
        if (ls_parse_int(val, 1, 86400, &s->interval_s))
            goto bad;
    } else if (strcmp(key, "baud") == 0) {
        if (ls_parse_int(val, 300, 4000000, &s->baud))
            goto bad;
    } else if (strcmp(key, "parity") == 0) {
        if (strcmp(val, "N") && strcmp(val, "E") && strcmp(val, "O"))
            goto bad;
        s->parity = val[0];
    } else {
        snprintf(why, len,
                 "unknown key '%s' (profile, scenario, seed, loop, unit, word_order, topic, "
                 "interval, baud, parity)",
                 key);
        return LS_ERR_INVAL;
    }
    return LS_OK;
bad:
    snprintf(why, len, "bad value '%s' for %s", val, key);
    return LS_ERR_INVAL;
}

static int parse_line(char *line, struct sim_spec *s, const char *dir, char *why, size_t len)
{
    char *save = NULL, *id, *transport, *address, *tok;
    char host[256];
    int port;

    id = strtok_r(line, " \t\r", &save);
    transport = strtok_r(NULL, " \t\r", &save);
    address = strtok_r(NULL, " \t\r", &save);
    if (!address) {
        snprintf(why, len, "expected '<id> <tcp|rtu|mqtt> <address> [key=value ...]'");
        return LS_ERR_INVAL;
    }
    if (!ls_id_valid(id)) {
        snprintf(why, len, "'%s' is not a valid instrument id", id);
        return LS_ERR_INVAL;
    }
    snprintf(s->id, sizeof(s->id), "%s", id);
    if (strcmp(transport, "tcp") == 0)
        s->transport = SIM_TCP;
    else if (strcmp(transport, "rtu") == 0)
        s->transport = SIM_RTU;
    else if (strcmp(transport, "mqtt") == 0)
        s->transport = SIM_MQTT;
    else {
        snprintf(why, len, "transport must be tcp, rtu or mqtt, not '%s'", transport);
        return LS_ERR_INVAL;
    }
    if (s->transport != SIM_RTU && ls_parse_hostport(address, host, sizeof(host), &port)) {
        snprintf(why, len, "'%s' is not host:port", address);
        return LS_ERR_INVAL;
    }
    if (strlen(address) >= sizeof(s->address)) {
        snprintf(why, len, "address too long");
        return LS_ERR_INVAL;
    }
    snprintf(s->address, sizeof(s->address), "%s", address);
    while ((tok = strtok_r(NULL, " \t\r", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok) {
            snprintf(why, len, "'%s' is not key=value", tok);
            return LS_ERR_INVAL;
        }
        *eq = '\0';
        if (set_key(s, tok, eq + 1, dir, why, len))
            return LS_ERR_INVAL;
    }
    return LS_OK;
}

int fleet_load(const char *path, struct sim_spec **specs, size_t *n, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[2048], why[300], dirbuf[512], *dir;
    struct sim_spec *out = NULL;
    size_t count = 0, cap = 0;
    int lineno = 0;

    *specs = NULL;
    *n = 0;
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return LS_ERR_IO;
    }
    snprintf(dirbuf, sizeof(dirbuf), "%s", path);
    dir = dirname(dirbuf);
    while (fgets(line, sizeof(line), f)) {
        char *hash = strchr(line, '#'), *p = line;
        struct sim_spec s;

        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            goto fail;
        }
        if (hash)
            *hash = '\0';
        line[strcspn(line, "\n")] = '\0';
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (!*p)
            continue;
        sim_spec_init(&s);
        s.line = lineno;
        if (parse_line(p, &s, dir, why, sizeof(why))) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            goto fail;
        }
        for (size_t i = 0; i < count; i++) {
            if (strcmp(out[i].id, s.id) == 0) {
                snprintf(err, errlen, "%s:%d: instrument '%s' already on line %d", path, lineno,
                         s.id, out[i].line);
                goto fail;
            }
            if (s.transport != SIM_MQTT && out[i].transport == s.transport &&
                strcmp(out[i].address, s.address) == 0 && out[i].unit == s.unit) {
                snprintf(err, errlen, "%s:%d: unit %d at %s is taken by '%s' (line %d)", path,
                         lineno, s.unit, s.address, out[i].id, out[i].line);
                goto fail;
            }
        }
        if (count == FLEET_MAX) {
            snprintf(err, errlen, "%s:%d: more than %d instruments", path, lineno, FLEET_MAX);
            goto fail;
        }
        if (LS_GROW(out, cap, count + 1)) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto fail;
        }
        out[count++] = s;
    }
    fclose(f);
    if (count == 0) {
        snprintf(err, errlen, "%s: no instruments", path);
        free(out);
        return LS_ERR_INVAL;
    }
    *specs = out;
    *n = count;
    return LS_OK;
fail:
    fclose(f);
    free(out);
    return LS_ERR_INVAL;
}

int sim_instrument_init(struct sim_instrument *in, const struct sim_spec *s, int64_t now_ms,
                        char *err, size_t errlen)
{
    int rc;

    memset(in, 0, sizeof(*in));
    meter_init(&in->meter, s->id, now_ms);
    in->meter.profile = s->profile;
    /* A power meter's floats come low word first unless told otherwise, as with many DIN-rail
     * meters; the LabShare map is high word first. */
    in->meter.word_order = s->word_order_set
                               ? s->word_order
                               : (s->profile == METER_POWER ? LS_WORD_LITTLE : LS_WORD_BIG);
    in->transport = s->transport;
    snprintf(in->address, sizeof(in->address), "%s", s->address);
    in->unit = s->unit;
    in->interval_s = s->interval_s;
    if (s->topic[0])
        snprintf(in->topic, sizeof(in->topic), "%s", s->topic);
    else
        ls_topic_meter(in->topic, sizeof(in->topic), s->id);
    if (s->scenario[0]) {
        rc = scenario_load(s->scenario, &in->scenario, err, errlen);
        if (rc)
            return rc;
        in->scenario.loop = s->loop;
        in->has_scenario = 1;
        scenario_start(&in->scenario, now_ms);
    } else {
        duty_init(&in->duty, s->seed, now_ms);
    }
    return LS_OK;
}

void sim_instrument_release(struct sim_instrument *in)
{
    scenario_release(&in->scenario);
    if (in->map)
        modbus_mapping_free(in->map);
    in->map = NULL;
}
