/* db_reading.c - a reading's columns (labshare/reading_db.h) on the store's db.h statements. */
#include "db_reading.h"

#include "labshare/banned.h"

#define RD_STMT struct db_stmt
#define RD_BIND_FN db_reading_bind
#define RD_COLUMN_FN db_reading_column
#define RD_BIND_TEXT(s, i, v) db_bind_text(s, i, v, -1, DB_STATIC)
#define RD_BIND_INT64 db_bind_int64
#define RD_BIND_INT db_bind_int
#define RD_BIND_NULL db_bind_null
#define RD_BIND_DOUBLE db_bind_double
#define RD_COLUMN_TEXT db_column_text
#define RD_COLUMN_INT64 db_column_int64
#define RD_COLUMN_INT db_column_int
#define RD_COLUMN_DOUBLE db_column_double
#define RD_IS_NULL(s, i) (db_column_type(s, i) == DB_NULL)
#include "labshare/reading_db_impl.h"
