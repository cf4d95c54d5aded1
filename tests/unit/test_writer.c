/* Unit tests of the writer (server/writer.c) and write groups (server/store_txn.c) on real
 * SQLite and, when LABSHARE_TEST_PG names a PostgreSQL database, on it too: writes waiting
 * together commit in one group, a write that fails undoes its own changes only, and a group the
 * database rolls back is reported to each of its writers, none of it kept. */
// LINK: ALL_SERVER
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../server/store.h"
#include "../../server/store_int.h"
#include "../../server/writer.h"
#include "labshare/rc.h"
#include "testutil.h"

static char path[1024];
static const char *pg_url; /* the engine under test: SQLite when NULL */

static int setup(void **state)
{
    struct store *st;

    (void)state;
    if (!pg_url)
        return test_dir_make("server.db", path, sizeof(path));
    snprintf(path, sizeof(path), "%s", pg_url);
    if (store_open(path, &st))
        return -1;
    store_exec(st, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    store_close(st);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return pg_url ? 0 : test_dir_remove();
}

/* What one write does. */
enum how { COMMIT, FAIL_OPEN, FAIL_ROLLED_BACK, LOSE_GROUP };

struct write {
    struct writer *w;
    char name[32];
    enum how how;
    size_t wait_for; /* the first write: run only when this many others wait behind it */
    int rc, committed, running;
};

static int org_write(struct store *st, void *arg)
{
    struct write *x = arg;
    int64_t id;

    __atomic_store_n(&x->running, 1, __ATOMIC_SEQ_CST);
    if (x->wait_for) {
        struct writer_stats s;
        for (int i = 0; i < 10000; i++) { /* 10 s at most: a broken writer fails, not hangs */
            writer_get_stats(x->w, &s);
            if (s.queued >= x->wait_for)
                break;
            usleep(1000);
        }
    }
    if (x->how == LOSE_GROUP) /* as the engine does on a full disk or an I/O error */
        return store_exec(st, "ROLLBACK");
    if (store_begin(st) || store_org_create(st, x->name, "university", &id))
        return LS_ERR_DB;
    if (x->how == FAIL_OPEN)
        return LS_ERR_RULE; /* the savepoint left open: the writer undoes it */
    if (x->how == FAIL_ROLLED_BACK) {
        store_rollback(st);
        return LS_ERR_CONFLICT;
    }
    return store_commit(st);
}

static void *run_write(void *arg)
{
    struct write *x = arg;

    x->rc = writer_run(x->w, org_write, x, &x->committed);
    return NULL;
}

/* Run writes[0] first, then the others in order while it waits for them: one group behind it. */
static void run_all(struct writer *w, struct write *writes, size_t n)
{
    pthread_t t[32];

    assert_true(n <= 32);
    for (size_t i = 0; i < n; i++) {
        writes[i].w = w;
        writes[i].wait_for = i == 0 ? n - 1 : 0;
    }
    assert_int_equal(pthread_create(&t[0], NULL, run_write, &writes[0]), 0);
    while (!__atomic_load_n(&writes[0].running, __ATOMIC_SEQ_CST))
        usleep(1000);
    for (size_t i = 1; i < n; i++) { /* one by one, so that they queue in this order */
        struct writer_stats st;
        assert_int_equal(pthread_create(&t[i], NULL, run_write, &writes[i]), 0);
        do {
            usleep(500);
            writer_get_stats(w, &st);
        } while (st.queued < i);
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static int org_exists(const char *name)
{
    struct store *st;
    struct org *items = NULL;
    size_t n = 0;
    int64_t total;
    int found = 0;

    assert_int_equal(store_open(path, &st), LS_OK);
    assert_int_equal(store_org_list(st, 1000, 0, &items, &n, &total), LS_OK);
    for (size_t i = 0; i < n; i++)
        found += strcmp(items[i].name, name) == 0;
    free(items);
    store_close(st);
    return found;
}

static void waiting_writes_commit_in_one_group(void **state)
{
    struct write writes[16];
    struct writer *w;
    struct writer_stats s;

    (void)state;
    memset(writes, 0, sizeof(writes));
    for (size_t i = 0; i < 16; i++)
        snprintf(writes[i].name, sizeof(writes[i].name), "org %zu", i);
    assert_int_equal(writer_start(path, &w), LS_OK);
    run_all(w, writes, 16);
    writer_get_stats(w, &s);
    writer_stop(w);
    for (size_t i = 0; i < 16; i++) {
        assert_int_equal(writes[i].rc, LS_OK);
        assert_int_equal(writes[i].committed, 1);
        assert_int_equal(org_exists(writes[i].name), 1);
    }
    assert_int_equal(s.writes, 16);
    assert_int_equal(s.groups, 2); /* the first alone, the fifteen behind it together */
    assert_int_equal(s.largest, 15);
    assert_int_equal(s.failed, 0);
}

static void a_failed_write_undoes_only_its_own(void **state)
{
    struct write writes[4] = {
        {.name = "first", .how = COMMIT},
        {.name = "left open", .how = FAIL_OPEN},
        {.name = "rolled back", .how = FAIL_ROLLED_BACK},
        {.name = "last", .how = COMMIT},
    };
    struct writer *w;

    (void)state;
    assert_int_equal(writer_start(path, &w), LS_OK);
    run_all(w, writes, 4);
    writer_stop(w);
    assert_int_equal(writes[1].rc, LS_ERR_RULE);
    assert_int_equal(writes[2].rc, LS_ERR_CONFLICT);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(writes[i].committed, 1);
    assert_int_equal(org_exists("first"), 1);
    assert_int_equal(org_exists("left open"), 0);
    assert_int_equal(org_exists("rolled back"), 0);
    assert_int_equal(org_exists("last"), 1);
}

static void a_lost_group_is_reported_and_kept_nowhere(void **state)
{
    struct write writes[5] = {
        {.name = "before", .how = COMMIT}, /* a group of its own */
        {.name = "lost a", .how = COMMIT}, /* the group behind it ... */
        {.name = "lost b", .how = COMMIT}, /* ... */
        {.name = "-", .how = LOSE_GROUP},  /* ... rolled back whole here */
        {.name = "after", .how = COMMIT},  /* a new group */
    };
    struct writer *w;
    struct writer_stats s;

    (void)state;
    assert_int_equal(writer_start(path, &w), LS_OK);
    run_all(w, writes, 5);
    writer_get_stats(w, &s);
    writer_stop(w);
    assert_int_equal(writes[0].committed, 1);
    assert_int_equal(org_exists("before"), 1);
    for (size_t i = 1; i < 4; i++) {
        assert_int_equal(writes[i].committed, 0);
        assert_int_not_equal(writes[i].rc, LS_OK);
    }
    assert_int_equal(org_exists("lost a"), 0);
    assert_int_equal(org_exists("lost b"), 0);
    assert_int_equal(writes[4].committed, 1);
    assert_int_equal(org_exists("after"), 1);
    assert_int_equal(s.failed, 3);
}

/* Outside a group, nothing changed: a transaction per store_begin, a nested one refused. */
static void plain_transactions_are_as_before(void **state)
{
    struct store *st;
    int64_t id;

    (void)state;
    assert_int_equal(store_open(path, &st), LS_OK);
    assert_int_equal(store_begin(st), LS_OK);
    assert_int_equal(store_org_create(st, "kept", "university", &id), LS_OK);
    assert_int_equal(store_commit(st), LS_OK);
    assert_int_equal(store_begin(st), LS_OK);
    assert_int_equal(store_org_create(st, "undone", "university", &id), LS_OK);
    store_rollback(st);
    store_rollback(st); /* a second is harmless */
    /* the gate is let go at commit and rollback: a second connection of this process writes */
    {
        struct store *other;
        assert_int_equal(store_open(path, &other), LS_OK);
        assert_int_equal(store_begin(other), LS_OK);
        assert_int_equal(store_commit(other), LS_OK);
        store_close(other);
    }
    store_close(st);
    assert_int_equal(org_exists("kept"), 1);
    assert_int_equal(org_exists("undone"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(waiting_writes_commit_in_one_group, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failed_write_undoes_only_its_own, setup, teardown),
        cmocka_unit_test_setup_teardown(a_lost_group_is_reported_and_kept_nowhere, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_transactions_are_as_before, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("writer on SQLite", tests, NULL, NULL);

    pg_url = getenv("LABSHARE_TEST_PG");
    if (pg_url && pg_url[0])
        failed += cmocka_run_group_tests_name("writer on PostgreSQL", tests, NULL, NULL);
    return failed;
}
