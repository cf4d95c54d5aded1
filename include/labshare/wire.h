/*
 * wire.h - the LabShare wire contract over MQTT (SPEC section 3): topics and the JSON codec of
 * the MQTT-native meter payload (3.1), the gateway's readings batch, ack and status (3.2).
 *
 * Decoders accept a payload of at most its stated size, reject wrong types, missing required
 * fields and out-of-range numbers, and tolerate unknown fields (newer senders may add some).
 * On error they return LS_ERR_INVAL (or LS_ERR_TOOBIG) and write a one-line reason into err.
 * All functions are thread-safe (jansson is, for distinct objects).
 */
#ifndef LS_WIRE_H
#define LS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define LS_ID_MAX 64                       /* bytes of an instrument or gateway id, with the NUL */
#define LS_BATCH_MAX_READINGS 1000         /* readings in one batch message */
#define LS_PAYLOAD_MAX (1024 * 1024)       /* bytes of any one MQTT payload we decode */
#define LS_JSON_INT_MAX 9007199254740991LL /* 2^53 - 1: exact in every JSON reader */
#define LS_TS_MAX 32503680000000LL         /* year 3000 in epoch ms */
#define LS_FAULT_MAX 128                   /* bytes of an interlock fault text, with the NUL */

/* Instrument state; the numbers are the codes of the meter's state register. */
enum ls_state { LS_STATE_OFF = 0, LS_STATE_IDLE = 1, LS_STATE_RUNNING = 2, LS_STATE_FAULT = 3 };

/* Why the gateway sent a reading. */
enum ls_cause { LS_CAUSE_CHANGE = 0, LS_CAUSE_HEARTBEAT, LS_CAUSE_BOOT };

/* Which optional fields of a reading are present. */
enum ls_has {
    LS_HAS_RUN_SECONDS = 1 << 0,
    LS_HAS_ENERGY_WH = 1 << 1,
    LS_HAS_POWER_W = 1 << 2,
    LS_HAS_SAMPLES = 1 << 3,
    LS_HAS_BADGE = 1 << 4,
    LS_HAS_TS = 1 << 5, /* only meaningful for the meter payload, where ts is optional */
    LS_HAS_INTERLOCK = 1 << 6
};

/* One reading: a meter payload (seq = 0, no instrument, no cause) or a gateway reading. */
struct ls_reading {
    int64_t seq;                /* per gateway, from 1 */
    char instrument[LS_ID_MAX]; /* instrument id */
    int64_t ts;                 /* epoch ms when the meter was read */
    enum ls_state state;
    int64_t run_seconds;
    int64_t energy_wh;
    double power_w;
    int64_t samples;
    int64_t badge;
    /* "interlock" (issue 12, optional): the relay as the meter or the gateway read it back,
     * 1 enabled, 0 disabled; a change of it is a change reading */
    int64_t interlock;
    unsigned has; /* enum ls_has bits */
    enum ls_cause cause;
};

/* A decoded readings batch. Owns readings; release with ls_batch_release().
 *
 * "after" (an extension of SPEC 3.2, optional): the batch holds every reading the gateway still
 * has with seq in (after, last seq of the batch]; a seq of that range that is missing was
 * thinned from a full outbox (a redundant heartbeat) and will never come, so the server may
 * ack past it. -1 when absent: no claim, the server acks only what it has stored. */
struct ls_batch {
    char gateway[LS_ID_MAX];
    int64_t epoch;
    int64_t after;
    size_t count;
    struct ls_reading *readings;
};

struct ls_ack {
    int64_t epoch;
    int64_t upto;
};

/* Gateway status (retained; also its will with online = 0). */
struct ls_status {
    int online;
    char version[32];
    int64_t outbox;  /* readings waiting for an ack; -1 when not reported */
    int outbox_full; /* 1 when the outbox refuses new readings */
    size_t instrument_count;
    char (*instruments)[LS_ID_MAX]; /* owned; free with ls_status_release() */
    /* "interlock" (issue 12, optional): {"<instrument>": true|false, ...}, the relay of each
     * instrument the gateway controls as it last read it back (true = enabled). */
    size_t interlock_count;
    char (*interlock_ids)[LS_ID_MAX]; /* owned */
    int *interlock_on;                /* owned */
    /* "interlock_faults" (issue 12, optional): {"<instrument>": "<why>", ...}, the relays the
     * gateway cannot put in the commanded state (meter unreachable, write refused, read back
     * wrong) and keeps trying with backoff. */
    size_t fault_count;
    char (*fault_ids)[LS_ID_MAX]; /* owned */
    char (*faults)[LS_FAULT_MAX]; /* owned */
};

/* --- Names --------------------------------------------------------------------------- */
const char *ls_state_name(enum ls_state s);            /* "off", "idle", ... */
int ls_state_parse(const char *s, enum ls_state *out); /* LS_ERR_INVAL if unknown */
const char *ls_cause_name(enum ls_cause c);
int ls_cause_parse(const char *s, enum ls_cause *out);

/* 1 if s is a valid id: 1..63 characters of [A-Za-z0-9._-], so it is safe in a topic, a
 * path and a file name. */
int ls_id_valid(const char *s);

/* --- Topics -------------------------------------------------------------------------- */
/* Kinds of gateway topic under labshare/v1/gw/<gateway_id>/. */
enum ls_topic_kind { LS_TOPIC_READINGS = 0, LS_TOPIC_ACK, LS_TOPIC_STATUS, LS_TOPIC_CMD };

/* Write "labshare/v1/gw/<gw>/<kind>" into buf. LS_ERR_TOOBIG if it does not fit. A gateway
 * id of "+" gives the subscription wildcard. */
int ls_topic(char *buf, size_t len, const char *gateway, enum ls_topic_kind kind);

/* Parse a gateway topic: on success *kind and the gateway id (into gw, LS_ID_MAX bytes). */
int ls_topic_parse(const char *topic, enum ls_topic_kind *kind, char *gw);

/* Default topic of an MQTT-native instrument: "instruments/<id>/meter". */
int ls_topic_meter(char *buf, size_t len, const char *instrument);

/* --- Codec: every encoder returns a NUL-terminated string the caller frees with free(),
 * or NULL when out of memory. ------------------------------------------------------------ */

/* SPEC 3.1 meter payload. On success *out has seq = 0, instrument "", and LS_HAS_TS set when
 * the payload carried ts. */
int ls_meter_decode(const char *payload, size_t len, struct ls_reading *out, char *err,
                    size_t errlen);
char *ls_meter_encode(const struct ls_reading *r);

/* SPEC 3.2 readings batch: at most LS_BATCH_MAX_READINGS readings, seq strictly increasing,
 * after below the first seq (or -1 to leave it out). */
char *ls_batch_encode(const char *gateway, int64_t epoch, int64_t after, const struct ls_reading *r,
                      size_t count);
int ls_batch_decode(const char *payload, size_t len, struct ls_batch *out, char *err,
                    size_t errlen);
void ls_batch_release(struct ls_batch *b);

char *ls_ack_encode(const struct ls_ack *a);
int ls_ack_decode(const char *payload, size_t len, struct ls_ack *out, char *err, size_t errlen);

char *ls_status_encode(const struct ls_status *s);
int ls_status_decode(const char *payload, size_t len, struct ls_status *out, char *err,
                     size_t errlen);
void ls_status_release(struct ls_status *s);

#endif /* LS_WIRE_H */
