/*
 * outbox.h - the gateway's durable store-and-forward queue of readings (SQLite).
 *
 * Every reading is committed here (WAL, synchronous=FULL) before it is sent, and leaves only
 * when the server's ack covers its seq (SPEC 3.2). seq starts at 1 and never repeats within
 * an epoch; the epoch is chosen once, when the outbox file is created, so (gateway, epoch,
 * seq) names a reading forever. Thread-safe: all calls are serialised by a mutex.
 */
#ifndef LS_GW_OUTBOX_H
#define LS_GW_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "labshare/wire.h"

struct outbox;

/* Open or create the outbox at path, holding at most max_rows readings and max_bytes of data
 * (0 = no byte limit). LS_ERR_DB with a logged reason on failure. Free with outbox_free(). */
int outbox_open(const char *path, int64_t max_rows, int64_t max_bytes, struct outbox **out);
void outbox_free(struct outbox *ob);

/* Append r durably and set r->seq. derived_run_ms >= 0 is the run time the gateway summed for a
 * meter without a counter, kept in the same transaction so that it survives a restart
 * (outbox_derived_run_ms); -1 when not used.
 * When the outbox is full it first thins heartbeats that lie between two kept readings of the
 * same instrument (their cumulative counters make them redundant; other readings are never
 * thinned); only if it is still full is r refused with LS_ERR_FULL. LS_ERR_DB on a write
 * failure. */
int outbox_append(struct outbox *ob, struct ls_reading *r, int64_t derived_run_ms);

/* Most readings outbox_append_many() takes at once. */
#define OUTBOX_APPEND_MAX 256

/* Append n readings in one durable transaction (one fsync for a whole poll round), each as
 * outbox_append() would: rcs[i] is LS_OK (r[i].seq set) or LS_ERR_FULL (refused).
 * derived_run_ms may be NULL. Returns LS_ERR_DB when the transaction failed (nothing appended),
 * LS_ERR_INVAL when n > OUTBOX_APPEND_MAX. */
int outbox_append_many(struct outbox *ob, struct ls_reading *r, const int64_t *derived_run_ms,
                       size_t n, int *rcs);

/* Call fn(arg) after each commit that appended readings (on the appending thread, with no lock
 * held), so the uplink can send at once instead of polling. */
void outbox_set_notify(struct outbox *ob, void (*fn)(void *arg), void *arg);

/* The run time last kept for instrument by outbox_append(), 0 when none. */
int64_t outbox_derived_run_ms(struct outbox *ob, const char *instrument);

/* Heartbeats thinned since open. */
int64_t outbox_thinned(struct outbox *ob);

/* Copy up to max readings with seq > after, oldest first, into out; *n is the count. */
int outbox_fetch(struct outbox *ob, int64_t after, struct ls_reading *out, size_t max, size_t *n);

/* The server has stored every seq <= upto: delete them durably. An upto beyond the last
 * appended seq is clamped (a confused ack never deletes a reading not yet taken). */
int outbox_ack(struct outbox *ob, int64_t upto);

int64_t outbox_epoch(struct outbox *ob);
int64_t outbox_acked(struct outbox *ob);    /* highest seq acknowledged */
int64_t outbox_last_seq(struct outbox *ob); /* highest seq appended, 0 if none */
int64_t outbox_count(struct outbox *ob);    /* readings waiting for an ack */
int outbox_full(struct outbox *ob);         /* 1 after a refused append, until space frees */

#endif /* LS_GW_OUTBOX_H */
