#include "throttle.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/banned.h"

#define WINDOW_MS ((int64_t)THROTTLE_WINDOW_S * 1000)

struct entry {
    char key[80];
    int used;
    int fails;
    int64_t first_ms, last_ms;
};

struct table {
    struct entry *e;
    size_t n;
    /* 0: a fixed window from the first failure (addresses); 1: forgotten after a window with
     * no failure (accounts, so a slow guesser keeps its delay) */
    int quiet;
};

struct throttle {
    pthread_mutex_t lock;
    struct table addrs, accounts;
    /* failures that found no slot in a full table */
    int global_fails;
    int64_t global_first_ms;
};

struct throttle *throttle_new(size_t addr_slots, size_t account_slots)
{
    struct throttle *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->addrs.e = calloc(addr_slots ? addr_slots : 1, sizeof(struct entry));
    t->accounts.e = calloc(account_slots ? account_slots : 1, sizeof(struct entry));
    if (!t->addrs.e || !t->accounts.e) {
        throttle_free(t);
        return NULL;
    }
    t->addrs.n = addr_slots;
    t->accounts.n = account_slots;
    t->accounts.quiet = 1;
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void throttle_free(struct throttle *t)
{
    if (!t)
        return;
    if (t->addrs.e && t->accounts.e)
        pthread_mutex_destroy(&t->lock);
    free(t->addrs.e);
    free(t->accounts.e);
    free(t);
}

void throttle_addr_key(const char *addr, char *out, size_t len)
{
    unsigned char a6[16];

    if (addr && strchr(addr, ':') && inet_pton(AF_INET6, addr, a6) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
            snprintf(out, len, "4:%u.%u.%u.%u", a6[12], a6[13], a6[14], a6[15]);
            return;
        }
        snprintf(out, len, "6:%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", a6[0], a6[1], a6[2], a6[3],
                 a6[4], a6[5], a6[6], a6[7]);
        return;
    }
    snprintf(out, len, "4:%.60s", addr ? addr : "");
}

/* An entry whose window is over holds nothing any more. */
static int expired(const struct table *tb, const struct entry *e, int64_t now_ms)
{
    return !e->used || now_ms - (tb->quiet ? e->last_ms : e->first_ms) > WINDOW_MS;
}

/* The entry of key (its window restarted when over), a free one when create, or NULL. */
static struct entry *find(struct table *tb, const char *key, int create, int64_t now_ms)
{
    struct entry *free_slot = NULL;

    for (size_t i = 0; i < tb->n; i++) {
        struct entry *e = &tb->e[i];
        if (e->used && strcmp(e->key, key) == 0) {
            if (expired(tb, e, now_ms)) {
                e->fails = 0;
                e->first_ms = e->last_ms = now_ms;
            }
            return e;
        }
        if (!free_slot && expired(tb, e, now_ms))
            free_slot = e;
    }
    if (!create || !free_slot)
        return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
    free_slot->first_ms = free_slot->last_ms = now_ms;
    return free_slot;
}

static int seconds(int64_t ms)
{
    int64_t s = (ms + 999) / 1000;

    return s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
}

static int global_wait(struct throttle *t, int64_t now_ms)
{
    if (now_ms - t->global_first_ms > WINDOW_MS)
        return 0;
    return t->global_fails >= THROTTLE_GLOBAL_FAILS
               ? seconds(t->global_first_ms + WINDOW_MS - now_ms)
               : 0;
}

static void global_failed(struct throttle *t, int64_t now_ms)
{
    if (now_ms - t->global_first_ms > WINDOW_MS) {
        t->global_fails = 0;
        t->global_first_ms = now_ms;
    }
    if (t->global_fails < 1 << 30)
        t->global_fails++;
}

/* The wait an account's failures impose after its last one. */
static int64_t account_delay_ms(int fails)
{
    int over = fails - THROTTLE_ACCOUNT_FREE;

    if (over < 0)
        return 0;
    if (over > 5) /* 2^5 = 32 > the cap */
        return (int64_t)THROTTLE_ACCOUNT_DELAY_MAX_S * 1000;
    int64_t d = (int64_t)1000 << over;
    return d > (int64_t)THROTTLE_ACCOUNT_DELAY_MAX_S * 1000
               ? (int64_t)THROTTLE_ACCOUNT_DELAY_MAX_S * 1000
               : d;
}

int throttle_wait(struct throttle *t, const char *account, const char *addr, int64_t now_ms)
{
    char key[80];
    struct entry *e;
    int wait = 0;

    throttle_addr_key(addr, key, sizeof(key));
    pthread_mutex_lock(&t->lock);
    e = find(&t->addrs, key, 0, now_ms);
    if (e && e->fails >= THROTTLE_ADDR_FAILS)
        wait = seconds(e->first_ms + WINDOW_MS - now_ms);
    else if (!e)
        wait = global_wait(t, now_ms);
    if (!wait && account) {
        e = find(&t->accounts, account, 0, now_ms);
        if (e && e->fails >= THROTTLE_ACCOUNT_FREE) {
            int64_t left = e->last_ms + account_delay_ms(e->fails) - now_ms;
            if (left > 0)
                wait = seconds(left);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return wait;
}

void throttle_failed(struct throttle *t, const char *account, const char *addr, int64_t now_ms)
{
    char key[80];
    struct entry *e;

    throttle_addr_key(addr, key, sizeof(key));
    pthread_mutex_lock(&t->lock);
    e = find(&t->addrs, key, 1, now_ms);
    if (e) {
        e->fails++;
        e->last_ms = now_ms;
    } else {
        global_failed(t, now_ms);
    }
    if (account) {
        e = find(&t->accounts, account, 1, now_ms);
        if (e) {
            e->fails++;
            e->last_ms = now_ms;
        } else {
            global_failed(t, now_ms);
        }
    }
    pthread_mutex_unlock(&t->lock);
}

int throttle_succeeded(struct throttle *t, const char *account)
{
    struct entry *e;
    int fails = 0;

    pthread_mutex_lock(&t->lock);
    e = find(&t->accounts, account, 0, INT64_MIN / 2);
    if (e) {
        fails = e->fails;
        memset(e, 0, sizeof(*e));
    }
    pthread_mutex_unlock(&t->lock);
    return fails;
}
