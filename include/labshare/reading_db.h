/*
 * reading_db.h - a reading's columns in SQLite, the same in the gateway's outbox and the
 * server's store: the ten columns of LS_READING_COLUMNS, NULL for an absent optional field.
 * Any thread, on its own statement.
 */
#ifndef LS_READING_DB_H
#define LS_READING_DB_H

#include <sqlite3.h>

#include "labshare/wire.h"

#define LS_READING_COLUMNS                                                                         \
    "instrument, ts, state, run_seconds, energy_wh, power_w, samples, badge, cause, interlock"
#define LS_READING_COLUMN_COUNT 10

/* Bind r to parameters first .. first + 9 of s. r->instrument is borrowed until s is reset. */
void ls_reading_bind(sqlite3_stmt *s, int first, const struct ls_reading *r);

/* Read result columns first .. first + 9 of the current row of s into r (seq untouched). */
void ls_reading_column(sqlite3_stmt *s, int first, struct ls_reading *r);

#endif /* LS_READING_DB_H */
