/*
 * commands.h - the interlock service (issue 12): every [interlock] period_s it computes, for each
 * instrument whose policy is monitor or enforce, the state its relay should be in
 * (interlock.h) from its confirmed bookings, outages and the meter's recent activity, keeps it
 * (store_interlock_put: the API shows it beside what the gateway reports), and publishes the
 * desired state of each gateway's enforced instruments on labshare/v1/gw/<id>/cmd:
 *
 *   {"version": V, "instruments": [{"instrument": id, "interlock": "enable"|"disable",
 *     "booking": N, "end": ms, "until": ms}, ...]}
 *
 * retained (a gateway that (re)connects gets it at once), QoS 1, when it changed and once a
 * minute anyway. V only grows, also across restarts (store_interlock_next_version), so a late,
 * repeated or replayed command is always older than what a gateway applied. A gateway with no
 * enforced instrument left gets an empty list (it releases its relays).
 */
#ifndef LS_SRV_COMMANDS_H
#define LS_SRV_COMMANDS_H

#include <stdint.h>

#include "broker.h"
#include "config.h"

struct commands;

struct commands_stats {
    uint64_t sent;        /* commands published */
    uint64_t failed;      /* publishes the broker did not take (sent again next period) */
    uint64_t enforced;    /* instruments under enforce, last period */
    uint64_t monitored;   /* instruments under monitor, last period */
    uint64_t disagreeing; /* instruments whose reported relay differs from the desired state */
    uint64_t faulty;      /* instruments whose gateway reports it cannot put the relay right */
};

/* Start the service thread on its own store connection. broker is borrowed (may be NULL: then
 * nothing is sent, states are still computed). LS_ERR_DB, LS_ERR_NOMEM. */
int commands_start(const struct srv_config *cfg, struct broker *broker, struct commands **out);
/* Stop and join it. NULL is fine. */
void commands_stop(struct commands *c);
/* Any thread. */
void commands_get_stats(struct commands *c, struct commands_stats *out);

#endif /* LS_SRV_COMMANDS_H */
