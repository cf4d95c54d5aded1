/*
 * import.h - a meter log read into the outbox: the readings a gateway would have taken had it
 * polled the meters while they logged (a gateway installed after the meters, or one that was
 * away). Each line is "<instrument-id> <SPEC 3.1 meter payload with ts>", in time order per
 * instrument; each value goes through what polling does with it - the derived state of a power
 * meter (derive.c) and what becomes a reading (tracker.c) - and into the outbox in durable
 * batches, so the uplink then sends it as any backlog. The main thread only, before the workers
 * start.
 */
#ifndef LS_GW_IMPORT_H
#define LS_GW_IMPORT_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "outbox.h"

/* Import the log in, with a heartbeat every heartbeat_s of the log's time. *lines read, *taken
 * readings appended. LS_ERR_INVAL with "line N: why" in err for a bad line (what came before it
 * is kept), LS_ERR_FULL when the outbox refuses, LS_ERR_DB. */
int import_log(const struct gw_config *cfg, struct outbox *ob, FILE *in, int heartbeat_s,
               size_t *lines, size_t *taken, char *err, size_t errlen);

#endif /* LS_GW_IMPORT_H */
