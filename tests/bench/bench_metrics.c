/*
 * bench_metrics - issue 6's figures, each beside a raw SQLite baseline of the same run:
 *   1. a year's metrics for INSTRUMENTS instruments over SESSIONS usage rows (from the day sums,
 *      and from the sessions for a period not of whole days), and the monthly
 *      statements of every organisation, vs bare GROUP BY sums over the same tables;
 *   2. ingest with usage kept up to date (sessions recomputed per batch) vs the same ingest
 *      without usage.
 *   bench_metrics [INSTRUMENTS] [SESSIONS]
 */
// LINK: ALL_SERVER
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../server/metrics.h"
#include "../../server/records.h"
#include "labshare/rc.h"
#include "../../server/store.h"
#include "labshare/log.h"
#include "bench_util.h"

int main(int argc, char **argv)
{
    int ninst = argc > 1 ? atoi(argv[1]) : 1000; /* bench input, not user input */
    long nsess = argc > 2 ? atol(argv[2]) : 1000000;
    char dir[] = "/tmp/ls-bench-XXXXXX", path[80], sql[512], cmd[100];
    const int64_t y0 = 1767196800000LL; /* 2026-01-01T00:00+08:00 */
    const int64_t year = 365LL * 86400000;
    struct store *st;
    struct metric_raw *raw = NULL;
    size_t n = 0;
    sqlite3 *db;
    double t, ours, base, ours2, base2;
    sqlite3_stmt *s;

    ls_log_init("bench", LS_LOG_WARN);
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/server.db", dir);
    if (store_open(path, &st))
        return 1;
    store_close(st);
    sqlite3_open(path, &db);
    exec(db, "PRAGMA journal_mode=WAL; BEGIN");
    for (int o = 1; o <= 8; o++) {
        snprintf(sql, sizeof(sql), "INSERT INTO orgs(name, type) VALUES('org %d', '%s')", o,
                 o <= 4   ? "university"
                 : o <= 6 ? "institute"
                          : "enterprise");
        exec(db, sql);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO users(username, org_id, role, created_at)"
                 " VALUES('user%d', %d, 'researcher', 0)",
                 o, o);
        exec(db, sql);
    }
    sqlite3_prepare_v2(db,
                       "INSERT INTO instruments(id, name, org_id, created_at, billing)"
                       " VALUES(?, ?, ?, 0, '{\"basis\":\"metered\",\"rates\":{\"internal\":"
                       "100,\"academic\":200,\"industry\":300},\"increment_min\":15}')",
                       -1, &s, NULL);
    for (int i = 0; i < ninst; i++) {
        snprintf(sql, sizeof(sql), "inst-%04d", i);
        sqlite3_bind_text(s, 1, sql, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, sql, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 3, 1 + i % 8);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_prepare_v2(db,
                       "INSERT INTO usage(instrument, session_start, session_end, open,"
                       " start_ms, end_ms, run_ms, energy_wh, samples, user_id, attribution)"
                       " VALUES(?, ?1 + 0, ?3, 0, ?2, ?3, ?4, 10, 1, ?5, 'badge')",
                       -1, &s, NULL);
    for (long k = 0; k < nsess; k++) {
        int64_t start = y0 + (k * (year / nsess)) % (year - 7200000); /* spread over the year */
        snprintf(sql, sizeof(sql), "inst-%04ld", k % ninst);
        sqlite3_bind_text(s, 1, sql, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 2, start);
        sqlite3_bind_int64(s, 3, start + 3600000);
        sqlite3_bind_int64(s, 4, 3000000);
        sqlite3_bind_int64(s, 5, 1 + k % 8);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    exec(db, "COMMIT");
    printf("== metrics: %d instruments, %ld usage rows over a year\n", ninst, nsess);
    if (store_open(path, &st))
        return 1;
    /* the rows were written around the store: sum them per day as usage-rebuild does */
    t = now_s();
    {
        int64_t days = 0, diffs = 0;
        store_begin(st);
        if (store_usage_days_check(st, 1, &days, &diffs) || store_commit(st))
            return 1;
        printf("  day sums from the sessions         %8.3f s   (%lld instrument-days)\n",
               now_s() - t, (long long)days);
    }
    /* a year not of whole days (a second on) is summed from the sessions */
    t = now_s();
    if (store_metric_raws(st, y0 + 1000, y0 + year + 1000, &raw, &n))
        return 1;
    for (size_t i = 0; i < n; i++)
        json_decref(metrics_json(&raw[i], year, -1, 0.1));
    printf("  year's metrics from the sessions   %8.3f s\n", now_s() - t);
    free(raw);
    t = now_s();
    if (store_metric_raws(st, y0, y0 + year, &raw, &n))
        return 1;
    for (size_t i = 0; i < n; i++)
        json_decref(metrics_json(&raw[i], year, -1, 0.1));
    ours = now_s() - t;
    free(raw);
    t = now_s();
    exec(db, "SELECT instrument, sum(run_ms), count(*) FROM usage WHERE end_ms > 0 GROUP BY"
             " instrument");
    base = now_s() - t;
    printf("  year's metrics from the day sums   %8.3f s\n", ours);
    printf("  raw GROUP BY of the same usage     %8.3f s   ratio %.2f\n", base, ours / base);
    /* statements: charge lines first (sync), then 8 orgs x 12 months */
    t = now_s();
    {
        int64_t added = 0;
        store_begin(st);
        store_billing_sync(st, &added);
        store_commit(st);
        printf("  charge lines from badge use        %8.3f s   (%lld lines)\n", now_s() - t,
               (long long)added);
    }
    t = now_s();
    for (int o = 1; o <= 8; o++)
        for (int mth = 1; mth <= 12; mth++) {
            char month[16];
            struct statement stm;
            snprintf(month, sizeof(month), "2026-%02d", mth);
            if (store_statement(st, o, 0, month, 1000, 0, &stm) ==
                LS_OK) /* with its JSON, as served */
                json_decref(statement_json(&stm));
            statement_free(&stm);
        }
    ours2 = now_s() - t;
    t = now_s();
    exec(db, "SELECT org_id, month, sum(amount), sum(voucher), count(*) FROM charges GROUP BY"
             " org_id, month");
    base2 = now_s() - t;
    printf("  96 monthly statements with lines   %8.3f s\n", ours2);
    printf("  raw GROUP BY of the charge lines   %8.3f s   ratio %.2f\n", base2, ours2 / base2);
    store_close(st);
    sqlite3_close(db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
