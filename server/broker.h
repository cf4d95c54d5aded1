/*
 * broker.h - the MQTT broker as this server runs it (SPEC 3.3, 4): nobody anonymous, each
 * gateway with its own account and topics, admitted, rotated and locked out while the broker
 * runs.
 *
 * The broker is mosquitto 2.0 with its dynamic-security plugin. `broker-config` writes its
 * configuration once (broker_config_write); from then on the server manages gateway accounts by
 * sending dynamic-security commands on `$CONTROL/dynamic-security/v1` over its own connection
 * (broker_start and the broker_gateway_* calls), so the broker is never restarted or reloaded.
 *
 * Accounts and roles on the broker:
 *   the server ([mqtt] username)  role "labshare-server": subscribes to every gateway's readings
 *                                 and status, publishes acks and commands, sends control
 *                                 commands;
 *   gateway <id> ("gateway:<id>") role "labshare-gw:<id>": publishes only
 *                                 labshare/v1/gw/<id>/readings and .../status, subscribes only
 *                                 to labshare/v1/gw/<id>/ack and .../cmd.
 * Everything else is denied (the plugin's default ACL access: no publishing, no subscribing).
 */
#ifndef LS_SRV_BROKER_H
#define LS_SRV_BROKER_H

#include <stddef.h>

#include "config.h"
#include "labshare/wire.h"

/* Role names on the broker. */
#define BROKER_SERVER_ROLE "labshare-server"
#define BROKER_GW_ROLE_PREFIX "labshare-gw:"
/* A gateway's account is "gateway:<id>": gateway accounts live apart from any other account on
 * the broker (an operator's own, say), so registering a gateway can never touch one of those. */
#define BROKER_GW_USER_PREFIX "gateway:"
#define BROKER_USER_MAX (LS_ID_MAX + 16)

/* The broker account of gateway id into user (BROKER_USER_MAX bytes). */
void broker_gateway_user(const char *id, char *user);

/* How long a control command may wait for the broker's answer. */
#define BROKER_CMD_TIMEOUT_MS 5000

/*
 * Write DIR/mosquitto.conf (a listener on [mqtt] host:port, allow_anonymous false, TLS with
 * [mqtt] certfile/keyfile/cafile when set, the dynamic-security plugin, persistence in DIR) and,
 * unless it exists already (it then holds the gateways registered since), DIR/dynamic-security.json
 * with the server's account from [mqtt] username/password. DIR is created when missing.
 * LS_ERR_INVAL (no username or password, no plugin found), LS_ERR_IO; err says why.
 * *kept is set to 1 when an existing dynamic-security.json was left as it was.
 */
int broker_config_write(const struct srv_config *cfg, const char *dir, int *kept, char *err,
                        size_t errlen);

struct broker;

/*
 * Connect the control client (its own MQTT connection, client id "<client_id>-ctl") and keep it
 * connected in its own thread. On every (re)connect it sends disableClient for each gateway in
 * disabled_ids() (called on the network thread; returns a malloc'd array of malloc'd ids and
 * their count, or NULL), so a lock-out made while the broker was away still takes effect.
 * Returns LS_OK even when the broker is not reachable yet.
 */
int broker_start(const struct srv_config *cfg, char **(*disabled_ids)(void *arg, size_t *n),
                 void *arg, struct broker **out);
void broker_stop(struct broker *b);

/*
 * Gateway accounts. Each call waits up to BROKER_CMD_TIMEOUT_MS for the broker to confirm and
 * returns LS_OK, LS_ERR_TIMEOUT (no answer, or not connected), LS_ERR_PROTO (the broker said
 * no; logged with its reason). Any thread. A NULL b (no broker configured) is LS_ERR_TIMEOUT.
 */
/* Create (or, when it exists, re-key, re-role and enable) the account of gateway id. */
int broker_gateway_add(struct broker *b, const char *id, const char *password);
/* Set a new password; the broker disconnects sessions of the account. */
int broker_gateway_password(struct broker *b, const char *id, const char *password);
/* Enable or disable the account; disabling disconnects it at once. */
int broker_gateway_enable(struct broker *b, const char *id, int enabled);

/* Publish payload on topic as the server (QoS 1; retained when retain): the interlock commands.
 * LS_OK when queued, LS_ERR_TIMEOUT when not connected (the caller sends it again later). Any
 * thread. */
int broker_publish(struct broker *b, const char *topic, const char *payload, int retain);

/* The filter by which the server's ingest subscribes to every gateway's kind (readings or
 * status) into buf: "$share/<group>/labshare/v1/gw/+/<kind>" when shared is set and [mqtt]
 * share_group is not empty (several servers share the ingest, each batch goes to one of them),
 * else the plain filter. LS_ERR_INVAL when it does not fit. */
int broker_ingest_filter(const struct srv_config *cfg, enum ls_topic_kind kind, int shared,
                         char *buf, size_t len);

/* The path of mosquitto's dynamic-security plugin: [mqtt] dynsec_plugin, or the first of the
 * usual places that exists; NULL when none. Borrowed. */
const char *broker_plugin_path(const struct srv_config *cfg);

#endif /* LS_SRV_BROKER_H */
