/* service_billing.c - bringing charge lines up to date and closing a month: see service.h. */
#include "service.h"

#include <stdio.h>
#include <string.h>

#include "labshare/rc.h"
#include "labshare/banned.h"

int charges_sync(struct store *st, int64_t *added)
{
    int rc = store_begin(st);

    *added = 0;
    if (rc == LS_OK)
        rc = store_billing_sync(st, added);
    if (rc == LS_OK)
        rc = store_commit(st);
    if (rc) {
        store_rollback(st);
        *added = 0;
    }
    return rc;
}

int month_close(const struct service *sv, const char *month, struct outcome *out)
{
    char object[40];
    int64_t added = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!principal_is(sv->who, "admin"))
        return service_fail(out, LS_ERR_DENIED, "only an admin closes a month");
    if (store_begin(sv->st))
        return service_fail(out, LS_ERR_DB, "database busy");
    /* the lines brought up to date and the month closed in one transaction: nothing can be
     * charged into the month between the two */
    rc = store_billing_sync(sv->st, &added);
    if (rc) {
        store_rollback(sv->st);
        return service_fail(out, LS_ERR_DB, "cannot bring the charges up to date");
    }
    rc = store_month_close(sv->st, month, sv->who->username);
    if (rc == LS_OK)
        rc = notify_month_closed(sv->st, sv->notify, sv->now_ms, month);
    if (rc == LS_OK && !(out->after = json_pack("{s:s, s:b}", "month", month, "closed", 1)))
        rc = LS_ERR_NOMEM;
    if (rc) {
        store_rollback(sv->st);
        return service_fail(
            out, rc, rc == LS_ERR_CONFLICT ? "%s is closed already" : "cannot close %s", month);
    }
    snprintf(object, sizeof(object), "month/%s", month);
    return service_finish(sv, "statements.close", object, NULL, out);
}
