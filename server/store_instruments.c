/* store_instruments.c - the instrument registry (store.h). The booking rules, service hours,
 * billing terms and interlock policy are kept as JSON text columns (each the API's form of its
 * struct), parsed back when read - or, when the texts are those parsed last time on this
 * connection, taken from what that gave. */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/grow.h"
#include "labshare/json_guard.h"
#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

#define INSTRUMENT_COLUMNS                                                                         \
    "id, name, org_id, category, location, description, interlock, value_yuan, rated_hours,"       \
    " public, gateway, booking, billing, service_hours, created_at"

/* Bind doc (NULL: out of memory) as compact JSON text to parameter col. */
static int bind_doc(struct db_stmt *q, int col, json_t *doc)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (!s)
        return LS_ERR_NOMEM;
    db_bind_text(q, col, s, -1, DB_FREE);
    return LS_OK;
}

/* Bind in's columns to parameters 1..14 (all but created_at). */
static int bind_instrument(struct db_stmt *q, const struct instrument *in)
{
    store_bind_text(q, 1, in->id);
    store_bind_text(q, 2, in->name);
    db_bind_int64(q, 3, in->org_id);
    store_bind_text(q, 4, in->category);
    store_bind_text(q, 5, in->location);
    db_bind_int64(q, 6, in->value_yuan);
    db_bind_int64(q, 7, in->rated_hours);
    db_bind_int(q, 8, in->is_public ? 1 : 0);
    store_bind_text(q, 9, in->gateway[0] ? in->gateway : NULL);
    store_bind_text(q, 13, in->description ? in->description : "");
    if (bind_doc(q, 10, booking_rules_json(&in->booking)) ||
        bind_doc(q, 11, billing_terms_json(&in->billing)) ||
        bind_doc(q, 12, service_hours_json(&in->hours)) ||
        bind_doc(q, 14, interlock_policy_json(&in->interlock))) {
        db_reset(q);
        return LS_ERR_NOMEM;
    }
    return LS_OK;
}

int store_instrument_create(struct store *st, const struct instrument *in)
{
    struct db_stmt *q = store_stmt(st, "INSERT INTO instruments(id, name, org_id, category,"
                                       " location, value_yuan, rated_hours, public, gateway,"
                                       " booking, billing, service_hours, description, interlock,"
                                       " created_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");

    if (!q)
        return LS_ERR_DB;
    if (bind_instrument(q, in))
        return LS_ERR_NOMEM;
    db_bind_int64(q, 15, in->joined_ms); /* when it joined the platform */
    return store_write_rc(st, q);
}

int store_instrument_update(struct store *st, const struct instrument *in)
{
    /* created_at is when it joined: set once, at registration */
    struct db_stmt *q =
        store_stmt(st, "UPDATE instruments SET name = ?2, org_id = ?3,"
                       " category = ?4, location = ?5, value_yuan = ?6,"
                       " rated_hours = ?7, public = ?8, gateway = ?9, booking = ?10,"
                       " billing = ?11, service_hours = ?12, description = ?13,"
                       " interlock = ?14 WHERE id = ?1");

    if (!q)
        return LS_ERR_DB;
    if (bind_instrument(q, in))
        return LS_ERR_NOMEM;
    return store_write_one(st, q, LS_ERR_NOTFOUND);
}

/* One of the settings columns: its JSON text parsed by the domain module's parser. */
static int read_doc(struct db_stmt *q, int col, int *oom, json_t **doc)
{
    *doc = ls_json_loads((const char *)db_column_text(q, col), 0, NULL, oom);
    return *doc ? LS_OK : *oom ? LS_ERR_NOMEM : LS_ERR_DB;
}

/* The settings of the instruments read last on a connection, parsed, keyed by their four texts
 * (perf, issue 15: parsing the four documents was a quarter of an availability request). The
 * texts are always read from the row, so a change made by another connection, process or
 * server is seen at once: a different text is parsed anew. */
#define SETTINGS_CACHE 32
struct settings_cache {
    struct {
        char *key; /* the four texts, each ended by \x01 (never in valid JSON text) */
        size_t len;
        struct interlock_policy interlock;
        struct booking_rules booking;
        struct billing_terms billing;
        struct service_hours hours;
    } e[SETTINGS_CACHE];
    unsigned next; /* replaced next, round the ring */
    char *scratch; /* the key being looked up */
    size_t cap;
};

void store_settings_cache_free(struct store *st)
{
    if (!st->settings)
        return;
    for (size_t i = 0; i < SETTINGS_CACHE; i++)
        free(st->settings->e[i].key);
    free(st->settings->scratch);
    free(st->settings);
    st->settings = NULL;
}

/* The key of row q's settings in the cache's scratch (its length in *len); -1 out of memory. */
static int settings_key(struct settings_cache *c, struct db_stmt *q, size_t *len)
{
    static const int cols[4] = {6, 11, 12, 13};
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        const char *t = (const char *)db_column_text(q, cols[i]);
        size_t l = t ? strlen(t) : 0;
        if (LS_GROW(c->scratch, c->cap, n + l + 1))
            return -1;
        if (l)
            memcpy(c->scratch + n, t, l);
        n += l;
        c->scratch[n++] = '\x01';
    }
    *len = n;
    return 0;
}

/* The cached settings of row q into in (1), or 0 when not there (then *slot is where they go
 * once parsed, -1 nowhere, and the key of *len bytes is in the scratch). */
static int settings_cached(struct store *st, struct db_stmt *q, struct instrument *in, int *slot,
                           size_t *len)
{
    struct settings_cache *c = st->settings;

    *slot = -1;
    if (!c && !(c = st->settings = calloc(1, sizeof(*c))))
        return 0;
    if (settings_key(c, q, len))
        return 0;
    for (int i = 0; i < SETTINGS_CACHE; i++)
        if (c->e[i].key && c->e[i].len == *len && memcmp(c->e[i].key, c->scratch, *len) == 0) {
            in->interlock = c->e[i].interlock;
            in->booking = c->e[i].booking;
            in->billing = c->e[i].billing;
            in->hours = c->e[i].hours;
            return 1;
        }
    *slot = (int)(c->next++ % SETTINGS_CACHE);
    return 0;
}

/* Keep in's parsed settings under the key in the scratch, at slot. */
static void settings_keep(struct store *st, int slot, const struct instrument *in, size_t len)
{
    struct settings_cache *c = st->settings;
    char *key = slot >= 0 ? malloc(len) : NULL;

    if (!key)
        return;
    memcpy(key, c->scratch, len);
    free(c->e[slot].key);
    c->e[slot].key = key;
    c->e[slot].len = len;
    c->e[slot].interlock = in->interlock;
    c->e[slot].booking = in->booking;
    c->e[slot].billing = in->billing;
    c->e[slot].hours = in->hours;
}

/* The row q is on (INSTRUMENT_COLUMNS) into *in (which it then owns). LS_ERR_DB when a
 * settings column does not parse (a damaged row: logged), LS_ERR_NOMEM. */
static int read_instrument(struct store *st, struct db_stmt *q, struct instrument *in)
{
    json_t *il = NULL, *bk = NULL, *bl = NULL, *sh = NULL;
    char why[200];
    int oom = 0, rc, slot = -1;
    size_t len = 0;

    memset(in, 0, sizeof(*in));
    snprintf(in->id, sizeof(in->id), "%s", (const char *)db_column_text(q, 0));
    snprintf(in->name, sizeof(in->name), "%s", (const char *)db_column_text(q, 1));
    in->org_id = db_column_int64(q, 2);
    snprintf(in->category, sizeof(in->category), "%s", (const char *)db_column_text(q, 3));
    snprintf(in->location, sizeof(in->location), "%s", (const char *)db_column_text(q, 4));
    in->value_yuan = db_column_int64(q, 7);
    in->rated_hours = db_column_int64(q, 8);
    in->is_public = db_column_int64(q, 9) != 0;
    if (db_column_type(q, 10) != DB_NULL)
        snprintf(in->gateway, sizeof(in->gateway), "%s", (const char *)db_column_text(q, 10));
    in->joined_ms = db_column_int64(q, 14);
    rc = instrument_set_description(in, (const char *)db_column_text(q, 5));
    if (rc == LS_OK && settings_cached(st, q, in, &slot, &len))
        return LS_OK;
    if (rc == LS_OK)
        rc = read_doc(q, 6, &oom, &il);
    if (rc == LS_OK)
        rc = read_doc(q, 11, &oom, &bk);
    if (rc == LS_OK)
        rc = read_doc(q, 12, &oom, &bl);
    if (rc == LS_OK)
        rc = read_doc(q, 13, &oom, &sh);
    if (rc == LS_OK && (interlock_policy_parse(il, &in->interlock, why, sizeof(why)) ||
                        booking_rules_parse(bk, &in->booking, why, sizeof(why)) ||
                        billing_terms_parse(bl, &in->billing, why, sizeof(why)) ||
                        service_hours_parse(sh, &in->hours, why, sizeof(why))))
        rc = LS_ERR_DB;
    if (rc == LS_ERR_DB)
        ls_error("store: instrument '%s' has damaged settings: %s", in->id,
                 il && bk && bl && sh ? why : "not JSON");
    json_decref(il);
    json_decref(bk);
    json_decref(bl);
    json_decref(sh);
    if (rc)
        instrument_clear(in);
    else
        settings_keep(st, slot, in, len);
    return rc;
}

int store_instrument_get(struct store *st, const char *id, struct instrument *out)
{
    struct db_stmt *q =
        store_stmt(st, "SELECT " INSTRUMENT_COLUMNS " FROM instruments WHERE id = ?");
    int row, rc;

    memset(out, 0, sizeof(*out));
    if (!q)
        return LS_ERR_DB;
    store_bind_text(q, 1, id);
    row = store_step_row(st, q, "instrument");
    rc = row > 0 ? read_instrument(st, q, out) : row == 0 ? LS_ERR_NOTFOUND : LS_ERR_DB;
    db_reset(q);
    return rc;
}

int store_instrument_list(struct store *st, int64_t org_id, int public_only, int64_t limit,
                          int64_t offset, struct instrument **items, size_t *n, int64_t *total)
{
    struct db_stmt *q = store_stmt(st, "SELECT " INSTRUMENT_COLUMNS " FROM instruments WHERE"
                                       " (?1 = 0 OR org_id = ?1) AND (?2 = 0 OR public = 1)"
                                       " ORDER BY id LIMIT ?3 OFFSET ?4");
    struct db_stmt *c = store_stmt(st, "SELECT count(*) FROM instruments WHERE"
                                       " (?1 = 0 OR org_id = ?1) AND (?2 = 0 OR public = 1)");
    size_t cap = 0;
    int row, rc = LS_OK;

    *items = NULL;
    *n = 0;
    if (!q || !c)
        return LS_ERR_DB;
    db_bind_int64(q, 1, org_id > 0 ? org_id : 0);
    db_bind_int(q, 2, public_only);
    db_bind_int64(q, 3, limit);
    db_bind_int64(q, 4, offset);
    while (rc == LS_OK && (row = store_step_row(st, q, "instruments")) > 0) {
        if (ls_grow(items, &cap, *n + 1, sizeof(**items)))
            rc = LS_ERR_NOMEM;
        else if ((rc = read_instrument(st, q, &(*items)[*n])) == LS_OK)
            (*n)++;
    }
    db_reset(q);
    if (rc == LS_OK && row < 0)
        rc = LS_ERR_DB;
    db_bind_int64(c, 1, org_id > 0 ? org_id : 0);
    db_bind_int(c, 2, public_only);
    if (rc == LS_OK && store_int_one(st, c, total) == LS_ERR_DB)
        rc = LS_ERR_DB;
    if (rc) {
        instruments_free(*items, *n);
        *items = NULL;
        *n = 0;
    }
    return rc;
}
