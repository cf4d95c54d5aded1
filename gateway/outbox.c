#include "outbox.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/reading_db.h"
#include "labshare/banned.h"

struct outbox {
    sqlite3 *db;
    sqlite3_stmt *ins, *sel, *del, *set_acked, *size, *thin, *put_run, *get_run;
    pthread_mutex_t lock;
    int64_t epoch, acked, last_seq, count, max_rows, max_bytes, thinned;
    int full;
    void (*notify)(void *arg);
    void *notify_arg;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    /* 256 KiB of page cache: the outbox is written far more than read back. */
    "PRAGMA cache_size=-256;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    /* AUTOINCREMENT: a seq is never reused, even after every row was acked and deleted. */
    "CREATE TABLE IF NOT EXISTS readings("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, instrument TEXT NOT NULL, ts INTEGER NOT NULL,"
    " state INTEGER NOT NULL, run_seconds INTEGER, energy_wh INTEGER, power_w REAL,"
    " samples INTEGER, badge INTEGER, cause INTEGER NOT NULL, interlock INTEGER);"
    /* For thinning: the first and last reading of each instrument. */
    "CREATE INDEX IF NOT EXISTS readings_instrument ON readings(instrument, seq);"
    /* Run time summed by the gateway for meters without a counter. */
    "CREATE TABLE IF NOT EXISTS derived(instrument TEXT PRIMARY KEY, run_ms INTEGER NOT NULL);";

static int db_fail(struct outbox *ob, const char *what)
{
    ls_error("outbox: %s: %s", what, sqlite3_errmsg(ob->db));
    return LS_ERR_DB;
}

static int64_t meta_get(struct outbox *ob, const char *key, int64_t def)
{
    sqlite3_stmt *st = NULL;
    int64_t v = def;

    if (sqlite3_prepare_v2(ob->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static int64_t scalar(struct outbox *ob, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;

    if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A new epoch: the creation time in ms times 1000 plus a random part, so that an outbox
 * recreated within the same millisecond still gets a different epoch, epochs sort by creation,
 * and the value stays below 2^53 for JSON readers. */
static int64_t new_epoch(void)
{
    if (sodium_init() < 0)
        return ls_now_ms() * 1000;
    return ls_now_ms() * 1000 + (int64_t)randombytes_uniform(1000);
}

int outbox_open(const char *path, int64_t max_rows, int64_t max_bytes, struct outbox **out)
{
    struct outbox *ob = calloc(1, sizeof(*ob));
    char sql[128];
    int rc = LS_ERR_DB;

    if (!ob)
        return LS_ERR_NOMEM;
    pthread_mutex_init(&ob->lock, NULL);
    ob->max_rows = max_rows;
    ob->max_bytes = max_bytes;
    if (sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        ls_error("outbox: cannot open %s: %s", path,
                 ob->db ? sqlite3_errmsg(ob->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(ob->db, 5000);
    if (sqlite3_exec(ob->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(ob, path);
        goto fail;
    }
    /* An outbox of a gateway before issue 12 has no interlock column: add it (its rows keep
     * NULL, no relay state). */
    if (scalar(ob, "SELECT count(*) FROM pragma_table_info('readings') WHERE name = 'interlock'") ==
            0 &&
        sqlite3_exec(ob->db, "ALTER TABLE readings ADD COLUMN interlock INTEGER", NULL, NULL,
                     NULL) != SQLITE_OK) {
        db_fail(ob, "add the interlock column");
        goto fail;
    }
    ob->epoch = meta_get(ob, "epoch", 0);
    if (ob->epoch == 0) {
        ob->epoch = new_epoch();
        snprintf(sql, sizeof(sql), "INSERT INTO meta VALUES('epoch', %lld), ('acked', 0)",
                 (long long)ob->epoch);
        if (sqlite3_exec(ob->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            db_fail(ob, "create epoch");
            goto fail;
        }
        ls_info("outbox: created %s with epoch %lld", path, (long long)ob->epoch);
    }
    ob->acked = meta_get(ob, "acked", 0);
    ob->last_seq = scalar(ob, "SELECT seq FROM sqlite_sequence WHERE name = 'readings'");
    ob->count = scalar(ob, "SELECT count(*) FROM readings");
    if (sqlite3_prepare_v2(
            ob->db, "INSERT INTO readings(" LS_READING_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?,?)", -1,
            &ob->ins, NULL) ||
        sqlite3_prepare_v2(ob->db,
                           "SELECT seq, " LS_READING_COLUMNS " FROM readings WHERE seq > ?"
                           " ORDER BY seq LIMIT ?",
                           -1, &ob->sel, NULL) ||
        sqlite3_prepare_v2(ob->db, "DELETE FROM readings WHERE seq <= ?", -1, &ob->del, NULL) ||
        sqlite3_prepare_v2(ob->db, "UPDATE meta SET value = ? WHERE key = 'acked'", -1,
                           &ob->set_acked, NULL) ||
        sqlite3_prepare_v2(ob->db,
                           "SELECT (p.page_count - f.freelist_count) * s.page_size"
                           " FROM pragma_page_count() p, pragma_freelist_count() f,"
                           " pragma_page_size() s",
                           -1, &ob->size, NULL) ||
        sqlite3_prepare_v2(ob->db,
                           "DELETE FROM readings WHERE cause = ?1"
                           " AND seq > (SELECT min(seq) FROM readings r WHERE"
                           " r.instrument = readings.instrument)"
                           " AND seq < (SELECT max(seq) FROM readings r WHERE"
                           " r.instrument = readings.instrument)",
                           -1, &ob->thin, NULL) ||
        sqlite3_prepare_v2(ob->db,
                           "INSERT INTO derived(instrument, run_ms) VALUES(?, ?)"
                           " ON CONFLICT(instrument) DO UPDATE SET run_ms = excluded.run_ms",
                           -1, &ob->put_run, NULL) ||
        sqlite3_prepare_v2(ob->db, "SELECT run_ms FROM derived WHERE instrument = ?", -1,
                           &ob->get_run, NULL)) {
        db_fail(ob, "prepare");
        goto fail;
    }
    ls_info("outbox: %s epoch %lld, %lld readings waiting, last seq %lld, acked %lld", path,
            (long long)ob->epoch, (long long)ob->count, (long long)ob->last_seq,
            (long long)ob->acked);
    *out = ob;
    return LS_OK;
fail:
    outbox_free(ob);
    return rc;
}

void outbox_free(struct outbox *ob)
{
    if (!ob)
        return;
    sqlite3_finalize(ob->ins);
    sqlite3_finalize(ob->sel);
    sqlite3_finalize(ob->del);
    sqlite3_finalize(ob->set_acked);
    sqlite3_finalize(ob->size);
    sqlite3_finalize(ob->thin);
    sqlite3_finalize(ob->put_run);
    sqlite3_finalize(ob->get_run);
    sqlite3_close(ob->db);
    pthread_mutex_destroy(&ob->lock);
    free(ob);
}

/* Bytes of data in the file (pages in use). Called with the lock held. */
static int64_t data_bytes(struct outbox *ob)
{
    int64_t v = 0;

    sqlite3_reset(ob->size);
    if (sqlite3_step(ob->size) == SQLITE_ROW)
        v = sqlite3_column_int64(ob->size, 0);
    sqlite3_reset(ob->size);
    return v;
}

static int is_full(struct outbox *ob)
{
    return ob->count >= ob->max_rows || (ob->max_bytes > 0 && data_bytes(ob) >= ob->max_bytes);
}

/* Delete redundant heartbeats. Called with the lock held. Returns the number deleted. */
static int64_t thin(struct outbox *ob)
{
    int64_t n = 0;

    sqlite3_reset(ob->thin);
    sqlite3_bind_int(ob->thin, 1, (int)LS_CAUSE_HEARTBEAT);
    if (sqlite3_step(ob->thin) == SQLITE_DONE)
        n = sqlite3_changes(ob->db);
    else
        db_fail(ob, "thin");
    sqlite3_reset(ob->thin);
    ob->count -= n;
    ob->thinned += n;
    if (n)
        ls_warn("outbox: full at %lld readings: thinned %lld redundant heartbeats",
                (long long)(ob->count + n), (long long)n);
    return n;
}

/* Insert one reading inside the open transaction; *seq gets its seq. Called with the lock held. */
static int insert_one(struct outbox *ob, const struct ls_reading *r, int64_t derived_run_ms,
                      int64_t *seq)
{
    int rc = LS_OK;

    if (is_full(ob) && (thin(ob) == 0 || is_full(ob))) {
        if (!ob->full)
            ls_error("outbox: FULL at %lld readings: new readings are refused until the server "
                     "acknowledges some",
                     (long long)ob->count);
        ob->full = 1;
        return LS_ERR_FULL;
    }
    if (derived_run_ms >= 0) {
        sqlite3_reset(ob->put_run);
        sqlite3_bind_text(ob->put_run, 1, r->instrument, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ob->put_run, 2, derived_run_ms);
        if (sqlite3_step(ob->put_run) != SQLITE_DONE)
            rc = db_fail(ob, "keep run time");
        sqlite3_reset(ob->put_run);
        if (rc)
            return rc;
    }
    sqlite3_reset(ob->ins);
    ls_reading_bind(ob->ins, 1, r);
    if (sqlite3_step(ob->ins) != SQLITE_DONE)
        rc = db_fail(ob, "append");
    sqlite3_reset(ob->ins);
    if (rc)
        return rc;
    *seq = sqlite3_last_insert_rowid(ob->db);
    ob->count++;
    return LS_OK;
}

int outbox_append_many(struct outbox *ob, struct ls_reading *r, const int64_t *derived_run_ms,
                       size_t n, int *rcs)
{
    int64_t count_before, seq[OUTBOX_APPEND_MAX];
    size_t appended = 0;
    int rc = LS_OK;
    void (*notify)(void *) = NULL;
    void *notify_arg = NULL;

    if (n > OUTBOX_APPEND_MAX)
        return LS_ERR_INVAL;
    pthread_mutex_lock(&ob->lock);
    count_before = ob->count;
    if (sqlite3_exec(ob->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(ob, "append begin");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rcs[i] = insert_one(ob, &r[i], derived_run_ms ? derived_run_ms[i] : -1, &seq[i]);
        if (rcs[i] == LS_ERR_DB) {
            rc = LS_ERR_DB;
            break;
        }
        appended += rcs[i] == LS_OK;
    }
    /* One commit for the whole round: durable (synchronous=FULL) when it returns. */
    if (rc || sqlite3_exec(ob->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        if (!rc)
            rc = db_fail(ob, "append commit");
        /* a full disk is a full outbox: reported in the status until an append works again */
        if ((sqlite3_extended_errcode(ob->db) & 0xff) == SQLITE_FULL) {
            if (!ob->full)
                ls_error("outbox: the disk is FULL: new readings are refused until there is room");
            ob->full = 1;
        }
        sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
        ob->count = count_before;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (rcs[i] != LS_OK)
            continue;
        r[i].seq = seq[i];
        ob->last_seq = seq[i];
    }
    if (ob->full && appended && !is_full(ob)) {
        ob->full = 0;
        ls_info("outbox: taking readings again (%lld waiting)", (long long)ob->count);
    }
    if (appended) {
        notify = ob->notify;
        notify_arg = ob->notify_arg;
    }
out:
    pthread_mutex_unlock(&ob->lock);
    if (notify)
        notify(notify_arg);
    return rc;
}

int outbox_append(struct outbox *ob, struct ls_reading *r, int64_t derived_run_ms)
{
    int one = LS_OK, rc = outbox_append_many(ob, r, &derived_run_ms, 1, &one);

    return rc ? rc : one;
}

void outbox_set_notify(struct outbox *ob, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&ob->lock);
    ob->notify = fn;
    ob->notify_arg = arg;
    pthread_mutex_unlock(&ob->lock);
}

int64_t outbox_derived_run_ms(struct outbox *ob, const char *instrument)
{
    int64_t v = 0;

    pthread_mutex_lock(&ob->lock);
    sqlite3_reset(ob->get_run);
    sqlite3_bind_text(ob->get_run, 1, instrument, -1, SQLITE_STATIC);
    if (sqlite3_step(ob->get_run) == SQLITE_ROW)
        v = sqlite3_column_int64(ob->get_run, 0);
    sqlite3_reset(ob->get_run);
    pthread_mutex_unlock(&ob->lock);
    return v;
}

int outbox_fetch(struct outbox *ob, int64_t after, struct ls_reading *out, size_t max, size_t *n)
{
    int rc = LS_OK, step;

    *n = 0;
    pthread_mutex_lock(&ob->lock);
    sqlite3_reset(ob->sel);
    sqlite3_bind_int64(ob->sel, 1, after);
    sqlite3_bind_int64(ob->sel, 2, (int64_t)max);
    while ((step = sqlite3_step(ob->sel)) == SQLITE_ROW) {
        struct ls_reading *r = &out[*n];

        memset(r, 0, sizeof(*r));
        r->seq = sqlite3_column_int64(ob->sel, 0);
        ls_reading_column(ob->sel, 1, r);
        (*n)++;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(ob, "fetch");
    sqlite3_reset(ob->sel);
    pthread_mutex_unlock(&ob->lock);
    return rc;
}

int outbox_ack(struct outbox *ob, int64_t upto)
{
    int rc = LS_OK, deleted = 0;

    pthread_mutex_lock(&ob->lock);
    if (upto > ob->last_seq)
        upto = ob->last_seq;
    if (upto <= ob->acked)
        goto out;
    if (sqlite3_exec(ob->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(ob, "ack begin");
        goto out;
    }
    sqlite3_reset(ob->del);
    sqlite3_bind_int64(ob->del, 1, upto);
    sqlite3_reset(ob->set_acked);
    sqlite3_bind_int64(ob->set_acked, 1, upto);
    deleted = 0;
    if (sqlite3_step(ob->del) == SQLITE_DONE)
        deleted = sqlite3_changes(ob->db);
    else
        deleted = -1;
    if (deleted < 0 || sqlite3_step(ob->set_acked) != SQLITE_DONE ||
        sqlite3_exec(ob->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(ob, "ack");
        sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    ob->count -= deleted;
    ob->acked = upto;
    if (ob->full && !is_full(ob)) {
        ob->full = 0;
        ls_info("outbox: space again (%lld readings waiting)", (long long)ob->count);
    }
out:
    sqlite3_reset(ob->del);
    sqlite3_reset(ob->set_acked);
    pthread_mutex_unlock(&ob->lock);
    return rc;
}

#define GETTER(name, field)                                                                        \
    int64_t outbox_##name(struct outbox *ob)                                                       \
    {                                                                                              \
        int64_t v;                                                                                 \
        pthread_mutex_lock(&ob->lock);                                                             \
        v = ob->field;                                                                             \
        pthread_mutex_unlock(&ob->lock);                                                           \
        return v;                                                                                  \
    }

GETTER(epoch, epoch)
GETTER(acked, acked)
GETTER(last_seq, last_seq)
GETTER(count, count)
GETTER(thinned, thinned)

int outbox_full(struct outbox *ob)
{
    int v;

    pthread_mutex_lock(&ob->lock);
    v = ob->full;
    pthread_mutex_unlock(&ob->lock);
    return v;
}
