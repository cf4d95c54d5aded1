#include "config.h"

#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

enum ktype { K_STR, K_INT, K_I64, K_DOUBLE, K_HOSTPORT };

struct key {
    const char *section, *name;
    enum ktype type;
    size_t offset, size;
    double min, max;
    const char *def;
};

#define M(m) offsetof(struct srv_config, m), sizeof(((struct srv_config *)0)->m)

static const struct key keys[] = {
    {"server", "listen", K_HOSTPORT, M(listen_host), 0, 0, "127.0.0.1:8080"},
    {"server", "db", K_STR, M(db), 0, 0, "labshare.db"},
    {"server", "timezone", K_STR, M(timezone), 0, 0, "Asia/Shanghai"},
    {"server", "currency", K_STR, M(currency), 0, 0, "CNY"},
    /* Four HTTP threads keep two cores busy while some wait on SQLite's fsync. */
    {"server", "http_threads", K_INT, M(http_threads), 1, 64, "4"},
    {"mqtt", "host", K_STR, M(mqtt_host), 0, 0, "127.0.0.1"},
    {"mqtt", "port", K_INT, M(mqtt_port), 1, 65535, "1883"},
    {"mqtt", "username", K_STR, M(mqtt_username), 0, 0, ""},
    {"mqtt", "password", K_STR, M(mqtt_password), 0, 0, ""},
    {"mqtt", "cafile", K_STR, M(mqtt_cafile), 0, 0, ""},
    {"mqtt", "client_id", K_STR, M(mqtt_client_id), 0, 0, "labshare-server"},
    {"metrics", "merge_gap_s", K_INT, M(merge_gap_s), 0, 86400, "120"},
    {"metrics", "no_show_min_run_s", K_INT, M(no_show_min_run_s), 0, 86400, "300"},
    {"metrics", "idle_utilization", K_DOUBLE, M(idle_utilization), 0, 10, "0.1"},
    {"evaluation", "weight_operation", K_DOUBLE, M(weight_operation), 0, 100, "40"},
    {"evaluation", "weight_sharing", K_DOUBLE, M(weight_sharing), 0, 100, "40"},
    {"evaluation", "weight_service", K_DOUBLE, M(weight_service), 0, 100, "20"},
    {"evaluation", "target_utilization", K_DOUBLE, M(target_utilization), 0.001, 10, "1.0"},
    {"evaluation", "target_sharing", K_DOUBLE, M(target_sharing), 0.001, 1, "0.20"},
    {"evaluation", "grade_excellent", K_DOUBLE, M(grade_excellent), 0, 100, "90"},
    {"evaluation", "grade_good", K_DOUBLE, M(grade_good), 0, 100, "75"},
    {"evaluation", "grade_pass", K_DOUBLE, M(grade_pass), 0, 100, "60"},
    {"evaluation", "reward_excellent", K_I64, M(reward_excellent), 0, 1e12, "0"},
    {"evaluation", "reward_good", K_I64, M(reward_good), 0, 1e12, "0"},
    {"evaluation", "reward_pass", K_I64, M(reward_pass), 0, 1e12, "0"},
    {"evaluation", "reward_poor", K_I64, M(reward_poor), 0, 1e12, "0"},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int set_value(const struct key *k, struct srv_config *cfg, const char *value, char *err,
                     size_t errlen)
{
    char *dst = (char *)cfg + k->offset;
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
    case K_HOSTPORT:
        if (ls_parse_hostport(value, cfg->listen_host, sizeof(cfg->listen_host),
                              &cfg->listen_port)) {
            snprintf(err, errlen, "%s: '%s' is not host:port", k->name, value);
            return LS_ERR_INVAL;
        }
        return LS_OK;
    }
    return LS_ERR_INVAL;
}

struct parse_state {
    struct srv_config *cfg;
    char err[400];
};

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *ps = user;
    char why[300];
    int known_section = 0;

    if (ps->err[0])
        return 0;
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section) != 0)
            continue;
        known_section = 1;
        if (strcmp(keys[i].name, name) != 0)
            continue;
        if (ps->cfg->seen[i / 64] & (1ull << (i % 64))) {
            snprintf(ps->err, sizeof(ps->err), "[%s] %s given twice", section, name);
            return 0;
        }
        ps->cfg->seen[i / 64] |= 1ull << (i % 64);
        if (set_value(&keys[i], ps->cfg, value, why, sizeof(why))) {
            snprintf(ps->err, sizeof(ps->err), "[%s] %s", section, why);
            return 0;
        }
        return 1;
    }
    if (!known_section)
        snprintf(ps->err, sizeof(ps->err),
                 "unknown section [%.64s] (server, mqtt, metrics, evaluation)", section);
    else
        snprintf(ps->err, sizeof(ps->err), "[%s] unknown key '%.64s'", section, name);
    return 0;
}

int srv_config_load(const char *path, struct srv_config *cfg, char *err, size_t errlen)
{
    struct parse_state ps;
    int line;

    memset(cfg, 0, sizeof(*cfg));
    memset(&ps, 0, sizeof(ps));
    ps.cfg = cfg;
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].def)
            set_value(&keys[i], cfg, keys[i].def, ps.err, sizeof(ps.err));
    ps.err[0] = '\0';
    line = ini_parse(path, handler, &ps);
    if (line == -1) {
        snprintf(err, errlen, "%s: cannot open the file", path);
        return LS_ERR_IO;
    }
    if (line != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, line,
                 ps.err[0] ? ps.err : "syntax error (expected [section] or key = value)");
        return LS_ERR_INVAL;
    }
    if (!(cfg->grade_excellent >= cfg->grade_good && cfg->grade_good >= cfg->grade_pass)) {
        snprintf(err, errlen, "%s: [evaluation] grades must satisfy excellent >= good >= pass",
                 path);
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

int srv_config_check_table(void)
{
    struct srv_config cfg;
    char err[300];
    int bad = 0;

    if (NKEYS > 128)
        bad++;
    for (size_t i = 0; i < NKEYS; i++) {
        memset(&cfg, 0, sizeof(cfg));
        if (keys[i].def && set_value(&keys[i], &cfg, keys[i].def, err, sizeof(err))) {
            fprintf(stderr, "default of [%s] %s does not parse: %s\n", keys[i].section,
                    keys[i].name, err);
            bad++;
        }
        if (keys[i].min > keys[i].max) {
            fprintf(stderr, "bounds of [%s] %s are reversed\n", keys[i].section, keys[i].name);
            bad++;
        }
    }
    return bad;
}
