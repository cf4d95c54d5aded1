#include "relay.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labshare/log.h"
#include "labshare/json_guard.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

#define RELAYS_MAX 1024

struct relay {
    char id[LS_ID_MAX];
    int controlled;     /* in the newest command */
    int was_controlled; /* ... and in the one before (while a command is applied) */
    int observe;        /* monitor: read back and reported, never written */
    int released;       /* no longer enforced: enabled once (the meter's default), then alone */
    int enable;
    int64_t end_ms, until_ms;
    int64_t booking;
    int actual; /* -1: not read back yet */
    /* A disable that arrived while the relay was enabled (not for an outage): a measurement the
     * gateway sees running may finish until this time (the until it was enabled with). The
     * server's view of the meter lags the gateway's; a run is never cut for that. */
    int64_t hold_until;
    char fault[LS_FAULT_MAX]; /* why the relay cannot be put right; "" when it can */
};

struct relays {
    pthread_mutex_t lock;
    char path[4096];
    int64_t version;
    struct relay r[RELAYS_MAX];
    size_t n;
    uint64_t changes; /* grows at each change of what relays_report() gives */
};

static struct relay *find(struct relays *rs, const char *id, int add)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].id, id) == 0)
            return &rs->r[i];
    if (!add || rs->n == RELAYS_MAX)
        return NULL;
    memset(&rs->r[rs->n], 0, sizeof(rs->r[rs->n]));
    snprintf(rs->r[rs->n].id, LS_ID_MAX, "%s", id);
    rs->r[rs->n].actual = -1;
    return &rs->r[rs->n++];
}

static int field_ms(const json_t *e, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(e, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* Parse and apply payload (rs->lock held). */
static int apply(struct relays *rs, const char *payload, size_t len, int check_version,
                 int64_t *version, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = ls_json_loadb(payload, len, JSON_REJECT_DUPLICATES, &je, NULL), *list, *e;
    int64_t v;
    size_t i;
    int rc = LS_ERR_INVAL;

    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "not a JSON object");
        goto out;
    }
    if (!json_is_integer(json_object_get(root, "version")) ||
        json_integer_value(json_object_get(root, "version")) < 1) {
        snprintf(err, errlen, "no version");
        goto out;
    }
    v = json_integer_value(json_object_get(root, "version"));
    list = json_object_get(root, "instruments");
    if (!json_is_array(list) || json_array_size(list) > RELAYS_MAX) {
        snprintf(err, errlen, "instruments must be an array of at most %d", RELAYS_MAX);
        goto out;
    }
    /* check everything before changing anything */
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "instrument"));
        const char *il = json_string_value(json_object_get(e, "interlock"));
        int64_t t;
        if (!id || !ls_id_valid(id) || !il ||
            (strcmp(il, "enable") && strcmp(il, "disable") && strcmp(il, "observe"))) {
            snprintf(err, errlen,
                     "instruments[%zu]: an instrument id and enable, disable or observe", i);
            goto out;
        }
        if (strcmp(il, "enable") == 0 && (field_ms(e, "until", &t) || field_ms(e, "end", &t))) {
            snprintf(err, errlen, "instruments[%zu]: an enable needs its end and until", i);
            goto out;
        }
    }
    if (check_version && v <= rs->version) {
        rc = LS_ERR_CONFLICT;
        snprintf(err, errlen, "version %lld is not newer than %lld", (long long)v,
                 (long long)rs->version);
        goto out;
    }
    for (size_t k = 0; k < rs->n; k++) {
        rs->r[k].was_controlled = rs->r[k].controlled && !rs->r[k].observe;
        rs->r[k].controlled = 0;
    }
    json_array_foreach(list, i, e)
    {
        struct relay *r = find(rs, json_string_value(json_object_get(e, "instrument")), 1);
        if (!r)
            continue;
        const char *il = json_string_value(json_object_get(e, "interlock"));
        const char *why = json_string_value(json_object_get(e, "reason"));
        int was_on = r->was_controlled && r->enable;
        int enable = strcmp(il, "enable") == 0;
        int outage = why && strcmp(why, "outage") == 0;

        r->controlled = 1;
        r->observe = strcmp(il, "observe") == 0;
        /* a disable (not an outage's) that finds the relay on holds a run until the old until;
         * an enable, an outage or monitoring ends any hold */
        if (enable || outage || r->observe)
            r->hold_until = 0;
        else if (was_on)
            r->hold_until = r->until_ms;
        r->released = r->observe && (r->released || r->was_controlled);
        r->enable = enable;
        r->end_ms = r->until_ms = 0;
        r->booking = json_integer_value(json_object_get(e, "booking"));
        if (r->enable) {
            field_ms(e, "end", &r->end_ms);
            field_ms(e, "until", &r->until_ms);
        }
    }
    for (size_t k = 0; k < rs->n; k++)
        if (!rs->r[k].controlled && rs->r[k].was_controlled)
            rs->r[k].released = 1; /* left out: released */
    rs->version = v;
    *version = v;
    rc = LS_OK;
out:
    json_decref(root);
    return rc;
}

/* Save payload to rs->path atomically (write, fsync, rename). */
static int save(struct relays *rs, const char *payload, size_t len)
{
    char tmp[4200];
    int fd;
    ssize_t w;

    if (!rs->path[0])
        return LS_OK;
    snprintf(tmp, sizeof(tmp), "%s.tmp", rs->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return LS_ERR_IO;
    w = write(fd, payload, len);
    if (w != (ssize_t)len || fsync(fd)) {
        close(fd);
        return LS_ERR_IO;
    }
    close(fd);
    return rename(tmp, rs->path) ? LS_ERR_IO : LS_OK;
}

int relays_open(const char *path, struct relays **out)
{
    struct relays *rs = calloc(1, sizeof(*rs));
    FILE *f;

    *out = NULL;
    if (!rs)
        return LS_ERR_NOMEM;
    pthread_mutex_init(&rs->lock, NULL);
    if (path)
        snprintf(rs->path, sizeof(rs->path), "%s", path);
    f = path ? fopen(path, "r") : NULL;
    if (f) {
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);
        char err[200];
        int64_t v;
        fclose(f);
        if (apply(rs, buf, n, 0, &v, err, sizeof(err)) == LS_OK)
            ls_info("interlock: the last command (version %lld) restored from %s", (long long)v,
                    path);
        else
            ls_warn("interlock: ignoring %s: %s", path, err);
    }
    *out = rs;
    return LS_OK;
}

void relays_free(struct relays *rs)
{
    if (!rs)
        return;
    pthread_mutex_destroy(&rs->lock);
    free(rs);
}

int relays_command(struct relays *rs, const char *payload, size_t len, int64_t *version, char *err,
                   size_t errlen)
{
    int rc;

    pthread_mutex_lock(&rs->lock);
    rc = apply(rs, payload, len, 1, version, err, errlen);
    if (rc == LS_OK && save(rs, payload, len)) {
        snprintf(err, errlen, "cannot save it to %s", rs->path);
        rc = LS_ERR_IO;
    }
    pthread_mutex_unlock(&rs->lock);
    return rc;
}

int relays_want(struct relays *rs, const char *instrument, int64_t now_ms, int running)
{
    struct relay *r;
    int want = -1;

    pthread_mutex_lock(&rs->lock);
    r = find(rs, instrument, 0);
    if (r && r->released && r->actual == 1)
        r->released = 0;
    if (r && r->released)
        want = 1; /* released: enabled once, then left alone */
    else if (r && (!r->controlled || r->observe))
        want = -1;
    else if (r) {
        /* enabled only while the command allows: never past until, and from the end only
         * while a measurement runs */
        want = r->enable && now_ms < r->until_ms && (now_ms < r->end_ms || running);
        /* a run that was going when the disable came finishes (within its grace); once the
         * meter is idle the hold is over for good */
        if (!want && r->hold_until && running && now_ms < r->hold_until && r->actual == 1)
            want = 1;
        else if (!running || now_ms >= r->hold_until)
            r->hold_until = 0;
    }
    pthread_mutex_unlock(&rs->lock);
    return want;
}

void relays_actual(struct relays *rs, const char *instrument, int on)
{
    struct relay *r;

    pthread_mutex_lock(&rs->lock);
    r = find(rs, instrument, 0);
    if (r && r->actual != on) {
        r->actual = on;
        rs->changes++;
    }
    pthread_mutex_unlock(&rs->lock);
}

void relays_fault(struct relays *rs, const char *instrument, const char *why)
{
    char text[LS_FAULT_MAX];
    struct relay *r;
    size_t k = 0;

    /* printable ASCII only: the text goes into the status, and from there to the server */
    for (const char *c = why ? why : ""; *c && k < sizeof(text) - 1; c++)
        text[k++] = (*c >= 0x20 && *c <= 0x7e) ? *c : '?';
    text[k] = 0;
    pthread_mutex_lock(&rs->lock);
    r = find(rs, instrument, 0);
    if (r && strcmp(r->fault, text) != 0) {
        memcpy(r->fault, text, k + 1);
        rs->changes++;
    }
    pthread_mutex_unlock(&rs->lock);
}

size_t relays_report(struct relays *rs, struct relay_report *out, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&rs->lock);
    for (size_t i = 0; i < rs->n && n < max; i++) {
        const struct relay *r = &rs->r[i];
        if (!r->controlled || (r->actual < 0 && !r->fault[0])) /* observed ones included */
            continue;
        snprintf(out[n].id, LS_ID_MAX, "%s", r->id);
        out[n].on = r->actual;
        snprintf(out[n].fault, sizeof(out[n].fault), "%s", r->fault);
        n++;
    }
    pthread_mutex_unlock(&rs->lock);
    return n;
}

uint64_t relays_changes(struct relays *rs)
{
    uint64_t v;

    pthread_mutex_lock(&rs->lock);
    v = rs->changes;
    pthread_mutex_unlock(&rs->lock);
    return v;
}

int relays_observed(struct relays *rs, const char *instrument)
{
    struct relay *r;
    int yes;

    pthread_mutex_lock(&rs->lock);
    r = find(rs, instrument, 0);
    yes = r && r->controlled;
    pthread_mutex_unlock(&rs->lock);
    return yes;
}

int64_t relays_version(struct relays *rs)
{
    int64_t v;

    pthread_mutex_lock(&rs->lock);
    v = rs->version;
    pthread_mutex_unlock(&rs->lock);
    return v;
}
