/*
 * reading_db_impl.h - the bodies of reading_db.h's two calls, for any SQL API with SQLite's
 * statement model: the includer defines RD_STMT, RD_BIND_FN, RD_COLUMN_FN and the RD_BIND_* /
 * RD_COLUMN_* / RD_IS_NULL calls (reading_db.c for sqlite3, the server's storage/db_reading.c for
 * its db.h). Included once per API; not a public header.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "labshare/wire.h"

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

void RD_BIND_FN(RD_STMT *s, int first, const struct ls_reading *r)
{
    RD_BIND_TEXT(s, first, r->instrument);
    RD_BIND_INT64(s, first + 1, r->ts);
    RD_BIND_INT(s, first + 2, (int)r->state);
    for (size_t i = 0; i < NOPT; i++) {
        const char *p = (const char *)r + optional[i].offset;
        int col = first + 3 + (int)i;
        int64_t iv;
        double dv;

        if (!(r->has & optional[i].flag)) {
            RD_BIND_NULL(s, col);
        } else if (optional[i].is_double) {
            memcpy(&dv, p, sizeof(dv));
            RD_BIND_DOUBLE(s, col, dv);
        } else {
            memcpy(&iv, p, sizeof(iv));
            RD_BIND_INT64(s, col, iv);
        }
    }
    RD_BIND_INT(s, first + 8, (int)r->cause);
    if (r->has & LS_HAS_INTERLOCK)
        RD_BIND_INT(s, first + 9, r->interlock ? 1 : 0);
    else
        RD_BIND_NULL(s, first + 9);
}

void RD_COLUMN_FN(RD_STMT *s, int first, struct ls_reading *r)
{
    const unsigned char *id = RD_COLUMN_TEXT(s, first);

    snprintf(r->instrument, sizeof(r->instrument), "%s", id ? (const char *)id : "");
    r->ts = RD_COLUMN_INT64(s, first + 1);
    r->state = (enum ls_state)RD_COLUMN_INT(s, first + 2);
    r->has = 0;
    for (size_t i = 0; i < NOPT; i++) {
        char *p = (char *)r + optional[i].offset;
        int col = first + 3 + (int)i;
        int64_t iv;
        double dv;

        if (RD_IS_NULL(s, col))
            continue;
        r->has |= optional[i].flag;
        if (optional[i].is_double) {
            dv = RD_COLUMN_DOUBLE(s, col);
            memcpy(p, &dv, sizeof(dv));
        } else {
            iv = RD_COLUMN_INT64(s, col);
            memcpy(p, &iv, sizeof(iv));
        }
    }
    r->cause = (enum ls_cause)RD_COLUMN_INT(s, first + 8);
    if (!RD_IS_NULL(s, first + 9)) {
        r->interlock = RD_COLUMN_INT(s, first + 9) ? 1 : 0;
        r->has |= LS_HAS_INTERLOCK;
    }
}
