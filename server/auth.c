#include "auth.h"

#include <sodium.h>
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
