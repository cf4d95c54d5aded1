/* writer.c - one writer per database, with group commit: see writer.h. */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

struct job {
    int (*fn)(struct store *, void *);
    void *arg;
    int rc, committed, done;
    struct job *next;
};

struct writer {
    struct store *st;
    pthread_t thread;
    pthread_mutex_t lock; /* guards the queue, the jobs' outcomes, stopping and the stats */
    pthread_cond_t more, done;
    struct job *head, **tail;
    int stopping;
    struct writer_stats stats;
};

static void fail_all(struct job **jobs, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        jobs[i]->committed = 0;
        if (jobs[i]->rc == LS_OK)
            jobs[i]->rc = LS_ERR_DB;
    }
}

/* Run jobs[0..n) as one write group; on the engine's rolling it back midway (store_group_lost),
 * those before are told and the rest go on in a new group. Returns how many failed. */
static size_t run_group(struct store *st, struct job **jobs, size_t n)
{
    size_t first = 0, failed = 0;
    int open = store_group_begin(st) == LS_OK;

    for (size_t i = 0; i < n; i++) {
        jobs[i]->rc = LS_ERR_DB;
        jobs[i]->committed = 0;
    }
    if (!open) {
        ls_error("writer: cannot begin a write group");
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        jobs[i]->rc = jobs[i]->fn(st, jobs[i]->arg);
        store_rollback(st); /* a savepoint the write left open: its changes are undone */
        if (store_group_lost(st)) {
            ls_error("writer: the database rolled back a write group of %zu", i + 1 - first);
            fail_all(jobs, first, i + 1);
            failed += i + 1 - first;
            first = i + 1;
            open = first < n && store_group_begin(st) == LS_OK;
            if (!open) {
                fail_all(jobs, first, n);
                return failed + (n - first);
            }
        }
    }
    if (!open)
        return failed;
    if (store_group_commit(st)) {
        ls_error("writer: cannot commit a write group of %zu", n - first);
        fail_all(jobs, first, n);
        return failed + (n - first);
    }
    for (size_t i = first; i < n; i++)
        jobs[i]->committed = 1;
    return failed;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct job *jobs[WRITER_GROUP_MAX];

    pthread_mutex_lock(&w->lock);
    for (;;) {
        size_t n = 0, failed;

        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->more, &w->lock);
        if (!w->head)
            break;
        while (w->head && n < WRITER_GROUP_MAX) {
            jobs[n++] = w->head;
            w->head = w->head->next;
            w->stats.queued--;
        }
        if (!w->head)
            w->tail = &w->head;
        pthread_mutex_unlock(&w->lock);
        failed = run_group(w->st, jobs, n);
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < n; i++)
            jobs[i]->done = 1;
        w->stats.writes += n;
        w->stats.groups++;
        w->stats.failed += failed;
        if (n > w->stats.largest)
            w->stats.largest = n;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int writer_start(const char *db, struct writer **out)
{
    struct writer *w = calloc(1, sizeof(*w));
    int rc;

    *out = NULL;
    if (!w)
        return LS_ERR_NOMEM;
    if ((rc = store_open(db, &w->st))) {
        free(w);
        return rc;
    }
    w->tail = &w->head;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->more, NULL);
    pthread_cond_init(&w->done, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w)) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->more);
        pthread_cond_destroy(&w->done);
        store_close(w->st);
        free(w);
        return LS_ERR_IO;
    }
    *out = w;
    return LS_OK;
}

void writer_stop(struct writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->more);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->more);
    pthread_cond_destroy(&w->done);
    store_close(w->st);
    free(w);
}

int writer_run(struct writer *w, int (*fn)(struct store *st, void *arg), void *arg, int *committed)
{
    struct job job = {.fn = fn, .arg = arg, .rc = LS_ERR_DB};

    *committed = 0;
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        return LS_ERR_DB;
    }
    *w->tail = &job;
    w->tail = &job.next;
    w->stats.queued++;
    pthread_cond_signal(&w->more);
    while (!job.done)
        pthread_cond_wait(&w->done, &w->lock);
    pthread_mutex_unlock(&w->lock);
    *committed = job.committed;
    return job.rc;
}

void writer_get_stats(struct writer *w, struct writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}
