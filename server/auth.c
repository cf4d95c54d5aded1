#include "auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

#define TOKEN_PREFIX "lst_"

int auth_init(void)
{
    return sodium_init() < 0 ? LS_ERR_IO : LS_OK;
}

int auth_token_issue(struct store *st, int64_t user_id, const char *kind, char out[AUTH_TOKEN_LEN])
{
    unsigned char raw[32], hash[crypto_hash_sha256_BYTES];
    int rc;

    randombytes_buf(raw, sizeof(raw));
    memcpy(out, TOKEN_PREFIX, 4);
    sodium_bin2hex(out + 4, AUTH_TOKEN_LEN - 4, raw, sizeof(raw));
    crypto_hash_sha256(hash, (const unsigned char *)out, strlen(out));
    rc = store_token_add(st, user_id, hash, kind, ls_now_ms());
    sodium_memzero(raw, sizeof(raw));
    if (rc)
        sodium_memzero(out, AUTH_TOKEN_LEN);
    return rc;
}

int auth_bearer(struct store *st, const char *header, struct principal *p)
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    const char *tok;

    if (!header || strncmp(header, "Bearer ", 7) != 0)
        return LS_ERR_AUTH;
    tok = header + 7;
    while (*tok == ' ')
        tok++;
    if (strlen(tok) != AUTH_TOKEN_LEN - 1 || strncmp(tok, TOKEN_PREFIX, 4) != 0)
        return LS_ERR_AUTH;
    crypto_hash_sha256(hash, (const unsigned char *)tok, strlen(tok));
    return store_token_lookup(st, hash, p);
}

int auth_password_hash(const char *password, char out[AUTH_HASH_LEN])
{
    /* OWASP: argon2id with m = 19 MiB, t = 2, p = 1 (libsodium always uses one lane). */
    if (crypto_pwhash_str_alg(out, password, strlen(password), 2, (size_t)19456 * 1024,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return LS_ERR_NOMEM;
    return LS_OK;
}

int auth_password_verify(const char *hash, const char *password)
{
    if (!hash || !*hash)
        return LS_ERR_AUTH;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? LS_OK : LS_ERR_AUTH;
}

/* A random token text and its SHA-256. */
static void make_token(char out[AUTH_TOKEN_LEN], unsigned char hash[32])
{
    unsigned char raw[32];

    randombytes_buf(raw, sizeof(raw));
    memcpy(out, TOKEN_PREFIX, 4);
    sodium_bin2hex(out + 4, AUTH_TOKEN_LEN - 4, raw, sizeof(raw));
    crypto_hash_sha256(hash, (const unsigned char *)out, strlen(out));
    sodium_memzero(raw, sizeof(raw));
}

static int token_hash(const char *tok, unsigned char hash[32])
{
    if (!tok || strlen(tok) != AUTH_TOKEN_LEN - 1 || strncmp(tok, TOKEN_PREFIX, 4) != 0)
        return LS_ERR_AUTH;
    crypto_hash_sha256(hash, (const unsigned char *)tok, strlen(tok));
    return LS_OK;
}

int auth_session_new(struct store *st, int64_t user_id, char cookie[AUTH_TOKEN_LEN],
                     char csrf[AUTH_TOKEN_LEN])
{
    unsigned char h[32], ch[32];
    int64_t now = ls_now_ms();

    make_token(cookie, h);
    make_token(csrf, ch);
    return store_session_add(st, user_id, h, ch, now, now + (int64_t)AUTH_SESSION_S * 1000);
}

int auth_session(struct store *st, const char *cookie, struct principal *p)
{
    unsigned char h[32];

    if (token_hash(cookie, h))
        return LS_ERR_AUTH;
    return store_token_lookup(st, h, p);
}

int auth_csrf_ok(const struct principal *p, const char *csrf)
{
    unsigned char h[32];

    if (token_hash(csrf, h))
        return 0;
    return sodium_memcmp(h, p->csrf_hash, 32) == 0;
}

int auth_forget(struct store *st, const char *token)
{
    unsigned char h[32];

    if (token_hash(token, h))
        return LS_ERR_AUTH;
    return store_token_delete(st, h);
}

int auth_feed_new(struct store *st, const char *kind, const char *subject, int64_t by,
                  char out[AUTH_TOKEN_LEN])
{
    unsigned char h[32];

    make_token(out, h);
    return store_feed_add(st, h, kind, subject, by);
}

int auth_feed(struct store *st, const char *token, char *kind, char *subject)
{
    unsigned char h[32];

    if (token_hash(token, h))
        return LS_ERR_NOTFOUND;
    return store_feed_lookup(st, h, kind, subject);
}

/* Recent login failures, by user name and by address: a small table, oldest entries reused. */
#define THROTTLE_SLOTS 1024

static struct {
    char key[80];
    int fails;
    int64_t first_ms;
} throttle[THROTTLE_SLOTS];
static pthread_mutex_t throttle_lock = PTHREAD_MUTEX_INITIALIZER;

static int slot_of(const char *key, int create, int64_t now_ms)
{
    int oldest = 0;

    for (int i = 0; i < THROTTLE_SLOTS; i++) {
        if (strcmp(throttle[i].key, key) == 0) {
            if (now_ms - throttle[i].first_ms > (int64_t)AUTH_FAIL_WINDOW_S * 1000) {
                throttle[i].fails = 0;
                throttle[i].first_ms = now_ms;
            }
            return i;
        }
        if (throttle[i].first_ms < throttle[oldest].first_ms)
            oldest = i;
    }
    if (!create)
        return -1;
    snprintf(throttle[oldest].key, sizeof(throttle[oldest].key), "%s", key);
    throttle[oldest].fails = 0;
    throttle[oldest].first_ms = now_ms;
    return oldest;
}

int auth_throttled(const char *username, const char *addr, int64_t now_ms)
{
    char k1[80], k2[80];
    int i, j, out;

    snprintf(k1, sizeof(k1), "u:%.70s", username);
    snprintf(k2, sizeof(k2), "a:%.70s", addr);
    pthread_mutex_lock(&throttle_lock);
    i = slot_of(k1, 0, now_ms);
    j = slot_of(k2, 0, now_ms);
    out = (i >= 0 && throttle[i].fails >= AUTH_FAILS_MAX) ||
          (j >= 0 && throttle[j].fails >= AUTH_FAILS_MAX);
    pthread_mutex_unlock(&throttle_lock);
    return out;
}

void auth_login_failed(const char *username, const char *addr, int64_t now_ms)
{
    char k1[80], k2[80];

    snprintf(k1, sizeof(k1), "u:%.70s", username);
    snprintf(k2, sizeof(k2), "a:%.70s", addr);
    pthread_mutex_lock(&throttle_lock);
    throttle[slot_of(k1, 1, now_ms)].fails++;
    throttle[slot_of(k2, 1, now_ms)].fails++;
    pthread_mutex_unlock(&throttle_lock);
}

void auth_login_succeeded(const char *username)
{
    char k1[80];
    int i;

    snprintf(k1, sizeof(k1), "u:%.70s", username);
    pthread_mutex_lock(&throttle_lock);
    i = slot_of(k1, 0, ls_now_ms());
    if (i >= 0)
        throttle[i].fails = 0;
    pthread_mutex_unlock(&throttle_lock);
}
