/* store_import.c - copy a SQLite platform into an empty PostgreSQL one (store.h). */
#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "storage/schema_pg.h"
#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

/* Every table of the platform, parents before the tables that refer to them. The destination's
 * own tables (labshare_schema, reading_keys, instrument_changes) are filled by it. */
static const char *const tables[] = {
    "orgs",
    "users",
    "tokens",
    "feeds",
    "gateways",
    "gateway_acks",
    "gateway_ranges",
    "instruments",
    "instrument_terms",
    "bookings",
    "orders",
    "order_results",
    "outages",
    "usage",
    "usage_days",
    "usage_months",
    "booking_months",
    "charge_months",
    "vouchers",
    "charges",
    "closed_months",
    "qualifications",
    "interlock_version",
    "interlock_state",
    "readings",
    "readings_refused",
    "audit",
    "audit_head",
    "notifications",
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* The columns of table that both sides have, as "a, b, c" and "?1, ?2, ?3". The destination's
 * rowid (feeds) is SQLite's implicit one on the source. */
static int common_columns(struct db *src, struct store *dst, const char *table, char *cols,
                          size_t clen, char *params, size_t plen, int *n)
{
    struct db_stmt *q = NULL, *has = NULL;
    int rc = LS_OK, step;
    size_t cu = 0, pu = 0;

    *n = 0;
    cols[0] = params[0] = '\0';
    if (db_prepare(src, "SELECT name FROM pragma_table_info(?1)", &q) != DB_OK ||
        db_prepare(dst->db,
                   "SELECT column_name FROM information_schema.columns WHERE"
                   " table_schema = current_schema() AND table_name = ?1 ORDER BY"
                   " ordinal_position",
                   &has) != DB_OK) {
        rc = store_db_fail(dst, "import: columns");
        goto out;
    }
    db_bind_text(has, 1, table, -1, DB_STATIC);
    db_bind_text(q, 1, table, -1, DB_STATIC);
    while ((step = db_step(has)) == DB_ROW) {
        const char *name = (const char *)db_column_text(has, 0);
        int found = strcmp(name, "rowid") == 0, s2;

        db_reset(q);
        while (!found && (s2 = db_step(q)) == DB_ROW)
            found = strcmp((const char *)db_column_text(q, 0), name) == 0;
        if (!found) {
            ls_warn("import: %s.%s is not on the source; it takes its default", table, name);
            continue;
        }
        int w = snprintf(cols + cu, clen - cu, "%s%s", *n ? ", " : "", name);
        int v = snprintf(params + pu, plen - pu, "%s?%d", *n ? ", " : "", *n + 1);
        if (w < 0 || (size_t)w >= clen - cu || v < 0 || (size_t)v >= plen - pu) {
            rc = LS_ERR_INVAL;
            goto out;
        }
        cu += (size_t)w;
        pu += (size_t)v;
        (*n)++;
    }
    if (step != DB_DONE)
        rc = store_db_fail(dst, "import: columns");
    else if (*n == 0)
        rc = LS_ERR_NOTFOUND;
out:
    db_finalize(q);
    db_finalize(has);
    return rc;
}

/* Copy the rows of table, column by column as stored. */
static int copy_table(struct db *src, struct store *dst, const char *table, int64_t *rows)
{
    char cols[1024], params[512], sql[2048];
    struct db_stmt *from = NULL, *to = NULL;
    int n, step, rc;

    *rows = 0;
    rc = common_columns(src, dst, table, cols, sizeof(cols), params, sizeof(params), &n);
    if (rc)
        return rc;
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s", cols, table);
    if (db_prepare(src, sql, &from) != DB_OK) {
        ls_error("import: %s: %s", table, db_errmsg(src));
        return LS_ERR_DB;
    }
    snprintf(sql, sizeof(sql), "INSERT INTO %s(%s) VALUES(%s)", table, cols, params);
    if (db_prepare(dst->db, sql, &to) != DB_OK) {
        db_finalize(from);
        return store_db_fail(dst, "import: insert");
    }
    while (rc == LS_OK && (step = db_step(from)) == DB_ROW) {
        db_reset(to);
        for (int i = 0; i < n; i++) {
            switch (db_column_type(from, i)) {
            case DB_INTEGER:
                db_bind_int64(to, i + 1, db_column_int64(from, i));
                break;
            case DB_FLOAT:
                db_bind_double(to, i + 1, db_column_double(from, i));
                break;
            case DB_NULL:
                db_bind_null(to, i + 1);
                break;
            case DB_TEXT:
                db_bind_text(to, i + 1, (const char *)db_column_text(from, i),
                             db_column_bytes(from, i), DB_TRANSIENT);
                break;
            default: /* a blob (token and feed hashes) */
                db_bind_blob(to, i + 1, db_column_blob(from, i), db_column_bytes(from, i),
                             DB_TRANSIENT);
            }
        }
        if (db_step(to) != DB_DONE)
            rc = store_db_fail(dst, table);
        else
            (*rows)++;
    }
    if (rc == LS_OK && step != DB_DONE) {
        ls_error("import: reading %s: %s", table, db_errmsg(src));
        rc = LS_ERR_DB;
    }
    db_finalize(from);
    db_finalize(to);
    return rc;
}

/* A partition of readings for every month the source has readings in (months outside the ones
 * the server creates at start would otherwise fill the default partition). */
static int partitions_for(struct db *src, struct store *dst)
{
    struct db_stmt *q = NULL;
    int rc = LS_OK, step;

    if (db_prepare(src,
                   "SELECT DISTINCT strftime('%Y', ts / 1000, 'unixepoch'),"
                   " strftime('%m', ts / 1000, 'unixepoch') FROM readings",
                   &q) != DB_OK) {
        ls_error("import: reading months: %s", db_errmsg(src));
        return LS_ERR_DB;
    }
    while (rc == LS_OK && (step = db_step(q)) == DB_ROW) {
        char sql[1024];
        int y = db_column_int(q, 0), m = db_column_int(q, 1);

        if (schema_pg_partition_sql(y, m, sql, sizeof(sql)) || store_exec(dst, sql))
            rc = LS_ERR_DB;
    }
    if (rc == LS_OK && step != DB_DONE)
        rc = LS_ERR_DB;
    db_finalize(q);
    return rc;
}

/* Serial columns continue after the highest id copied. */
static int sequences_after(struct store *dst)
{
    static const char *const serial[][2] = {
        {"orgs", "id"},     {"users", "id"},    {"tokens", "id"},  {"feeds", "rowid"},
        {"readings", "id"}, {"bookings", "id"}, {"outages", "id"}, {"usage", "id"},
        {"vouchers", "id"}, {"charges", "id"},  {"orders", "id"},  {"notifications", "id"},
    };

    for (size_t i = 0; i < sizeof(serial) / sizeof(serial[0]); i++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT setval(pg_get_serial_sequence('%s', '%s'), coalesce(max(%s), 0) + 1,"
                 " false) FROM %s",
                 serial[i][0], serial[i][1], serial[i][1], serial[i][0]);
        if (store_exec(dst, sql))
            return LS_ERR_DB;
    }
    return LS_OK;
}

int store_import_sqlite(struct store *dst, const char *src_path, struct import_report *rep)
{
    struct store *src_store = NULL;
    struct db *src = NULL;
    char err[512];
    int64_t n = 0;
    int rc;

    memset(rep, 0, sizeof(*rep));
    if (db_engine(dst->db) != DB_POSTGRESQL) {
        ls_error("import: the destination ([server] db) must be a postgresql:// database");
        return LS_ERR_INVAL;
    }
    /* an existing SQLite file (SQLite would create a missing one), at this server's schema
     * first: an older platform is upgraded in place */
    {
        const char *file = strncmp(src_path, "sqlite:", 7) == 0 ? src_path + 7 : src_path;
        struct stat sb;
        errno = 0;
        if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            ls_error("import: %s: %s", file, errno ? strerror(errno) : "not a file");
            return LS_ERR_INVAL;
        }
    }
    if (strncmp(src_path, "postgres", 8) == 0 || store_open(src_path, &src_store)) {
        ls_error("import: cannot open the SQLite platform %s", src_path);
        return LS_ERR_INVAL;
    }
    store_close(src_store);
    if (db_open(src_path, &src, err, sizeof(err)) != DB_OK) {
        ls_error("import: %s", err);
        return LS_ERR_INVAL;
    }
    /* a platform is moved into an empty database, never merged into a living one */
    {
        struct db_stmt *q = store_stmt(dst, "SELECT (SELECT count(*) FROM orgs) + (SELECT"
                                            " count(*) FROM audit) + (SELECT count(*) FROM"
                                            " readings)");
        rc = q ? store_int_one(dst, q, &n) : LS_ERR_DB;
    }
    if (rc == LS_OK && n > 0) {
        ls_error("import: the destination already holds a platform (organisations, audit"
                 " records or readings); import into an empty database");
        rc = LS_ERR_CONFLICT;
    }
    if (rc == LS_OK)
        rc = store_begin(dst);
    if (rc) {
        db_close(src);
        return rc;
    }
    rc = partitions_for(src, dst);
    for (size_t i = 0; rc == LS_OK && i < NTABLES; i++) {
        /* the destination keeps every instrument's terms by trigger: the source's are copied
         * instead of the ones the trigger made while the instruments were copied */
        if (strcmp(tables[i], "instrument_terms") == 0 &&
            store_exec(dst, "DELETE FROM instrument_terms"))
            rc = LS_ERR_DB;
        if (rc == LS_OK)
            rc = copy_table(src, dst, tables[i], &n);
        if (rc == LS_OK && strcmp(tables[i], "readings") == 0 &&
            store_exec(dst, "INSERT INTO reading_keys SELECT gateway, epoch, seq FROM readings"))
            rc = LS_ERR_DB;
        if (rc == LS_OK && rep->ntables < IMPORT_TABLES_MAX) {
            snprintf(rep->table[rep->ntables].name, sizeof(rep->table[0].name), "%s", tables[i]);
            rep->table[rep->ntables++].rows = n;
        }
    }
    if (rc == LS_OK)
        rc = sequences_after(dst);
    if (rc == LS_OK)
        rc = store_commit(dst);
    else
        store_rollback(dst);
    db_close(src);
    return rc;
}
