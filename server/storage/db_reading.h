/*
 * db_reading.h - labshare/reading_db.h's calls on the store's db.h statements: a reading's ten
 * columns (LS_READING_COLUMNS), NULL for an absent optional field.
 */
#ifndef LS_SRV_DB_READING_H
#define LS_SRV_DB_READING_H

#include "db.h"
#include "labshare/reading_db.h"

/* Bind r to parameters first .. first + 9 of s. r->instrument is borrowed until s is reset. */
void db_reading_bind(struct db_stmt *s, int first, const struct ls_reading *r);
/* Read result columns first .. first + 9 of the current row of s into r (seq untouched). */
void db_reading_column(struct db_stmt *s, int first, struct ls_reading *r);

#endif /* LS_SRV_DB_READING_H */
