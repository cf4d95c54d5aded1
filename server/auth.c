#include "auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "throttle.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

#define TOKEN_PREFIX "lst_"

/* Login throttling (throttle.h): by account name (lower-cased, whether or not it exists, so
 * throttling does not tell which do) and by address. */
static struct throttle *logins;
/* What an unknown user's password is checked against: as slow as a real check. */
static char dummy_hash[AUTH_HASH_LEN];

int auth_init(void)
{
    char pw[33];
    unsigned char raw[16];

    if (sodium_init() < 0)
        return LS_ERR_IO;
    if (!logins)
        logins = throttle_new(16384, 16384);
    if (!logins)
        return LS_ERR_NOMEM;
    /* a random password nobody knows, hashed as a real one is */
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(pw, sizeof(pw), raw, sizeof(raw));
    return dummy_hash[0] || auth_password_hash(pw, dummy_hash) == LS_OK ? LS_OK : LS_ERR_NOMEM;
}

int auth_token_issue(struct store *st, int64_t user_id, const char *kind, int64_t expires_ms,
                     char out[AUTH_TOKEN_LEN], int64_t *id)
{
    unsigned char raw[32], hash[crypto_hash_sha256_BYTES];
    int rc;

    randombytes_buf(raw, sizeof(raw));
    memcpy(out, TOKEN_PREFIX, 4);
    sodium_bin2hex(out + 4, AUTH_TOKEN_LEN - 4, raw, sizeof(raw));
    crypto_hash_sha256(hash, (const unsigned char *)out, strlen(out));
    rc = store_token_add(st, user_id, hash, kind, ls_now_ms(), expires_ms, id);
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
                  char out[AUTH_TOKEN_LEN], int64_t *id)
{
    unsigned char h[32];

    make_token(out, h);
    return store_feed_add(st, h, kind, subject, by, id);
}

int auth_feed(struct store *st, const char *token, char *kind, char *subject)
{
    unsigned char h[32];

    if (token_hash(token, h))
        return LS_ERR_NOTFOUND;
    return store_feed_lookup(st, h, kind, subject);
}

static void account_key(const char *username, char *out, size_t len)
{
    size_t i = 0;

    for (; username[i] && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)username[i]);
    out[i] = 0;
}

int auth_login_wait(const char *username, const char *addr, int64_t now_ms)
{
    char k[72];

    account_key(username, k, sizeof(k));
    return logins ? throttle_wait(logins, k, addr, now_ms) : 0;
}

static _Atomic uint64_t logins_ok, logins_failed;

void auth_login_failed(const char *username, const char *addr, int64_t now_ms)
{
    char k[72];

    logins_failed++;
    account_key(username, k, sizeof(k));
    if (logins)
        throttle_failed(logins, k, addr, now_ms);
}

int auth_login_succeeded(const char *username)
{
    char k[72];

    logins_ok++;
    account_key(username, k, sizeof(k));
    return logins ? throttle_succeeded(logins, k) : 0;
}

void auth_login_counts(uint64_t *ok, uint64_t *failed)
{
    *ok = logins_ok;
    *failed = logins_failed;
}

int auth_password_verify_dummy(const char *password)
{
    auth_password_verify(dummy_hash, password);
    return LS_ERR_AUTH;
}
