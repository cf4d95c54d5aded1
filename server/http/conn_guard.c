#include "conn_guard.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../throttle.h"
#include "labshare/banned.h"

enum phase { PH_HEADERS = 0, PH_BODY, PH_HANDLING, PH_CUT };
enum { SLOT_OPEN = 1, SLOT_ADMITTED = 2 };

struct guarded {
    int used; /* 0 free, SLOT_OPEN, or SLOT_ADMITTED: its connection is not open yet */
    int fd;
    char key[80];
    enum phase phase;
    int64_t since_ms;
    uint64_t body_bytes;
};

struct conn_guard {
    pthread_mutex_t lock;
    struct guarded *c;
    size_t n, per_address, used;
    struct conn_guard_stats stats;
};

struct conn_guard *conn_guard_new(size_t max_conns, size_t per_address)
{
    struct conn_guard *g = calloc(1, sizeof(*g));

    if (!g)
        return NULL;
    g->c = calloc(max_conns ? max_conns : 1, sizeof(*g->c));
    if (!g->c) {
        free(g);
        return NULL;
    }
    g->n = max_conns;
    g->per_address = per_address;
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

void conn_guard_free(struct conn_guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g->c);
    free(g);
}

static size_t held_by(const struct conn_guard *g, const char *key)
{
    size_t k = 0;

    for (size_t i = 0; i < g->n; i++)
        if (g->c[i].used && strcmp(g->c[i].key, key) == 0)
            k++;
    return k;
}

/* Give back the places of admissions whose connection never opened. Locked. */
static void release_stale(struct conn_guard *g, int64_t now_ms)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->c[i].used == SLOT_ADMITTED && now_ms - g->c[i].since_ms > GUARD_ADMIT_HOLD_MS) {
            g->c[i].used = 0;
            g->used--;
        }
    }
}

static struct guarded *free_slot(struct conn_guard *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (!g->c[i].used)
            return &g->c[i];
    return NULL;
}

int conn_guard_admit(struct conn_guard *g, const char *addr, int64_t now_ms)
{
    struct guarded *c;
    char key[80];
    size_t held;
    int ok = 1;

    throttle_addr_key(addr, key, sizeof(key));
    pthread_mutex_lock(&g->lock);
    release_stale(g, now_ms);
    held = held_by(g, key);
    if (held >= g->per_address) {
        g->stats.refused_address++;
        ok = 0;
    } else if (g->used * 4 >= g->n * 3 && held >= GUARD_FAIR_SHARE) {
        g->stats.refused_fair++;
        ok = 0;
    }
    if (ok && (c = free_slot(g))) {
        memset(c, 0, sizeof(*c));
        c->used = SLOT_ADMITTED;
        c->fd = -1;
        snprintf(c->key, sizeof(c->key), "%s", key);
        c->since_ms = now_ms;
        g->used++;
    }
    pthread_mutex_unlock(&g->lock);
    return ok;
}

struct guarded *conn_guard_open(struct conn_guard *g, int fd, const char *addr, int64_t now_ms)
{
    struct guarded *c = NULL;
    char key[80];

    throttle_addr_key(addr, key, sizeof(key));
    pthread_mutex_lock(&g->lock);
    /* the place its admission holds, or (admitted long ago, or never) a free one */
    for (size_t i = 0; i < g->n && !c; i++)
        if (g->c[i].used == SLOT_ADMITTED && strcmp(g->c[i].key, key) == 0)
            c = &g->c[i];
    if (!c && (c = free_slot(g)))
        g->used++;
    if (c) {
        memset(c, 0, sizeof(*c));
        c->used = SLOT_OPEN;
        c->fd = fd;
        snprintf(c->key, sizeof(c->key), "%s", key);
        c->phase = PH_HEADERS;
        c->since_ms = now_ms;
    }
    pthread_mutex_unlock(&g->lock);
    return c;
}

void conn_guard_close(struct conn_guard *g, struct guarded *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    if (c->used) {
        c->used = 0;
        g->used--;
    }
    pthread_mutex_unlock(&g->lock);
}

static void set_phase(struct conn_guard *g, struct guarded *c, enum phase p, int64_t now_ms)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    if (c->phase != PH_CUT) {
        c->phase = p;
        c->since_ms = now_ms;
        c->body_bytes = 0;
    }
    pthread_mutex_unlock(&g->lock);
}

void conn_guard_headers_done(struct conn_guard *g, struct guarded *c, int64_t now_ms)
{
    set_phase(g, c, PH_BODY, now_ms);
}

void conn_guard_body(struct conn_guard *g, struct guarded *c, size_t n)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    c->body_bytes += n;
    pthread_mutex_unlock(&g->lock);
}

void conn_guard_handling(struct conn_guard *g, struct guarded *c)
{
    set_phase(g, c, PH_HANDLING, 0);
}

void conn_guard_answered(struct conn_guard *g, struct guarded *c, int64_t now_ms)
{
    set_phase(g, c, PH_HEADERS, now_ms);
}

size_t conn_guard_sweep(struct conn_guard *g, int64_t now_ms)
{
    size_t cut = 0;

    pthread_mutex_lock(&g->lock);
    release_stale(g, now_ms);
    for (size_t i = 0; i < g->n; i++) {
        struct guarded *c = &g->c[i];
        int64_t age = now_ms - c->since_ms;
        int slow_headers = c->phase == PH_HEADERS && age > GUARD_HEADER_DEADLINE_MS;
        /* the body: GUARD_BODY_MIN_BPS on average once the grace is over */
        int slow_body =
            c->phase == PH_BODY && age > GUARD_BODY_GRACE_MS &&
            c->body_bytes * 1000 < (uint64_t)(age - GUARD_BODY_GRACE_MS) * GUARD_BODY_MIN_BPS;

        if (c->used != SLOT_OPEN || (!slow_headers && !slow_body))
            continue;
        shutdown(c->fd, SHUT_RDWR);
        c->phase = PH_CUT;
        if (slow_headers)
            g->stats.cut_headers++;
        else
            g->stats.cut_body++;
        cut++;
    }
    pthread_mutex_unlock(&g->lock);
    return cut;
}

void conn_guard_stats(struct conn_guard *g, struct conn_guard_stats *out)
{
    pthread_mutex_lock(&g->lock);
    *out = g->stats;
    pthread_mutex_unlock(&g->lock);
}
