#include "labshare/reading_db.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "labshare/banned.h"

/* The optional fields, in column order after state. */
static const struct {
    size_t offset;
    unsigned flag;
    int is_double;
} optional[] = {
    {offsetof(struct ls_reading, run_seconds), LS_HAS_RUN_SECONDS, 0},
    {offsetof(struct ls_reading, energy_wh), LS_HAS_ENERGY_WH, 0},
    {offsetof(struct ls_reading, power_w), LS_HAS_POWER_W, 1},
    {offsetof(struct ls_reading, samples), LS_HAS_SAMPLES, 0},
    {offsetof(struct ls_reading, badge), LS_HAS_BADGE, 0},
};
#define NOPT (sizeof(optional) / sizeof(optional[0]))

void ls_reading_bind(sqlite3_stmt *s, int first, const struct ls_reading *r)
{
    sqlite3_bind_text(s, first, r->instrument, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, first + 1, r->ts);
    sqlite3_bind_int(s, first + 2, (int)r->state);
    for (size_t i = 0; i < NOPT; i++) {
        const char *p = (const char *)r + optional[i].offset;
        int col = first + 3 + (int)i;
        int64_t iv;
        double dv;

        if (!(r->has & optional[i].flag)) {
            sqlite3_bind_null(s, col);
        } else if (optional[i].is_double) {
            memcpy(&dv, p, sizeof(dv));
            sqlite3_bind_double(s, col, dv);
        } else {
            memcpy(&iv, p, sizeof(iv));
            sqlite3_bind_int64(s, col, iv);
        }
    }
    sqlite3_bind_int(s, first + 8, (int)r->cause);
    if (r->has & LS_HAS_INTERLOCK)
        sqlite3_bind_int(s, first + 9, r->interlock ? 1 : 0);
    else
        sqlite3_bind_null(s, first + 9);
}

void ls_reading_column(sqlite3_stmt *s, int first, struct ls_reading *r)
{
    const unsigned char *id = sqlite3_column_text(s, first);

    snprintf(r->instrument, sizeof(r->instrument), "%s", id ? (const char *)id : "");
    r->ts = sqlite3_column_int64(s, first + 1);
    r->state = (enum ls_state)sqlite3_column_int(s, first + 2);
    r->has = 0;
    for (size_t i = 0; i < NOPT; i++) {
        char *p = (char *)r + optional[i].offset;
        int col = first + 3 + (int)i;
        int64_t iv;
        double dv;

        if (sqlite3_column_type(s, col) == SQLITE_NULL)
            continue;
        r->has |= optional[i].flag;
        if (optional[i].is_double) {
            dv = sqlite3_column_double(s, col);
            memcpy(p, &dv, sizeof(dv));
        } else {
            iv = sqlite3_column_int64(s, col);
            memcpy(p, &iv, sizeof(iv));
        }
    }
    r->cause = (enum ls_cause)sqlite3_column_int(s, first + 8);
    if (sqlite3_column_type(s, first + 9) != SQLITE_NULL) {
        r->interlock = sqlite3_column_int(s, first + 9) ? 1 : 0;
        r->has |= LS_HAS_INTERLOCK;
    }
}
