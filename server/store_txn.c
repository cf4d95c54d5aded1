/* store_txn.c - write transactions and write groups: see store.h. */
#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* How long a writer waits for the others of its process: SQLite's busy timeout's (db_sqlite.c). */
#define GATE_WAIT_S 10
#define GATES_MAX 16

/* SQLite's own lock is taken by polling: a connection that finds it held sleeps (1, 2, 5 ... 100
 * ms) and tries again, so writers of one process wait while the lock is free. They queue on a
 * mutex instead, which wakes the next the moment the lock is let go; the busy timeout remains for
 * other processes (the command-line tools). */
struct write_gate {
    char path[PATH_MAX];
    pthread_mutex_t lock;
};

static struct write_gate gates[GATES_MAX];
static size_t ngates;
static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER;

struct write_gate *store_write_gate(const char *path)
{
    char real[PATH_MAX];
    struct write_gate *g = NULL;

    if (strcmp(path, ":memory:") == 0 || path[0] == '\0' || strncmp(path, "file:", 5) == 0 ||
        !realpath(path, real))
        return NULL;
    pthread_mutex_lock(&gates_lock);
    for (size_t i = 0; i < ngates && !g; i++)
        if (strcmp(gates[i].path, real) == 0)
            g = &gates[i];
    if (!g && ngates < GATES_MAX) {
        g = &gates[ngates++];
        snprintf(g->path, sizeof(g->path), "%s", real);
        pthread_mutex_init(&g->lock, NULL);
    }
    pthread_mutex_unlock(&gates_lock);
    return g;
}

static int gate_enter(struct store *st)
{
    struct timespec until;
    int rc;

    if (!st->gate || st->gate_held)
        return LS_OK;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += GATE_WAIT_S;
    rc = pthread_mutex_timedlock(&st->gate->lock, &until);
    if (rc) {
        ls_error("store: no write lock after %d s (%s)", GATE_WAIT_S, strerror(rc));
        return LS_ERR_DB;
    }
    st->gate_held = 1;
    return LS_OK;
}

static void gate_leave(struct store *st)
{
    if (st->gate_held) {
        st->gate_held = 0;
        pthread_mutex_unlock(&st->gate->lock);
    }
}

static int begin_write(struct store *st)
{
    if (gate_enter(st))
        return LS_ERR_DB;
    if (db_engine(st->db) == DB_SQLITE) {
        if (store_exec(st, "BEGIN IMMEDIATE") == LS_OK)
            return LS_OK;
    } else if (store_exec(st, "BEGIN") == LS_OK) {
        if (store_exec(st, "SELECT pg_advisory_xact_lock(" STORE_WRITER_LOCK ")") == LS_OK)
            return LS_OK;
        store_exec(st, "ROLLBACK");
    }
    gate_leave(st);
    return LS_ERR_DB;
}

static int commit_write(struct store *st)
{
    int rc = LS_OK;

    if (store_exec(st, "COMMIT")) {
        store_exec(st, "ROLLBACK");
        rc = LS_ERR_DB;
    }
    gate_leave(st);
    return rc;
}

static void rollback_write(struct store *st)
{
    if (!db_autocommit(st->db))
        store_exec(st, "ROLLBACK");
    gate_leave(st);
}

int store_begin(struct store *st)
{
    if (!st->group)
        return begin_write(st);
    if (st->job_open) {
        ls_error("store: a transaction within a transaction");
        return LS_ERR_DB;
    }
    if (store_exec(st, "SAVEPOINT job"))
        return LS_ERR_DB;
    st->job_open = 1;
    return LS_OK;
}

int store_commit(struct store *st)
{
    if (!st->group)
        return commit_write(st);
    if (!st->job_open)
        return LS_ERR_DB;
    st->job_open = 0;
    if (store_exec(st, "RELEASE job") == LS_OK)
        return LS_OK;
    store_exec(st, "ROLLBACK TO job");
    store_exec(st, "RELEASE job");
    return LS_ERR_DB;
}

void store_rollback(struct store *st)
{
    if (!st->group) {
        rollback_write(st);
        return;
    }
    if (st->job_open) {
        st->job_open = 0;
        store_exec(st, "ROLLBACK TO job");
        store_exec(st, "RELEASE job");
    }
}

int store_group_begin(struct store *st)
{
    int rc = begin_write(st);

    st->group = rc == LS_OK;
    st->job_open = 0;
    return rc;
}

int store_group_lost(struct store *st)
{
    if (!st->group || !db_autocommit(st->db))
        return 0;
    st->group = st->job_open = 0;
    gate_leave(st);
    return 1;
}

void store_txn_close(struct store *st)
{
    gate_leave(st);
}

int store_group_commit(struct store *st)
{
    st->group = st->job_open = 0;
    return commit_write(st);
}

void store_group_abort(struct store *st)
{
    st->group = st->job_open = 0;
    rollback_write(st);
}
