/* store_audit.c - the hash-chained audit log (SPEC 8; store.h). */
#include "store.h"
#include "store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/json_guard.h"
#include "labshare/grow.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* The canonical text of v (compact, sorted keys), or NULL. Read back and compared: jansson 2.14,
 * out of memory in the middle of a dump, can return a text with a key missing instead of failing
 * (seen with injected malloc failures), and a record must never keep or hash such a text. */
static char *dump_checked(const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_t *back = text ? ls_json_loads(text, JSON_DECODE_ANY, NULL, NULL) : NULL;
    int same = back && json_equal(back, v);

    json_decref(back);
    if (!same) {
        free(text);
        return NULL;
    }
    return text;
}

/* hex SHA-256 over the canonical text of a record: a JSON object with sorted keys holding every
 * field, before and after as the exact text stored (so no re-encoding can change the hash). */
/* The principal (kind, id, user) is part of it since schema 14; records written before have none
 * and hash as they did. */
static int record_hash(int64_t seq, int64_t at, const char *actor, const char *action,
                       const char *object, const char *before, const char *after,
                       const char *prev_hash, const char *kind, const char *id, int64_t user,
                       char hex[65])
{
    /* built key by key, every allocation checked: jansson's optional pack formats would turn a
     * failed allocation into a missing or null field, and the hash would cover other content
     * than the row keeps */
    json_t *o = json_object();
    unsigned char h[crypto_hash_sha256_BYTES];
    char *text;
    int bad = !o;

    if (!bad) {
        bad |= json_object_set_new(o, "seq", json_integer(seq));
        bad |= json_object_set_new(o, "at", json_integer(at));
        bad |= json_object_set_new(o, "actor", json_string(actor));
        bad |= json_object_set_new(o, "action", json_string(action));
        bad |= json_object_set_new(o, "object", json_string(object));
        bad |= json_object_set_new(o, "before", before ? json_string(before) : json_null());
        bad |= json_object_set_new(o, "after", after ? json_string(after) : json_null());
        bad |= json_object_set_new(o, "prev_hash", json_string(prev_hash));
        if (kind)
            bad |= json_object_set_new(o, "actor_kind", json_string(kind));
        if (id)
            bad |= json_object_set_new(o, "actor_id", json_string(id));
        if (user > 0)
            bad |= json_object_set_new(o, "actor_user", json_integer(user));
    }
    if (bad) {
        json_decref(o);
        return LS_ERR_NOMEM;
    }
    text = dump_checked(o);
    json_decref(o);
    if (!text)
        return LS_ERR_NOMEM;
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    free(text);
    sodium_bin2hex(hex, 65, h, sizeof(h));
    return LS_OK;
}

struct audit_actor audit_system(const char *part)
{
    struct audit_actor a = {"system", "", 0, part};

    snprintf(a.id, sizeof(a.id), "%s", part);
    return a;
}

int store_audit_append(struct store *st, int64_t at_ms, const struct audit_actor *who,
                       const char *action, const char *object, const json_t *before,
                       const json_t *after)
{
    struct db_stmt *last = store_stmt(st, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    struct db_stmt *ins =
        store_stmt(st, "INSERT INTO audit(seq, at, actor, action, object, before,"
                       " after, prev_hash, hash, actor_kind, actor_id, actor_user)"
                       " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    const char *actor = who->name && who->name[0] ? who->name : who->id;
    char prev[65] = ZERO_HASH, hash[65];
    char *b = NULL, *a = NULL;
    int64_t seq = 1;
    int step, rc;

    if (!last || !ins)
        return LS_ERR_DB;
    step = db_step(last);
    if (step == DB_ROW) {
        seq = db_column_int64(last, 0) + 1;
        snprintf(prev, sizeof(prev), "%s", (const char *)db_column_text(last, 1));
    }
    db_reset(last);
    if (step != DB_ROW && step != DB_DONE)
        return store_db_fail(st, "audit tail");
    if (before)
        b = dump_checked(before);
    if (after)
        a = dump_checked(after);
    /* out of memory: no record rather than one without its content */
    if ((before && !b) || (after && !a)) {
        free(b);
        free(a);
        return LS_ERR_NOMEM;
    }
    rc = record_hash(seq, at_ms, actor, action, object, b, a, prev, who->kind, who->id, who->user,
                     hash);
    if (rc == LS_OK) {
        db_bind_int64(ins, 1, seq);
        db_bind_int64(ins, 2, at_ms);
        store_bind_text(ins, 3, actor);
        store_bind_text(ins, 4, action);
        store_bind_text(ins, 5, object);
        store_bind_text(ins, 6, b);
        store_bind_text(ins, 7, a);
        store_bind_text(ins, 8, prev);
        store_bind_text(ins, 9, hash);
        store_bind_text(ins, 10, who->kind);
        store_bind_text(ins, 11, who->id);
        if (who->user > 0)
            db_bind_int64(ins, 12, who->user);
        else
            db_bind_null(ins, 12);
        rc = store_step_done(st, ins);
    }
    if (rc == LS_OK) {
        struct db_stmt *head =
            store_stmt(st, "INSERT INTO audit_head(id, seq, hash) VALUES(1, ?, ?)"
                           " ON CONFLICT(id) DO UPDATE SET seq = excluded.seq,"
                           " hash = excluded.hash");
        if (!head)
            rc = LS_ERR_DB;
        else {
            db_bind_int64(head, 1, seq);
            store_bind_text(head, 2, hash);
            rc = store_step_done(st, head);
        }
    }
    free(b);
    free(a);
    return rc;
}

/* Text column i, or "" when NULL, into buf. */
static void text_col(struct db_stmt *q, int i, char *buf, size_t len)
{
    const char *t = (const char *)db_column_text(q, i);
    snprintf(buf, len, "%s", t ? t : "");
}

/* A copy of text column i (NULL when NULL): 0, or -1 out of memory. */
static int dup_col(struct db_stmt *q, int i, char **out)
{
    const char *t = (const char *)db_column_text(q, i);

    *out = t ? strdup(t) : NULL;
    return t && !*out ? -1 : 0;
}

void audit_records_free(struct audit_record *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].before);
        free(r[i].after);
    }
    free(r);
}

int store_audit_list(struct store *st, const struct audit_filter *f, struct audit_record **items,
                     size_t *n, int64_t *total)
{
#define AUDIT_WHERE                                                                                \
    " FROM audit WHERE at >= ?1 AND at < ?2 AND (?5 IS NULL OR object = ?5) AND (?6 IS NULL OR"    \
    " actor = ?6) AND (?7 IS NULL OR action = ?7 OR action LIKE ?7 || '.%')"
    struct db_stmt *q = store_stmt(
        st,
        "SELECT seq, at, actor, actor_kind, actor_id, coalesce(actor_user, 0), action,"
        " object, before, after, prev_hash, hash" AUDIT_WHERE " ORDER BY seq LIMIT ?3 OFFSET ?4");
    struct db_stmt *c = store_stmt(st, "SELECT count(*)" AUDIT_WHERE);
    struct db_stmt *both[2] = {q, c};
    size_t cap = 0;
    int row, rc = LS_OK;

    *items = NULL;
    *n = 0;
    if (!q || !c)
        return LS_ERR_DB;
    for (int k = 0; k < 2; k++) {
        db_bind_int64(both[k], 1, f->from_ms);
        db_bind_int64(both[k], 2, f->to_ms);
        store_bind_text(both[k], 5, f->object);
        store_bind_text(both[k], 6, f->actor);
        store_bind_text(both[k], 7, f->action);
    }
    db_bind_int64(q, 3, f->limit);
    db_bind_int64(q, 4, f->offset);
    while (rc == LS_OK && (row = store_step_row(st, q, "audit log")) > 0) {
        struct audit_record *r;
        if (LS_GROW(*items, cap, *n + 1)) {
            rc = LS_ERR_NOMEM;
            break;
        }
        r = &(*items)[(*n)++];
        memset(r, 0, sizeof(*r));
        r->seq = db_column_int64(q, 0);
        r->at_ms = db_column_int64(q, 1);
        text_col(q, 2, r->actor, sizeof(r->actor));
        text_col(q, 3, r->actor_kind, sizeof(r->actor_kind));
        text_col(q, 4, r->actor_id, sizeof(r->actor_id));
        r->actor_user = db_column_int64(q, 5);
        text_col(q, 6, r->action, sizeof(r->action));
        text_col(q, 7, r->object, sizeof(r->object));
        text_col(q, 10, r->prev_hash, sizeof(r->prev_hash));
        text_col(q, 11, r->hash, sizeof(r->hash));
        if (dup_col(q, 8, &r->before) || dup_col(q, 9, &r->after))
            rc = LS_ERR_NOMEM;
    }
    if (rc == LS_OK && row < 0)
        rc = LS_ERR_DB;
    db_reset(q);
    if (rc == LS_OK && store_int_one(st, c, total) == LS_ERR_DB)
        rc = LS_ERR_DB;
    if (rc) {
        audit_records_free(*items, *n);
        *items = NULL;
        *n = 0;
    }
    return rc;
}

int store_audit_verify(struct store *st, int64_t *checked, int64_t *first_bad, char *why,
                       size_t len)
{
    struct db_stmt *q = store_stmt(st, "SELECT seq, at, actor, action, object, before, after,"
                                       " prev_hash, hash, actor_kind, actor_id,"
                                       " coalesce(actor_user, 0) FROM audit ORDER BY seq");
    char prev[65] = ZERO_HASH, hash[65];
    int64_t expect = 1;
    int step;

    *checked = 0;
    *first_bad = 0;
    why[0] = '\0';
    if (!q)
        return LS_ERR_DB;
    while ((step = db_step(q)) == DB_ROW) {
        int64_t seq = db_column_int64(q, 0);
        const char *stored_prev = (const char *)db_column_text(q, 7);
        const char *stored_hash = (const char *)db_column_text(q, 8);

        (*checked)++;
        if (seq != expect) {
            snprintf(why, len, "record %lld is missing", (long long)expect);
            *first_bad = seq;
            break;
        }
        if (!stored_prev || strcmp(stored_prev, prev) != 0) {
            snprintf(why, len, "prev_hash of record %lld does not match record %lld",
                     (long long)seq, (long long)seq - 1);
            *first_bad = seq;
            break;
        }
        if (record_hash(seq, db_column_int64(q, 1), (const char *)db_column_text(q, 2),
                        (const char *)db_column_text(q, 3), (const char *)db_column_text(q, 4),
                        (const char *)db_column_text(q, 5), (const char *)db_column_text(q, 6),
                        prev, (const char *)db_column_text(q, 9),
                        (const char *)db_column_text(q, 10), db_column_int64(q, 11), hash) ||
            !stored_hash || strcmp(hash, stored_hash) != 0) {
            snprintf(why, len, "record %lld was changed: its hash does not match its content",
                     (long long)seq);
            *first_bad = seq;
            break;
        }
        snprintf(prev, sizeof(prev), "%s", stored_hash);
        expect = seq + 1;
    }
    db_reset(q);
    if (step != DB_ROW && step != DB_DONE)
        return store_db_fail(st, "audit verify");
    if (*first_bad == 0) {
        struct db_stmt *head = store_stmt(st, "SELECT seq, hash FROM audit_head WHERE id = 1");
        int64_t head_seq = 0;
        char head_hash[65] = ZERO_HASH;

        if (!head)
            return LS_ERR_DB;
        step = store_step_row(st, head, "audit head");
        if (step > 0) {
            head_seq = db_column_int64(head, 0);
            snprintf(head_hash, sizeof(head_hash), "%s", db_column_text(head, 1));
        }
        db_reset(head);
        if (step < 0)
            return LS_ERR_DB; /* cannot tell, which is not "records were deleted" */
        if (head_seq != expect - 1 || strcmp(head_hash, prev) != 0) {
            snprintf(why, len,
                     "the log ends at record %lld but its head says %lld: records "
                     "were deleted or the head was changed",
                     (long long)expect - 1, (long long)head_seq);
            *first_bad = expect;
        }
    }
    return LS_OK;
}
