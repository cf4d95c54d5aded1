/* store_gateways.c - registered gateways: who they are, whose, whether they may deliver, and
 * what their status messages said. */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

int store_gateway_online(struct store *st, const char *gateway, int *online)
{
    struct db_stmt *q = store_stmt(st, "SELECT coalesce(online, -1) FROM gateways WHERE id = ?");
    int64_t v = -1;
    int rc;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, gateway);
    rc = store_int_one(st, q, &v);
    *online = (int)v;
    return rc;
}

int store_gateway_status(struct store *st, const char *gateway, const struct ls_status *s,
                         int64_t now_ms)
{
    struct db_stmt *q = store_stmt(
        st, "UPDATE gateways SET online = ?2, version = ?3, outbox = ?4, outbox_full = ?5,"
            " instruments = ?6, last_seen = ?7 WHERE id = ?1 AND registered_at IS NOT NULL"
            " AND enabled = 1");
    char list[4096];
    size_t len = 0;

    if (!q)
        return LS_ERR_DB;
    list[0] = '\0';
    for (size_t i = 0; i < s->instrument_count && len < sizeof(list); i++) {
        int w = snprintf(list + len, sizeof(list) - len, "%s%s", i ? "," : "", s->instruments[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    db_bind_text(q, 1, gateway, -1, DB_STATIC);
    db_bind_int(q, 2, s->online);
    db_bind_text(q, 3, s->version, -1, DB_STATIC);
    if (s->outbox >= 0)
        db_bind_int64(q, 4, s->outbox);
    db_bind_int(q, 5, s->outbox_full);
    db_bind_text(q, 6, list, -1, DB_STATIC);
    db_bind_int64(q, 7, now_ms);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

int store_gateway_register(struct store *st, const char *id, const char *name, int64_t org_id,
                           int64_t now_ms)
{
    /* A row may exist from before registration was required (status of an unknown gateway,
     * schema 5 and older): it is taken over. */
    struct db_stmt *q = store_stmt(
        st, "INSERT INTO gateways(id, name, org_id, registered_at, enabled) VALUES(?1,?2,?3,?4,1)"
            " ON CONFLICT(id) DO UPDATE SET name = ?2, org_id = ?3, registered_at = ?4,"
            " enabled = 1 WHERE registered_at IS NULL");

    if (!q)
        return LS_ERR_DB;
    db_bind_text(q, 1, id, -1, DB_STATIC);
    db_bind_text(q, 2, name, -1, DB_STATIC);
    if (org_id > 0)
        db_bind_int64(q, 3, org_id);
    db_bind_int64(q, 4, now_ms);
    return store_write_one(st, q, LS_ERR_CONFLICT);
}

int store_gateway_update(struct store *st, const char *id, const char *name, int enabled,
                         int64_t rotated_ms)
{
    struct db_stmt *q = store_stmt(st, "UPDATE gateways SET name = coalesce(?2, name),"
                                       " enabled = CASE WHEN ?3 < 0 THEN enabled ELSE ?3 END,"
                                       " online = CASE WHEN ?3 = 0 THEN 0 ELSE online END,"
                                       " rotated_at = CASE WHEN ?4 > 0 THEN ?4 ELSE rotated_at END"
                                       " WHERE id = ?1 AND registered_at IS NOT NULL");

    if (!q)
        return LS_ERR_DB;
    db_bind_text(q, 1, id, -1, DB_STATIC);
    store_bind_text(q, 2, name);
    db_bind_int(q, 3, enabled);
    db_bind_int64(q, 4, rotated_ms);
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

#define MS_TIME(col) "strftime('%Y-%m-%dT%H:%M:%fZ', " col " / 1000.0, 'unixepoch')"
#define GATEWAY_JSON                                                                               \
    "json_object('id', g.id, 'name', g.name, 'org_id', g.org_id,"                                  \
    " 'enabled', json(CASE g.enabled WHEN 1 THEN 'true' ELSE 'false' END),"                        \
    " 'registered', " MS_TIME("g.registered_at") ", 'rotated', " MS_TIME(                          \
        "g.rotated_at") ","                                                                        \
                        " 'online', json(CASE WHEN g.online = 1 AND g.enabled = 1 THEN 'true' "    \
                        "ELSE 'false' END),"                                                       \
                        " 'version', g.version, 'outbox', g.outbox,"                               \
                        " 'outbox_full', json(CASE g.outbox_full WHEN 1 THEN 'true' ELSE 'false' " \
                        "END),"                                                                    \
                        " 'last_seen', " MS_TIME(                                                  \
                            "g.last_seen") ", 'last_ack', g.last_ack,"                             \
                                           " 'instruments', (SELECT json_group_array(i.id) FROM"   \
                                           " (SELECT id FROM instruments WHERE gateway = g.id "    \
                                           "ORDER BY id) i),"                                      \
                                           " 'reported', json(CASE WHEN coalesce(g.instruments, "  \
                                           "'') = '' THEN '[]' ELSE"                               \
                                           " '[\"' || replace(g.instruments, ',', '\",\"') || "    \
                                           "'\"]' END))"

int store_gateway_get(struct store *st, const char *id, json_t **out)
{
    struct db_stmt *q = store_stmt(st, "SELECT " GATEWAY_JSON " FROM gateways g WHERE g.id = ?"
                                       " AND g.registered_at IS NOT NULL");

    if (!q)
        return LS_ERR_DB;
    db_bind_text(q, 1, id, -1, DB_STATIC);
    return store_json_one(st, q, out);
}

int store_gateway_list(struct store *st, int64_t org_id, json_t **items, int64_t *total)
{
    struct db_stmt *q = store_stmt(st, "SELECT " GATEWAY_JSON " FROM gateways g"
                                       " WHERE g.registered_at IS NOT NULL AND (?1 <= 0 OR"
                                       " g.org_id = ?1) ORDER BY g.id");
    int rc;

    *items = json_array();
    if (!q || !*items)
        return LS_ERR_DB;
    db_bind_int64(q, 1, org_id);
    rc = store_json_rows(st, q, *items);
    *total = (int64_t)json_array_size(*items);
    return rc;
}

int store_gateway_disabled(struct store *st, char ***ids, size_t *n)
{
    struct db_stmt *q = store_stmt(
        st, "SELECT id FROM gateways WHERE registered_at IS NOT NULL AND enabled = 0 ORDER BY id");
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    int step, rc = LS_OK;

    *ids = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    while ((step = db_step(q)) == DB_ROW) {
        char *id = strdup((const char *)db_column_text(q, 0));
        if (!id || ls_grow(&v, &cap, cnt + 1, sizeof(*v))) {
            free(id);
            rc = LS_ERR_NOMEM;
            break;
        }
        v[cnt++] = id;
    }
    if (rc == LS_OK && step != DB_DONE)
        rc = store_db_fail(st, "disabled gateways");
    db_reset(q);
    if (rc) {
        for (size_t i = 0; i < cnt; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    *ids = v;
    *n = cnt;
    return LS_OK;
}
