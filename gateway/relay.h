/*
 * relay.h - the interlock commands a gateway holds (issue 12, SPEC 3.2 cmd).
 *
 * The server sends, on labshare/v1/gw/<id>/cmd, the desired relay state of the gateway's
 * enforced instruments with a version that only grows. The table keeps the newest command it
 * accepted (also on disk, beside the outbox, so that a gateway restarted without a broker still
 * knows it) and answers, at any time, the state each relay must be in: an enabled instrument is
 * disabled at its `until` whatever happens, and from the booking's `end` as soon as the meter is
 * not running — so a gateway cut off from the server still ends a booking on time. A command
 * older than (or as old as) the one applied is refused: a late, repeated or replayed command
 * never enables anything. An instrument left out of a newer command is released: its relay is
 * enabled once (the meter's default, SPEC 2) and then left alone.
 * All calls are thread-safe (the uplink's network thread writes, the pollers read).
 */
#ifndef LS_GW_RELAY_H
#define LS_GW_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "labshare/wire.h"

struct relays;

/* A table persisted at path (NULL: memory only); the command saved there, if any, is loaded.
 * LS_ERR_NOMEM. */
int relays_open(const char *path, struct relays **out);
void relays_free(struct relays *r);

/* Accept a cmd payload. LS_OK (applied; *version set), LS_ERR_CONFLICT (not newer than the
 * applied version: ignored), LS_ERR_INVAL (malformed: a sentence in err), LS_ERR_IO (it could
 * not be saved: applied in memory all the same). */
int relays_command(struct relays *r, const char *payload, size_t len, int64_t *version, char *err,
                   size_t errlen);

/* The state instrument's relay must be in at now_ms given whether its meter runs: 1 enable,
 * 0 disable, -1 not under command (leave it alone). */
int relays_want(struct relays *r, const char *instrument, int64_t now_ms, int running);

/* The relay as read back from the meter (1/0); a released instrument whose relay reads enabled
 * is forgotten. */
void relays_actual(struct relays *r, const char *instrument, int on);

/* Why instrument's relay cannot be put in the state wanted (the meter unreachable, a write
 * refused, a wrong read-back, no confirmation), or NULL / "" once it is: reported in the
 * status until cleared. Non-printable bytes become '?'; longer texts are cut. */
void relays_fault(struct relays *r, const char *instrument, const char *why);

struct relay_report {
    char id[LS_ID_MAX];
    int on;                   /* as last read back; -1 not yet */
    char fault[LS_FAULT_MAX]; /* "" when none */
};

/* The instruments under command with a read-back state or a fault, for the status message: up
 * to max of them. */
size_t relays_report(struct relays *r, struct relay_report *out, size_t max);

/* A counter that grows whenever what relays_report() gives changes: the uplink publishes the
 * status again when it moved. */
uint64_t relays_changes(struct relays *r);

/* 1 when instrument is named in the newest command (enforced or observed): its relay is read
 * back and reported even when nothing is to be written. */
int relays_observed(struct relays *r, const char *instrument);

int64_t relays_version(struct relays *r);

#endif /* LS_GW_RELAY_H */
