/*
 * auth.h - bearer tokens: 256 random bits (libsodium), shown once to their owner and stored
 * only as their SHA-256. Any thread (after auth_init()).
 */
#ifndef LS_SRV_AUTH_H
#define LS_SRV_AUTH_H

#include <stddef.h>

#include "store.h"

/* Token text: "lst_" + 64 hex digits + NUL. */
#define AUTH_TOKEN_LEN 69

/* Initialise libsodium. LS_ERR_IO when it cannot (no entropy source). Call once in main(). */
int auth_init(void);

/* Make a new token for user_id that expires at expires_ms (0: never), store its hash, and write
 * the token text into out. */
int auth_token_issue(struct store *st, int64_t user_id, const char *kind, int64_t expires_ms,
                     char out[AUTH_TOKEN_LEN], int64_t *id);

/* Resolve an "Authorization" header value ("Bearer <token>") to its user. LS_ERR_AUTH when
 * missing, malformed or unknown. */
int auth_bearer(struct store *st, const char *header, struct principal *p);

/* Passwords: at least 12 characters, at most 256, hashed with argon2id (OWASP's m = 19456 KiB,
 * t = 2, p = 1) into out (AUTH_HASH_LEN bytes). */
#define AUTH_HASH_LEN 128
#define AUTH_PASSWORD_MIN 12
#define AUTH_PASSWORD_MAX 256
int auth_password_hash(const char *password, char out[AUTH_HASH_LEN]);
/* LS_OK when password matches hash, LS_ERR_AUTH otherwise (also for an empty hash). */
int auth_password_verify(const char *hash, const char *password);

/* A new session for user_id: the cookie value (AUTH_TOKEN_LEN) and its CSRF token
 * (AUTH_TOKEN_LEN), both stored only hashed; it lasts AUTH_SESSION_S. */
#define AUTH_SESSION_S (12 * 3600)
int auth_session_new(struct store *st, int64_t user_id, char cookie[AUTH_TOKEN_LEN],
                     char csrf[AUTH_TOKEN_LEN]);
/* Resolve a session cookie value. LS_ERR_AUTH when unknown or expired. */
int auth_session(struct store *st, const char *cookie, struct principal *p);
/* 1 when csrf is the CSRF token of p's session. */
int auth_csrf_ok(const struct principal *p, const char *csrf);
/* Forget a session or token by its text. */
int auth_forget(struct store *st, const char *token);

/* A new calendar feed token (AUTH_TOKEN_LEN) for a user's or an instrument's bookings. */
int auth_feed_new(struct store *st, const char *kind, const char *subject, int64_t by,
                  char out[AUTH_TOKEN_LEN], int64_t *id);
/* kind ("user"/"instrument") and subject of a feed token. LS_ERR_NOTFOUND. */
int auth_feed(struct store *st, const char *token, char *kind, char *subject);

/* Login throttling (throttle.h) by account name and client address: 0 when a login may be
 * tried now, otherwise the seconds to wait (Retry-After). Thread-safe. */
int auth_login_wait(const char *username, const char *addr, int64_t now_ms);
void auth_login_failed(const char *username, const char *addr, int64_t now_ms);
/* ... and how many failures the account had since its last success. */
int auth_login_succeeded(const char *username);
/* Logins so far, for /metrics/prometheus. */
void auth_login_counts(uint64_t *ok, uint64_t *failed);
/* For a user that does not exist: a check as slow as a real one, so the answer's time does not
 * tell. Always LS_ERR_AUTH. */
int auth_password_verify_dummy(const char *password);

#endif /* LS_SRV_AUTH_H */
