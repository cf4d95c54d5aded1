/*
 * devpoll.h - one meter's poll as a sequence of Modbus operations, whatever carries them: read
 * the plan's requests, decode them into a reading (plan.h), put the interlock relay in the
 * state the commands want and read it back (relay.h), and decide with the tracker whether the
 * result becomes a reading. The transport asks for the next operation, performs it and hands
 * back the result: the RTU workers do it blocking through libmodbus, the TCP event loop
 * (mbloop.h) without blocking, one operation in flight per connection.
 *
 * A poll ends with the reading kept or not, and with link_lost set when the transport must
 * drop the connection and reconnect with backoff (no or a wrong answer to a read; a timeout of
 * a relay operation), not after a Modbus exception or a relay that reads back wrong.
 * Not thread-safe: a device is owned by the one transport that polls it.
 */
#ifndef LS_GW_DEVPOLL_H
#define LS_GW_DEVPOLL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "derive.h"
#include "plan.h"
#include "tracker.h"

struct outbox;
struct relays;

/* One Modbus operation: a read of count items (functions 1-4) or a write of value (5, 6). */
struct mb_op {
    uint8_t function; /* enum mbap_function */
    uint16_t addr;
    uint16_t count_or_value;
};

enum devpoll_phase {
    DP_IDLE,        /* no poll under way */
    DP_READ,        /* reading plan request `step` */
    DP_RELAY_READ,  /* reading the relay */
    DP_RELAY_WRITE, /* writing it */
    DP_RELAY_BACK,  /* reading it back after the write */
    DP_DONE,        /* over: see keep and link_lost */
};

struct dev_state {
    const struct gw_device *dev;
    struct plan plan;
    struct tracker tracker;
    int derived; /* no state register: state (and maybe run time) from power */
    struct derive derive;
    int64_t next_ms;          /* monotonic time of the next poll */
    int failing;              /* logged as failing; cleared (and logged) on the next success */
    int polled;               /* the last poll answered */
    int running;              /* ... and said the meter runs */
    int relay_failing;        /* a relay write or read-back failed (logged once) */
    int64_t relay_retry_mono; /* after a relay failure, not tried again before this */
    int64_t relay_backoff_ms;
    int pending; /* a kept reading waits in a batch, not yet in the outbox */
    /* the poll under way */
    enum devpoll_phase phase;
    unsigned step;
    int64_t mono;   /* when it began */
    uint16_t *regs; /* GW_FIELD_COUNT requests of regwords each (the transport's) */
    size_t regwords;
    uint16_t relay_val; /* a relay read's value */
    struct ls_reading r;
    struct relays *relays;
    int want, on, known, wrote;
    int keep;      /* the poll gave a reading to keep (tracker_observe said so) */
    int link_lost; /* the transport must drop the link */
};

/* Set up device d (borrowed) of cfg; the run time summed before comes from ob. */
void devpoll_init(struct dev_state *ds, const struct gw_device *d, const struct gw_config *cfg,
                  struct outbox *ob, int64_t mono);

/* Begin a poll at mono with regs (GW_FIELD_COUNT x regwords values, at least the plan's largest
 * request) for the values; relays may be NULL (relays left alone). The next poll is due
 * poll_ms after this one was (later if the poll is late by more than that). */
void devpoll_begin(struct dev_state *ds, struct relays *relays, uint16_t *regs, size_t regwords,
                   int64_t mono);

/* The next operation of the poll under way into op, and where a read's values go: 1; 0 when the
 * poll is over (phase DP_DONE). */
int devpoll_next(struct dev_state *ds, struct mb_op *op, uint16_t **values);

/* The result of the operation devpoll_next gave: LS_OK (a read's values are in place);
 * LS_ERR_DENIED, a Modbus exception or an answer that leaves the link in step; LS_ERR_IO, no
 * answer or one that does not answer the request (the link is out of step). why: a sentence. */
void devpoll_result(struct dev_state *ds, int rc, const char *why);

/* The poll due now at mono is skipped or done: the next is due poll_ms after this one was due
 * (or poll_ms from mono when it is late by more than that). */
void devpoll_skip(struct dev_state *ds, int64_t mono);

/* A link that failed: the delay before it is tried again, doubling in *backoff_ms from 1 s up
 * to 30 s (0 after a success), so a dead endpoint costs an attempt twice a minute at most. */
int64_t devpoll_link_backoff(int64_t *backoff_ms);

/* The endpoint could not be reached for a poll that was due at mono (logged once while it
 * lasts, a relay under command reported as unreachable; the next poll is due as for a poll). */
void devpoll_unreachable(struct dev_state *ds, struct relays *relays, const char *why,
                         int64_t mono);

/* Readings of finished polls, committed to the outbox together (one fsync for many). */
struct devpoll_batch {
    size_t n, cap;
    struct ls_reading *r;
    int64_t *run; /* derived run time to keep, or -1 */
    int64_t *mono;
    struct dev_state **ds;
    int *rc;
};

/* Room for cap readings (one per device: a device's kept reading is committed before its next
 * poll). LS_ERR_NOMEM. */
int devpoll_batch_init(struct devpoll_batch *b, size_t cap);
void devpoll_batch_free(struct devpoll_batch *b);
/* Add the reading of a poll that ended with keep set. */
void devpoll_batch_add(struct devpoll_batch *b, struct dev_state *ds);
/* Commit them; each one stored is marked sent in its tracker. */
void devpoll_batch_flush(struct devpoll_batch *b, struct outbox *ob);

/* Decode one device's registers into r (exposed for tests). regs[i] holds the values read by
 * request i of the plan, as uint16 (bits as 0/1). Returns LS_ERR_INVAL with a reason in err
 * when a value is garbage (a state code that is not 0-3, a NaN, a negative counter). */
int poller_decode(const struct gw_device *d, const struct plan *p, uint16_t *const *regs,
                  struct ls_reading *r, char *err, size_t errlen);

#endif /* LS_GW_DEVPOLL_H */
