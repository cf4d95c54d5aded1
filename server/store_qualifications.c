/* store_qualifications.c - who is trained to operate an instrument themselves (上机培训): since
 * when, by whom, until when. */
#include "store.h"
#include "store_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

#define COLS "instrument, user_id, since_ms, by_user, expires_ms"

static void row(struct db_stmt *q, struct qualification *out)
{
    snprintf(out->instrument, sizeof(out->instrument), "%s", (const char *)db_column_text(q, 0));
    out->user_id = db_column_int64(q, 1);
    out->since_ms = db_column_int64(q, 2);
    out->by_user = db_column_int64(q, 3);
    out->expires_ms = db_column_type(q, 4) == DB_NULL ? INT64_MAX : db_column_int64(q, 4);
}

int store_qualification_put(struct store *st, const struct qualification *ql)
{
    struct db_stmt *q = store_stmt(
        st, "INSERT INTO qualifications(" COLS ") VALUES(?,?,?,?,?) ON CONFLICT(instrument,"
            " user_id) DO UPDATE SET since_ms = excluded.since_ms, by_user = excluded.by_user,"
            " expires_ms = excluded.expires_ms");

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, ql->instrument);
    db_bind_int64(q, 2, ql->user_id);
    db_bind_int64(q, 3, ql->since_ms);
    db_bind_int64(q, 4, ql->by_user);
    if (ql->expires_ms == INT64_MAX)
        db_bind_null(q, 5);
    else
        db_bind_int64(q, 5, ql->expires_ms);
    return store_write_rc(st, q);
}

int store_qualification_delete(struct store *st, const char *instrument, int64_t user_id)
{
    struct db_stmt *q =
        store_stmt(st, "DELETE FROM qualifications WHERE instrument = ? AND user_id = ?");

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, user_id);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

int store_qualification_get(struct store *st, const char *instrument, int64_t user_id,
                            struct qualification *out)
{
    struct db_stmt *q = store_stmt(st, "SELECT " COLS " FROM qualifications WHERE instrument = ?"
                                       " AND user_id = ?");
    int step;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, user_id);
    step = db_step(q);
    if (step == DB_ROW)
        row(q, out);
    db_reset(q);
    return step == DB_ROW ? LS_OK : step == DB_DONE ? LS_ERR_NOTFOUND : LS_ERR_DB;
}

int store_qualifications_list(struct store *st, const char *instrument, int64_t user_id,
                              struct qualification **out, size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT " COLS " FROM qualifications WHERE instrument = ?1"
                                       " AND (?2 = 0 OR user_id = ?2) ORDER BY user_id");
    struct qualification *v = NULL;
    size_t cnt = 0, cap = 0;
    int step;

    *out = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, instrument);
    db_bind_int64(q, 2, user_id);
    while ((step = db_step(q)) == DB_ROW) {
        if (LS_GROW(v, cap, cnt + 1)) {
            free(v);
            db_reset(q);
            return LS_ERR_NOMEM;
        }
        row(q, &v[cnt++]);
    }
    db_reset(q);
    if (step != DB_DONE) {
        free(v);
        return LS_ERR_DB;
    }
    *out = v;
    *n = cnt;
    return LS_OK;
}
