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

void gateway_clear(struct gateway *g)
{
    free(g->reported);
    free(g->bound);
    g->reported = g->bound = NULL;
    g->nreported = g->nbound = 0;
}

void gateways_free(struct gateway *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        gateway_clear(&v[i]);
    free(v);
}

/* Append id (its first len bytes) to *ids (*n of *cap). LS_ERR_NOMEM. */
static int add_id(char (**ids)[LS_ID_MAX], size_t *n, size_t *cap, const char *id, size_t len)
{
    if (ls_grow(ids, cap, *n + 1, sizeof(**ids)))
        return LS_ERR_NOMEM;
    snprintf((*ids)[*n], LS_ID_MAX, "%.*s", (int)(len < LS_ID_MAX ? len : LS_ID_MAX - 1), id);
    (*n)++;
    return LS_OK;
}

/* The row q is on (GATEWAY_COLUMNS) into *g, its reported instruments from their
 * comma-separated column. LS_ERR_NOMEM. */
static int read_gateway(struct db_stmt *q, struct gateway *g)
{
    const char *list = (const char *)db_column_text(q, 12);
    size_t cap = 0;

    memset(g, 0, sizeof(*g));
    snprintf(g->id, sizeof(g->id), "%s", (const char *)db_column_text(q, 0));
    snprintf(g->name, sizeof(g->name), "%s", (const char *)db_column_text(q, 1));
    g->org_id = db_column_int64(q, 2);
    g->enabled = db_column_int64(q, 3) != 0;
    g->registered_ms = db_column_int64(q, 4);
    g->rotated_ms = db_column_int64(q, 5);
    g->online = db_column_int64(q, 6) != 0;
    g->has_version = db_column_type(q, 7) != DB_NULL;
    snprintf(g->version, sizeof(g->version), "%s",
             g->has_version ? (const char *)db_column_text(q, 7) : "");
    g->outbox = db_column_type(q, 8) == DB_NULL ? -1 : db_column_int64(q, 8);
    g->outbox_full = db_column_int64(q, 9) != 0;
    g->last_seen_ms = db_column_int64(q, 10);
    g->last_ack = db_column_type(q, 11) == DB_NULL ? -1 : db_column_int64(q, 11);
    while (list && *list) {
        size_t len = strcspn(list, ",");
        if (add_id(&g->reported, &g->nreported, &cap, list, len)) {
            gateway_clear(g);
            return LS_ERR_NOMEM;
        }
        list += len + (list[len] == ',');
    }
    return LS_OK;
}

/* g's bound instruments: those whose gateway it is, by id. */
static int gateway_bound(struct store *st, struct gateway *g)
{
    struct db_stmt *q = store_stmt(st, "SELECT id FROM instruments WHERE gateway = ? ORDER BY id");
    size_t cap = 0;
    int row, rc = LS_OK;

    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, g->id);
    while (rc == LS_OK && (row = store_step_row(st, q, "gateway instruments")) > 0) {
        const char *id = (const char *)db_column_text(q, 0);
        rc = add_id(&g->bound, &g->nbound, &cap, id, strlen(id));
    }
    db_reset(q);
    return rc ? rc : row < 0 ? LS_ERR_DB : LS_OK;
}

/* The rows of q into *items (*n), each with its bound instruments. */
static int gateway_rows(struct store *st, struct db_stmt *q, struct gateway **items, size_t *n)
{
    size_t cap = 0;
    int row, rc = LS_OK;

    *items = NULL;
    *n = 0;
    while (rc == LS_OK && (row = store_step_row(st, q, "gateways")) > 0) {
        if (ls_grow(items, &cap, *n + 1, sizeof(**items)))
            rc = LS_ERR_NOMEM;
        else if ((rc = read_gateway(q, &(*items)[*n])) == LS_OK)
            (*n)++;
    }
    db_reset(q);
    if (rc == LS_OK && row < 0)
        rc = LS_ERR_DB;
    for (size_t i = 0; rc == LS_OK && i < *n; i++)
        rc = gateway_bound(st, &(*items)[i]);
    if (rc) {
        gateways_free(*items, *n);
        *items = NULL;
        *n = 0;
    }
    return rc;
}

int store_gateway_get(struct store *st, const char *id, struct gateway *out)
{
    struct db_stmt *q = store_stmt(st, "SELECT " GATEWAY_COLUMNS " FROM gateways g WHERE g.id = ?"
                                       " AND g.registered_at IS NOT NULL");
    struct gateway *v = NULL;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, id);
    rc = gateway_rows(st, q, &v, &n);
    if (rc == LS_OK && n == 0)
        rc = LS_ERR_NOTFOUND;
    if (rc == LS_OK) {
        *out = v[0]; /* it owns what v[0] did */
        free(v);
        return LS_OK;
    }
    gateways_free(v, n);
    return rc;
}

int store_gateway_list(struct store *st, int64_t org_id, struct gateway **items, size_t *n)
{
    struct db_stmt *q = store_stmt(st, "SELECT " GATEWAY_COLUMNS " FROM gateways g"
                                       " WHERE g.registered_at IS NOT NULL AND (?1 <= 0 OR"
                                       " g.org_id = ?1) ORDER BY g.id");

    *items = NULL;
    *n = 0;
    if (!q)
        return LS_ERR_DB;
    db_bind_int64(q, 1, org_id);
    return gateway_rows(st, q, items, n);
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
