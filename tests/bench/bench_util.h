/* bench_util.h - what the storage benchmarks share: a clock and SQL run or die. */
#ifndef LS_BENCH_UTIL_H
#define LS_BENCH_UTIL_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bench: %s: %s\n", sql, err);
        exit(1);
    }
}

#endif /* LS_BENCH_UTIL_H */
