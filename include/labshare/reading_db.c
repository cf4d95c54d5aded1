#include "labshare/reading_db.h"

#include "labshare/banned.h"

#define RD_STMT sqlite3_stmt
#define RD_BIND_FN ls_reading_bind
#define RD_COLUMN_FN ls_reading_column
#define RD_BIND_TEXT(s, i, v) sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC)
#define RD_BIND_INT64 sqlite3_bind_int64
#define RD_BIND_INT sqlite3_bind_int
#define RD_BIND_NULL sqlite3_bind_null
#define RD_BIND_DOUBLE sqlite3_bind_double
#define RD_COLUMN_TEXT sqlite3_column_text
#define RD_COLUMN_INT64 sqlite3_column_int64
#define RD_COLUMN_INT sqlite3_column_int
#define RD_COLUMN_DOUBLE sqlite3_column_double
#define RD_IS_NULL(s, i) (sqlite3_column_type(s, i) == SQLITE_NULL)
#include "labshare/reading_db_impl.h"
