/*
 * bench_ingest - the server's ingest path against raw baselines measured in the same run:
 *   1. decode a 100-reading batch (ls_batch_decode) vs a bare json_loadb of the same bytes;
 *   2. store batches with store_readings_insert (idempotent insert + contiguous ack, one durable
 *      transaction per batch) vs a raw prepared INSERT of the same rows into a plain SQLite
 *      table with the same pragmas and one transaction per batch.
 * Prints figures and ratios; asserts nothing about speed.
 */
// LINK: ALL_SERVER
#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../server/ingest.h"
#include "../../server/store.h"
#include "../../server/storage/db.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/wire.h"

#define BATCH 100

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(struct ls_reading *r, int64_t seq)
{
    memset(r, 0, sizeof(*r));
    r->seq = seq;
    snprintf(r->instrument, sizeof(r->instrument), "inst-%03lld", (long long)(seq % 500));
    r->ts = 1795000000000 + seq * 1000;
    r->state = seq % 2 ? LS_STATE_RUNNING : LS_STATE_IDLE;
    r->run_seconds = seq;
    r->energy_wh = seq * 2;
    r->power_w = 1234.5;
    r->samples = seq / 10;
    r->badge = 1001;
    r->has = LS_HAS_RUN_SECONDS | LS_HAS_ENERGY_WH | LS_HAS_POWER_W | LS_HAS_SAMPLES | LS_HAS_BADGE;
    r->cause = LS_CAUSE_HEARTBEAT;
}

static void bench_decode(int iters)
{
    struct ls_reading r[BATCH];
    struct ls_batch b;
    char *payload;
    size_t len;
    double t0, raw, ours;

    for (int i = 0; i < BATCH; i++)
        fill(&r[i], i + 1);
    payload = ls_batch_encode("gw-bench", 1, -1, r, BATCH);
    len = strlen(payload);
    t0 = now_s();
    for (int i = 0; i < iters; i++) {
        json_t *j = json_loadb(payload, len, 0, NULL);
        json_decref(j);
    }
    raw = now_s() - t0;
    t0 = now_s();
    for (int i = 0; i < iters; i++) {
        if (ls_batch_decode(payload, len, &b, NULL, 0) == 0)
            ls_batch_release(&b);
    }
    ours = now_s() - t0;
    printf("decode  %d batches of %d (%zu bytes each)\n", iters, BATCH, len);
    printf("  raw json_loadb          %10.0f readings/s\n", iters * (double)BATCH / raw);
    printf("  ls_batch_decode         %10.0f readings/s   ratio to raw %.2f\n",
           iters * (double)BATCH / ours, raw / ours);
    free(payload);
}

static double raw_sqlite(const char *path, int batches)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    struct ls_reading r;
    double t0;
    int64_t seq = 0;

    sqlite3_open(path, &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE r(gateway TEXT, epoch INTEGER, seq INTEGER, instrument TEXT,"
                 " ts INTEGER, state INTEGER, run_seconds INTEGER, energy_wh INTEGER,"
                 " power_w REAL, samples INTEGER, badge INTEGER, cause INTEGER,"
                 " received_at INTEGER)",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO r VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &s, NULL);
    t0 = now_s();
    for (int b = 0; b < batches; b++) {
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (int i = 0; i < BATCH; i++) {
            fill(&r, ++seq);
            sqlite3_bind_text(s, 1, "gw-bench", -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 2, 1);
            sqlite3_bind_int64(s, 3, r.seq);
            sqlite3_bind_text(s, 4, r.instrument, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 5, r.ts);
            sqlite3_bind_int(s, 6, (int)r.state);
            sqlite3_bind_int64(s, 7, r.run_seconds);
            sqlite3_bind_int64(s, 8, r.energy_wh);
            sqlite3_bind_double(s, 9, r.power_w);
            sqlite3_bind_int64(s, 10, r.samples);
            sqlite3_bind_int64(s, 11, r.badge);
            sqlite3_bind_int(s, 12, (int)r.cause);
            sqlite3_bind_int64(s, 13, 0);
            sqlite3_step(s);
            sqlite3_reset(s);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    t0 = now_s() - t0;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return t0;
}

/* The same raw INSERTs into a plain PostgreSQL table through libpq: a prepared statement, text
 * parameters, one transaction per batch (synchronous_commit on, the default). */
static double raw_pg(const char *url, int batches)
{
    PGconn *c = PQconnectdb(url);
    PGresult *res;
    struct ls_reading r;
    double t0;
    int64_t seq = 0;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(PQexec(c, "CREATE TABLE r(gateway TEXT, epoch BIGINT, seq BIGINT, instrument TEXT,"
                      " ts BIGINT, state INTEGER, run_seconds BIGINT, energy_wh BIGINT,"
                      " power_w FLOAT8, samples BIGINT, badge BIGINT, cause INTEGER,"
                      " received_at BIGINT)"));
    PQclear(PQprepare(c, "ins", "INSERT INTO r VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                      13, NULL));
    t0 = now_s();
    for (int b = 0; b < batches; b++) {
        PQclear(PQexec(c, "BEGIN"));
        for (int i = 0; i < BATCH; i++) {
            char v[13][32];
            const char *pv[13];
            fill(&r, ++seq);
            snprintf(v[0], sizeof(v[0]), "gw-bench");
            snprintf(v[1], sizeof(v[1]), "1");
            snprintf(v[2], sizeof(v[2]), "%lld", (long long)r.seq);
            snprintf(v[3], sizeof(v[3]), "%.31s", r.instrument);
            snprintf(v[4], sizeof(v[4]), "%lld", (long long)r.ts);
            snprintf(v[5], sizeof(v[5]), "%d", (int)r.state);
            snprintf(v[6], sizeof(v[6]), "%lld", (long long)r.run_seconds);
            snprintf(v[7], sizeof(v[7]), "%lld", (long long)r.energy_wh);
            snprintf(v[8], sizeof(v[8]), "%.17g", r.power_w);
            snprintf(v[9], sizeof(v[9]), "%lld", (long long)r.samples);
            snprintf(v[10], sizeof(v[10]), "%lld", (long long)r.badge);
            snprintf(v[11], sizeof(v[11]), "%d", (int)r.cause);
            snprintf(v[12], sizeof(v[12]), "0");
            for (int k = 0; k < 13; k++)
                pv[k] = v[k];
            res = PQexecPrepared(c, "ins", 13, pv, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                fprintf(stderr, "bench: %s", PQerrorMessage(c));
                exit(1);
            }
            PQclear(res);
        }
        PQclear(PQexec(c, "COMMIT"));
    }
    t0 = now_s() - t0;
    PQfinish(c);
    return t0;
}

/* with_usage: 0 readings and acks alone; 1 with usage, a transaction per batch (a lone batch);
 * GROUP_BATCHES: with usage, that many batches per transaction, as the server's ingest worker
 * takes them when they queue (a backlog, a busy platform). */
#define GROUP_BATCHES 16
static double ours_store(const char *path, int batches, int64_t *upto, int with_usage)
{
    struct store *st;
    struct ls_batch b;
    struct ingest_result res;
    double t0;
    int64_t seq = 0;

    if (store_open(path, &st) || store_cache_mb(st, 64)) /* as ingest.c's worker */
        exit(1);
    {
        /* what ingest trusts: the gateway registered, the 500 instruments bound to it */
        struct db *db;
        char sql[160], err[256];
        if (db_open(path, &db, err, sizeof(err)) ||
            db_exec(db,
                    "BEGIN; INSERT INTO orgs(id, name, type) VALUES(1, 'Lab', 'university');"
                    "INSERT INTO gateways(id, registered_at, enabled) VALUES('gw-bench', 0, 1)"))
            exit(1);
        for (int i = 0; i < 500; i++) {
            snprintf(sql, sizeof(sql),
                     "INSERT INTO instruments(id, name, org_id, gateway, created_at)"
                     " VALUES('inst-%03d', 'I', 1, 'gw-bench', 1795000000000)",
                     i);
            if (db_exec(db, sql))
                exit(1);
        }
        if (db_exec(db, "COMMIT"))
            exit(1);
        db_close(db);
    }
    memset(&b, 0, sizeof(b));
    snprintf(b.gateway, sizeof(b.gateway), "gw-bench");
    b.epoch = 1;
    b.count = BATCH;
    b.readings = calloc(BATCH, sizeof(*b.readings));
    t0 = now_s();
    if (with_usage == GROUP_BATCHES) {
        struct ls_batch g[GROUP_BATCHES];
        struct ingest_result gr[GROUP_BATCHES];
        for (int i = 0; i < GROUP_BATCHES; i++) {
            g[i] = b;
            g[i].readings = calloc(BATCH, sizeof(*b.readings));
        }
        for (int k = 0; k < batches; k += GROUP_BATCHES) {
            int n = batches - k < GROUP_BATCHES ? batches - k : GROUP_BATCHES;
            for (int j = 0; j < n; j++)
                for (int i = 0; i < BATCH; i++)
                    fill(&g[j].readings[i], ++seq);
            if (ingest_store_batches(st, g, (size_t)n, ls_now_ms(), 120000, 300, gr))
                exit(1);
            res = gr[n - 1];
        }
        for (int i = 0; i < GROUP_BATCHES; i++)
            free(g[i].readings);
        batches = 0;
    }
    for (int k = 0; k < batches; k++) {
        for (int i = 0; i < BATCH; i++)
            fill(&b.readings[i], ++seq);
        if (with_usage) { /* as the server's ingest does: readings, acks and usage, one commit */
            ingest_store_batches(st, &b, 1, ls_now_ms(), 120000, 300, &res);
        } else if (store_begin(st) || store_readings_insert(st, &b, 1, ls_now_ms(), &res) ||
                   store_commit(st)) {
            store_rollback(st);
            exit(1);
        }
    }
    t0 = now_s() - t0;
    *upto = res.upto;
    free(b.readings);
    store_close(st);
    return t0;
}

/* BENCH_PG_INGEST and BENCH_PG_USAGE: two empty PostgreSQL databases (tests/bench/run.sh makes
 * them) to run the store's ingest on beside SQLite. */
int main(int argc, char **argv)
{
    int batches = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 500;
    const char *pg_ingest = getenv("BENCH_PG_INGEST"), *pg_usage = getenv("BENCH_PG_USAGE");
    char dir[] = "/tmp/ls-bench-XXXXXX", p1[64], p2[64], cmd[128];
    double raw, ours;
    int64_t upto = 0;

    ls_log_init("bench", LS_LOG_WARN);
    setenv("TZ", "Asia/Shanghai", 1); /* as the server sets [server] timezone */
    tzset();
    if (!mkdtemp(dir))
        return 1;
    if (argc > 2 && strncmp(argv[2], "usage", 5) == 0) { /* the usage path alone, to profile */
        snprintf(p2, sizeof(p2), "%s/usage.db", dir);
        ours = ours_store(p2, batches, &upto, strcmp(argv[2], "usage-grouped") ? 1 : GROUP_BATCHES);
        printf("ingest with usage updated  %10.0f readings/s\n", batches * (double)BATCH / ours);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        return system(cmd) == 0 ? 0 : 1;
    }
    bench_decode(2000);
    snprintf(p1, sizeof(p1), "%s/raw.db", dir);
    snprintf(p2, sizeof(p2), "%s/store.db", dir);
    raw = raw_sqlite(p1, batches);
    ours = ours_store(p2, batches, &upto, 0);
    printf("ingest  %d batches of %d, one durable transaction each (synchronous=FULL, WAL)\n",
           batches, BATCH);
    printf("  raw SQLite INSERT       %10.0f readings/s\n", batches * (double)BATCH / raw);
    printf("  store_readings_insert   %10.0f readings/s   ratio to raw %.2f  (acked up to %lld)\n",
           batches * (double)BATCH / ours, raw / ours, (long long)upto);
    snprintf(p2, sizeof(p2), "%s/usage.db", dir);
    ours = ours_store(p2, batches, &upto, 1);
    printf("  ... with usage updated  %10.0f readings/s   ratio to raw %.2f  (sessions of 500 "
           "instruments recomputed at each batch)\n",
           batches * (double)BATCH / ours, raw / ours);
    snprintf(p2, sizeof(p2), "%s/grouped.db", dir);
    ours = ours_store(p2, batches, &upto, GROUP_BATCHES);
    printf(
        "  ... %d batches at once  %10.0f readings/s   ratio to raw %.2f  (as the server's worker "
        "takes queued batches: one transaction, each instrument refreshed once)\n",
        GROUP_BATCHES, batches * (double)BATCH / ours, raw / ours);
    if (pg_ingest) {
        double raw_p = raw_pg(pg_ingest, batches);
        printf("  PostgreSQL (the same, one transaction per batch, synchronous_commit on)\n");
        printf("  raw libpq INSERT        %10.0f readings/s\n", batches * (double)BATCH / raw_p);
        ours = ours_store(pg_ingest, batches, &upto, 0);
        printf(
            "  store_readings_insert   %10.0f readings/s   ratio to raw %.2f  (acked up to %lld)\n",
            batches * (double)BATCH / ours, raw_p / ours, (long long)upto);
        if (pg_usage) {
            ours = ours_store(pg_usage, batches, &upto, 1);
            printf("  ... with usage updated  %10.0f readings/s   ratio to raw %.2f\n",
                   batches * (double)BATCH / ours, raw_p / ours);
        }
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
