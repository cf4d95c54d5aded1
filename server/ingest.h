/*
 * ingest.h - MQTT ingest, independent of HTTP: subscribes to every gateway's readings and
 * status, stores each reading once, and acks each batch only after the store has committed it
 * (SPEC 3.2). Runs on libmosquitto's network thread with its own store connection.
 */
#ifndef LS_SRV_INGEST_H
#define LS_SRV_INGEST_H

#include <stdint.h>

#include "config.h"
#include "store.h"
#include "trust.h"

struct ingest;

/* Counters since start, for /metrics/prometheus and tests. */
struct ingest_stats {
    uint64_t batches;    /* batches stored */
    uint64_t readings;   /* readings newly stored */
    uint64_t duplicates; /* readings received again and skipped */
    uint64_t rejected;   /* messages refused whole (malformed, oversized, wrong topic, ...) */
    uint64_t db_errors;  /* batches not stored (and so not acked) for a database error */
    uint64_t dropped;    /* messages dropped unacked because the queue was full */
    uint64_t refused[TRUST_CAUSE_COUNT]; /* readings, messages and claims refused, by cause */
    uint64_t queued_bytes;               /* bytes waiting for the store worker now */
    int connected;
};

/* Store one group of batches in one transaction: their readings and acks (store.h), then the
 * usage of every instrument they have readings of, from its earliest new one (sessions merged
 * across gaps up to merge_gap_ms; no_show_min_run_s for bookings that ended). res[i] says how
 * far each batch's gateway may be acked; on LS_ERR_DB nothing is stored and res is zeroed. */
int ingest_store_batches(struct store *st, const struct ls_batch *b, size_t n, int64_t received_ms,
                         int64_t merge_gap_ms, int64_t no_show_min_run_s,
                         struct ingest_result *res);

/* Connect (in the background, retrying) and start ingesting. cfg is borrowed. */
int ingest_start(const struct srv_config *cfg, struct ingest **out);
void ingest_stop(struct ingest *in);
void ingest_get_stats(struct ingest *in, struct ingest_stats *out);

#endif /* LS_SRV_INGEST_H */
