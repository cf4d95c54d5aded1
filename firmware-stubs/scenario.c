#include "scenario.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* A line longer than this is surely not a scenario step. */
#define LINE_MAX_LEN 1024
#define FILE_MAX (1024 * 1024)
/* About three years of steps; more is a mistake. */
#define SECONDS_MAX 1e8
#define SAMPLES_ANY (STEP_SAMPLES_SET | STEP_SAMPLES_ADD)

static int parse_value(struct step *st, const char *key, const char *op, const char *val, char *why,
                       size_t len)
{
    int64_t v;

    if (strcmp(op, "+=") == 0 && strcmp(key, "samples") != 0) {
        snprintf(why, len, "only samples can be added to (+=), not %s", key);
        return LS_ERR_INVAL;
    }
    if (strcmp(key, "state") == 0) {
        if (ls_state_parse(val, &st->state)) {
            snprintf(why, len, "state must be off, idle, running or fault, not '%s'", val);
            return LS_ERR_INVAL;
        }
        st->flags |= STEP_STATE;
    } else if (strcmp(key, "badge") == 0) {
        if (ls_parse_i64(val, 0, UINT32_MAX, &v)) {
            snprintf(why, len, "badge must be a whole number from 0 to 4294967295, not '%s'", val);
            return LS_ERR_INVAL;
        }
        st->badge = (uint32_t)v;
        st->flags |= STEP_BADGE;
    } else if (strcmp(key, "power_w") == 0) {
        if (ls_parse_double(val, 0, 1e7, &st->power_w)) {
            snprintf(why, len, "power_w must be a number of watts from 0 to 1e7, not '%s'", val);
            return LS_ERR_INVAL;
        }
        st->flags |= STEP_POWER;
    } else if (strcmp(key, "samples") == 0) {
        if (ls_parse_i64(val, 0, UINT32_MAX, &v)) {
            snprintf(why, len, "samples must be a whole number from 0 to 4294967295, not '%s'",
                     val);
            return LS_ERR_INVAL;
        }
        st->samples = (uint32_t)v;
        st->flags |= strcmp(op, "+=") == 0 ? STEP_SAMPLES_ADD : STEP_SAMPLES_SET;
    } else if (strcmp(key, "fault_code") == 0) {
        if (ls_parse_i64(val, 0, 65535, &v)) {
            snprintf(why, len, "fault_code must be a whole number from 0 to 65535, not '%s'", val);
            return LS_ERR_INVAL;
        }
        st->fault_code = (uint16_t)v;
        st->flags |= STEP_FAULT;
    } else if (strcmp(key, "reset") == 0) {
        if (strcmp(val, "counters") != 0) {
            snprintf(why, len, "reset takes only 'counters', not '%s'", val);
            return LS_ERR_INVAL;
        }
        st->flags |= STEP_RESET;
    } else {
        snprintf(why, len, "unknown field '%s' (state, badge, power_w, samples, fault_code, reset)",
                 key);
        return LS_ERR_INVAL;
    }
    return LS_OK;
}

/* Parse one line (without newline, comments stripped) into st. */
static int parse_line(char *line, struct step *st, int64_t prev_ms, char *why, size_t len)
{
    char *save = NULL, *tok;
    double secs;

    tok = strtok_r(line, " \t\r", &save);
    if (ls_parse_double(tok, 0, SECONDS_MAX, &secs)) {
        snprintf(why, len, "'%s' is not a time in seconds (0 or more)", tok);
        return LS_ERR_INVAL;
    }
    st->at_ms = llround(secs * 1000.0);
    if (st->at_ms < prev_ms) {
        snprintf(why, len, "time %s goes back (the previous step is at %.3f s)", tok,
                 (double)prev_ms / 1000.0);
        return LS_ERR_INVAL;
    }
    while ((tok = strtok_r(NULL, " \t\r", &save)) != NULL) {
        char *eq = strchr(tok, '='), *key = tok;
        const char *op = "=";
        unsigned before = st->flags, added;

        if (!eq || eq == tok || !eq[1]) {
            snprintf(why, len, "'%s' is not field=value", tok);
            return LS_ERR_INVAL;
        }
        *eq = '\0';
        if (eq > tok && eq[-1] == '+') {
            eq[-1] = '\0';
            op = "+=";
        }
        if (parse_value(st, key, op, eq + 1, why, len))
            return LS_ERR_INVAL;
        added = st->flags & ~before;
        if (!added || ((before & SAMPLES_ANY) && (added & SAMPLES_ANY))) {
            snprintf(why, len, "%s is given twice on one line", key);
            return LS_ERR_INVAL;
        }
    }
    return LS_OK;
}

int scenario_parse(const char *path, const char *text, struct scenario *sc, char *err,
                   size_t errlen)
{
    const char *p = text;
    int lineno = 0;
    int64_t prev_ms = 0;
    size_t cap = 0;
    char why[300];

    memset(sc, 0, sizeof(*sc));
    snprintf(sc->path, sizeof(sc->path), "%s", path);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[LINE_MAX_LEN + 1], *hash;
        struct step st;
        size_t k;

        lineno++;
        if (n > LINE_MAX_LEN) {
            snprintf(err, errlen, "%s:%d: line longer than %d characters", path, lineno,
                     LINE_MAX_LEN);
            goto fail;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (nl ? 1 : 0);
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        for (k = 0; line[k] == ' ' || line[k] == '\t' || line[k] == '\r'; k++)
            ;
        if (!line[k])
            continue;
        memset(&st, 0, sizeof(st));
        st.line = lineno;
        if (parse_line(line + k, &st, prev_ms, why, sizeof(why))) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            goto fail;
        }
        prev_ms = st.at_ms;
        if (LS_GROW(sc->steps, cap, sc->count + 1)) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto fail;
        }
        sc->steps[sc->count++] = st;
    }
    if (sc->count == 0) {
        snprintf(err, errlen, "%s: no steps (each line is '<seconds> <field>=<value> ...')", path);
        goto fail;
    }
    return LS_OK;
fail:
    scenario_release(sc);
    return LS_ERR_INVAL;
}

int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t n;
    int rc;

    memset(sc, 0, sizeof(*sc));
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return LS_ERR_IO;
    }
    text = malloc(FILE_MAX + 1);
    if (!text) {
        fclose(f);
        return LS_ERR_NOMEM;
    }
    n = fread(text, 1, FILE_MAX + 1, f);
    fclose(f);
    if (n > FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, FILE_MAX);
        free(text);
        return LS_ERR_TOOBIG;
    }
    text[n] = '\0';
    if (strlen(text) != n) {
        snprintf(err, errlen, "%s: contains a NUL byte: not a text file", path);
        free(text);
        return LS_ERR_INVAL;
    }
    rc = scenario_parse(path, text, sc, err, errlen);
    free(text);
    return rc;
}

void scenario_release(struct scenario *sc)
{
    free(sc->steps);
    sc->steps = NULL;
    sc->count = 0;
}

void scenario_start(struct scenario *sc, int64_t now_ms)
{
    sc->start_ms = now_ms;
    sc->next = 0;
}

int64_t scenario_next_ms(const struct scenario *sc)
{
    if (sc->next >= sc->count)
        return INT64_MAX;
    return sc->start_ms + sc->steps[sc->next].at_ms;
}

static void apply(struct scenario *sc, const struct step *st, struct meter *m, int64_t at)
{
    meter_advance(m, at);
    if (st->flags & STEP_RESET) {
        meter_reset_counters(m, at);
        ls_info("%s: factory reset of the counters (%s:%d)", m->id, sc->path, st->line);
    }
    if (st->flags & STEP_STATE) {
        if (meter_set_state(m, st->state, at) != LS_OK)
            ls_warn("%s: interlock open: ignoring state=running (%s:%d)", m->id, sc->path,
                    st->line);
    }
    if (st->flags & STEP_BADGE)
        m->badge = st->badge;
    if (st->flags & STEP_POWER)
        m->power_w = st->power_w;
    if (st->flags & STEP_SAMPLES_SET)
        m->samples = st->samples;
    if (st->flags & STEP_SAMPLES_ADD)
        m->samples += st->samples;
    if (st->flags & STEP_FAULT)
        m->fault_code = st->fault_code;
}

int scenario_step(struct scenario *sc, struct meter *m, int64_t now_ms)
{
    int applied = 0;

    for (;;) {
        int64_t at = scenario_next_ms(sc);
        if (at > now_ms)
            break;
        apply(sc, &sc->steps[sc->next], m, at);
        sc->next++;
        applied++;
        /* A pass ends at its last step; a loop whose length is 0 would spin: stop it. */
        if (sc->next == sc->count && sc->loop && sc->steps[sc->count - 1].at_ms > 0) {
            sc->start_ms += sc->steps[sc->count - 1].at_ms;
            sc->next = 0;
        }
    }
    return applied;
}
