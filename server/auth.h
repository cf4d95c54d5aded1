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

/* Make a new token for user_id, store its hash, and write the token text into out. */
int auth_token_issue(struct store *st, int64_t user_id, const char *kind, char out[AUTH_TOKEN_LEN]);

/* Resolve an "Authorization" header value ("Bearer <token>") to its user. LS_ERR_AUTH when
 * missing, malformed or unknown. */
int auth_bearer(struct store *st, const char *header, struct principal *p);

#endif /* LS_SRV_AUTH_H */
