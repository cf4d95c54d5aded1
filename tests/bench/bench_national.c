/*
 * bench_national - a national year at a scale this machine holds (issue 15): for each count of
 * instruments given (530 and 5,300: a hundredth and a tenth of MOST's 53,000), a year of
 * sessions at the national averages (1,599 effective and 273 external hours per instrument: 800
 * sessions of two hours, one in six by a user of another organisation), seven in ten inside a
 * booking, a no-show for every twenty, a charge line per session. It reports the storage (bytes
 * per instrument-year, from SQLite's dbstat), the build time (rows written, then the day and
 * month sums from the sessions as usage-rebuild makes them), and what an auditor asks: the
 * year's metrics of every instrument and one organisation's monthly statement; then how each
 * grew from the first count to the last (the sums are made as usage-rebuild makes them: usage per
 * day and month, bookings and charges per month). Readings are measured apart, on two instruments
 * with a year of one reading a minute, as bytes per instrument-year. Beside them, a raw baseline of
 * the same run: a bare GROUP BY over the same sessions. bench_national [INSTRUMENTS...]
 */
// LINK: ALL_SERVER
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../server/metrics.h"
#include "../../server/records.h"
#include "../../server/store.h"
#include "labshare/log.h"
#include "bench_util.h"
#include "labshare/rc.h"

#define SESSIONS_PER_YEAR 800
#define SESSION_MS (2 * 3600000LL)
#define USERS_PER_ORG 20
#define INSTRUMENTS_PER_ORG 10

static const int64_t y0 = 1767196800000LL; /* 2026-01-01T00:00+08:00 */
static const int64_t year = 365LL * 86400000;

struct figures {
    int instruments;
    double build_s, sums_s, metrics_s, rows_s, statement_s, raw_s;
    int64_t bytes, sessions;
};

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench: %s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    return s;
}

static void step(sqlite3_stmt *s)
{
    if (sqlite3_step(s) != SQLITE_DONE) {
        fprintf(stderr, "bench: %s\n", sqlite3_errmsg(sqlite3_db_handle(s)));
        exit(1);
    }
    sqlite3_reset(s);
}

static int64_t one(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = prep(db, sql);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;

    sqlite3_finalize(s);
    return v;
}

/* Orgs, users and instruments; a year of sessions, bookings and charges, written around the
 * store as fast as SQLite takes them (the store's own path is what ingest measures). */
static int64_t write_year(sqlite3 *db, int ninst)
{
    int norgs = (ninst + INSTRUMENTS_PER_ORG - 1) / INSTRUMENTS_PER_ORG;
    sqlite3_stmt *org = prep(db, "INSERT INTO orgs(id, name, type) VALUES(?, ?, ?)");
    sqlite3_stmt *usr = prep(db, "INSERT INTO users(id, username, org_id, role, created_at)"
                                 " VALUES(?, ?, ?, 'researcher', 0)");
    sqlite3_stmt *ins = prep(db, "INSERT INTO instruments(id, name, org_id, created_at, billing)"
                                 " VALUES(?1, ?1, ?2, 0, '{\"basis\":\"metered\",\"rates\":"
                                 "{\"internal\":100,\"academic\":200,\"industry\":300}}')");
    sqlite3_stmt *bk = prep(db, "INSERT INTO bookings(id, instrument, user_id, start_ms, end_ms,"
                                " status, metered_seconds, created_by, created_at)"
                                " VALUES(?, ?, ?, ?, ?, ?, ?, ?, 0)");
    sqlite3_stmt *use = prep(db, "INSERT INTO usage(instrument, session_start, session_end, open,"
                                 " start_ms, end_ms, run_ms, energy_wh, samples, user_id,"
                                 " booking_id, attribution, external)"
                                 " VALUES(?1, ?2, ?3, 0, ?2, ?3, ?4, 900, 1, ?5, ?6, ?7, ?8)");
    int64_t booking = 0, sessions = 0;
    char id[32], name[48];

    exec(db, "BEGIN");
    for (int o = 1; o <= norgs; o++) {
        sqlite3_bind_int(org, 1, o);
        snprintf(name, sizeof(name), "org %d", o);
        sqlite3_bind_text(org, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(org, 3,
                          o % 10 == 0  ? "enterprise"
                          : o % 5 == 0 ? "institute"
                                       : "university",
                          -1, SQLITE_STATIC);
        step(org);
        for (int u = 0; u < USERS_PER_ORG; u++) {
            int uid = (o - 1) * USERS_PER_ORG + u + 1;
            sqlite3_bind_int(usr, 1, uid);
            snprintf(name, sizeof(name), "user%d", uid);
            sqlite3_bind_text(usr, 2, name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(usr, 3, o);
            step(usr);
        }
    }
    for (int i = 0; i < ninst; i++) {
        int owner = i / INSTRUMENTS_PER_ORG + 1;
        snprintf(id, sizeof(id), "inst-%05d", i);
        sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 2, owner);
        step(ins);
        for (int k = 0; k < SESSIONS_PER_YEAR; k++) {
            /* sessions spread over the year, each instrument on its own phase */
            int64_t start = y0 + (int64_t)k * (year / SESSIONS_PER_YEAR) +
                            ((int64_t)i * 7919000) % (year / SESSIONS_PER_YEAR - SESSION_MS);
            int external = k % 6 == 0;
            int uorg = external ? owner % norgs + 1 : owner;
            int user = (uorg - 1) * USERS_PER_ORG + k % USERS_PER_ORG + 1;
            int booked = k % 10 < 7;
            if (booked) {
                sqlite3_bind_int64(bk, 1, ++booking);
                sqlite3_bind_text(bk, 2, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int(bk, 3, user);
                sqlite3_bind_int64(bk, 4, start);
                sqlite3_bind_int64(bk, 5, start + SESSION_MS);
                sqlite3_bind_text(bk, 6, "completed", -1, SQLITE_STATIC);
                sqlite3_bind_int64(bk, 7, SESSION_MS / 1000);
                sqlite3_bind_int(bk, 8, user);
                step(bk);
            }
            if (k % 20 == 19) { /* a no-show in the gap after the session */
                sqlite3_bind_int64(bk, 1, ++booking);
                sqlite3_bind_text(bk, 2, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int(bk, 3, user);
                sqlite3_bind_int64(bk, 4, start + SESSION_MS + 600000);
                sqlite3_bind_int64(bk, 5, start + SESSION_MS + 2400000);
                sqlite3_bind_text(bk, 6, "no_show", -1, SQLITE_STATIC);
                sqlite3_bind_int64(bk, 7, 0);
                sqlite3_bind_int(bk, 8, user);
                step(bk);
            }
            sqlite3_bind_text(use, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(use, 2, start);
            sqlite3_bind_int64(use, 3, start + SESSION_MS);
            sqlite3_bind_int64(use, 4, SESSION_MS);
            sqlite3_bind_int(use, 5, user);
            if (booked)
                sqlite3_bind_int64(use, 6, booking - (k % 20 == 19));
            else
                sqlite3_bind_null(use, 6);
            sqlite3_bind_text(use, 7, booked ? "booking" : "badge", -1, SQLITE_STATIC);
            sqlite3_bind_int(use, 8, external);
            step(use);
            sessions++;
        }
    }
    /* a charge line per session, at the user's category, as billing sync writes them */
    exec(db, "INSERT INTO charges(source, kind, org_id, user_id, instrument, booking_id, at_ms,"
             " month, category, minutes, rate, samples, sample_fee, amount, voucher, description,"
             " created_at) SELECT 'usage/' || u.id, 'charge', usr.org_id, u.user_id, u.instrument,"
             " u.booking_id, u.end_ms, strftime('%Y-%m', u.end_ms / 1000, 'unixepoch', '+8 hours'),"
             " CASE WHEN u.external = 0 THEN 'internal' WHEN o.type = 'enterprise' THEN 'industry'"
             " ELSE 'academic' END, 120, 100, 0, 0, 200, 0, 'metered use', 0 FROM usage u"
             " JOIN users usr ON usr.id = u.user_id JOIN orgs o ON o.id = usr.org_id");
    exec(db, "COMMIT");
    sqlite3_finalize(org);
    sqlite3_finalize(usr);
    sqlite3_finalize(ins);
    sqlite3_finalize(bk);
    sqlite3_finalize(use);
    return sessions;
}

static int64_t table_bytes(sqlite3 *db)
{
    return one(db, "SELECT sum(pgsize) FROM dbstat");
}

/* A new store in a new folder dir (a mkdtemp template), and a raw connection to it. */
static int fresh_db(char *dir, char *path, size_t len, sqlite3 **db)
{
    struct store *st;

    if (!mkdtemp(dir))
        return 1;
    snprintf(path, len, "%s/server.db", dir);
    if (store_open(path, &st))
        return 1;
    store_close(st);
    sqlite3_open(path, db);
    exec(*db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
    return 0;
}

static int run(int ninst, struct figures *f)
{
    char dir[] = "/tmp/ls-national-XXXXXX", path[80], cmd[100];
    struct store *st;
    struct metric_raw *raw = NULL;
    struct statement stm;
    size_t n = 0;
    sqlite3 *db;
    double t;

    memset(f, 0, sizeof(*f));
    f->instruments = ninst;
    if (fresh_db(dir, path, sizeof(path), &db))
        return 1;
    t = now_s();
    f->sessions = write_year(db, ninst);
    if (store_open(path, &st))
        return 1;
    f->build_s = now_s() - t;
    t = now_s();
    {
        int64_t days = 0, diffs = 0;
        if (store_begin(st) || store_usage_days_check(st, 1, &days, &diffs) ||
            store_month_sums_check(st, 1, &days, &diffs) || store_commit(st))
            return 1;
    }
    f->sums_s = now_s() - t;
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    f->bytes = table_bytes(db);
    /* the auditor's questions */
    t = now_s();
    if (store_metric_raws(st, y0, y0 + year, &raw, &n) || n != (size_t)ninst)
        return 1;
    for (size_t i = 0; i < n; i++)
        json_decref(metrics_json(&raw[i], year, -1, 0.1));
    free(raw);
    f->metrics_s = now_s() - t;
    /* the same year a second later: not whole months, so from the rows */
    t = now_s();
    if (store_metric_raws(st, y0 + 1000, y0 + year + 1000, &raw, &n) || n != (size_t)ninst)
        return 1;
    for (size_t i = 0; i < n; i++)
        json_decref(metrics_json(&raw[i], year, -1, 0.1));
    free(raw);
    f->rows_s = now_s() - t;
    t = now_s();
    if (store_statement(st, 1, 0, "2026-06", 1000, 0, &stm) == LS_OK)
        json_decref(statement_json(&stm));
    statement_free(&stm);
    f->statement_s = now_s() - t;
    t = now_s();
    exec(db, "SELECT instrument, sum(run_ms), sum(run_ms * external), count(*) FROM usage"
             " GROUP BY instrument");
    f->raw_s = now_s() - t;
    store_close(st);
    sqlite3_close(db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

/* Bytes per instrument-year of readings at one a minute: two instruments' year of heartbeats
 * while running (counters rising), stored as ingest stores them (with their unique key and
 * indexes); then, each month compacted as compact-readings does, what stays. */
static int readings_bytes(int64_t *per_year, int64_t *compacted, double *compact_s)
{
    char dir[] = "/tmp/ls-national-XXXXXX", path[80], cmd[100];
    struct store *st;
    sqlite3 *db;
    sqlite3_stmt *s;
    int64_t before;
    double t;

    if (fresh_db(dir, path, sizeof(path), &db))
        return 1;
    exec(db, "INSERT INTO orgs(id, name, type) VALUES(1, 'org', 'university');"
             "INSERT INTO gateways(id, registered_at, enabled) VALUES('gw-national', 0, 1);"
             "INSERT INTO instruments(id, name, org_id, gateway, created_at) VALUES"
             " ('inst-0', 'i0', 1, 'gw-national', 0), ('inst-1', 'i1', 1, 'gw-national', 0)");
    before = table_bytes(db);
    s = prep(db, "INSERT INTO readings(gateway, epoch, seq, instrument, ts, state, run_seconds,"
                 " energy_wh, power_w, samples, badge, cause, received_at)"
                 " VALUES('gw-national', 1, ?1, ?2, ?3, 1, ?4, ?5, 850.5, ?6, NULL, ?7, ?3 + 900)");
    exec(db, "BEGIN");
    for (int i = 0; i < 2; i++)
        for (int64_t m = 0; m < 525600; m++) {
            sqlite3_bind_int64(s, 1, (int64_t)i * 525600 + m + 1);
            sqlite3_bind_text(s, 2, i ? "inst-1" : "inst-0", -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 3, y0 + m * 60000);
            sqlite3_bind_int64(s, 4, m * 60);
            sqlite3_bind_int64(s, 5, m * 14);
            sqlite3_bind_int64(s, 6, m / 40);
            sqlite3_bind_int(s, 7, m ? 1 : 2); /* a boot, then heartbeats */
            step(s);
        }
    exec(db, "COMMIT");
    sqlite3_finalize(s);
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    *per_year = (table_bytes(db) - before) / 2;
    if (store_open(path, &st))
        return 1;
    t = now_s();
    for (int mth = 1; mth <= 12; mth++) {
        struct tm a = {0}, b = {0};
        struct compact_report rep;
        char month[16];
        a.tm_year = b.tm_year = 2026 - 1900;
        a.tm_mon = mth - 1;
        b.tm_mon = mth;
        a.tm_mday = b.tm_mday = 1;
        a.tm_isdst = b.tm_isdst = -1;
        snprintf(month, sizeof(month), "2026-%02d", mth);
        for (int i = 0; i < 2; i++) {
            if (store_begin(st) ||
                store_readings_compact(st, i ? "inst-1" : "inst-0", month,
                                       (int64_t)mktime(&a) * 1000, (int64_t)mktime(&b) * 1000,
                                       120000, &rep) ||
                store_commit(st) || rep.sessions_would_change)
                return 1;
        }
    }
    *compact_s = now_s() - t;
    store_close(st);
    /* the file shrinks only with a VACUUM; the pages in use are what is held */
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    *compacted = (table_bytes(db) - before) / 2; /* the freed pages are no table's */
    sqlite3_close(db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const int defaults[] = {530, 5300};
    struct figures f[8];
    int nf = argc > 1 ? argc - 1 : 2;
    int64_t reading_bytes = 0, compacted = 0;
    double compact_s = 0;

    if (nf > 8)
        nf = 8;
    ls_log_init("bench", LS_LOG_WARN);
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    printf("== national year (issue 15): %d sessions of 2 h per instrument, 1 in 6 external, 7 in"
           " 10 booked, a no-show in 20, a charge line each\n",
           SESSIONS_PER_YEAR);
    printf("  %11s %10s %9s %9s %10s %12s %10s %10s\n", "instruments", "sessions", "write s",
           "sums s", "MB", "B/inst-year", "metrics s", "stmt s");
    for (int i = 0; i < nf; i++) {
        int ninst = argc > 1 ? atoi(argv[i + 1]) : defaults[i]; /* bench input, not user input */
        if (ninst < 1 || run(ninst, &f[i]))
            return 1;
        printf("  %11d %10lld %9.1f %9.1f %10.1f %12lld %10.3f %10.3f   (from the rows %.3f s;"
               " raw GROUP BY of the sessions %.3f s)\n",
               ninst, (long long)f[i].sessions, f[i].build_s, f[i].sums_s, (double)f[i].bytes / 1e6,
               (long long)(f[i].bytes / ninst), f[i].metrics_s, f[i].statement_s, f[i].rows_s,
               f[i].raw_s);
        fflush(stdout);
    }
    if (nf > 1) {
        const struct figures *a = &f[0], *b = &f[nf - 1];
        double k = (double)b->instruments / a->instruments;
        printf("  growth %d -> %d instruments (x%.0f): write x%.1f, sums x%.1f, storage x%.1f,"
               " year's metrics x%.1f, statement x%.1f\n",
               a->instruments, b->instruments, k, b->build_s / a->build_s, b->sums_s / a->sums_s,
               (double)b->bytes / (double)a->bytes, b->metrics_s / a->metrics_s,
               b->statement_s / a->statement_s);
        printf("  linear to 53,000 instruments: storage %.1f GB, year's metrics %.2f s\n",
               (double)b->bytes / b->instruments * 53000 / 1e9,
               b->metrics_s / b->instruments * 53000);
    }
    if (readings_bytes(&reading_bytes, &compacted, &compact_s))
        return 1;
    printf("  readings at one a minute: %lld bytes per instrument-year (53,000 instruments: %.2f"
           " TB a year); compacted (12 months, %.1f s): %lld bytes per instrument-year (%.3f TB,"
           " x%.0f smaller)\n",
           (long long)reading_bytes, (double)reading_bytes * 53000 / 1e12, compact_s,
           (long long)compacted, (double)compacted * 53000 / 1e12,
           (double)reading_bytes / (double)(compacted > 0 ? compacted : 1));
    return 0;
}
