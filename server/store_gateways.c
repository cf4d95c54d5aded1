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
            " enabled = 1 WHERE gateways.registered_at IS NULL");

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

#define GATEWAY_COLUMNS                                                                            \
    "g.id, g.name, g.org_id, g.enabled, g.registered_at, g.rotated_at, CASE WHEN g.online = 1"     \
    " AND g.enabled = 1 THEN 1 ELSE 0 END, g.version, g.outbox, g.outbox_full, g.last_seen,"       \
    " g.last_ack, coalesce(g.instruments, '')"
static const struct store_field gateway_fields[] = {
    {"id", SF_TEXT},         {"name", SF_TEXT},        {"org_id", SF_INT},     {"enabled", SF_BOOL},
    {"registered", SF_TIME}, {"rotated", SF_TIME},     {"online", SF_BOOL},    {"version", SF_TEXT},
    {"outbox", SF_INT},      {"outbox_full", SF_BOOL}, {"last_seen", SF_TIME}, {"last_ack", SF_INT},
    {"reported", SF_LIST},
};

/* Each gateway's "instruments": the instruments bound to it, by id. */
static int gateway_bound(struct store *st, json_t *gw)
{
    struct db_stmt *q = store_stmt(st, "SELECT id FROM instruments WHERE gateway = ? ORDER BY id");
    json_t *ids = json_array();
    int row;

    if (!q || !ids || json_object_set_new(gw, "instruments", ids))
        return LS_ERR_DB;
    store_bind_text(q, 1, json_string_value(json_object_get(gw, "id")));
    while ((row = store_step_row(st, q, "gateway instruments")) > 0)
        if (json_array_append_new(ids, json_string((const char *)db_column_text(q, 0))))
            row = -1;
    db_reset(q);
    return row < 0 ? LS_ERR_DB : LS_OK;
}

int store_gateway_get(struct store *st, const char *id, json_t **out)
{
    struct db_stmt *q = store_stmt(st, "SELECT " GATEWAY_COLUMNS " FROM gateways g WHERE g.id = ?"
                                       " AND g.registered_at IS NOT NULL");
    int rc;

    if (!q)
        return LS_ERR_DB;
    db_bind_text(q, 1, id, -1, DB_STATIC);
    rc = store_json_one(st, q, STORE_FIELDS(gateway_fields), out);
    if (rc == LS_OK && gateway_bound(st, *out)) {
        json_decref(*out);
        *out = NULL;
        rc = LS_ERR_DB;
    }
    return rc;
}

int store_gateway_list(struct store *st, int64_t org_id, json_t **items, int64_t *total)
{
    struct db_stmt *q = store_stmt(st, "SELECT " GATEWAY_COLUMNS " FROM gateways g"
                                       " WHERE g.registered_at IS NOT NULL AND (?1 <= 0 OR"
                                       " g.org_id = ?1) ORDER BY g.id");
    int rc;

    *items = json_array();
    if (!q || !*items)
        return LS_ERR_DB;
    db_bind_int64(q, 1, org_id);
    rc = store_json_rows(st, q, STORE_FIELDS(gateway_fields), *items);
    for (size_t i = 0; rc == LS_OK && i < json_array_size(*items); i++)
        rc = gateway_bound(st, json_array_get(*items, i));
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
