/*
 * writer.h - one writer per database for the HTTP API's writes, with group commit.
 *
 * Callers hand their write (a function of a store) to the writer and wait. The writer's thread
 * runs whatever is waiting as one write group (store_group_begin, store.h): each write in its own
 * savepoint, then one COMMIT, so one sync to disk makes all of them durable; only then does each
 * caller learn its outcome. A write that fails undoes its own changes only. When the group cannot
 * commit, every write in it is told so (committed = 0) and none of them is kept.
 */
#ifndef LS_SRV_WRITER_H
#define LS_SRV_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct writer;

/* Writes run in a group at most. */
#define WRITER_GROUP_MAX 256

struct writer_stats {
    uint64_t writes;  /* writes run */
    uint64_t groups;  /* transactions committed or tried */
    uint64_t failed;  /* writes in groups that could not commit */
    uint64_t largest; /* the most writes one group held */
    uint64_t queued;  /* writes waiting now */
};

/* Open the writer's own connection to db and start its thread. */
int writer_start(const char *db, struct writer **out);
/* Run every write handed over, then stop. */
void writer_stop(struct writer *w);

/* Run fn(st, arg) on the writer's connection and wait until its group has committed. Returns
 * fn's result; *committed says whether what fn wrote is durable (0: the group failed, or the
 * writer is stopping, and nothing fn wrote was kept). fn begins and commits its transactions as
 * anywhere else (store_begin, store_commit); it must not block on anything but the database. */
int writer_run(struct writer *w, int (*fn)(struct store *st, void *arg), void *arg, int *committed);

void writer_get_stats(struct writer *w, struct writer_stats *out);

#endif /* LS_SRV_WRITER_H */
