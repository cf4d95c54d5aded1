#include "labshare/conf.h"

#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

int ls_conf_set(const struct ls_conf_key *k, void *base, const char *value, char *err,
                size_t errlen)
{
    char *dst = (char *)base + k->offset;
    char why[300];
    int iv;
    int64_t lv;
    double dv;

    switch (k->type) {
    case LS_CONF_STR:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "%s: value longer than %zu characters", k->name, k->size - 1);
            return LS_ERR_INVAL;
        }
        memcpy(dst, value, strlen(value) + 1);
        return LS_OK;
    case LS_CONF_INT:
        if (ls_parse_int(value, (int)k->min, (int)k->max, &iv))
            break;
        memcpy(dst, &iv, sizeof(iv));
        return LS_OK;
    case LS_CONF_I64:
        if (ls_parse_i64(value, (int64_t)k->min, (int64_t)k->max, &lv))
            break;
        memcpy(dst, &lv, sizeof(lv));
        return LS_OK;
    case LS_CONF_DOUBLE:
        if (ls_parse_double(value, k->min, k->max, &dv)) {
            snprintf(err, errlen, "%s: '%s' is not a number from %g to %g", k->name, value, k->min,
                     k->max);
            return LS_ERR_INVAL;
        }
        memcpy(dst, &dv, sizeof(dv));
        return LS_OK;
    case LS_CONF_CUSTOM:
        why[0] = '\0';
        if (k->custom && k->custom(k, base, value, why, sizeof(why)) == LS_OK)
            return LS_OK;
        snprintf(err, errlen, "%s: %s", k->name, why[0] ? why : "bad value");
        return LS_ERR_INVAL;
    }
    snprintf(err, errlen, "%s: '%s' is not a whole number from %.0f to %.0f", k->name, value,
             k->min, k->max);
    return LS_ERR_INVAL;
}

static int section_matches(const char *key_section, const char *section)
{
    size_t n = strlen(key_section);

    if (n && key_section[n - 1] == ':')
        return strncmp(key_section, section, n) == 0;
    return strcmp(key_section, section) == 0;
}

void ls_conf_defaults(const struct ls_conf_key *keys, size_t n, const char *section, void *base)
{
    char err[300];

    for (size_t i = 0; i < n; i++)
        if (keys[i].def && strcmp(keys[i].section, section) == 0)
            ls_conf_set(&keys[i], base, keys[i].def, err, sizeof(err));
}

const struct ls_conf_key *ls_conf_find(const struct ls_conf_key *keys, size_t n,
                                       const char *section, const char *name, int *known_section)
{
    *known_section = 0;
    for (size_t i = 0; i < n; i++) {
        if (!section_matches(keys[i].section, section))
            continue;
        *known_section = 1;
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}

int ls_conf_check_table(const struct ls_conf_key *keys, size_t n, size_t base_size)
{
    char err[300];
    void *scratch = calloc(1, base_size);
    int bad = 0;

    if (!scratch)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const struct ls_conf_key *k = &keys[i];
        memset(scratch, 0, base_size);
        if (k->def && ls_conf_set(k, scratch, k->def, err, sizeof(err))) {
            fprintf(stderr, "[%s] %s: default does not parse: %s\n", k->section, k->name, err);
            bad++;
        }
        if (k->type != LS_CONF_STR && k->type != LS_CONF_CUSTOM && k->min > k->max) {
            fprintf(stderr, "[%s] %s: bounds are reversed\n", k->section, k->name);
            bad++;
        }
        if (k->type == LS_CONF_CUSTOM && !k->custom) {
            fprintf(stderr, "[%s] %s: custom key without a parser\n", k->section, k->name);
            bad++;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(keys[j].section, k->section) == 0 && strcmp(keys[j].name, k->name) == 0) {
                fprintf(stderr, "[%s] %s: listed twice\n", k->section, k->name);
                bad++;
            }
        }
    }
    free(scratch);
    return bad;
}

int ls_conf_parse_file(const char *path,
                       int (*handler)(void *, const char *, const char *, const char *), void *user,
                       const char *first_error, char *err, size_t errlen)
{
    int line = ini_parse(path, handler, user);

    if (line == -1) {
        snprintf(err, errlen, "%s: cannot open the file", path);
        return LS_ERR_IO;
    }
    if (line == -2) {
        snprintf(err, errlen, "%s: out of memory", path);
        return LS_ERR_NOMEM;
    }
    if (line != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, line,
                 first_error[0] ? first_error : "syntax error (expected [section] or key = value)");
        return LS_ERR_INVAL;
    }
    return LS_OK;
}
