#include "labshare/rc.h"

static const struct {
    const char *name;
    const char *text;
} rc_table[LS_RC_COUNT] = {
    [LS_OK] = {"ok", "success"},
    [LS_ERR_NOMEM] = {"nomem", "out of memory"},
    [LS_ERR_INVAL] = {"invalid", "invalid input"},
    [LS_ERR_CONFLICT] = {"conflict", "conflict with existing data"},
    [LS_ERR_NOTFOUND] = {"not_found", "not found"},
    [LS_ERR_IO] = {"io", "input/output error"},
    [LS_ERR_DB] = {"db", "database error"},
    [LS_ERR_PROTO] = {"protocol", "protocol error"},
    [LS_ERR_TIMEOUT] = {"timeout", "timed out"},
    [LS_ERR_FULL] = {"full", "store is full"},
    [LS_ERR_AUTH] = {"unauthorized", "authentication required"},
    [LS_ERR_DENIED] = {"forbidden", "not allowed"},
    [LS_ERR_RULE] = {"rule", "rule broken"},
    [LS_ERR_TOOBIG] = {"too_big", "input too large"},
    [LS_ERR_LIMIT] = {"too_many_requests", "too many attempts; try again later"},
    [LS_ERR_METHOD] = {"method_not_allowed", "method not allowed"},
};

const char *ls_strerror(enum ls_rc rc)
{
    if ((unsigned)rc >= LS_RC_COUNT || !rc_table[rc].text)
        return "unknown error";
    return rc_table[rc].text;
}

const char *ls_rc_name(enum ls_rc rc)
{
    if ((unsigned)rc >= LS_RC_COUNT || !rc_table[rc].name)
        return "unknown";
    return rc_table[rc].name;
}
