/*
 * config.h - the gateway's INI configuration (SPEC section 4), parsed with libinih.
 *
 * Every key's type, bounds and default live in one table in config.c. Unknown keys, bad values,
 * duplicate keys and sections, and missing required keys stop the program with
 * "file:line: message" (or "file: [section]: message" for what only the whole file shows).
 */
#ifndef LS_GW_CONFIG_H
#define LS_GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "labshare/regmap.h"
#include "labshare/wire.h"

#define GW_STR_MAX 256
/* Devices one gateway reads. */
#define GW_MAX_DEVICES 20000
/* Connections that libraries wait on with select(), which cannot watch a descriptor >= 1024
 * (FD_SETSIZE): RTU buses (libmodbus 3.1.6) and MQTT brokers (libmosquitto); the rest of the
 * range is kept for stdio, SQLite (database, WAL, shared memory), the uplink and headroom. The
 * Modbus TCP endpoints are polled without select() (mbloop.h), their descriptors placed above
 * that range when the descriptor limit allows: they are bounded by the limit (ulimit -n), not
 * by this. */
#define GW_MAX_CONNECTIONS 1000

/* Fields a device can map; the order is that of the reading. */
enum gw_field {
    GW_F_STATE = 0,
    GW_F_RUN_SECONDS,
    GW_F_ENERGY_WH,
    GW_F_POWER_W,
    GW_F_SAMPLES,
    GW_F_BADGE,
    GW_FIELD_COUNT
};

enum gw_device_kind { GW_DEV_MODBUS_TCP = 0, GW_DEV_MODBUS_RTU, GW_DEV_MQTT };

struct gw_device {
    char id[LS_ID_MAX];
    enum gw_device_kind kind;
    /* Modbus */
    char host[GW_STR_MAX]; /* tcp host, or MQTT edge broker host */
    int port;
    char rtu[GW_STR_MAX]; /* serial device path */
    int baud;
    char parity[2]; /* "N", "E" or "O" */
    int unit;
    int poll_ms;
    int timeout_ms;
    enum ls_word_order word_order;
    int field_present[GW_FIELD_COUNT];
    struct ls_field_spec fields[GW_FIELD_COUNT];
    /* the interlock relay (issue 12): a coil or a holding register written 1/0 and read back;
     * relay_none when the meter has none */
    int relay_none;
    enum ls_reg_table relay_table; /* LS_TABLE_CO or LS_TABLE_HR */
    int relay_addr;
    double start_w, stop_w; /* power thresholds for meters with no state register; 0 = unset */
    int min_on_s, min_off_s;
    /* MQTT-native: the topic, and the edge broker's credentials and TLS files ("" = none) */
    char topic[GW_STR_MAX];
    char username[GW_STR_MAX];
    char password[GW_STR_MAX];
    char cafile[GW_STR_MAX];
    char certfile[GW_STR_MAX];
    char keyfile[GW_STR_MAX];
    /* parsing bookkeeping */
    uint64_t seen; /* bit i = key i of the table was given */
};

struct gw_config {
    char id[LS_ID_MAX];
    char outbox[GW_STR_MAX];
    int heartbeat_s;
    int batch_max;
    int ack_timeout_s;
    int64_t outbox_max_rows;
    int64_t outbox_max_mb;
    char host[GW_STR_MAX];
    int port;
    char username[GW_STR_MAX];
    char password[GW_STR_MAX];
    char cafile[GW_STR_MAX];
    char certfile[GW_STR_MAX];
    char keyfile[GW_STR_MAX];
    size_t device_count;
    struct gw_device *devices; /* owned */
    uint64_t seen;
};

/* Load and validate path into *cfg. On error returns LS_ERR_INVAL (or LS_ERR_IO when the file
 * cannot be read) and writes "path:line: message" into err. Release with gw_config_release()
 * in both cases. */
int gw_config_load(const char *path, struct gw_config *cfg, char *err, size_t errlen);
void gw_config_release(struct gw_config *cfg);

/* 1 when a and b share a connection: the same TCP endpoint, RTU bus or MQTT broker. */
int gw_same_endpoint(const struct gw_device *a, const struct gw_device *b);

/* Connections the devices of cfg need (distinct endpoints, buses and brokers); with tcp 0,
 * only the RTU buses and MQTT brokers. */
size_t gw_config_connections(const struct gw_config *cfg, int tcp);

/* The name of a field ("state", "power_w", ...). */
const char *gw_field_name(enum gw_field f);

/* For tests: walk the table and check that every default parses within its bounds. Returns the
 * number of bad entries, with a message per entry on stderr. */
int gw_config_check_table(void);

#endif /* LS_GW_CONFIG_H */
