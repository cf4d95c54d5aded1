/*
 * db_pg.c - the PostgreSQL engine of db.h, on libpq.
 *
 * A statement is prepared on the server (PQprepare, a name per statement) the first time it
 * runs, with the types of that run's parameters: integers as int8 and doubles as float8, texts
 * and NULLs left for the server to infer from the SQL. Parameters travel as text, blobs as
 * binary bytea; results come back as text and are converted when read. SQLite's `?` and `?N`
 * become `$N`. A result is read whole (PQexecPrepared), which suits the store's bounded queries.
 */
#include "db.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/banned.h"

/* Type OIDs of pg_type (stable across PostgreSQL versions). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

struct pg_db {
    struct db base;
    PGconn *c;
    char err[1024];
    enum db_error code;
    int64_t changes;
    unsigned long names; /* statements prepared so far: their names */
};

struct pg_param {
    int set;     /* 0: NULL */
    Oid type;    /* 0: left to the server */
    char *value; /* text, or the blob's bytes */
    int len;
    int binary;
    int owned; /* value is ours to free */
    char num[32];
};

struct pg_stmt {
    struct db_stmt base;
    struct pg_db *db;
    char *sql;  /* as given */
    char *text; /* with $N parameters */
    int nparams;
    struct pg_param *p;
    char name[32];
    int prepared;
    PGresult *res;
    int ran, row, nrows, ncols;
    unsigned char **blobs; /* per column, the current row's decoded bytea */
    size_t *blob_len;
};

#define D(db) ((struct pg_db *)(db))
#define P(s) ((struct pg_stmt *)(s))

static void set_error(struct pg_db *d, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(d->c);
    size_t n;

    snprintf(d->err, sizeof(d->err), "%s", msg && msg[0] ? msg : "PostgreSQL error");
    n = strlen(d->err);
    while (n && (d->err[n - 1] == '\n' || d->err[n - 1] == ' '))
        d->err[--n] = '\0';
    if (!state)
        d->code = DB_E_OTHER;
    else if (strcmp(state, "23505") == 0)
        d->code = DB_E_UNIQUE;
    else if (strcmp(state, "23P01") == 0)
        d->code = DB_E_EXCLUSION;
    else if (strcmp(state, "23503") == 0)
        d->code = DB_E_FOREIGN;
    else if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0)
        d->code = DB_E_CHECK;
    else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
             strcmp(state, "55P03") == 0)
        d->code = DB_E_BUSY;
    else
        d->code = DB_E_OTHER;
}

static void ok(struct pg_db *d)
{
    d->err[0] = '\0';
    d->code = DB_E_NONE;
}

static int pg_open(const char *url, struct db **out, char *err, size_t errlen)
{
    struct pg_db *d = calloc(1, sizeof(*d));
    PGresult *r;

    if (!d) {
        snprintf(err, errlen, "out of memory");
        return DB_ERROR;
    }
    d->base.ops = &db_pg_ops;
    d->c = PQconnectdb(url);
    if (!d->c || PQstatus(d->c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s",
                 d->c ? PQerrorMessage(d->c) : "out of memory");
        PQfinish(d->c);
        free(d);
        return DB_ERROR;
    }
    /* UTC and ISO dates whatever the server's defaults; no notices on the log */
    r = PQexec(d->c, "SET TIME ZONE 'UTC'; SET client_min_messages = warning");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "PostgreSQL: %s", PQresultErrorMessage(r));
        PQclear(r);
        PQfinish(d->c);
        free(d);
        return DB_ERROR;
    }
    PQclear(r);
    *out = &d->base;
    return DB_OK;
}

static void pg_close(struct db *db)
{
    PQfinish(D(db)->c);
    free(db);
}

static int pg_exec(struct db *db, const char *sql)
{
    struct pg_db *d = D(db);
    PGresult *r = PQexec(d->c, sql);
    ExecStatusType t = PQresultStatus(r);
    int rc = DB_OK;

    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
        set_error(d, r);
        rc = DB_ERROR;
    } else {
        ok(d);
    }
    PQclear(r);
    return rc;
}

/* SQLite's parameters (`?`, `?N`) as PostgreSQL's (`$N`), outside quotes and comments; the
 * highest index into *nparams. NULL when out of memory. */
static char *translate(const char *sql, int *nparams)
{
    size_t len = strlen(sql);
    char *out = malloc(len * 7 + 1), *o = out; /* "?" may become "$99999" */
    int max = 0;

    if (!out)
        return NULL;
    for (const char *p = sql; *p;) {
        if (*p == '\'' || *p == '"') {
            char q = *p;
            *o++ = *p++;
            while (*p && *p != q)
                *o++ = *p++;
            if (*p)
                *o++ = *p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                *o++ = *p++;
        } else if (*p == '?') {
            int n = 0;
            p++;
            if (*p >= '0' && *p <= '9') {
                while (*p >= '0' && *p <= '9' && n < 100000)
                    n = n * 10 + (*p++ - '0');
            } else {
                n = max + 1;
            }
            if (n > max)
                max = n;
            o += snprintf(o, 8, "$%d", n);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    *nparams = max;
    return out;
}

static int pg_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    struct pg_db *d = D(db);
    struct pg_stmt *s = calloc(1, sizeof(*s));

    if (!s)
        return DB_ERROR;
    s->base.ops = &db_pg_ops;
    s->db = d;
    s->sql = strdup(sql);
    s->text = translate(sql, &s->nparams);
    s->p = calloc((size_t)s->nparams + 1, sizeof(*s->p));
    if (!s->sql || !s->text || !s->p) {
        free(s->sql);
        free(s->text);
        free(s->p);
        free(s);
        snprintf(d->err, sizeof(d->err), "out of memory");
        d->code = DB_E_OTHER;
        return DB_ERROR;
    }
    snprintf(s->name, sizeof(s->name), "ls%lu", ++d->names);
    *out = &s->base;
    return DB_OK;
}

static void clear_param(struct pg_param *p)
{
    if (p->owned)
        free(p->value);
    memset(p, 0, sizeof(*p));
}

static void clear_result(struct pg_stmt *s)
{
    if (s->blobs)
        for (int i = 0; i < s->ncols; i++)
            PQfreemem(s->blobs[i]);
    free(s->blobs);
    free(s->blob_len);
    s->blobs = NULL;
    s->blob_len = NULL;
    PQclear(s->res);
    s->res = NULL;
    s->ran = 0;
    s->row = -1;
    s->nrows = s->ncols = 0;
}

static void pg_finalize(struct db_stmt *st)
{
    struct pg_stmt *s = P(st);

    clear_result(s);
    for (int i = 1; i <= s->nparams; i++)
        clear_param(&s->p[i]);
    if (s->prepared && s->db->c) {
        char sql[64];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
        PQclear(PQexec(s->db->c, sql));
    }
    free(s->p);
    free(s->sql);
    free(s->text);
    free(s);
}

static const char *pg_sql(const struct db_stmt *st)
{
    return P(st)->sql;
}

static struct pg_param *param(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);

    if (i < 1 || i > s->nparams) {
        snprintf(s->db->err, sizeof(s->db->err), "parameter %d out of range (1..%d)", i,
                 s->nparams);
        s->db->code = DB_E_OTHER;
        return NULL;
    }
    clear_param(&s->p[i]);
    return &s->p[i];
}

static int pg_bind_int64(struct db_stmt *st, int i, int64_t v)
{
    struct pg_param *p = param(st, i);

    if (!p)
        return DB_ERROR;
    p->set = 1;
    p->type = OID_INT8;
    p->len = snprintf(p->num, sizeof(p->num), "%lld", (long long)v);
    p->value = p->num;
    return DB_OK;
}

static int pg_bind_double(struct db_stmt *st, int i, double v)
{
    struct pg_param *p = param(st, i);

    if (!p)
        return DB_ERROR;
    p->set = 1;
    p->type = OID_FLOAT8;
    p->len = snprintf(p->num, sizeof(p->num), "%.17g", v);
    p->value = p->num;
    return DB_OK;
}

static int pg_bind_null(struct db_stmt *st, int i)
{
    return param(st, i) ? DB_OK : DB_ERROR;
}

static int bind_bytes(struct db_stmt *st, int i, const void *v, int len, enum db_lifetime life,
                      int binary)
{
    struct pg_param *p = param(st, i);
    size_t n = len < 0 ? strlen(v) : (size_t)len;

    if (!p) {
        if (life == DB_FREE)
            free((void *)v);
        return DB_ERROR;
    }
    if (life == DB_TRANSIENT || (!binary && len >= 0)) {
        /* a copy (texts NUL-terminated for libpq) */
        char *c = malloc(n + 1);
        if (!c) {
            if (life == DB_FREE)
                free((void *)v);
            return DB_ERROR;
        }
        memcpy(c, v, n);
        c[n] = '\0';
        if (life == DB_FREE)
            free((void *)v);
        p->value = c;
        p->owned = 1;
    } else {
        p->value = (char *)v;
        p->owned = life == DB_FREE;
    }
    p->set = 1;
    p->len = (int)n;
    p->binary = binary;
    p->type = binary ? OID_BYTEA : 0;
    return DB_OK;
}

static int pg_bind_text(struct db_stmt *st, int i, const char *v, int len, enum db_lifetime life)
{
    return bind_bytes(st, i, v, len, life, 0);
}

static int pg_bind_blob(struct db_stmt *st, int i, const void *v, int len, enum db_lifetime life)
{
    return bind_bytes(st, i, v, len < 0 ? 0 : len, life, 1);
}

static int pg_clear_bindings(struct db_stmt *st)
{
    struct pg_stmt *s = P(st);

    for (int i = 1; i <= s->nparams; i++)
        clear_param(&s->p[i]);
    return DB_OK;
}

/* The parameter a "could not determine data type of parameter $N" names (1-based), or 0. */
static int undetermined(const PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *at = msg ? strstr(msg, "parameter $") : NULL;

    if (!state || (strcmp(state, "42P18") != 0 && strcmp(state, "42P08") != 0) || !at)
        return 0;
    {
        long k = strtol(at + 11, NULL, 10);
        return k > 0 && k < 100000 ? (int)k : 0;
    }
}

/* Prepare s on the server. A parameter that SQLite's typeless SQL leaves without a type for
 * PostgreSQL (`?1 IS NULL OR x = ?1` is read left to right) is given one and the prepare tried
 * again: a text's, or, for a NULL, text and then int8. */
static int prepare_typed(struct pg_stmt *s, Oid *types)
{
    struct pg_db *d = s->db;

    for (int attempt = 0; attempt <= 2 * s->nparams; attempt++) {
        PGresult *r = PQprepare(d->c, s->name, s->text, s->nparams, types);
        int k;

        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r);
            s->prepared = 1;
            return DB_OK;
        }
        k = undetermined(r);
        if (k >= 1 && k <= s->nparams && types[k - 1] == 0) {
            types[k - 1] = OID_TEXT;
        } else {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            int retyped = 0;
            /* text did not fit (an operator of int8 and text): the NULL was a number */
            if (state && strcmp(state, "42883") == 0)
                for (int i = 0; i < s->nparams && !retyped; i++)
                    if (types[i] == OID_TEXT && !s->p[i + 1].set) {
                        types[i] = OID_INT8;
                        retyped = 1;
                    }
            if (!retyped) {
                set_error(d, r);
                PQclear(r);
                return DB_ERROR;
            }
        }
        PQclear(r);
    }
    snprintf(d->err, sizeof(d->err), "cannot type the parameters of: %.200s", s->sql);
    d->code = DB_E_OTHER;
    return DB_ERROR;
}

static int run(struct pg_stmt *s)
{
    struct pg_db *d = s->db;
    int n = s->nparams;
    const char **values = calloc((size_t)n + 1, sizeof(*values));
    int *lens = calloc((size_t)n + 1, sizeof(*lens)), *fmts = calloc((size_t)n + 1, sizeof(*fmts));
    Oid *types = calloc((size_t)n + 1, sizeof(*types));
    PGresult *r;
    ExecStatusType t;

    if (!values || !lens || !fmts || !types) {
        free(values);
        free(lens);
        free(fmts);
        free(types);
        snprintf(d->err, sizeof(d->err), "out of memory");
        d->code = DB_E_OTHER;
        return DB_ERROR;
    }
    for (int i = 0; i < n; i++) {
        const struct pg_param *p = &s->p[i + 1];
        values[i] = p->set ? p->value : NULL;
        lens[i] = p->len;
        fmts[i] = p->binary;
        types[i] = p->set ? p->type : 0;
    }
    if (!s->prepared && prepare_typed(s, types) != DB_OK) {
        free(values);
        free(lens);
        free(fmts);
        free(types);
        return DB_ERROR;
    }
    r = PQexecPrepared(d->c, s->name, n, values, lens, fmts, 0);
    free(values);
    free(lens);
    free(fmts);
    free(types);
    t = PQresultStatus(r);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
        set_error(d, r);
        PQclear(r);
        return DB_ERROR;
    }
    ok(d);
    {
        const char *ct = PQcmdTuples(r);
        if (ct && ct[0])
            d->changes = strtoll(ct, NULL, 10);
    }
    s->res = r;
    s->ran = 1;
    s->row = -1;
    s->nrows = PQntuples(r);
    s->ncols = PQnfields(r);
    return DB_OK;
}

static int pg_step(struct db_stmt *st)
{
    struct pg_stmt *s = P(st);

    if (!s->ran && run(s) != DB_OK)
        return DB_ERROR;
    if (s->blobs)
        for (int i = 0; i < s->ncols; i++) {
            PQfreemem(s->blobs[i]);
            s->blobs[i] = NULL;
        }
    if (s->row + 1 >= s->nrows) {
        s->row = s->nrows;
        return DB_DONE;
    }
    s->row++;
    return DB_ROW;
}

static int pg_reset(struct db_stmt *st)
{
    clear_result(P(st));
    return DB_OK;
}

static int valid(struct pg_stmt *s, int i)
{
    return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 && i < s->ncols;
}

static int pg_column_type(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);

    if (!valid(s, i) || PQgetisnull(s->res, s->row, i))
        return DB_NULL;
    switch (PQftype(s->res, i)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        return DB_INTEGER;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        return DB_FLOAT;
    case OID_BYTEA:
        return DB_BLOB;
    default:
        return DB_TEXT;
    }
}

static int64_t pg_column_int64(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);
    const char *v;
    char *end;
    long long n;

    if (!valid(s, i) || PQgetisnull(s->res, s->row, i))
        return 0;
    v = PQgetvalue(s->res, s->row, i);
    if (PQftype(s->res, i) == OID_BOOL)
        return v[0] == 't';
    errno = 0;
    n = strtoll(v, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E' || errno == ERANGE) {
        /* numeric (a sum of int8) or a float: as SQLite does, the integer part */
        double dv = strtod(v, NULL);
        return dv >= 9.2233720368547758e18    ? INT64_MAX
               : dv <= -9.2233720368547758e18 ? INT64_MIN
                                              : (int64_t)dv;
    }
    return n;
}

static double pg_column_double(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);

    if (!valid(s, i) || PQgetisnull(s->res, s->row, i))
        return 0;
    if (PQftype(s->res, i) == OID_BOOL)
        return PQgetvalue(s->res, s->row, i)[0] == 't';
    return strtod(PQgetvalue(s->res, s->row, i), NULL);
}

static const unsigned char *pg_column_text(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);

    if (!valid(s, i) || PQgetisnull(s->res, s->row, i))
        return NULL;
    if (PQftype(s->res, i) == OID_BOOL) /* SQLite's booleans are 1 and 0 */
        return (const unsigned char *)(PQgetvalue(s->res, s->row, i)[0] == 't' ? "1" : "0");
    return (const unsigned char *)PQgetvalue(s->res, s->row, i);
}

static const void *pg_column_blob(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);

    if (!valid(s, i) || PQgetisnull(s->res, s->row, i))
        return NULL;
    if (PQftype(s->res, i) != OID_BYTEA)
        return PQgetvalue(s->res, s->row, i);
    if (!s->blobs) {
        s->blobs = calloc((size_t)s->ncols, sizeof(*s->blobs));
        s->blob_len = calloc((size_t)s->ncols, sizeof(*s->blob_len));
        if (!s->blobs || !s->blob_len) {
            free(s->blobs);
            free(s->blob_len);
            s->blobs = NULL;
            s->blob_len = NULL;
            return NULL;
        }
    }
    if (!s->blobs[i])
        s->blobs[i] =
            PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, i), &s->blob_len[i]);
    return s->blobs[i];
}

static int pg_column_bytes(struct db_stmt *st, int i)
{
    struct pg_stmt *s = P(st);

    if (!valid(s, i) || PQgetisnull(s->res, s->row, i))
        return 0;
    if (PQftype(s->res, i) == OID_BYTEA)
        return pg_column_blob(st, i) ? (int)s->blob_len[i] : 0;
    return PQgetlength(s->res, s->row, i);
}

static int64_t pg_changes(struct db *db)
{
    return D(db)->changes;
}

/* The value the last insert drew from a sequence in this session (a BIGSERIAL id). */
static int64_t pg_last_insert_rowid(struct db *db)
{
    PGresult *r = PQexec(D(db)->c, "SELECT lastval()");
    int64_t id = 0;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return id;
}

static int pg_autocommit(struct db *db)
{
    return PQtransactionStatus(D(db)->c) == PQTRANS_IDLE;
}
static const char *pg_errmsg(struct db *db)
{
    return D(db)->err[0] ? D(db)->err : "no error";
}
static enum db_error pg_errcode(struct db *db)
{
    return D(db)->code;
}

const struct db_ops db_pg_ops = {
    .name = "postgresql",
    .engine = DB_POSTGRESQL,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .sql = pg_sql,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_null = pg_bind_null,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .clear_bindings = pg_clear_bindings,
    .step = pg_step,
    .reset = pg_reset,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
    .column_bytes = pg_column_bytes,
    .changes = pg_changes,
    .last_insert_rowid = pg_last_insert_rowid,
    .autocommit = pg_autocommit,
    .errmsg = pg_errmsg,
    .errcode = pg_errcode,
};
